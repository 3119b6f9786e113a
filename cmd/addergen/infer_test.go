package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/addergen/addergen/dataset"
)

const fixtures = "../../model/testdata"

func execInfer(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Execute(append([]string{"infer"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestInferLeNet(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "y.npy")
	code, stdout, stderr := execInfer(t, "--model", "lenet5-adder", "--weights", fixtures+"/lenet5_zip.pth",
		"--input", fixtures+"/lenet5_input.npy", "--output", out, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Samples, Classes int
		Predictions      []int
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	got, err := dataset.ReadNPY(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := dataset.ReadNPY(fixtures + "/lenet5_logits.npy")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Shape, []int{2, 10}) || rep.Samples != 2 || rep.Classes != 10 || len(rep.Predictions) != 2 {
		t.Fatalf("shape %v, report %+v", got.Shape, rep)
	}
	for i, w := range want.Data {
		if math.Abs(got.Data[i]-w) > 1e-9*math.Max(1, math.Abs(w)) {
			t.Fatalf("logit %d = %v, PyTorch %v", i, got.Data[i], w)
		}
	}
	for i, p := range rep.Predictions {
		row := want.Data[i*10 : (i+1)*10]
		if row[p] != slices.Max(row) {
			t.Errorf("prediction %d = %d, not the argmax of %v", i, p, row)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("output folder holds %d entries, want 1 (no temporaries)", len(ents))
	}

	// [N, H, W] input for the one-channel model, and a spec file path
	// with .npz weights.
	x, _ := dataset.ReadNPY(fixtures + "/lenet5_input.npy")
	x.Shape = []int{2, 28, 28}
	in3 := filepath.Join(dir, "x3.npy")
	if err := dataset.WriteNPY(in3, x); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(dir, "y2.npy")
	if code, _, stderr := execInfer(t, "-q", "--model", "lenet5-adder", "--weights", fixtures+"/lenet5_zip.pth", "--input", in3, "--output", out2); code != 0 {
		t.Fatalf("[N H W] input: exit %d: %s", code, stderr)
	}
	got2, _ := dataset.ReadNPY(out2)
	if !slices.Equal(got2.Data, got.Data) {
		t.Error("[N H W] input gives different logits")
	}
	code, stdout, stderr = execInfer(t, "--model", fixtures+"/tiny.json", "--weights", fixtures+"/tiny.npz",
		"--input", fixtures+"/tiny_input.npy", "--output", filepath.Join(dir, "t.npy"))
	if code != 0 || !strings.Contains(stdout, "3×5 logits") {
		t.Errorf("spec file model: exit %d: %s%s", code, stdout, stderr)
	}

	// The same samples channel-last give the same logits.
	tx, _ := dataset.ReadNPY(fixtures + "/tiny_input.npy")
	nhwc := dataset.Tensor{Shape: []int{3, 12, 12, 3}, Data: make([]float64, len(tx.Data))}
	for i := range 3 {
		for c := range 3 {
			for p := range 144 {
				nhwc.Data[(i*144+p)*3+c] = tx.Data[(i*3+c)*144+p]
			}
		}
	}
	inHWC := filepath.Join(dir, "nhwc.npy")
	if err := dataset.WriteNPY(inHWC, nhwc); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := execInfer(t, "-q", "--model", fixtures+"/tiny.json", "--weights", fixtures+"/tiny.npz",
		"--input", inHWC, "--output", filepath.Join(dir, "t2.npy")); code != 0 {
		t.Fatalf("[N H W C] input: exit %d: %s", code, stderr)
	}
	a, _ := dataset.ReadNPY(filepath.Join(dir, "t.npy"))
	b, _ := dataset.ReadNPY(filepath.Join(dir, "t2.npy"))
	if !slices.Equal(a.Data, b.Data) {
		t.Error("[N H W C] input gives different logits")
	}
}

func TestInferBadInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "y.npy")
	lenetIn := fixtures + "/lenet5_input.npy"
	lenetW := fixtures + "/lenet5_zip.pth"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no model", []string{"--input", lenetIn, "--output", out}, `"model"`},
		{"unknown model", []string{"--model", "vgg", "--weights", lenetW, "--input", lenetIn, "--output", out}, `"vgg" is neither a built-in spec`},
		{"no weights", []string{"--model", "lenet5-adder", "--input", lenetIn, "--output", out}, "--weights is required"},
		{"missing weights", []string{"--model", "lenet5-adder", "--weights", filepath.Join(dir, "w.pth"), "--input", lenetIn, "--output", out}, "w.pth"},
		{"wrong weights", []string{"--model", "lenet5-adder", "--weights", fixtures + "/tiny_zip.pth", "--input", lenetIn, "--output", out}, `tiny_zip.pth: unexpected key`},
		{"not weights", []string{"--model", "lenet5-adder", "--weights", lenetIn, "--input", lenetIn, "--output", out}, "unknown weight file format"},
		{"missing input", []string{"--model", "lenet5-adder", "--weights", lenetW, "--input", filepath.Join(dir, "x.npy"), "--output", out}, "--input"},
		{"wrong shape", []string{"--model", "lenet5-adder", "--weights", lenetW, "--input", fixtures + "/tiny_input.npy", "--output", out}, "shape [3 3 12 12] does not fit the model input [N 1 28 28]"},
		{"bad output", []string{"--model", "lenet5-adder", "--weights", lenetW, "--input", lenetIn, "--output", filepath.Join(dir, "no", "y.npy")}, "--output"},
		{"bad flag", []string{"--model", "lenet5-adder", "--frobnicate"}, "frobnicate"},
	}
	for _, tc := range tests {
		code, _, stderr := execInfer(t, tc.args...)
		if code != exitUsage {
			t.Errorf("%s: exit %d, want %d (%s)", tc.name, code, exitUsage, stderr)
		}
		if !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: stderr %q, want one line containing %q", tc.name, stderr, tc.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("output written despite errors")
	}
}
