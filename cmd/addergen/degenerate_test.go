package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/quant"
)

// TestZeroRangeCalibrationCase is shared/cases/zero-range-calibration: an
// adder layer whose input is zero on every calibration sample. At 16 bits
// the logits must equal want_logits.npy ([−15.15, −7.575] per sample)
// within the 16-bit resolution (before the fix, the input scale was 1 and
// the weights were rounded to integers: [−13, −6]), and quantize must warn
// on stderr, naming the layer, with stdout left to the report.
func TestZeroRangeCalibrationCase(t *testing.T) {
	model := testutil.SharedFile(t, "cases/zero-range-calibration/min.json")
	dir := filepath.Dir(model)
	weights := filepath.Join(dir, "min.npz")
	calib := filepath.Join(dir, "min_zeros.npy")
	want, err := dataset.ReadNPY(filepath.Join(dir, "want_logits.npy"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	qpath := filepath.Join(tmp, "q.json")
	code, stdout, stderr := runCLI(t, "quantize", "--model", model, "--weights", weights, "--calib", calib, "--bits", "16", "--out", qpath, "--json")
	if code != 0 {
		t.Fatalf("quantize: exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "warning") && !strings.HasPrefix(strings.TrimSpace(stdout), "{") {
		t.Errorf("a warning reached stdout under --json:\n%s", stdout)
	}
	var warned bool
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if strings.HasPrefix(line, "warning: ") && strings.Contains(line, "layer a1") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("quantize printed no warning naming layer a1 on stderr; stderr:\n%s", stderr)
	}
	q, err := quant.Load(qpath)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Calibration.Warnings) == 0 {
		t.Error("the quantized model records no calibration warning")
	}
	ypath := filepath.Join(tmp, "y.npy")
	if code, _, stderr := runCLI(t, "infer", "--model", qpath, "--input", calib, "--output", ypath); code != 0 {
		t.Fatalf("infer: exit %d: %s", code, stderr)
	}
	y, err := dataset.ReadNPY(ypath)
	if err != nil {
		t.Fatal(err)
	}
	if len(y.Data) != len(want.Data) {
		t.Fatalf("logits shape %v, want %v", y.Shape, want.Shape)
	}
	// The resolution at 16 bits: half an output code, plus the rounding of
	// each of the layer's 16 weights (half an input code each).
	tol := q.Output().Out.Scale/2 + 16*q.Input.Scale/2
	if tol > 1e-3 {
		t.Fatalf("16-bit scales too coarse: output %v, input %v", q.Output().Out.Scale, q.Input.Scale)
	}
	for i := range want.Data {
		if d := math.Abs(y.Data[i] - want.Data[i]); d > tol {
			t.Errorf("logit %d: got %.6f, want %.6f (off by %.3g, resolution %.3g)", i, y.Data[i], want.Data[i], d, tol)
		}
	}
}
