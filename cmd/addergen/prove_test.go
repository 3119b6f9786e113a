package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/addergen/addergen/internal/testutil"
)

// TestProveCommands runs the prove commands end to end on small units: a
// combinational and a pipelined PE (--json: one object with "result"
// PROVEN and "seconds"), the rounding step in every mode, and every PE and
// rescale of a small network (the table).
func TestProveCommands(t *testing.T) {
	testutil.RequireTools(t, "yosys", "yosys-abc", "iverilog", "vvp")
	for _, p := range []string{"0", "auto"} {
		code, out, errs := runCLI(t, "prove", "pe", "--lanes", "5", "--width", "4", "--pipeline", p, "--json")
		if code != 0 {
			t.Fatalf("prove pe --pipeline %s: exit %d: %s%s", p, code, out, errs)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
		}
		if m["result"] != "PROVEN" || m["lanes"] != 5.0 || m["pipeline"] != p {
			t.Errorf("prove pe --pipeline %s: %v", p, m)
		}
		if s, ok := m["seconds"].(float64); !ok || s <= 0 {
			t.Errorf("seconds %v, want a positive number", m["seconds"])
		}
		if _, ok := m["counterexample"]; ok {
			t.Errorf("a PROVEN result carries a counterexample: %v", m)
		}
	}

	code, out, errs := runCLI(t, "prove", "round", "--width", "20", "--shift", "7")
	if code != 0 {
		t.Fatalf("prove round: exit %d: %s%s", code, out, errs)
	}
	for _, mode := range []string{"half-up", "half-even", "floor", "toward-zero"} {
		if !strings.Contains(out, "PROVEN  round "+mode+", 20 bits, shift 7") {
			t.Errorf("prove round does not report %s proven:\n%s", mode, out)
		}
	}

	code, out, errs = runCLI(t, "prove", "--model", "../../synth/testdata/nets/tiny_q8.json", "--parallel", "1", "-q")
	if code != 0 {
		t.Fatalf("prove --model: exit %d: %s%s", code, out, errs)
	}
	for _, want := range []string{"kind", "K=2 W=8 unsigned pipeline auto (generic), latency 1", "a1: half-up shift 18", "PROVEN: 3 unit(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("prove --model table lacks %q:\n%s", want, out)
		}
	}
	if errs != "" {
		t.Errorf("-q printed on stderr: %q", errs)
	}

	code, out, _ = runCLI(t, "prove", "rescale", "--model", "../../synth/testdata/nets/tiny_q8.json", "--parallel", "1", "--layer", "a1", "--json")
	var tab struct {
		Result string `json:"result"`
		Items  []struct {
			Kind   string `json:"kind"`
			Result string `json:"result"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &tab); err != nil || code != 0 {
		t.Fatalf("prove rescale --json: exit %d, %v:\n%s", code, err, out)
	}
	if tab.Result != "PROVEN" || len(tab.Items) != 1 || tab.Items[0].Kind != "rescale" {
		t.Errorf("prove rescale --layer a1: %+v", tab)
	}
}

// TestProveTimeoutExit: a proof cut short by --timeout is UNKNOWN, exits 1
// and never says PROVEN.
func TestProveTimeoutExit(t *testing.T) {
	testutil.RequireTools(t, "yosys", "yosys-abc")
	code, out, errs := runCLI(t, "prove", "pe", "--lanes", "27", "--width", "8", "--pipeline", "0", "--timeout", "100ms")
	if code != exitFailed {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.HasPrefix(out, "UNKNOWN") || !strings.Contains(out, "timeout") || strings.Contains(out, "PROVEN") {
		t.Errorf("stdout %q, want UNKNOWN with the timeout", out)
	}
	if !strings.Contains(errs, "not proven") {
		t.Errorf("stderr %q", errs)
	}
}
