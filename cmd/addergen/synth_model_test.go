package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/addergen/addergen/internal/nettest"
	"github.com/addergen/addergen/internal/testutil"
)

// tinyQuantized writes the tiny quantized network of the nettest package
// (small enough for yosys in seconds) and returns its path.
func tinyQuantized(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tiny.json")
	if err := nettest.Tiny(t).Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSynthModelBadInput(t *testing.T) {
	q := tinyQuantized(t)
	base := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--model", q}, "target"},
		{[]string{"--model", q, "--target", "ecp5"}, "--target"},
		{[]string{"--model", q, "--target", "xilinx", "--op", "add"}, "--op"},
		{[]string{"--model", q, "--target", "xilinx", "--parallel", "0"}, "--parallel"},
		{[]string{"--model", q, "--target", "xilinx", "--timeout", "0s"}, "--timeout"},
		{[]string{"--target", "xilinx"}, "--model"},
		{[]string{"--model", filepath.Join(base, "none.json"), "--target", "xilinx"}, "--model"},
		{[]string{"--model", q, "--target", "xilinx", "--config", filepath.Join(base, "none.json")}, "--config"},
	}
	for _, tt := range tests {
		code, out, errs := runCLI(t, append([]string{"synth", "model"}, tt.args...)...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", tt.args, code)
		}
		if out != "" || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: stdout %q, stderr %q: want one line naming %s", tt.args, out, errs, tt.want)
		}
	}
}

func TestSynthModelMissingTool(t *testing.T) {
	q := tinyQuantized(t)
	t.Setenv("PATH", t.TempDir())
	code, _, errs := runCLI(t, "synth", "model", "--model", q, "--target", "xilinx")
	if code != 2 || !strings.Contains(errs, "yosys not found") {
		t.Errorf("exit %d, stderr %q: want yosys named missing", code, errs)
	}
}

// TestSynthModelJSON synthesizes the tiny network and its MAC baseline with
// yosys through the command: both report resources, and the MAC design is
// the larger.
func TestSynthModelJSON(t *testing.T) {
	testutil.RequireTools(t, "yosys")
	q := tinyQuantized(t)
	code, out, errs := runCLI(t, "synth", "model", "--model", q, "--parallel", "2", "--target", "xilinx", "--op", "both", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	var ratio *float64
	if err := json.Unmarshal(got["ratio"], &ratio); err != nil || ratio == nil || *ratio <= 1 {
		t.Errorf("ratio %s: want > 1", got["ratio"])
	}
	reps := map[string]map[string]any{}
	for _, op := range []string{"l1", "mac"} {
		var r map[string]any
		if err := json.Unmarshal(got[op], &r); err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		for _, k := range []string{"luts", "ffs", "carry", "brams", "dsps", "fmax_mhz"} {
			if _, ok := r[k]; !ok {
				t.Errorf("%s: no %q in %s", op, k, got[op])
			}
		}
		for _, k := range []string{"luts", "ffs", "carry"} {
			if v, _ := r[k].(float64); v <= 0 {
				t.Errorf("%s: %s = %v, want positive", op, k, r[k])
			}
		}
		if r["fmax_mhz"] != nil {
			t.Errorf("%s: fmax_mhz %v for xilinx, want null", op, r["fmax_mhz"])
		}
		// The logic depth is measured (yosys ltp after deleting the
		// registers): a registered pipeline keeps it to a few cells, never 0.
		if d, _ := r["logic_depth_cells"].(float64); d < 2 || d > 40 {
			t.Errorf("%s: logic_depth_cells %v", op, r["logic_depth_cells"])
		}
		if f, ok := r["fits"].(bool); !ok || !f {
			t.Errorf("%s: fits %v, want true for a tiny net on an xc7z020", op, r["fits"])
		}
		reps[op] = r
	}
	if l, m := reps["l1"]["luts"].(float64), reps["mac"]["luts"].(float64); m <= l {
		t.Errorf("MAC %v LUTs, L1 %v: want the MAC design larger", m, l)
	}
	if s, _ := reps["mac"]["synth"].(string); !strings.Contains(s, "-nodsp") {
		t.Errorf("MAC synthesized with %q, want -nodsp", s)
	}
	t.Logf("tiny net: %s", out)
}
