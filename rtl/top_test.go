package rtl

import (
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
		ports, params := parseTop(t, v, c.Top)
		want := []vPort{
			{Name: "clk_i", Dir: "in", Width: 1}, {Name: rst, Dir: "in", Width: 1},
			{Name: "s_axis_tdata", Dir: "in", Width: n.InTData()}, {Name: "s_axis_tvalid", Dir: "in", Width: 1},
			{Name: "s_axis_tready", Dir: "out", Width: 1}, {Name: "s_axis_tlast", Dir: "in", Width: 1},
			{Name: "m_axis_tdata", Dir: "out", Width: n.OutTData}, {Name: "m_axis_tvalid", Dir: "out", Width: 1},
			{Name: "m_axis_tready", Dir: "in", Width: 1}, {Name: "m_axis_tlast", Dir: "out", Width: 1},
			{Name: "s_axi_awaddr", Dir: "in", Width: TopAXILAddrBits}, {Name: "s_axi_awvalid", Dir: "in", Width: 1},
			{Name: "s_axi_awready", Dir: "out", Width: 1}, {Name: "s_axi_wdata", Dir: "in", Width: 32},
			{Name: "s_axi_wstrb", Dir: "in", Width: 4}, {Name: "s_axi_wvalid", Dir: "in", Width: 1},
			{Name: "s_axi_wready", Dir: "out", Width: 1}, {Name: "s_axi_bresp", Dir: "out", Width: 2},
			{Name: "s_axi_bvalid", Dir: "out", Width: 1}, {Name: "s_axi_bready", Dir: "in", Width: 1},
			{Name: "s_axi_araddr", Dir: "in", Width: TopAXILAddrBits}, {Name: "s_axi_arvalid", Dir: "in", Width: 1},
			{Name: "s_axi_arready", Dir: "out", Width: 1}, {Name: "s_axi_rdata", Dir: "out", Width: 32},
			{Name: "s_axi_rresp", Dir: "out", Width: 2}, {Name: "s_axi_rvalid", Dir: "out", Width: 1},
			{Name: "s_axi_rready", Dir: "in", Width: 1},
		}
		if len(ports) != len(want) {
			t.Errorf("aresetn=%v: %d ports, want %d", resetN, len(ports), len(want))
		}
		for i := range min(len(ports), len(want)) {
			g := ports[i]
			if g.Name != want[i].Name || g.Dir != want[i].Dir || g.Width != want[i].Width {
				t.Errorf("aresetn=%v: port %d is %s %s [%d], want %s %s [%d]", resetN, i, g.Dir, g.Name, g.Width, want[i].Dir, want[i].Name, want[i].Width)
			}
		}
		if params["WEIGHTS_DIR"] != DefaultWeightsDir {
			t.Errorf("aresetn=%v: WEIGHTS_DIR %q, want %q", resetN, params["WEIGHTS_DIR"], DefaultWeightsDir)
		}
		pol := "POLARITY ACTIVE_" + map[bool]string{false: "HIGH", true: "LOW"}[resetN]
		if !strings.Contains(v, pol) {
			t.Errorf("aresetn=%v: the reset's attributes lack %q", resetN, pol)
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
