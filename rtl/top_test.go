package rtl

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/addergen/addergen/internal/testutil"
)

// TestTopTData checks the s_axis_tdata width against the pixel width:
// whole bytes, the fewest that hold the pixel.
func TestTopTData(t *testing.T) {
	for _, c := range []struct{ bits, want int }{{1, 8}, {4, 8}, {8, 8}, {9, 16}, {12, 16}, {16, 16}, {24, 24}, {25, 32}} {
		n := &Net{InBits: c.bits}
		if got := n.InTData(); got != c.want {
			t.Errorf("a %d-bit pixel: tdata %d bits, want %d", c.bits, got, c.want)
		}
	}
}

// TestTopPorts emits the golden network with each reset and checks the
// top's ports (names, directions, widths) and its WEIGHTS_DIR parameter,
// then lints the design (Verilator -Wall, Icarus -g2005) and elaborates
// it in yosys, which must find no latch and no driver conflict.
func TestTopPorts(t *testing.T) {
	q := goldenNetModel(t)
	for _, resetN := range []bool{false, true} {
		c := NetConfig{Top: "top_ports", Parallel: 2, Lanes: 2, AResetN: resetN}
		files, n, err := EmitNet(q, c)
		if err != nil {
			t.Fatal(err)
		}
		v := string(files["top_ports.v"])
		rst := "rst_i"
		if resetN {
			rst = "aresetn"
		}
		want := []string{
			"input  wire              clk_i,",
			"input  wire              " + rst + ",",
			fmt.Sprintf("input  wire [%d:0] s_axis_tdata,", n.InTData()-1),
			"input  wire              s_axis_tvalid,",
			"output wire              s_axis_tready,",
			"input  wire              s_axis_tlast,",
			fmt.Sprintf("output wire [%d:0] m_axis_tdata,", n.OutTData-1),
			"output wire              m_axis_tvalid,",
			"input  wire              m_axis_tready,",
			"output wire              m_axis_tlast,",
			fmt.Sprintf("input  wire [%d:0]    s_axi_awaddr,", TopAXILAddrBits-1),
			fmt.Sprintf("input  wire [%d:0]    s_axi_araddr,", TopAXILAddrBits-1),
			"output wire [31:0]       s_axi_rdata,",
			`parameter WEIGHTS_DIR = "` + DefaultWeightsDir + `"`,
			"POLARITY ACTIVE_" + map[bool]string{false: "HIGH", true: "LOW"}[resetN],
		}
		for _, w := range want {
			if !strings.Contains(v, w) {
				t.Errorf("aresetn=%v: the top lacks %q", resetN, w)
			}
		}
		other := map[bool]string{false: "aresetn", true: "rst_i"}[resetN]
		if strings.Contains(v, "input  wire              "+other) {
			t.Errorf("aresetn=%v: the top has a %s port", resetN, other)
		}
		for _, e := range n.Engines {
			if e.HasROM() && !strings.Contains(string(files[e.Module+".v"]), `$readmemh({WEIGHTS_DIR, "/`) {
				t.Errorf("%s: ROMs not read through WEIGHTS_DIR", e.Module)
			}
		}
		testutil.RequireTools(t, "verilator", "iverilog", "yosys")
		dir := t.TempDir()
		for f, b := range files {
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		srcs := strings.Fields(string(files["filelist.f"]))
		for _, argv := range [][]string{
			{"verilator", "--lint-only", "-Wall", "-f", "filelist.f", "--top-module", c.Top},
			{"iverilog", "-g2005", "-o", os.DevNull, "-s", c.Top, "-c", "filelist.f"},
			{"yosys", "-q", "-p", "read_verilog " + strings.Join(srcs, " ") + "; hierarchy -check -top " + c.Top +
				"; proc; select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$sr; check -assert"},
		} {
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil || strings.Contains(string(out), "%Warning") || strings.Contains(string(out), "warning") {
				t.Errorf("aresetn=%v: %s: %v\n%s", resetN, argv[0], err, out)
			}
		}
	}
}
