package main

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/quant/quanttest"
)

// cifarSpec is a small adder net on CIFAR-10 shaped input with the
// CIFAR-10 preprocessing of resnet20-adder.
const cifarSpec = `{
  "name": "tiny-cifar",
  "input": [3, 32, 32],
  "classes": 10,
  "preprocess": {"scale": 255, "mean": [0.4914, 0.4822, 0.4465], "std": [0.2023, 0.1994, 0.201]},
  "layers": [
    {"name": "c1", "op": "conv2d", "in": 3, "out": 4, "kernel": 4, "stride": 4, "bias": true},
    {"name": "relu1", "op": "relu"},
    {"name": "a1", "op": "adder2d", "in": 4, "out": 10, "kernel": 8},
    {"name": "bn1", "op": "batchnorm2d", "channels": 10},
    {"name": "flatten", "op": "flatten"}
  ]
}
`

// cifarBin returns CIFAR-10 binary records with the given labels and
// random pixels.
func cifarBin(rng *rand.Rand, labels ...byte) []byte {
	var b bytes.Buffer
	for _, l := range labels {
		b.WriteByte(l)
		for range 3072 {
			b.WriteByte(byte(rng.IntN(256)))
		}
	}
	return b.Bytes()
}

type cifarFixture struct {
	dir, spec, weights, folder, test, train, trunc string
	net                                            *model.Net
}

func newCIFARFixture(t *testing.T) cifarFixture {
	t.Helper()
	dir := t.TempDir()
	f := cifarFixture{dir: dir, spec: filepath.Join(dir, "tiny-cifar.json"), weights: filepath.Join(dir, "w.safetensors"),
		folder: filepath.Join(dir, "cifar")}
	if err := os.WriteFile(f.spec, []byte(cifarSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := model.LoadSpec(f.spec)
	if err != nil {
		t.Fatal(err)
	}
	if f.net, err = model.New(spec, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	if err := model.SaveSafetensors(f.net, f.weights); err != nil {
		t.Fatal(err)
	}
	// Reload so that the net is exactly what the commands will load.
	if f.net, err = model.Load(f.spec, f.weights); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(f.folder, 0o755)
	rng := rand.New(rand.NewPCG(5, 6))
	f.test = filepath.Join(f.folder, "test_batch.bin")
	f.train = filepath.Join(f.folder, "data_batch_1.bin")
	for _, w := range []struct {
		path string
		data []byte
	}{
		{f.test, cifarBin(rng, 3, 8, 0, 9, 1)},
		{f.train, cifarBin(rng, 6, 9, 9, 4, 1, 2, 7)},
	} {
		if err := os.WriteFile(w.path, w.data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f.trunc = filepath.Join(dir, "trunc.bin")
	good, _ := os.ReadFile(f.test)
	if err := os.WriteFile(f.trunc, good[:2*3073+500], 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestCIFARInferPreprocess: infer reads a CIFAR-10 .bin file, applies the
// spec's preprocessing with --preprocess (the logits equal the float net
// on the preprocessed pixels), takes the labels from the records, and
// warns when raw pixels come without --preprocess.
func TestCIFARInferPreprocess(t *testing.T) {
	f := newCIFARFixture(t)
	out := filepath.Join(f.dir, "y.npy")
	code, stdout, stderr := runCLI(t, "infer", "--model", f.spec, "--weights", f.weights, "--input", f.test, "--preprocess", "--output", out, "--json")
	if code != 0 {
		t.Fatalf("infer: exit %d: %s", code, stderr)
	}
	var rep struct {
		Samples int      `json:"samples"`
		Top1    *float64 `json:"top1"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Samples != 5 || rep.Top1 == nil {
		t.Fatalf("samples %d, top1 %v: want 5 labelled samples", rep.Samples, rep.Top1)
	}
	set, err := dataset.Load(f.test, "", "")
	if err != nil {
		t.Fatal(err)
	}
	x, err := f.net.Preprocess(set.X)
	if err != nil {
		t.Fatal(err)
	}
	want, err := f.net.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dataset.ReadNPY(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != len(want.Data) {
		t.Fatalf("%d logits, want %d", len(got.Data), len(want.Data))
	}
	for i := range want.Data {
		if got.Data[i] != want.Data[i] {
			t.Fatalf("logit %d = %v, want %v (the float net on preprocessed pixels)", i, got.Data[i], want.Data[i])
		}
	}
	// The preprocessing matters: raw pixels give other logits, and a warning.
	code, _, stderr = runCLI(t, "infer", "--model", f.spec, "--weights", f.weights, "--input", f.test, "--output", out)
	if code != 0 {
		t.Fatalf("infer without --preprocess: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "raw pixels") || !strings.Contains(stderr, "--preprocess") {
		t.Errorf("no warning about raw pixels without --preprocess: %q", stderr)
	}
	raw, err := dataset.ReadNPY(out)
	if err != nil {
		t.Fatal(err)
	}
	same := true
	for i := range raw.Data {
		same = same && raw.Data[i] == want.Data[i]
	}
	if same {
		t.Error("logits without --preprocess equal those with it")
	}
}

// TestCIFARQuantizeCompareSweep: a CIFAR-10 folder is the calibration data
// of quantize and sweep (their training split, data_batch_*.bin: 7
// records) and the data of compare and sweep (its test split,
// test_batch.bin: 5 records), with --preprocess on each.
func TestCIFARQuantizeCompareSweep(t *testing.T) {
	f := newCIFARFixture(t)
	q := filepath.Join(f.dir, "q.json")
	code, stdout, stderr := runCLI(t, "quantize", "--model", f.spec, "--weights", f.weights, "--calib", f.folder, "--preprocess",
		"--bits", "6", "--out", q, "--json")
	if code != 0 {
		t.Fatalf("quantize: exit %d: %s", code, stderr)
	}
	var qr struct {
		Calibration struct {
			Samples int `json:"samples"`
		} `json:"calibration"`
		Input struct {
			Bits   int     `json:"bits"`
			Signed bool    `json:"signed"`
			Scale  float64 `json:"scale"`
		} `json:"input"`
	}
	if err := json.Unmarshal([]byte(stdout), &qr); err != nil {
		t.Fatal(err)
	}
	if qr.Calibration.Samples != 7 {
		t.Errorf("calibrated on %d samples, want the 7 of data_batch_1.bin", qr.Calibration.Samples)
	}
	if qr.Input.Signed || qr.Input.Bits != 8 || qr.Input.Scale != 1 {
		t.Errorf("input %+v: want the raw 8-bit pixels (scale 1), the preprocessing folded into conv1", qr.Input)
	}
	if qm, err := quant.Load(q); err != nil || qm.PreprocessFolded == nil || qm.Version != 2 {
		t.Errorf("quantized file: %v; want version 2 with preprocess_folded", err)
	}
	// Without the fold the preprocessing is applied to --calib: the
	// input codes are signed (mean subtraction).
	qn := filepath.Join(f.dir, "qn.json")
	code, stdout, stderr = runCLI(t, "quantize", "--model", f.spec, "--weights", f.weights, "--calib", f.folder, "--preprocess",
		"--bits", "6", "--raw-input=false", "--out", qn, "--json")
	if code != 0 {
		t.Fatalf("quantize --raw-input=false: exit %d: %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &qr); err != nil {
		t.Fatal(err)
	}
	if !qr.Input.Signed {
		t.Error("--raw-input=false: input codes unsigned: the preprocessing (mean subtraction) was not applied to --calib")
	}
	code, stdout, stderr = runCLI(t, "compare", "--model", f.spec, "--weights", f.weights, "--quantized", q, "--data", f.folder, "--preprocess", "--json")
	if code != 0 {
		t.Fatalf("compare: exit %d: %s", code, stderr)
	}
	var cr struct {
		Samples int  `json:"samples"`
		Labeled bool `json:"labeled"`
	}
	if err := json.Unmarshal([]byte(stdout), &cr); err != nil {
		t.Fatal(err)
	}
	if cr.Samples != 5 || !cr.Labeled {
		t.Errorf("compare: %d samples, labelled %v; want the 5 labelled records of test_batch.bin", cr.Samples, cr.Labeled)
	}
	code, stdout, stderr = runCLI(t, "sweep", "--model", f.spec, "--weights", f.weights, "--data", f.folder, "--calib", f.folder, "--preprocess",
		"--bits", "6", "--parallel", "1", "--out", filepath.Join(f.dir, "sweep"), "--json")
	if code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, stderr)
	}
	var sr struct {
		CalibImages int `json:"calib_images"`
	}
	if err := json.Unmarshal([]byte(stdout), &sr); err != nil {
		t.Fatal(err)
	}
	if sr.CalibImages != 7 {
		t.Errorf("sweep calibrated on %d images, want 7", sr.CalibImages)
	}
}

// TestRawInputFollowsTheData: the preprocessing is folded only when the
// data are raw pixels (--preprocess, or CIFAR-10 records, raw by format).
// A .npy without --preprocess holds
// the model's normalised input (the models-and-data contract), so quantize
// keeps the normalised input and warns about nothing; --raw-input asked
// for explicitly then is one error line. A folded model reads raw pixels:
// data that cannot be raw pixels (negative or fractional values) given to
// it get one warning line naming the flag and the file; raw pixels get none.
func TestRawInputFollowsTheData(t *testing.T) {
	f := newCIFARFixture(t)
	rng := rand.New(rand.NewPCG(5, 6))
	norm, raw := dataset.Tensor{Shape: []int{4, 3, 32, 32}}, dataset.Tensor{Shape: []int{4, 3, 32, 32}}
	for range 4 * 3 * 32 * 32 {
		norm.Data = append(norm.Data, rng.NormFloat64())
		raw.Data = append(raw.Data, float64(rng.IntN(256)))
	}
	normFile, rawFile := filepath.Join(f.dir, "norm.npy"), filepath.Join(f.dir, "raw.npy")
	for file, x := range map[string]dataset.Tensor{normFile: norm, rawFile: raw} {
		if err := dataset.WriteNPY(file, x); err != nil {
			t.Fatal(err)
		}
	}
	const warning = "not raw pixels"
	folded := func(q string) bool {
		m, err := quant.Load(q)
		if err != nil {
			t.Fatal(err)
		}
		return m.PreprocessFolded != nil
	}
	for _, c := range []struct {
		calib  string
		extra  []string
		folded bool
	}{
		{normFile, nil, false},
		{rawFile, []string{"--preprocess"}, true},
		{f.folder, []string{"--preprocess"}, true},
		{f.folder, nil, true}, // CIFAR-10 records are raw pixels by format
	} {
		q := filepath.Join(f.dir, "q.json")
		args := append([]string{"quantize", "--model", f.spec, "--weights", f.weights, "--calib", c.calib, "--bits", "6", "--out", q}, c.extra...)
		code, _, stderr := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("quantize --calib %s %v: exit %d: %s", c.calib, c.extra, code, stderr)
		}
		if strings.Contains(stderr, warning) {
			t.Errorf("quantize --calib %s %v: warned: %s", c.calib, c.extra, stderr)
		}
		if folded(q) != c.folded {
			t.Errorf("quantize --calib %s %v: preprocessing folded %v, want %v", c.calib, c.extra, !c.folded, c.folded)
		}
	}
	q := filepath.Join(f.dir, "q2.json")
	code, _, stderr := runCLI(t, "quantize", "--model", f.spec, "--weights", f.weights, "--calib", normFile, "--bits", "6", "--raw-input", "--out", q)
	if code != 2 || !strings.Contains(stderr, "--raw-input") || !strings.Contains(stderr, "--preprocess") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("explicit --raw-input on normalised data: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(q); err == nil {
		t.Errorf("explicit --raw-input on normalised data wrote %s", q)
	}
	// A folded model (the last quantize) and normalised data: one warning.
	q = filepath.Join(f.dir, "q.json")
	for _, c := range []struct {
		data  string
		extra []string
		warn  int
	}{
		{normFile, nil, 1},
		{rawFile, []string{"--preprocess"}, 0},
		{rawFile, nil, 0},
	} {
		args := append([]string{"compare", "--model", f.spec, "--weights", f.weights, "--quantized", q, "--data", c.data}, c.extra...)
		code, _, stderr := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("compare --data %s: exit %d: %s", c.data, code, stderr)
		}
		lines := 0
		for _, l := range strings.Split(stderr, "\n") {
			if strings.Contains(l, warning) {
				lines++
				if !strings.Contains(l, "--data "+c.data) || !strings.Contains(l, "--raw-input") {
					t.Errorf("warning does not name the flag, the file and --raw-input: %q", l)
				}
			}
		}
		if lines != c.warn {
			t.Errorf("compare --data %s %v: %d %q warning lines, want %d; stderr:\n%s", c.data, c.extra, lines, warning, c.warn, stderr)
		}
	}
}

// TestCIFARVerifyPreprocess: verify runs the RTL on CIFAR-10 records with
// --preprocess, bit-exact.
func TestCIFARVerifyPreprocess(t *testing.T) {
	testutil.RequireTools(t, "iverilog", "vvp")
	f := newCIFARFixture(t)
	q := filepath.Join(f.dir, "q.json")
	if code, _, stderr := runCLI(t, "quantize", "--model", f.spec, "--weights", f.weights, "--calib", f.train, "--preprocess",
		"--bits", "6", "--out", q, "-q"); code != 0 {
		t.Fatalf("quantize: %s", stderr)
	}
	code, stdout, stderr := runCLI(t, "verify", "--model", q, "--data", f.test, "--preprocess", "--images", "2", "--simulator", "iverilog", "--json")
	if code != 0 {
		t.Fatalf("verify: exit %d: %s\n%s", code, stderr, stdout)
	}
	var vr struct {
		Images     int `json:"images"`
		Mismatches int `json:"mismatches"`
	}
	if err := json.Unmarshal([]byte(stdout), &vr); err != nil {
		t.Fatal(err)
	}
	if vr.Images != 2 || vr.Mismatches != 0 {
		t.Fatalf("verify: %d images, %d mismatches; want 2 and 0", vr.Images, vr.Mismatches)
	}
}

// TestCIFARBadInput: a truncated CIFAR-10 file, a folder without the split
// asked for, and --preprocess for a model without preprocessing each give
// exit 2 and one stderr line naming the flag and the file or value.
func TestCIFARBadInput(t *testing.T) {
	f := newCIFARFixture(t)
	out := filepath.Join(f.dir, "o")
	onlyTest := filepath.Join(f.dir, "only-test")
	os.MkdirAll(onlyTest, 0o755)
	b, _ := os.ReadFile(f.test)
	os.WriteFile(filepath.Join(onlyTest, "test_batch.bin"), b, 0o644)
	noPre := filepath.Join(f.dir, "nopre.json")
	if err := os.WriteFile(noPre, []byte(strings.Replace(cifarSpec,
		`"preprocess": {"scale": 255, "mean": [0.4914, 0.4822, 0.4465], "std": [0.2023, 0.1994, 0.201]},`, "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"infer", "--model", f.spec, "--weights", f.weights, "--input", f.trunc, "--preprocess", "--output", out + ".npy"},
			[]string{"--input", f.trunc, "not a whole number of 3073-byte"}},
		{[]string{"quantize", "--model", f.spec, "--weights", f.weights, "--calib", f.trunc, "--preprocess", "--bits", "8", "--out", out + ".json"},
			[]string{"--calib", f.trunc}},
		{[]string{"quantize", "--model", f.spec, "--weights", f.weights, "--calib", onlyTest, "--preprocess", "--bits", "8", "--out", out + ".json"},
			[]string{"--calib", onlyTest, "data_batch_*.bin"}},
		{[]string{"infer", "--model", noPre, "--weights", f.weights, "--input", f.test, "--preprocess", "--output", out + ".npy"},
			[]string{"--preprocess", noPre, "no preprocessing"}},
		{[]string{"quantize", "--model", f.spec, "--weights", f.weights, "--calib", f.train, "--bits", "4", "--residual-bits", "40", "--out", out + ".json"},
			[]string{"--residual-bits", "40"}},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line", c.args, code, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr %q does not name %q", c.args, stderr, w)
			}
		}
		for _, p := range []string{out + ".npy", out + ".json"} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%v: output %s written despite bad input", c.args, p)
			}
		}
	}
}

// resSpec is a small residual AdderNet: a conv stem, one block (adder →
// BN → ReLU → adder → BN, added to the stem's output, ReLU), a global
// average pool and a classifier.
const resSpec = `{"name": "tiny-resblock", "input": [3, 8, 8], "classes": 10, "layers": [
	{"name": "conv1", "op": "conv2d", "in": 3, "out": 8, "kernel": 3, "padding": 1},
	{"name": "bn0", "op": "batchnorm2d", "channels": 8},
	{"name": "relu0", "op": "relu"},
	{"name": "a1", "op": "adder2d", "in": 8, "out": 8, "kernel": 3, "padding": 1},
	{"name": "bn1", "op": "batchnorm2d", "channels": 8},
	{"name": "relu1", "op": "relu"},
	{"name": "a2", "op": "adder2d", "in": 8, "out": 8, "kernel": 3, "padding": 1},
	{"name": "bn2", "op": "batchnorm2d", "channels": 8},
	{"name": "add", "op": "add", "inputs": ["bn2", "relu0"]},
	{"name": "relu2", "op": "relu"},
	{"name": "pool", "op": "avgpool2d", "kernel": 8},
	{"name": "flatten", "op": "flatten"},
	{"name": "fc", "op": "linear", "in": 8, "out": 10, "bias": true}]}`

// resNet writes resSpec with random weights whose BN statistics are those
// of x (so no ReLU is dead) and returns the spec and weights paths.
func resNet(t *testing.T, dir string, x dataset.Tensor) (string, string) {
	t.Helper()
	spec := filepath.Join(dir, "res.json")
	if err := os.WriteFile(spec, []byte(resSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := model.LoadSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	net, err := model.New(s, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range net.Layers {
		if l.Op != model.OpBatchNorm2d {
			continue
		}
		outs, err := net.ForwardAll(x)
		if err != nil {
			t.Fatal(err)
		}
		in := outs[net.Index(l.Inputs[0])]
		C := in.Shape[1]
		hw := in.Len() / (in.Shape[0] * C)
		for c := range C {
			var sum, sum2 float64
			for i := range in.Shape[0] {
				for _, v := range in.Data[(i*C+c)*hw : (i*C+c+1)*hw] {
					sum, sum2 = sum+v, sum2+v*v
				}
			}
			n := float64(in.Shape[0] * hw)
			l.Mean.Value.Data[c], l.Var.Value.Data[c] = sum/n, max(1e-6, sum2/n-(sum/n)*(sum/n))
			l.W.Value.Data[c], l.B.Value.Data[c] = 0.5+rng.Float64(), 0.3*rng.NormFloat64()
		}
	}
	w := filepath.Join(dir, "res.safetensors")
	if err := model.SaveSafetensors(net, w); err != nil {
		t.Fatal(err)
	}
	return spec, w
}

// TestLowBitVerify: a residual net quantized at 4 bits with every low-bit
// option (non-power-of-two scales, output clipping, simulator-measured
// bias correction, 8-bit residual inputs) runs bit-exact in the generated
// RTL (Icarus), and its scales are really not all powers of two.
func TestLowBitVerify(t *testing.T) {
	testutil.RequireTools(t, "iverilog", "vvp")
	dir := t.TempDir()
	xt := quanttest.Uniform([]int{3, 8, 8}, 16, -1, 1, 3)
	x := filepath.Join(dir, "x.npy")
	if err := dataset.WriteNPY(x, xt); err != nil {
		t.Fatal(err)
	}
	spec, weights := resNet(t, dir, xt)
	q := filepath.Join(dir, "q.json")
	if code, _, stderr := runCLI(t, "quantize", "--model", spec, "--weights", weights, "--calib", x,
		"--bits", "4", "--non-pow2-scales", "--output-clip", "--bias-correction", "--bias-correction-passes", "2", "--residual-bits", "8",
		"--out", q, "-q"); code != 0 {
		t.Fatalf("quantize: %s", stderr)
	}
	b, err := os.ReadFile(q)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Config struct {
			NonPow2      bool `json:"non_pow2_scales"`
			ResidualBits int  `json:"residual_bits"`
			Passes       int  `json:"bias_correction_passes"`
		} `json:"config"`
		Layers []struct {
			Name string `json:"name"`
			Out  struct {
				Bits  int     `json:"bits"`
				Scale float64 `json:"scale"`
			} `json:"out"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if !m.Config.NonPow2 || m.Config.ResidualBits != 8 || m.Config.Passes != 2 {
		t.Errorf("config %+v does not record the options", m.Config)
	}
	nonPow2, wide := 0, 0
	for _, l := range m.Layers {
		if f, _ := math.Frexp(l.Out.Scale); f != 0.5 {
			nonPow2++
		}
		if l.Name == "a2" && l.Out.Bits == 8 {
			wide++
		}
	}
	if nonPow2 == 0 || wide != 1 {
		t.Fatalf("%d non-power-of-two scales, a2 at 8 bits: %v; want some and true", nonPow2, wide == 1)
	}
	code, stdout, stderr := runCLI(t, "verify", "--model", q, "--data", x, "--images", "2", "--simulator", "iverilog", "--json")
	if code != 0 {
		t.Fatalf("verify: exit %d: %s\n%s", code, stderr, stdout)
	}
	var vr struct {
		Images     int `json:"images"`
		Mismatches int `json:"mismatches"`
	}
	if err := json.Unmarshal([]byte(stdout), &vr); err != nil {
		t.Fatal(err)
	}
	if vr.Images != 2 || vr.Mismatches != 0 {
		t.Fatalf("verify: %d images, %d mismatches; want 2 and 0", vr.Images, vr.Mismatches)
	}
}

// TestRawInputNotFoldable: a net whose input goes straight into an adder
// layer cannot absorb a normalising preprocessing. By default quantize
// warns and keeps the normalised input; --raw-input asked for explicitly
// is an error naming the layer, exit 2.
func TestRawInputNotFoldable(t *testing.T) {
	f := newCIFARFixture(t)
	spec := strings.Replace(cifarSpec, `{"name": "c1", "op": "conv2d", "in": 3, "out": 4, "kernel": 4, "stride": 4, "bias": true}`,
		`{"name": "c1", "op": "adder2d", "in": 3, "out": 4, "kernel": 4, "stride": 4, "bias": true, "keys": {"weight": "c1.weight", "bias": "c1.bias"}}`, 1)
	if spec == cifarSpec {
		t.Fatal("the fixture spec changed: no conv2d c1 to replace")
	}
	path := filepath.Join(f.dir, "adder-first.json")
	if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	q := filepath.Join(f.dir, "q.json")
	code, stdout, stderr := runCLI(t, "quantize", "--model", path, "--weights", f.weights, "--calib", f.train, "--preprocess", "--bits", "6", "--out", q, "--json")
	if code != 0 || !strings.Contains(stderr, "warning: --raw-input") || !strings.Contains(stderr, "layer c1 (adder2d)") {
		t.Fatalf("default: exit %d, stderr %q", code, stderr)
	}
	var qr struct {
		Input struct {
			Signed bool `json:"signed"`
		} `json:"input"`
	}
	if err := json.Unmarshal([]byte(stdout), &qr); err != nil || !qr.Input.Signed {
		t.Errorf("default: input %+v (%v), want the normalised (signed) input", qr.Input, err)
	}
	code, _, stderr = runCLI(t, "quantize", "--model", path, "--weights", f.weights, "--calib", f.train, "--preprocess", "--bits", "6", "--raw-input", "--out", q)
	if code != 2 || !strings.Contains(stderr, "--raw-input") || !strings.Contains(stderr, "layer c1 (adder2d)") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("explicit --raw-input: exit %d, stderr %q", code, stderr)
	}
}

// TestRawInputBits: with the preprocessing folded the input is the raw
// 8-bit pixel; asking for another input width is one error line naming
// the flag and the way out.
func TestRawInputBits(t *testing.T) {
	f := newCIFARFixture(t)
	q := filepath.Join(f.dir, "q.json")
	code, _, stderr := runCLI(t, "quantize", "--model", f.spec, "--weights", f.weights, "--calib", f.train, "--preprocess", "--bits", "6,input=4", "--out", q)
	if code != 2 || !strings.Contains(stderr, "--bits 6,input=4") || !strings.Contains(stderr, "--raw-input=false") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "quantize", "--model", f.spec, "--weights", f.weights, "--calib", f.train, "--preprocess", "--bits", "6,input=4", "--raw-input=false", "--out", q); code != 0 {
		t.Errorf("--raw-input=false: exit %d: %s", code, stderr)
	}
}
