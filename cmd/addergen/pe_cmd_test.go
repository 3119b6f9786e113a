package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/sim"
	"github.com/spf13/cobra"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Execute(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestEmitPE(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	code, out, errs := runCLI(t, "emit-verilog", "pe", "--lanes", "9", "--width", "8", "--unsigned", "--name", "my_pe", "--out", dir, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	want := map[string]any{"module": "my_pe", "lanes": 9.0, "width": 8.0, "signed": false, "sum_width": 12.0, "latency": 4.0}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("json %s = %v, want %v", k, m[k], v)
		}
	}
	for _, f := range []string{"my_pe.v", "my_pe.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("out dir holds %d entries, want 3 (the files and the .addergen marker, no temporaries)", len(entries))
	}
	if sib, _ := os.ReadDir(filepath.Dir(dir)); len(sib) != 1 {
		t.Errorf("%d entries beside the out dir, want 1 (no temporary folder left)", len(sib))
	}
}

// TestEmitPEFamily: --family ice40 gives the speed schedule of --pipeline
// auto (latency in the JSON), xilinx and generic the same area-schedule
// files, and an explicit --pipeline ignores the family.
func TestEmitPEFamily(t *testing.T) {
	emit := func(args ...string) (map[string]any, map[string]string) {
		t.Helper()
		dir := t.TempDir()
		code, out, errs := runCLI(t, append([]string{"emit-verilog", "pe", "--lanes", "9", "--width", "8", "--unsigned", "--out", dir, "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
		}
		files := map[string]string{}
		for _, f := range []string{"adder_pe.v", "adder_pe.json"} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			files[f] = string(b)
		}
		return m, files
	}
	m, ice := emit("--family", "ice40")
	if m["latency"] != 9.0 || m["schedule"] != "ice40" || m["sum_width"] != 12.0 {
		t.Errorf("--family ice40: json %v, want latency 9, schedule ice40", m)
	}
	if !strings.Contains(ice["adder_pe.v"], "Register schedule (ice40") || !strings.Contains(ice["adder_pe.json"], `"latency": 9`) {
		t.Errorf("--family ice40: files do not describe the speed schedule")
	}
	mg, generic := emit()
	if mg["latency"] != 4.0 || mg["schedule"] != nil {
		t.Errorf("default family: json %v, want latency 4 and no schedule", mg)
	}
	for _, args := range [][]string{{"--family", "xilinx"}, {"--family", "generic"}} {
		if _, f := emit(args...); f["adder_pe.v"] != generic["adder_pe.v"] || f["adder_pe.json"] != generic["adder_pe.json"] {
			t.Errorf("%v: files differ from the default family's", args)
		}
	}
	if mp, _ := emit("--family", "ice40", "--pipeline", "2"); mp["latency"] != 2.0 || mp["schedule"] != nil {
		t.Errorf("--family ice40 --pipeline 2: json %v, want latency 2, area schedule", mp)
	}
}

func TestEmitPEBadInput(t *testing.T) {
	base := t.TempDir()
	blocker := filepath.Join(base, "file")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--lanes", "0", "--width", "8"}, "--lanes"},
		{[]string{"--lanes", "4097", "--width", "8"}, "--lanes"},
		{[]string{"--lanes", "4", "--width", "1"}, "--width"},
		{[]string{"--lanes", "4", "--width", "17"}, "--width"},
		{[]string{"--lanes", "4", "--width", "8", "--pipeline", "fast"}, "--pipeline"},
		{[]string{"--lanes", "4", "--width", "8", "--family", "ecp5"}, "--family"},
		{[]string{"--lanes", "4", "--width", "8", "--name", "9x"}, "--name"},
		{[]string{"--lanes", "4", "--width", "8", "--bogus"}, "--bogus"},
		{[]string{"--lanes", "four", "--width", "8"}, "--lanes"},
		{[]string{"--width", "8"}, "lanes"},
	}
	for _, tt := range tests {
		out := filepath.Join(base, "out")
		args := append([]string{"emit-verilog", "pe", "--out", out}, tt.args...)
		code, _, errs := runCLI(t, args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", tt.args, code)
		}
		if strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: stderr %q, want one line naming %s", tt.args, errs, tt.want)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%v: output written despite bad input", tt.args)
		}
	}
	for _, args := range [][]string{{"emit-verilog", "bogus"}, {"verify", "bogus"}} {
		if code, _, errs := runCLI(t, args...); code != 2 || !strings.Contains(errs, "unknown command") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
	if code, _, errs := runCLI(t, "emit-verilog", "pe", "--lanes", "4", "--width", "8", "--out", ""); code != 2 || !strings.Contains(errs, "--out") {
		t.Errorf("empty --out: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := runCLI(t, "verify", "pe", "--lanes", "4096", "--width", "16", "--vectors", "1000000"); code != 2 || !strings.Contains(errs, "--vectors") {
		t.Errorf("huge --vectors: exit %d, stderr %q", code, errs)
	}
	code, _, errs := runCLI(t, "emit-verilog", "pe", "--lanes", "4", "--width", "8", "--out", filepath.Join(blocker, "sub"))
	if code != 2 || !strings.Contains(errs, "--out") {
		t.Errorf("unwritable --out: exit %d, stderr %q", code, errs)
	}
}

func TestVerifyPE(t *testing.T) {
	testutil.RequireTools(t, "iverilog", "vvp")
	code, out, errs := runCLI(t, "verify", "pe", "--lanes", "5", "--width", "4", "--pipeline", "1",
		"--simulator", "iverilog", "--vectors", "100", "--seed", "3", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		Vectors       int             `json:"vectors"`
		Mismatches    int             `json:"mismatches"`
		Simulator     string          `json:"simulator"`
		FirstMismatch json.RawMessage `json:"first_mismatch"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	if r.Vectors < 100 || r.Mismatches != 0 || r.Simulator != "iverilog" || string(r.FirstMismatch) != "null" {
		t.Errorf("result %+v", r)
	}
}

// TestVerifyPEFamily verifies a speed-schedule PE through the command.
func TestVerifyPEFamily(t *testing.T) {
	testutil.RequireTools(t, "iverilog", "vvp")
	code, out, errs := runCLI(t, "verify", "pe", "--lanes", "9", "--width", "8", "--family", "ice40",
		"--simulator", "iverilog", "--vectors", "50", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		Mismatches int `json:"mismatches"`
		Latency    int `json:"latency"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	if r.Mismatches != 0 || r.Latency != 9 {
		t.Errorf("result %+v, want 0 mismatches at latency 9", r)
	}
}

func TestVerifyPEBadInput(t *testing.T) {
	code, _, errs := runCLI(t, "verify", "pe", "--lanes", "5", "--width", "4", "--simulator", "modelsim")
	if code != 2 || !strings.Contains(errs, "--simulator") {
		t.Errorf("unknown simulator: exit %d, stderr %q", code, errs)
	}
	t.Setenv("PATH", t.TempDir())
	code, _, errs = runCLI(t, "verify", "pe", "--lanes", "5", "--width", "4", "--simulator", "verilator")
	if code != 2 || !strings.Contains(errs, "verilator not found") || !strings.Contains(errs, "apt-get install") {
		t.Errorf("missing simulator: exit %d, stderr %q", code, errs)
	}
}

func TestVersion(t *testing.T) {
	code, out, errs := runCLI(t, "version", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"addergen", "go", "sim_kernel", "iverilog", "verilator", "yosys"} {
		if m[k] == "" {
			t.Errorf("version lacks %s: %v", k, m)
		}
	}
	if m["addergen"] != Version {
		t.Errorf("addergen version %q, want %q", m["addergen"], Version)
	}
	if m["sim_kernel"] != sim.Kernel() {
		t.Errorf("sim_kernel %q, want %q", m["sim_kernel"], sim.Kernel())
	}
	if m["float_kernel"] != model.FloatKernel() {
		t.Errorf("float_kernel %q, want %q", m["float_kernel"], model.FloatKernel())
	}
	code, out, errs = runCLI(t, "version")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "sim kernel     "+sim.Kernel()+"\n") {
		t.Errorf("version does not name the sim kernel %q:\n%s", sim.Kernel(), out)
	}
}

// TestEveryCommandHasExamples walks the command tree: every command's
// --help has examples, and every reporting command has --json.
func TestEveryCommandHasExamples(t *testing.T) {
	root := newRootCmd(io.Discard, io.Discard)
	noJSON := map[string]bool{"addergen": true, "addergen synth": true, "addergen emit-verilog": false,
		"addergen completion": true, "addergen completion bash": true, "addergen completion zsh": true,
		"addergen completion fish": true, "addergen completion powershell": true}
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		if c.Name() == "help" || c.Hidden {
			return
		}
		n++
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s: --help has no examples", c.CommandPath())
		}
		if !noJSON[c.CommandPath()] && c.Flags().Lookup("json") == nil {
			t.Errorf("%s: no --json flag", c.CommandPath())
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	if n < 15 {
		t.Errorf("walked %d commands, want at least 15", n)
	}
}
