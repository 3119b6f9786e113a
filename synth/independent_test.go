package synth

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/rtl"
)

// independentLUTs synthesizes file (top module top) with a plain yosys
// script, no wrapper and none of this package's code, and counts the LUT
// cells in yosys's text statistics.
func independentLUTs(t *testing.T, dir, file, top string) int {
	t.Helper()
	cmd := exec.Command("yosys", "-q", "-p", "read_verilog "+file+"; synth_xilinx -family xc7 -top "+top+"; tee -o stat.txt stat")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("yosys: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "stat.txt"))
	if err != nil {
		t.Fatal(err)
	}
	luts := 0
	for _, m := range regexp.MustCompile(`(?m)^\s+(LUT[1-6]|SRL16E|SRLC32E)\s+(\d+)\s*$`).FindAllSubmatch(b, -1) {
		n, _ := strconv.Atoi(string(m[2]))
		luts += n
	}
	if luts == 0 {
		t.Fatalf("no LUT cells in yosys's statistics:\n%s", b)
	}
	return luts
}

// TestSynthAgreesWithIndependentYosys: synth pe's LUT count for the L1 PE
// (inside its serial-in wrapper) agrees within 15% with a plain
// `yosys -p "synth_xilinx"` run on the same emitted file, top = the PE.
func TestSynthAgreesWithIndependentYosys(t *testing.T) {
	testutil.RequireTools(t, "yosys")
	for _, c := range []rtl.PEConfig{
		{Lanes: 16, Width: 8, Pipeline: rtl.PipelineAuto},
		{Lanes: 9, Width: 4, Signed: true, Pipeline: 0},
	} {
		m, err := Measure(context.Background(), Request{Target: Xilinx, Jobs: []PEJob{{Op: L1, Config: c}}})
		if err != nil {
			t.Fatal(err)
		}
		files, pe, err := rtl.EmitPE(c)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, pe.Module+".v"), files[pe.Module+".v"], 0o644); err != nil {
			t.Fatal(err)
		}
		ind := independentLUTs(t, dir, pe.Module+".v", pe.Module)
		got := m.Reports[0].LUTs
		if d := float64(got-ind) / float64(ind); d > 0.15 || d < -0.15 {
			t.Errorf("K=%d W=%d signed=%v: synth pe %d LUTs, plain yosys %d (%.1f%% apart)", c.Lanes, c.Width, c.Signed, got, ind, 100*d)
		}
		t.Logf("K=%d W=%d signed=%v pipeline=%d: synth pe %d LUTs, plain yosys %d", c.Lanes, c.Width, c.Signed, c.Pipeline, got, ind)
	}
}
