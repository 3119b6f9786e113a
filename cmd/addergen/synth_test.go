package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/addergen/addergen/internal/testutil"
)

func TestSynthPEBadInput(t *testing.T) {
	base := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--lanes", "4", "--width", "8"}, "target"},
		{[]string{"--lanes", "4", "--width", "8", "--target", "ecp5"}, "--target"},
		{[]string{"--lanes", "4", "--width", "8", "--target", "xilinx", "--op", "add"}, "--op"},
		{[]string{"--lanes", "0", "--width", "8", "--target", "xilinx"}, "--lanes"},
		{[]string{"--lanes", "4", "--width", "17", "--target", "ice40"}, "--width"},
		{[]string{"--lanes", "4", "--width", "8", "--target", "ice40", "--pipeline", "x"}, "--pipeline"},
		{[]string{"--lanes", "4", "--width", "8", "--target", "ice40", "--family", "ecp5"}, "--family"},
		{[]string{"--lanes", "4", "--width", "8", "--target", "ice40", "--freq", "0"}, "--freq"},
		{[]string{"--lanes", "4", "--width", "8", "--target", "ice40", "--seeds", "0"}, "--seeds"},
		{[]string{"--lanes", "4", "--width", "8", "--target", "xilinx", "--verilog", "x.v", "--name", "v"}, "--op"},
		{[]string{"--lanes", "4", "--width", "8", "--target", "xilinx", "--op", "l1", "--verilog", "x.v"}, "--name"},
		{[]string{"--lanes", "4", "--width", "8", "--target", "xilinx", "--op", "l1", "--verilog", filepath.Join(base, "none.v"), "--name", "v"}, "--verilog"},
		{[]string{"--lanes", "4", "--width", "8", "--target", "xilinx", "--latency", "3"}, "--latency"},
	}
	for _, tt := range tests {
		code, out, errs := runCLI(t, append([]string{"synth", "pe"}, tt.args...)...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", tt.args, code)
		}
		if out != "" || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: stdout %q, stderr %q: want one line naming %s", tt.args, out, errs, tt.want)
		}
	}
}

func TestSynthPEMissingTool(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, target := range []string{"xilinx", "ice40"} {
		code, _, errs := runCLI(t, "synth", "pe", "--lanes", "4", "--width", "4", "--target", target)
		if code != 2 || strings.Count(strings.TrimSpace(errs), "\n") != 0 ||
			!strings.Contains(errs, "yosys not found") || !strings.Contains(errs, "apt-get install -y yosys") {
			t.Errorf("%s: exit %d, stderr %q: want one line naming yosys and its package", target, code, errs)
		}
	}
}

// TestSynthPEJSON runs yosys through the command: --op both prints l1, mac
// and ratio, each with the required fields.
func TestSynthPEJSON(t *testing.T) {
	testutil.RequireTools(t, "yosys")
	code, out, errs := runCLI(t, "synth", "pe", "--lanes", "3", "--width", "4", "--unsigned", "--target", "xilinx", "--json", "--with-dsp=false")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var both map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &both); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	var ratio float64
	if err := json.Unmarshal(both["ratio"], &ratio); err != nil || ratio <= 1 {
		t.Errorf("ratio %s, want a number > 1", both["ratio"])
	}
	for _, op := range []string{"l1", "mac"} {
		var r map[string]any
		if err := json.Unmarshal(both[op], &r); err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		for _, k := range []string{"luts", "ffs", "carry", "brams", "dsps"} {
			if _, ok := r[k].(float64); !ok {
				t.Errorf("%s.%s = %v, want a number", op, k, r[k])
			}
		}
		if v, ok := r["fmax_mhz"]; !ok || v != nil {
			t.Errorf("%s.fmax_mhz = %v, want null for xilinx", op, v)
		}
		if r["op"] != op || r["lanes"] != 3.0 || r["luts"] == 0.0 {
			t.Errorf("%s: %v", op, r)
		}
	}
}

// TestSynthPEICE40 places and routes a small L1 PE and a hand-written
// variant: --op l1 prints one object with a numeric fmax_mhz.
func TestSynthPEICE40(t *testing.T) {
	testutil.RequireTools(t, "yosys", "nextpnr-ice40")
	keep := t.TempDir()
	code, out, errs := runCLI(t, "synth", "pe", "--lanes", "4", "--width", "4", "--target", "ice40", "--op", "l1",
		"--verilog", filepath.Join("..", "..", "synth", "testdata", "l1_naive_k4_w4_s_p1.v"), "--name", "naive_pe", "--latency", "1",
		"--json", "--keep", keep, "--seeds", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	if f, ok := r["fmax_mhz"].(float64); !ok || f < 20 {
		t.Errorf("fmax_mhz = %v", r["fmax_mhz"])
	}
	if s, ok := r["fmax_seeds"].([]any); !ok || len(s) != 2 {
		t.Errorf("fmax_seeds = %v, want two", r["fmax_seeds"])
	}
	if r["module"] != "naive_pe" || r["latency"] != 1.0 || r["op"] != "l1" {
		t.Errorf("report %v", r)
	}
	for _, f := range []string{"naive_pe.v", "synth_top.v", "synth.ys", "yosys.log", "stat.json", "nextpnr.log", "nextpnr_s2.log"} {
		if _, err := os.Stat(filepath.Join(keep, "l1", f)); err != nil {
			t.Error(err)
		}
	}
}

func TestSynthPEEstimate(t *testing.T) {
	code, out, errs := runCLI(t, "synth", "pe", "--lanes", "16", "--width", "8", "--unsigned", "--target", "xilinx", "--estimate", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		L1, MAC struct {
			LUTs, FFs int
			Estimated bool
		}
		Ratio float64
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !r.L1.Estimated || r.L1.LUTs < 250 || r.L1.LUTs > 400 || r.MAC.LUTs < 5*r.L1.LUTs || r.Ratio < 5 {
		t.Errorf("estimate %+v", r)
	}
}

// TestSynthPEFamilyFromTarget: --pipeline auto plans for the target's
// family (the estimate's flip-flops come from the plan), and --family
// overrides it.
func TestSynthPEFamilyFromTarget(t *testing.T) {
	est := func(args ...string) (luts, ffs int) {
		t.Helper()
		code, out, errs := runCLI(t, append([]string{"synth", "pe", "--lanes", "9", "--width", "8", "--unsigned", "--op", "l1", "--estimate", "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		var r struct{ LUTs, FFs int }
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return r.LUTs, r.FFs
	}
	// iCE40 FFs are exact: 357 for the speed schedule (latency 9), 114 for
	// one adder level per stage (synth/RESULTS.md).
	if _, ffs := est("--target", "ice40"); ffs != 357 {
		t.Errorf("--target ice40: %d FFs estimated, want 357 (the ice40 schedule)", ffs)
	}
	if _, ffs := est("--target", "ice40", "--family", "generic"); ffs != 114 {
		t.Errorf("--target ice40 --family generic: %d FFs estimated, want 114", ffs)
	}
	if _, ffs := est("--target", "ice40", "--pipeline", "4"); ffs != 114 {
		t.Errorf("--target ice40 --pipeline 4: %d FFs estimated, want 114", ffs)
	}
	xl, xf := est("--target", "xilinx")
	gl, gf := est("--target", "xilinx", "--family", "generic")
	if xl != gl || xf != gf {
		t.Errorf("--target xilinx: %d LUTs %d FFs, generic family %d %d: want the same", xl, xf, gl, gf)
	}
}
