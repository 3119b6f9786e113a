package templates

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/addergen/addergen/internal/testutil"
)

// TestPrimitivesLint lints every hand-written primitive: Verilator -Wall,
// Icarus -g2005, and yosys synth with check -assert (no latches).
func TestPrimitivesLint(t *testing.T) {
	testutil.RequireTools(t, "verilator", "iverilog", "yosys")
	names, err := fs.Glob(Prims, "prim/*.v")
	if err != nil || len(names) == 0 {
		t.Fatalf("no primitives: %v", err)
	}
	dir := t.TempDir()
	for _, n := range names {
		top := strings.TrimSuffix(filepath.Base(n), ".v")
		src := Primitive(top)
		if !strings.Contains(string(src), "Latency and handshake") || !strings.Contains(string(src), "`default_nettype none") {
			t.Errorf("%s lacks its header or `default_nettype none", n)
		}
		path := filepath.Join(dir, top+".v")
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, argv := range [][]string{
			{"verilator", "--lint-only", "-Wall", path},
			{"iverilog", "-g2005", "-o", os.DevNull, path},
			{"yosys", "-q", "-p", fmt.Sprintf("read_verilog %s; synth -top %s; check -assert", path, top)},
		} {
			out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
			if err != nil || strings.Contains(string(out), "%Warning") {
				t.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out)
			}
		}
	}
}

func TestPrimitiveUnknownPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Primitive of an unknown name did not panic")
		}
	}()
	Primitive("no_such_module")
}

// axilWrapBench reads CYCLES_LO then CYCLES_HI of axil_status over and
// over while its low counter word wraps (it is preset near 2^32), and
// prints each 64-bit value read.
const axilWrapBench = "`timescale 1ns / 1ps\n" + `
module tb;
    reg clk = 1'b0;
    always #5 clk = ~clk;
    reg rst = 1'b1;
    reg [5:0] araddr = 6'd0;
    reg arvalid = 1'b0;
    wire arready;
    wire [31:0] rdata;
    wire [1:0] rresp;
    wire rvalid;
    wire awready, wready, bvalid;
    wire [1:0] bresp;
    reg [31:0] lo;
    reg [31:0] hi;
    integer i;
    axil_status #(.AW(6)) dut (
        .clk_i(clk), .rst_i(rst),
        .s_axi_awaddr(6'd0), .s_axi_awvalid(1'b0), .s_axi_awready(awready),
        .s_axi_wdata(32'd0), .s_axi_wstrb(4'd0), .s_axi_wvalid(1'b0), .s_axi_wready(wready),
        .s_axi_bresp(bresp), .s_axi_bvalid(bvalid), .s_axi_bready(1'b1),
        .s_axi_araddr(araddr), .s_axi_arvalid(arvalid), .s_axi_arready(arready),
        .s_axi_rdata(rdata), .s_axi_rresp(rresp), .s_axi_rvalid(rvalid), .s_axi_rready(1'b1),
        .short_i(1'b0), .long_i(1'b0), .image_in_i(1'b0), .image_out_i(1'b0));
    task rd(input [5:0] a, output [31:0] d);
        begin
            @(negedge clk);
            araddr = a;
            arvalid = 1'b1;
            @(posedge clk);
            while (!arready) @(posedge clk);
            @(negedge clk);
            arvalid = 1'b0;
            while (!rvalid) @(negedge clk);
            d = rdata;
        end
    endtask
    initial begin
        repeat (3) @(posedge clk);
        rst = 1'b0;
        @(negedge clk);
        dut.cyc_lo_q = 32'hffffffe0;
        for (i = 0; i < 24; i = i + 1) begin
            rd(6'h14, lo);
            rd(6'h18, hi);
            $display("CYC %h%h", hi, lo);
        end
        $finish;
    end
endmodule
`

// TestAXILStatusCycleWrap checks the 64-bit cycle count across the low
// word's wrap (the high word takes the carry a cycle late): every value
// read is above the previous one, by less than a read sequence's cycles,
// and the high word reaches 1.
func TestAXILStatusCycleWrap(t *testing.T) {
	testutil.RequireTools(t, "iverilog", "vvp")
	dir := t.TempDir()
	for name, src := range map[string][]byte{"axil_status.v": Primitive("axil_status"), "tb.v": []byte(axilWrapBench)} {
		if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, argv := range [][]string{{"iverilog", "-g2005", "-o", "sim.vvp", "-s", "tb", "axil_status.v", "tb.v"}, {"vvp", "-n", "sim.vvp"}} {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", argv[0], err, out)
		}
		if argv[0] != "vvp" {
			continue
		}
		var prev uint64
		n, wrapped := 0, false
		for _, line := range strings.Split(string(out), "\n") {
			h, ok := strings.CutPrefix(line, "CYC ")
			if !ok {
				continue
			}
			var v uint64
			if _, err := fmt.Sscanf(h, "%x", &v); err != nil {
				t.Fatalf("bad line %q", line)
			}
			if n > 0 && (v <= prev || v-prev > 16) {
				t.Errorf("cycle count %#x after %#x", v, prev)
			}
			wrapped = wrapped || v>>32 == 1
			prev = v
			n++
		}
		if n != 24 || !wrapped {
			t.Errorf("%d reads, wrapped %v: want 24 reads across the wrap", n, wrapped)
		}
	}
}
