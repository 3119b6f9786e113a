package synth

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/addergen/addergen/internal/nettest"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
)

// tinyNet is the tiny quantized network of the nettest package.
func tinyNet(t *testing.T) *quant.Model { return nettest.Tiny(t) }

// TestNetDesignMAC checks the MAC baseline plans the adder layer as a
// conv engine (no L1 PE module, signed weights one bit wider than the
// input) and that its Verilog lints clean.
func TestNetDesignMAC(t *testing.T) {
	q := tinyNet(t)
	l1, n1, err := NetDesign(q, rtl.NetConfig{Parallel: 2}, L1)
	if err != nil {
		t.Fatal(err)
	}
	mac, n2, err := NetDesign(q, rtl.NetConfig{Parallel: 2}, MAC)
	if err != nil {
		t.Fatal(err)
	}
	if n1.Engines[0].Kind != "adder" || !n1.Engines[0].Adder {
		t.Errorf("L1 design: first engine %s, want adder", n1.Engines[0].Kind)
	}
	e := n2.Engines[0]
	if e.Kind != "conv" || e.Adder || !e.Conv || e.WB != e.BIN+1 || !e.HasRescale {
		t.Errorf("MAC design: first engine kind %s adder %v conv %v WB %d (BIN %d) rescale %v", e.Kind, e.Adder, e.Conv, e.WB, e.BIN, e.HasRescale)
	}
	for _, s := range mac.Sources {
		if strings.HasSuffix(s, "_pe.v") {
			t.Errorf("MAC design holds a PE module %s", s)
		}
	}
	if len(l1.Sources) <= len(mac.Sources) {
		t.Errorf("L1 sources %v, MAC %v: want the L1 PE only in L1", l1.Sources, mac.Sources)
	}
	if l1.Top != "addernet" || mac.Top != "addernet" {
		t.Errorf("tops %s, %s", l1.Top, mac.Top)
	}

	testutil.RequireTools(t, "verilator")
	dir := t.TempDir()
	for name, b := range mac.Files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("verilator", "--lint-only", "-Wall", "-f", "filelist.f", "--top-module", mac.Top)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("verilator lint of the MAC design: %v\n%s", err, out)
	}
}

func TestNetDesignBadOp(t *testing.T) {
	if _, _, err := NetDesign(tinyNet(t), rtl.NetConfig{}, Op("add")); err == nil {
		t.Fatal("op add accepted")
	}
}

func TestNotFit(t *testing.T) {
	for msg, want := range map[string]bool{
		"nextpnr-ice40: Unable to place cell 'x', no BELs remaining to implement cell type 'ICESTORM_LC'": true,
		"nextpnr-ice40: the design needs 9000 logic cells, the device has 7680: x":                        false,
		"nextpnr-ice40: no Max frequency line for clock clk_i* in the log":                                false,
	} {
		if got := notFit(msg); got != want {
			t.Errorf("notFit(%q) = %v, want %v", msg, got, want)
		}
	}
}

// TestSeedPlacement: a failed legalisation (nextpnr's messages at a
// nearly full device) is a seed's failure, which Build meets with the
// next seed; running out of cells is not.
func TestSeedPlacement(t *testing.T) {
	for msg, want := range map[string]bool{
		"nextpnr-ice40: ERROR: Unable to find legal placement for all cells, design is probably at utilisation limit.": true,
		"nextpnr-ice40: ERROR: Failed to expand region (0, 0) |_> (25, 31) of 4847 ICESTORM_LCs":                       true,
		"nextpnr-ice40: Unable to place cell 'x', no BELs remaining to implement cell type 'ICESTORM_LC'":              false,
		"nextpnr-ice40: no Max frequency line for clock clk_i* in the log":                                             false,
	} {
		if got := seedPlacement(msg); got != want {
			t.Errorf("seedPlacement(%q) = %v, want %v", msg, got, want)
		}
	}
}

// TestWeightMemory synthesizes one network with its weight ROMs forced
// into block RAM and into LUTs (rtl.NetConfig.WeightMemory, the rom_style
// attribute): yosys must follow the attribute, block must take more block
// RAMs than logic, and the estimate must count both exactly.
func TestWeightMemory(t *testing.T) {
	testutil.RequireTools(t, "yosys", "yosys-abc")
	q, err := quant.Load("testdata/nets/map12_q8.json")
	if err != nil {
		t.Fatal(err)
	}
	brams := map[string]int{}
	for _, mem := range []string{rtl.WeightMemBlock, rtl.WeightMemLogic} {
		c := rtl.NetConfig{Parallel: 2, WeightMemory: mem}
		_, n, err := NetDesign(q, c, L1)
		if err != nil {
			t.Fatal(err)
		}
		roms := 0
		for _, e := range n.Engines {
			if e.WeightROM {
				roms++
				if e.WRomStyle != mem {
					t.Errorf("%s: %s: weight ROM style %q", mem, e.Module, e.WRomStyle)
				}
			}
		}
		if roms == 0 {
			t.Fatal("no engine has a weight ROM")
		}
		m, err := MeasureModel(context.Background(), ModelRequest{Model: q, Config: c, Ops: []Op{L1}, Target: Xilinx})
		if err != nil {
			t.Fatal(err)
		}
		est, err := EstimateNet(q, c, L1, Xilinx)
		if err != nil {
			t.Fatal(err)
		}
		got := m.Reports[0].BRAMs
		if got != est.Total.BRAMs {
			t.Errorf("%s: yosys %d block RAMs, the estimate %d", mem, got, est.Total.BRAMs)
		}
		brams[mem] = got
		t.Logf("%s: %d block RAMs (estimate %d), %d LUTs", mem, got, est.Total.BRAMs, m.Reports[0].LUTs)
	}
	if brams[rtl.WeightMemBlock] <= brams[rtl.WeightMemLogic] {
		t.Errorf("block RAMs: %d with block weight ROMs, %d with logic ones", brams[rtl.WeightMemBlock], brams[rtl.WeightMemLogic])
	}

	// Runtime weights (RAMs with a write port) on iCE40, which has no LUT
	// RAM: the logic style must still synthesize, block must take block
	// RAMs, and the estimate must count them exactly.
	for _, mem := range []string{rtl.WeightMemLogic, rtl.WeightMemBlock} {
		c := rtl.NetConfig{Parallel: 2, WeightMemory: mem, WeightsMode: rtl.WeightsRuntime, Family: "ice40"}
		m, err := MeasureModel(context.Background(), ModelRequest{Model: q, Config: c, Ops: []Op{L1}, Target: ICE40})
		if err != nil {
			t.Fatalf("runtime %s on ice40: %v", mem, err)
		}
		est, err := EstimateNet(q, c, L1, ICE40)
		if err != nil {
			t.Fatal(err)
		}
		got := m.Reports[0].BRAMs
		t.Logf("runtime %s on ice40: %d SB_RAM40_4K (estimate %d), %d LUTs (estimate %d)", mem, got, est.Total.BRAMs, m.Reports[0].LUTs, est.Total.LUTs)
		if got != est.Total.BRAMs {
			t.Errorf("runtime %s on ice40: yosys %d block RAMs, the estimate %d", mem, got, est.Total.BRAMs)
		}
		if l := m.Reports[0].LUTs; math.Abs(float64(est.Total.LUTs-l)) > 0.15*float64(l) {
			t.Errorf("runtime %s on ice40: yosys %d LUTs, the estimate %d (more than 15%% off)", mem, l, est.Total.LUTs)
		}
	}
}
