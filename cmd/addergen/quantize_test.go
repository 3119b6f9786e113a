package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/quant/quanttest"
	"github.com/addergen/addergen/sim"
)

const lenetFixture = fixtures + "/lenet5_zip.pth"

// quantData writes MNIST-like data x.npy with labels x.labels.npy equal to
// the float LeNet fixture's own predictions (so the float top-1 is 100%).
func quantData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	x := quanttest.Digits(64, 5)
	net, err := model.Load("lenet5-adder", lenetFixture)
	if err != nil {
		t.Fatal(err)
	}
	y, err := net.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	labels := dataset.Tensor{Shape: []int{64}, Data: make([]float64, 64)}
	for i := range 64 {
		row := y.Data[i*10 : (i+1)*10]
		labels.Data[i] = float64(slices.Index(row, slices.Max(row)))
	}
	if err := dataset.WriteNPY(filepath.Join(dir, "x.npy"), x); err != nil {
		t.Fatal(err)
	}
	if err := dataset.WriteNPY(filepath.Join(dir, "x.labels.npy"), labels); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestQuantizeCompareInfer(t *testing.T) {
	d := quantData(t)
	dir := t.TempDir()
	q8 := filepath.Join(dir, "sub", "q8.json")
	code, stdout, stderr := runCLI(t, "quantize", "--model", "lenet5-adder", "--weights", lenetFixture,
		"--calib", d+"/x.npy", "--bits", "8,conv2=7", "--out", q8, "--json")
	if code != 0 {
		t.Fatalf("quantize: exit %d: %s", code, stderr)
	}
	var rep struct {
		Out    string
		Config quant.Config
		Layers []struct {
			Name     string
			AccWidth int `json:"acc_width"`
		}
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	if rep.Config.Bits != 8 || rep.Config.LayerBits["conv2"] != 7 || len(rep.Layers) != 8 || rep.Layers[2].AccWidth == 0 {
		t.Errorf("report %+v", rep)
	}
	q, err := quant.Load(q8)
	if err != nil {
		t.Fatal(err)
	}
	if q.InAct(q.Layer("conv2"), 0).Bits != 7 {
		t.Error("conv2=7 not applied")
	}
	if entries, _ := os.ReadDir(filepath.Dir(q8)); len(entries) != 1 {
		t.Errorf("%d entries beside the output, want 1 (no temporaries)", len(entries))
	}

	// Human-readable output.
	code, stdout, stderr = runCLI(t, "quantize", "--model", "lenet5-adder", "--weights", lenetFixture,
		"--calib", d+"/x.npy", "--bits", "4", "--no-multipliers", "--calibration", "max", "--rounding", "half-even",
		"--out", filepath.Join(dir, "q4.json"))
	if code != 0 || !strings.Contains(stdout, "wrote ") || !strings.Contains(stdout, "no multipliers") {
		t.Fatalf("quantize 4 bits: exit %d\n%s%s", code, stdout, stderr)
	}

	// compare, with files.
	out := filepath.Join(dir, "cmp")
	code, stdout, stderr = runCLI(t, "compare", "--model", "lenet5-adder", "--weights", lenetFixture,
		"--quantized", q8, "--data", d+"/x.npy", "--out", out, "--json")
	if code != 0 {
		t.Fatalf("compare: exit %d: %s", code, stderr)
	}
	var cmp struct {
		Samples   int
		Labeled   bool
		FloatTop1 float64 `json:"float_top1"`
		SimTop1   float64 `json:"sim_top1"`
		Agreement float64
		Layers    []sim.LayerComparison
		Files     []string
	}
	if err := json.Unmarshal([]byte(stdout), &cmp); err != nil {
		t.Fatalf("compare stdout is not one JSON object: %v\n%s", err, stdout)
	}
	if cmp.Samples != 64 || !cmp.Labeled || cmp.FloatTop1 != 100 || cmp.Agreement < 80 || len(cmp.Layers) != 8 {
		t.Errorf("comparison %+v", cmp)
	}
	for _, l := range cmp.Layers {
		if l.SQNR.Finite() && l.SQNR < 10 {
			t.Errorf("layer %s: SQNR %.1f dB at 8 bits", l.Name, l.SQNR)
		}
	}
	for _, f := range []string{"report.md", "report.json", "error.png", "ranges.png"} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Error(err)
			continue
		}
		if strings.HasSuffix(f, ".png") && !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("%s is not a PNG", f)
		}
		if f == "report.md" && !bytes.Contains(b, []byte("| conv2 | adder2d |")) {
			t.Errorf("report.md lacks the per-layer table:\n%s", b)
		}
	}

	// Text output of compare.
	code, stdout, _ = runCLI(t, "compare", "--model", "lenet5-adder", "--weights", lenetFixture,
		"--quantized", q8, "--data", d+"/x.npy", "--limit", "10")
	if code != 0 || !strings.Contains(stdout, "top-1 agreement") || !strings.Contains(stdout, "of 10 samples") {
		t.Errorf("compare text: exit %d\n%s", code, stdout)
	}

	// infer on the quantized model: the simulator's dequantized logits.
	y := filepath.Join(dir, "y.npy")
	code, _, stderr = runCLI(t, "infer", "--model", q8, "--input", d+"/x.npy", "--output", y)
	if code != 0 {
		t.Fatalf("infer: exit %d: %s", code, stderr)
	}
	got, err := dataset.ReadNPY(y)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := dataset.ReadNPY(d + "/x.npy")
	want, err := sim.Infer(q, x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Data, want.Data) || !slices.Equal(got.Shape, []int{64, 10}) {
		t.Error("infer on the quantized model differs from sim.Infer")
	}
	if code, _, stderr := runCLI(t, "infer", "--model", q8, "--weights", lenetFixture, "--input", d+"/x.npy", "--output", y); code != 2 || !strings.Contains(stderr, "weights") {
		t.Errorf("infer with --weights on a quantized model: exit %d, %s", code, stderr)
	}
}

func TestCompareMaxDrop(t *testing.T) {
	d := quantData(t)
	dir := t.TempDir()
	q2 := filepath.Join(dir, "q2.json")
	if code, _, stderr := runCLI(t, "quantize", "--model", "lenet5-adder", "--weights", lenetFixture,
		"--calib", d+"/x.npy", "--bits", "2", "--output-bits", "2", "--out", q2); code != 0 {
		t.Fatalf("quantize: %s", stderr)
	}
	code, stdout, stderr := runCLI(t, "compare", "--model", "lenet5-adder", "--weights", lenetFixture,
		"--quantized", q2, "--data", d+"/x.npy", "--max-drop", "0", "--json")
	if code != 1 {
		t.Fatalf("2-bit model with --max-drop 0: exit %d, want 1\n%s", code, stderr)
	}
	var rep struct{ Pass *bool }
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || rep.Pass == nil || *rep.Pass {
		t.Errorf("stdout %s (%v)", stdout, err)
	}
	if !strings.Contains(stderr, "below float") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("stderr %q", stderr)
	}
	code, _, _ = runCLI(t, "compare", "--model", "lenet5-adder", "--weights", lenetFixture,
		"--quantized", q2, "--data", d+"/x.npy", "--max-drop", "100", "-q")
	if code != 0 {
		t.Errorf("--max-drop 100: exit %d", code)
	}
}

func TestQuantizeCompareBadInput(t *testing.T) {
	d := quantData(t)
	dir := t.TempDir()
	q8 := filepath.Join(dir, "q8.json")
	if code, _, stderr := runCLI(t, "quantize", "--model", "lenet5-adder", "--weights", lenetFixture,
		"--calib", d+"/x.npy", "--bits", "8", "--calib-limit", "8", "--out", q8, "-q"); code != 0 {
		t.Fatalf("quantize: %s", stderr)
	}
	tinyQ := filepath.Join(dir, "tiny.json")
	tinyX := filepath.Join(dir, "tiny_x.npy")
	if err := dataset.WriteNPY(tinyX, quanttest.Uniform([]int{3, 12, 12}, 4, -1, 1, 1)); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "quantize", "--model", fixtures+"/tiny.json", "--weights", fixtures+"/tiny.npz",
		"--calib", tinyX, "--bits", "8", "--out", tinyQ, "-q"); code != 0 {
		t.Fatalf("quantize tiny: %s", stderr)
	}
	base := []string{"--model", "lenet5-adder", "--weights", lenetFixture, "--calib", d + "/x.npy"}
	out := filepath.Join(dir, "bad.json")
	tests := []struct {
		args []string
		want string
	}{
		{append(slices.Clone(base), "--out", out), "bits"},
		{append(slices.Clone(base), "--bits", "1", "--out", out), "--bits"},
		{append(slices.Clone(base), "--bits", "conv2=6", "--out", out), "--bits"},
		{append(slices.Clone(base), "--bits", "8", "--per-layer-bits", "nope=4", "--out", out), "nope"},
		{append(slices.Clone(base), "--bits", "8", "--per-layer-bits", "6", "--out", out), "--per-layer-bits"},
		{append(slices.Clone(base), "--bits", "8", "--calibration", "mean", "--out", out), "--calibration"},
		{append(slices.Clone(base), "--bits", "8", "--rounding", "up", "--out", out), "--rounding"},
		{append(slices.Clone(base), "--bits", "8", "--output-bits", "40", "--out", out), "--output-bits"},
		{append(slices.Clone(base), "--bits", "8", "--calib-split", "val", "--out", out), "--calib-split"},
		{append(slices.Clone(base), "--bits", "8", "--out", filepath.Join(dir, "q.txt")), "--out"},
		{[]string{"--model", "lenet5-adder", "--calib", d + "/x.npy", "--bits", "8", "--out", out}, "--weights"},
		{[]string{"--model", q8, "--calib", d + "/x.npy", "--bits", "8", "--out", out}, "already quantized"},
		{[]string{"--model", "lenet5-adder", "--weights", lenetFixture, "--calib", tinyX, "--bits", "8", "--out", out}, "--calib"},
		{[]string{"--model", "lenet5-adder", "--weights", lenetFixture, "--calib", filepath.Join(dir, "none.npy"), "--bits", "8", "--out", out}, "--calib"},
	}
	for _, tt := range tests {
		code, _, stderr := runCLI(t, append([]string{"quantize"}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("quantize %v: exit %d, stderr %q; want exit 2 and one line naming %s", tt.args, code, stderr, tt.want)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("quantize %v: output written despite bad input", tt.args)
		}
	}
	cbase := []string{"--model", "lenet5-adder", "--weights", lenetFixture, "--data", d + "/x.npy"}
	ctests := []struct {
		args []string
		want string
	}{
		{append(slices.Clone(cbase), "--quantized", fixtures+"/tiny.json"), "--quantized"},
		{append(slices.Clone(cbase), "--quantized", tinyQ), "tiny-res"},
		{append(slices.Clone(cbase), "--quantized", q8, "--limit", "-1"), "--limit"},
		{append(slices.Clone(cbase), "--quantized", q8, "--split", "val"), "--split"},
		{[]string{"--model", "lenet5-adder", "--weights", lenetFixture, "--quantized", q8, "--data", tinyX}, "--data"},
		{[]string{"--model", "lenet5-adder", "--weights", lenetFixture, "--quantized", q8, "--data", tinyX, "--max-drop", "1"}, "--data"},
	}
	for _, tt := range ctests {
		code, _, stderr := runCLI(t, append([]string{"compare"}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("compare %v: exit %d, stderr %q; want exit 2 and one line naming %s", tt.args, code, stderr, tt.want)
		}
	}
}

// TestQuantizeDefaults: --bits B puts the adder layers at B and keeps the
// first conv, the classifier and the input at 8 bits unless named; every
// low-bit technique is on unless switched off; --help says so.
func TestQuantizeDefaults(t *testing.T) {
	d := quantData(t)
	dir := t.TempDir()
	run := func(name string, args ...string) *quant.Model {
		t.Helper()
		p := filepath.Join(dir, name+".json")
		base := []string{"quantize", "--model", "lenet5-adder", "--weights", lenetFixture, "--calib", d + "/x.npy", "--out", p, "-q"}
		if code, _, stderr := runCLI(t, append(base, args...)...); code != 0 {
			t.Fatalf("quantize %v: exit %d: %s", args, code, stderr)
		}
		q, err := quant.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	widths := func(q *quant.Model) []int {
		return []int{q.Input.Bits, q.Layer("conv1").WeightBits, q.InAct(q.Layer("conv2"), 0).Bits,
			q.InAct(q.Layer("fc1"), 0).Bits, q.InAct(q.Layer("fc2"), 0).Bits, q.Layer("fc3").WeightBits}
	}
	q := run("def", "--bits", "4")
	if w := widths(q); !slices.Equal(w, []int{8, 8, 4, 4, 4, 8}) {
		t.Errorf("--bits 4: input, conv1, conv2, fc1, fc2, fc3 at %v bits; want 8 8 4 4 4 8", w)
	}
	c := q.Config
	if !c.NonPow2Scales || !c.OutputClip || !c.BiasCorrection || c.BiasPasses != 3 || c.ResidualBits != 8 {
		t.Errorf("defaults: %+v; want every low-bit technique, 3 bias passes (one per adder layer)", c)
	}
	for _, args := range [][]string{{"--bits", "4,conv1=4,fc3=4,input=4"}, {"--bits", "4", "--edge-bits", "0"}} {
		if w := widths(run("all4", args...)); !slices.Equal(w, []int{4, 4, 4, 4, 4, 4}) {
			t.Errorf("%v: widths %v, want all 4", args, w)
		}
	}
	off := run("off", "--bits", "4", "--non-pow2-scales=false", "--output-clip=false", "--bias-correction=false", "--residual-bits", "0")
	if c := off.Config; c.NonPow2Scales || c.OutputClip || c.BiasCorrection || c.BiasPasses != 0 || c.ResidualBits != 0 {
		t.Errorf("switched off: %+v", c)
	}
	for _, l := range off.Layers {
		if _, ok := l.Out.Exp(); !ok {
			t.Errorf("--non-pow2-scales=false: layer %s has scale %v, not a power of two", l.Name, l.Out.Scale)
		}
	}
	if nm := run("nm", "--bits", "4", "--no-multipliers"); nm.Config.NonPow2Scales || !nm.Config.NoMultipliers {
		t.Errorf("--no-multipliers: config %+v; want it alone to switch the non-power-of-two default off", nm.Config)
	}
	code, stdout, _ := runCLI(t, "quantize", "--help")
	if code != 0 || !strings.Contains(stdout, "stay at 8 bits") || !strings.Contains(stdout, "--bits 4,conv1=4,fc=4,input=4") || !strings.Contains(stdout, "ON by default") {
		t.Errorf("--help does not explain the width and technique defaults:\n%s", stdout)
	}
}

// TestQuantizeAutoBitsCLI: --auto-bits reports its search in --json and a
// generous budget keeps every adder layer at --bits; bad values of the new
// flags give exit 2 and one line naming the flag.
func TestQuantizeAutoBitsCLI(t *testing.T) {
	d := quantData(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "q.json")
	base := []string{"quantize", "--model", "lenet5-adder", "--weights", lenetFixture, "--calib", d + "/x.npy", "--out", p}
	code, stdout, stderr := runCLI(t, append(base, "--bits", "4", "--auto-bits", "100", "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		AutoBits *struct {
			Met   bool
			Steps []struct{ Bits map[string]int }
		} `json:"auto_bits"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || rep.AutoBits == nil {
		t.Fatalf("no auto_bits in %s (%v)", stdout, err)
	}
	if !rep.AutoBits.Met || len(rep.AutoBits.Steps) != 1 || !maps.Equal(rep.AutoBits.Steps[0].Bits, map[string]int{"conv2": 4, "fc1": 4, "fc2": 4}) {
		t.Errorf("auto_bits %+v; want one step at 4 bits", rep.AutoBits)
	}
	out := filepath.Join(dir, "bad.json")
	bad := []string{"quantize", "--model", "lenet5-adder", "--weights", lenetFixture, "--calib", d + "/x.npy", "--out", out, "--bits", "4"}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--edge-bits", "1"}, "--edge-bits"},
		{[]string{"--auto-bits", "-1"}, "--auto-bits"},
		{[]string{"--bias-correction=false", "--bias-correction-passes", "3"}, "--bias-correction-passes"},
		{[]string{"--bias-correction-passes", "-2"}, "--bias-correction-passes"},
		{[]string{"--no-multipliers", "--non-pow2-scales"}, "--non-pow2-scales"},
	} {
		code, _, stderr := runCLI(t, append(slices.Clone(bad), tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line naming %s", tt.args, code, stderr, tt.want)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%v: output written despite bad input", tt.args)
		}
	}
}
