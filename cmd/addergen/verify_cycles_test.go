package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/nettest"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/quant/quanttest"
)

// TestVerifyOneImageCycles: with one image the cycles per image cannot be
// measured (they are the spacing of the images' outputs), so verify
// reports null in JSON and says so in text, never 0; with two images it
// is a positive number.
func TestVerifyOneImageCycles(t *testing.T) {
	testutil.RequireTools(t, "iverilog", "vvp")
	q := nettest.Tiny(t)
	dir := t.TempDir()
	qpath, xpath := filepath.Join(dir, "q.json"), filepath.Join(dir, "x.npy")
	if err := q.Save(qpath); err != nil {
		t.Fatal(err)
	}
	x := quanttest.Uniform(q.Input.Shape, 2, 0, 1, 9)
	if err := dataset.WriteNPY(xpath, x); err != nil {
		t.Fatal(err)
	}
	verify := func(images string, asJSON bool) (string, string) {
		args := []string{"verify", "--model", qpath, "--data", xpath, "--images", images, "--simulator", "iverilog"}
		if asJSON {
			args = append(args, "--json")
		}
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("verify --images %s: exit %d: %s", images, code, stderr)
		}
		return stdout, stderr
	}
	cycles := func(stdout string) any {
		var r map[string]any
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
		}
		v, ok := r["cycles_per_image"]
		if !ok {
			t.Fatalf("no cycles_per_image in %s", stdout)
		}
		return v
	}
	out, _ := verify("1", true)
	if v := cycles(out); v != nil {
		t.Errorf("--images 1: cycles_per_image %v, want null (not measurable)", v)
	}
	if text, _ := verify("1", false); !strings.Contains(text, "cycles per image: not measured") {
		t.Errorf("--images 1 text output does not say the cycles were not measured:\n%s", text)
	}
	out, _ = verify("2", true)
	if v, ok := cycles(out).(float64); !ok || v <= 0 {
		t.Errorf("--images 2: cycles_per_image %v, want a positive number", cycles(out))
	}
}
