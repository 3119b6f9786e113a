package prove

import (
	"context"
	"strings"
	"testing"

	"github.com/addergen/addergen/rtl"
)

// TestBalancedPE: the generated pipelined PE is a balanced pipeline, and
// hand-written PEs that skip a register on one lane, or whose sum reads
// valid_i, are refused (they would be wrongly proven with their registers
// made wires).
func TestBalancedPE(t *testing.T) {
	requireProvers(t)
	c := rtl.PEConfig{Name: "dut_pe", Lanes: 9, Width: 8, Pipeline: rtl.PipelineAuto}
	files, plan, err := rtl.EmitPE(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := balancedPE(context.Background(), t.TempDir(), "dut_pe", files["dut_pe.v"], plan.Latency); err != nil {
		t.Errorf("generated K=9 W=8 pipelined PE: %v", err)
	}
	if err := balancedPE(context.Background(), t.TempDir(), "dut_pe", files["dut_pe.v"], plan.Latency+1); err == nil {
		t.Errorf("generated PE accepted at latency %d, its plan says %d", plan.Latency+1, plan.Latency)
	}
	const head = "module dut_pe (input wire clk_i, input wire rst_i, input wire valid_i, input wire [15:0] x_i, input wire [15:0] w_i, output wire valid_o, output wire [8:0] sum_o);\n" +
		"    reg v1, v2;\n    always @(posedge clk_i) begin v1 <= rst_i ? 1'b0 : valid_i; v2 <= rst_i ? 1'b0 : v1; end\n    assign valid_o = v2;\n    wire unused = ^w_i;\n"
	for _, tc := range []struct{ name, body, want string }{
		{"lane 1 skips a register", "    reg [7:0] a1, a2, b2; reg [8:0] s;\n    always @(posedge clk_i) begin a1 <= x_i[7:0]; a2 <= a1; b2 <= x_i[15:8]; end\n    assign sum_o = a2 + b2;\n", "different register depth"},
		{"sum reads valid_i", "    reg [7:0] a1, b1; reg [8:0] s;\n    always @(posedge clk_i) begin a1 <= valid_i ? x_i[7:0] : 8'd0; b1 <= x_i[15:8]; s <= a1 + b1; end\n    assign sum_o = s;\n", "control"},
		{"register with an enable (a loop through its hold)", "    reg [7:0] a1, b1; reg [8:0] s;\n    always @(posedge clk_i) begin if (valid_i) a1 <= x_i[7:0]; b1 <= x_i[15:8]; s <= a1 + b1; end\n    assign sum_o = s;\n", "feed-forward"},
	} {
		err := balancedPE(context.Background(), t.TempDir(), "dut_pe", []byte(head+tc.body+"endmodule\n"), 2)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
