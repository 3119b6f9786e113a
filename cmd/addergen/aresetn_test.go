package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/addergen/addergen/internal/testutil"
)

// TestEmitVerifyAResetN emits LeNet with --aresetn and verifies the
// emitted folder: the top has aresetn and no rst_i, the manifest says so,
// and verify --rtl (which reads the reset from the manifest) is exact.
func TestEmitVerifyAResetN(t *testing.T) {
	testutil.RequireTools(t, "verilator")
	qpath, xpath := netFiles(t, 1)
	out := filepath.Join(t.TempDir(), "rtl")
	if code, _, errs := runCLI(t, "emit-verilog", "--model", qpath, "--out", out, "--parallel", "8", "--aresetn", "-q"); code != 0 {
		t.Fatalf("emit --aresetn: exit %d: %s", code, errs)
	}
	raw, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Reset   string `json:"reset"`
		IPXACT  string `json:"ip_xact"`
		FuseSoC string `json:"fusesoc_core"`
	}
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatal(err)
	}
	if man.Reset != "aresetn" {
		t.Errorf("manifest reset %q, want aresetn", man.Reset)
	}
	for _, f := range []string{man.IPXACT, man.FuseSoC} {
		if _, err := os.Stat(filepath.Join(out, f)); f == "" || err != nil {
			t.Errorf("packaging file %q: %v", f, err)
		}
	}
	top, err := os.ReadFile(filepath.Join(out, "addernet.v"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(top), "input  wire aresetn,") || strings.Contains(string(top), "input  wire rst_i") {
		t.Error("the top's reset port is not aresetn alone")
	}
	code, stdout, errs := runCLI(t, "verify", "--model", qpath, "--rtl", out, "--data", xpath, "--images", "1", "--simulator", "verilator")
	if code != 0 || !strings.Contains(stdout, ", 0 mismatches") {
		t.Fatalf("verify --rtl %s: exit %d: %s%s", out, code, stdout, errs)
	}
}
