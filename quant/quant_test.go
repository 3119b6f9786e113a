package quant_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/fixedpoint"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/quant/quanttest"
	"github.com/addergen/addergen/sim"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestWeightClampIdentity checks, for every input code x of a format and
// every weight code w over a wide range, that the clamped weight and its
// constant give exactly |x − w|: the identity the adder layers rely on.
func TestWeightClampIdentity(t *testing.T) {
	for _, f := range []quant.Act{
		{Bits: 2, Scale: 1}, {Bits: 3, Scale: 1}, {Bits: 4, Scale: 1}, {Bits: 8, Scale: 1},
		{Bits: 2, Signed: true, Scale: 1}, {Bits: 4, Signed: true, Scale: 1}, {Bits: 8, Signed: true, Scale: 1},
	} {
		lo, hi := f.Min(), f.Max()
		span := hi - lo
		var ws []float64
		for w := lo - 3*span - 2; w <= hi+3*span+2; w++ {
			ws = append(ws, float64(w))
		}
		for _, w := range ws {
			wc, c := quant.ClampAdderWeight(int64(w), lo, hi)
			if wc < lo || wc > hi || c < 0 {
				t.Fatalf("%+v: w=%v clamps to %d with constant %d", f, w, wc, c)
			}
			for x := lo; x <= hi; x++ {
				if got, want := abs(x-wc)+c, abs(x-int64(w)); got != want {
					t.Fatalf("%+v: x=%d w=%v: |x−wc|+c = |%d−%d|+%d = %d, want %d", f, x, w, x, wc, c, got, want)
				}
			}
		}
	}
}

func abs(v int64) int64 { return max(v, -v) }

func TestIsTwoTerm(t *testing.T) {
	want := map[int64]bool{}
	for p := range 20 {
		for q := range 20 {
			for _, v := range []int64{1 << p, 1<<p + 1<<q, 1<<p - 1<<q} {
				want[v], want[-v] = true, true
			}
		}
	}
	for v := int64(-70000); v <= 70000; v++ {
		if quant.IsTwoTerm(v) != want[v] {
			t.Fatalf("IsTwoTerm(%d) = %v", v, !want[v])
		}
	}
}

func TestParseBits(t *testing.T) {
	def, per, err := quant.ParseBits("8,conv2=6, fc1 = 4")
	if err != nil || def != 8 || !reflect.DeepEqual(per, map[string]int{"conv2": 6, "fc1": 4}) {
		t.Errorf("got %d %v %v", def, per, err)
	}
	for _, bad := range []string{"x", "8,9", "1", "17", "conv2=1", "a=4,a=5", "conv2=x"} {
		if _, _, err := quant.ParseBits(bad); err == nil {
			t.Errorf("ParseBits(%q) accepted", bad)
		}
	}
}

var (
	netsOnce sync.Once
	lenetNet *model.Net
	lenetX   dataset.Tensor
	tinyNet  *model.Net
	tinyX    dataset.Tensor
)

func nets(t testing.TB) {
	t.Helper()
	var err error
	netsOnce.Do(func() {
		var ls, ts *model.Spec
		if ls, err = model.BuiltinSpec("lenet5-adder"); err != nil {
			return
		}
		if ts, err = model.LoadSpec("../model/testdata/tiny.json"); err != nil {
			return
		}
		lenetX = quanttest.Digits(96, 1)
		if lenetNet, err = quanttest.RandomNet(ls, lenetX, 0.8, 2); err != nil {
			return
		}
		tinyX = quanttest.Uniform(ts.Input, 96, -1, 1, 3)
		tinyNet, err = quanttest.RandomNet(ts, tinyX, 1.5, 4)
	})
	if err != nil || lenetNet == nil {
		t.Fatalf("building test nets: %v", err)
	}
}

func quantize(t testing.TB, net *model.Net, x dataset.Tensor, mod func(*quant.Config)) *quant.Model {
	t.Helper()
	cfg := quant.DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	q, err := quant.Quantize(net, x, cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestFusion(t *testing.T) {
	nets(t)
	q := quantize(t, lenetNet, lenetX, nil)
	var got []string
	for _, l := range q.Layers {
		got = append(got, string(l.Op)+":"+l.Name+"+"+strings.Join(l.Fused, "+"))
	}
	want := []string{
		"conv2d:conv1+bn1+relu1", "maxpool2d:pool1+", "adder2d:conv2+bn2+relu2", "maxpool2d:pool2+",
		"adder2d:fc1+bn3+relu3", "adder2d:fc2+bn4+relu4", "conv2d:fc3+bn5", "flatten:flatten+",
	}
	if !slices.Equal(got, want) {
		t.Errorf("layers\n got %v\nwant %v", got, want)
	}
	// The MNIST input feeds a conv only: its scale is free, max/255 → 1/255.
	q = quantize(t, lenetNet, lenetX, func(c *quant.Config) { c.Calibration = quant.MethodMax })
	if q.Input.Signed || q.Input.Bits != 8 || math.Abs(q.Input.Scale*255/slices.Max(lenetX.Data)-1) > 1e-12 {
		t.Errorf("input format %+v", q.Input.Act)
	}
	// Adder inputs are unsigned 8-bit with a power-of-two scale; the
	// logits are 16-bit signed.
	for _, l := range q.Layers {
		if l.Op == quant.OpAdder2d {
			a := q.InAct(l, 0)
			if _, ok := a.Exp(); !ok || a.Signed || a.Bits != 8 {
				t.Errorf("%s input format %+v", l.Name, a)
			}
		}
	}
	if out := q.Output().Out; out.Bits != 16 || !out.Signed {
		t.Errorf("output format %+v", out)
	}

	nets(t)
	q = quantize(t, tinyNet, tinyX, nil)
	add := q.Layer("block.add")
	if add == nil || !slices.Equal(add.Inputs, []string{"block.conv2", "block.downsample.0"}) || !add.ReLU || add.Op != quant.OpAdd {
		t.Fatalf("add layer %+v", add)
	}
	if q.Input.Signed != true {
		t.Error("tiny input (uniform in [-1, 1]) should be signed")
	}
}

func TestLayerBits(t *testing.T) {
	nets(t)
	q := quantize(t, lenetNet, lenetX, func(c *quant.Config) {
		c.Bits = 8
		c.LayerBits = map[string]int{"conv2": 6, "bn3": 5, "fc3": 4, "input": 7}
	})
	if q.Input.Bits != 7 {
		t.Errorf("input bits %d", q.Input.Bits)
	}
	if a := q.InAct(q.Layer("conv2"), 0); a.Bits != 6 {
		t.Errorf("conv2 lanes %d bits, want 6", a.Bits)
	}
	if a := q.InAct(q.Layer("fc1"), 0); a.Bits != 5 {
		t.Errorf("fc1 lanes %d bits, want 5 (named by its fused bn3)", a.Bits)
	}
	if l := q.Layer("fc3"); l.WeightBits != 4 {
		t.Errorf("fc3 weight bits %d", l.WeightBits)
	}
	if l := q.Layer("conv1"); l.WeightBits != 8 {
		t.Errorf("conv1 weight bits %d", l.WeightBits)
	}
	for _, bad := range []map[string]int{{"nope": 4}, {"conv2": 6, "bn2": 5}, {"pool1": 6}} {
		cfg := quant.DefaultConfig()
		cfg.LayerBits = bad
		if _, err := quant.Quantize(lenetNet, lenetX, cfg, ""); err == nil {
			t.Errorf("layer bits %v accepted", bad)
		}
	}
}

func TestQuantizeErrors(t *testing.T) {
	nets(t)
	for name, mod := range map[string]func(*quant.Config){
		"bits":       func(c *quant.Config) { c.Bits = 1 },
		"output":     func(c *quant.Config) { c.OutputBits = 40 },
		"method":     func(c *quant.Config) { c.Calibration = "mean" },
		"percentile": func(c *quant.Config) { c.Calibration, c.Percentile = quant.MethodPercentile, 0 },
		"rounding":   func(c *quant.Config) { c.Rounding = 9 },
		"mult":       func(c *quant.Config) { c.MultBits = 1 },
	} {
		cfg := quant.DefaultConfig()
		mod(&cfg)
		if _, err := quant.Quantize(lenetNet, lenetX, cfg, ""); err == nil {
			t.Errorf("%s: bad config accepted", name)
		}
	}
	if _, err := quant.Quantize(lenetNet, tinyX, quant.DefaultConfig(), ""); err == nil {
		t.Error("calibration data of the wrong shape accepted")
	}
}

// sqnr returns the signal-to-quantization-noise ratio of q against f in dB.
func sqnr(f, q []float64) float64 {
	var s, n float64
	for i := range f {
		s += f[i] * f[i]
		n += (f[i] - q[i]) * (f[i] - q[i])
	}
	return 10 * math.Log10(s/n)
}

func argmax(row []float64) int {
	b := 0
	for j := range row {
		if row[j] > row[b] {
			b = j
		}
	}
	return b
}

// agreement returns the fraction of samples whose argmax agrees.
func agreement(a, b dataset.Tensor) float64 {
	c := a.Shape[1]
	n := a.Shape[0]
	ok := 0
	for i := range n {
		if argmax(a.Data[i*c:(i+1)*c]) == argmax(b.Data[i*c:(i+1)*c]) {
			ok++
		}
	}
	return float64(ok) / float64(n)
}

// TestQuantizedVsFloat quantizes small random nets and compares the
// dequantized simulator outputs with the float reference on held-out data.
func TestQuantizedVsFloat(t *testing.T) {
	nets(t)
	lenetTest := quanttest.Digits(200, 99)
	tinyTest := quanttest.Uniform(tinyNet.Input, 200, -1, 1, 98)
	for _, tc := range []struct {
		name      string
		net       *model.Net
		calib     dataset.Tensor
		test      dataset.Tensor
		mod       func(*quant.Config)
		minSQNR   float64 // dB, logits
		minAgreed float64
	}{
		{"lenet-8", lenetNet, lenetX, lenetTest, nil, 25, 0.95},
		{"lenet-8-nomult", lenetNet, lenetX, lenetTest, func(c *quant.Config) { c.NoMultipliers = true }, 12, 0.8},
		{"lenet-6", lenetNet, lenetX, lenetTest, func(c *quant.Config) { c.Bits = 6 }, 15, 0.85},
		{"lenet-4", lenetNet, lenetX, lenetTest, func(c *quant.Config) { c.Bits = 4 }, 3, 0.5},
		{"tiny-8", tinyNet, tinyX, tinyTest, nil, 25, 0.95},
		{"tiny-8-max", tinyNet, tinyX, tinyTest, func(c *quant.Config) { c.Calibration = quant.MethodMax }, 20, 0.9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := quantize(t, tc.net, tc.calib, tc.mod)
			f, err := tc.net.Forward(tc.test)
			if err != nil {
				t.Fatal(err)
			}
			y, err := sim.Infer(q, tc.test)
			if err != nil {
				t.Fatal(err)
			}
			s, a := sqnr(f.Data, y.Data), agreement(f, y)
			t.Logf("logits SQNR %.1f dB, top-1 agreement %.1f%%", s, 100*a)
			if s < tc.minSQNR || a < tc.minAgreed {
				t.Errorf("SQNR %.1f dB (want >= %v), agreement %.3f (want >= %v)", s, tc.minSQNR, a, tc.minAgreed)
			}
		})
	}
}

func TestFileRoundTrip(t *testing.T) {
	nets(t)
	dir := t.TempDir()
	for i, q := range []*quant.Model{
		quantize(t, lenetNet, lenetX, nil),
		quantize(t, tinyNet, tinyX, func(c *quant.Config) {
			c.Bits, c.NoMultipliers, c.Rounding, c.Calibration = 5, true, fixedpoint.TowardZero, quant.MethodPercentile
			c.LayerBits = map[string]int{"fc1": 7}
		}),
	} {
		b, err := q.MarshalFile()
		if err != nil {
			t.Fatal(err)
		}
		p, err := quant.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Errorf("model %d: decoded model differs from the original", i)
		}
		b2, _ := p.MarshalFile()
		if !bytes.Equal(b, b2) {
			t.Errorf("model %d: re-encoding differs", i)
		}
		path := filepath.Join(dir, "q.json")
		if err := q.Save(path); err != nil {
			t.Fatal(err)
		}
		l, err := quant.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(l, q) {
			t.Errorf("model %d: loaded model differs", i)
		}
		if !quant.IsQuantized(path) {
			t.Error("IsQuantized false on a quantized file")
		}
		var top map[string]any
		if err := json.Unmarshal(b, &top); err != nil || top["format"] != "addergen-quant" || top["version"] != 1.0 {
			t.Errorf("header %v %v", top["format"], top["version"])
		}
	}
	for _, p := range []string{"../model/testdata/tiny.json", "../model/testdata/tiny_input.npy", filepath.Join(dir, "missing.json"), dir} {
		if quant.IsQuantized(p) {
			t.Errorf("IsQuantized(%s) = true", p)
		}
	}
}

// TestParseRejects corrupts a valid file in many ways; each must be an
// error, never a model the simulator would run wrongly.
func TestParseRejects(t *testing.T) {
	nets(t)
	q := quantize(t, lenetNet, lenetX, func(c *quant.Config) { c.NoMultipliers = true })
	good, err := q.MarshalFile()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	layer := func(m map[string]any, i int) map[string]any {
		return m["layers"].([]any)[i].(map[string]any)
	}
	cases := map[string][]byte{
		"not json":              []byte("{"),
		"format":                edit(func(m map[string]any) { m["format"] = "other" }),
		"version":               edit(func(m map[string]any) { m["version"] = 4 }),
		"version 0":             edit(func(m map[string]any) { m["version"] = 0 }),
		"pad_code in version 1": edit(func(m map[string]any) { layer(m, 0)["pad_code"] = []any{0} }),
		"pad_code count": edit(func(m map[string]any) {
			m["version"] = 2
			layer(m, 0)["pad_code"] = []any{0, 0}
		}),
		"pad_code range": edit(func(m map[string]any) {
			m["version"] = 2
			layer(m, 0)["pad_code"] = []any{256}
		}),
		"pad_code on an adder": edit(func(m map[string]any) {
			m["version"] = 2
			layer(m, 2)["pad_code"] = slices.Repeat([]any{0}, 6)
		}),
		"group_shift in version 2": edit(func(m map[string]any) {
			m["version"] = 2
			layer(m, 2)["group_shift"] = slices.Repeat([]any{0}, 16)
		}),
		"group_shift count": edit(func(m map[string]any) {
			m["version"] = 3
			layer(m, 2)["group_shift"] = []any{0}
		}),
		"group_shift range": edit(func(m map[string]any) {
			m["version"] = 3
			layer(m, 2)["group_shift"] = slices.Repeat([]any{quant.MaxGroupShift + 1}, 16)
		}),
		"group_shift changes the ranges": edit(func(m map[string]any) {
			m["version"] = 3
			layer(m, 2)["group_shift"] = slices.Repeat([]any{3}, 16)
		}),
		"operand_bits not below the input's": edit(func(m map[string]any) {
			m["version"] = 3
			layer(m, 2)["operand_bits"] = 8
		}),
		"group_shift on a conv2d": edit(func(m map[string]any) {
			m["version"] = 3
			layer(m, 0)["group_shift"] = slices.Repeat([]any{0}, 6)
		}),
		"preprocess_folded in version 1": edit(func(m map[string]any) { m["preprocess_folded"] = map[string]any{"scale": 255} }),
		"unknown field":                  edit(func(m map[string]any) { m["extra"] = 1 }),
		"no layers":                      edit(func(m map[string]any) { m["layers"] = []any{} }),
		"input bits":                     edit(func(m map[string]any) { m["input"].(map[string]any)["bits"] = 1 }),
		"bad input ref":                  edit(func(m map[string]any) { layer(m, 2)["inputs"] = []any{"nope"} }),
		"out shape":                      edit(func(m map[string]any) { layer(m, 0)["out_shape"] = []any{6, 28, 27} }),
		"weight range": edit(func(m map[string]any) {
			layer(m, 2)["weight"].(map[string]any)["data"].([]any)[0] = 256
		}),
		"weight count": edit(func(m map[string]any) {
			w := layer(m, 2)["weight"].(map[string]any)
			w["data"] = w["data"].([]any)[1:]
		}),
		"negative const": edit(func(m map[string]any) { layer(m, 2)["weight_const"].([]any)[0] = -1 }),
		"range changed": edit(func(m map[string]any) {
			r := layer(m, 2)["ranges"].(map[string]any)["acc"].(map[string]any)
			r["hi"] = r["hi"].(float64) - 1
		}),
		"width changed": edit(func(m map[string]any) {
			r := layer(m, 2)["ranges"].(map[string]any)["product"].(map[string]any)
			r["width"] = r["width"].(float64) - 1
		}),
		"not two-term": edit(func(m map[string]any) {
			rs := layer(m, 2)["rescale"].(map[string]any)
			rs["m"].([]any)[0] = 11
		}),
		"m too wide": edit(func(m map[string]any) {
			rs := layer(m, 2)["rescale"].(map[string]any)
			rs["m"].([]any)[0] = 1 << 20
		}),
		"m count": edit(func(m map[string]any) {
			rs := layer(m, 2)["rescale"].(map[string]any)
			rs["m"] = rs["m"].([]any)[1:]
		}),
		"rounding":      edit(func(m map[string]any) { layer(m, 2)["rescale"].(map[string]any)["rounding"] = "up" }),
		"adder scale":   edit(func(m map[string]any) { layer(m, 0)["out"].(map[string]any)["scale"] = 0.3 }),
		"relu signed":   edit(func(m map[string]any) { layer(m, 0)["out"].(map[string]any)["signed"] = true }),
		"pool format":   edit(func(m map[string]any) { layer(m, 1)["out"].(map[string]any)["bits"] = 7 }),
		"pool rescale":  edit(func(m map[string]any) { layer(m, 1)["rescale"] = layer(m, 0)["rescale"] }),
		"op":            edit(func(m map[string]any) { layer(m, 1)["op"] = "sum" }),
		"duplicate":     edit(func(m map[string]any) { layer(m, 1)["name"] = "conv1" }),
		"trailing data": append(slices.Clone(good), []byte("{}")...),
	}
	for name, b := range cases {
		if _, err := quant.Parse(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := quant.Parse(good); err != nil {
		t.Fatalf("the unedited file is rejected: %v", err)
	}
	v2 := edit(func(m map[string]any) {
		m["version"] = 2
		layer(m, 0)["pad_code"] = []any{17}
	})
	if q, err := quant.Parse(v2); err != nil || q.Layers[0].PadCode[0] != 17 {
		t.Errorf("a version 2 file with a pad code: %v", err)
	}
	v3 := edit(func(m map[string]any) {
		m["version"] = 3
		layer(m, 2)["group_shift"] = slices.Repeat([]any{0}, 16)
	})
	if q, err := quant.Parse(v3); err != nil || len(q.Layers[2].GroupShift) != 16 {
		t.Errorf("a version 3 file with group shifts 0: %v", err)
	}
}

// TestGroupScalesRoundTrip: a model with group-wise scales (operands
// narrower than a wider input, per-channel view shifts) is version 3,
// saves and loads unchanged, and keeps its channels' weights inside their
// operand range.
func TestGroupScalesRoundTrip(t *testing.T) {
	nets(t)
	q := quantize(t, lenetNet, lenetX, func(c *quant.Config) {
		c.Bits, c.GroupScales, c.OutputClip, c.BiasCorrection = 4, 3, true, true
	})
	if q.Version != 3 {
		t.Fatalf("version %d, want 3", q.Version)
	}
	views := 0
	for _, l := range q.Layers {
		if l.Op != quant.OpAdder2d || l.InputIndex()[0] < 0 {
			continue
		}
		if l.OperandBits != 4 || q.InAct(l, 0).Bits != 6 || len(l.GroupShift) != l.Channels() {
			t.Errorf("layer %s: operand bits %d, input bits %d, %d shifts", l.Name, l.OperandBits, q.InAct(l, 0).Bits, len(l.GroupShift))
		}
		views++
	}
	if views == 0 {
		t.Fatal("no adder layer reads an activation")
	}
	b, err := q.MarshalFile()
	if err != nil {
		t.Fatal(err)
	}
	back, err := quant.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(q.Layers, back.Layers, cmpopts.IgnoreUnexported(quant.Layer{})); diff != "" {
		t.Errorf("round trip changed the layers (-saved +loaded):\n%s", diff)
	}
}

// TestEncode checks the input encoding and output decoding boundaries.
func TestEncode(t *testing.T) {
	a := quant.Act{Bits: 8, Scale: 1.0 / 255}
	for p := range 256 {
		c, sat, err := a.Encode(float64(p) / 255)
		if err != nil || sat || c != int32(p) {
			t.Fatalf("pixel %d encodes to %d (sat %v, %v)", p, c, sat, err)
		}
	}
	s := quant.Act{Bits: 4, Signed: true, Scale: 0.25}
	for _, tc := range []struct {
		x    float64
		want int32
		sat  bool
	}{{0.125, 0, false}, {0.375, 2, false}, {-0.375, -2, false}, {1.75, 7, false}, {2, 7, true}, {-2, -8, false}, {-9, -8, true}} {
		c, sat, err := s.Encode(tc.x)
		if err != nil || c != tc.want || sat != tc.sat {
			t.Errorf("Encode(%v) = %d, %v, %v; want %d, %v", tc.x, c, sat, err, tc.want, tc.sat)
		}
	}
	if _, _, err := s.Encode(math.NaN()); err == nil {
		t.Error("NaN encoded")
	}
	if s.Decode(-3) != -0.75 {
		t.Error("Decode")
	}
}

// The trained LeNet-5 fixture (quant/testdata/train_lenet5.py).
const lenetWeights = "testdata/lenet5_mnist.pth"

// TestLeNetMNISTAccuracy is the acceptance check on real data: a trained
// LeNet-5 AdderNet quantized to 8 bits loses at most 0.1 point of top-1 on
// the MNIST test set, and at 4 bits at most 0.5 point. It runs on the
// built-in trained model lenet5-adder-mnist and on this package's fixture
// (testdata/train_lenet5.py). With -short only 2000 test images are used.
func TestLeNetMNISTAccuracy(t *testing.T) {
	dir, err := dataset.MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	train, err := dataset.Load(dir, "", "train")
	if err != nil {
		t.Fatal(err)
	}
	test, err := dataset.Load(dir, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	if testing.Short() {
		test = test.Limit(2000)
	}
	calib := train.Limit(500).X
	for _, m := range []struct{ name, model, weights string }{
		{"builtin", "lenet5-adder-mnist", ""},
		{"fixture", "lenet5-adder", lenetWeights},
	} {
		t.Run(m.name, func(t *testing.T) {
			r, err := model.Resolve(m.model, m.weights)
			if err != nil {
				t.Fatalf("no trained model %s: %v", m.model, err)
			}
			net, ok := r.(*model.Net)
			if !ok {
				t.Fatalf("%s resolves to %T", m.model, r)
			}
			probe := test.Limit(500)
			if f, err := net.Forward(probe.X); err != nil {
				t.Fatal(err)
			} else if a := accuracy(f, probe.Labels); a < 90 {
				t.Fatalf("%s is not a trained model (float top-1 %.2f%% on 500 test images)", m.model, a)
			}
			f, err := net.Forward(test.X)
			if err != nil {
				t.Fatal(err)
			}
			fAcc := accuracy(f, test.Labels)
			for _, tc := range []struct {
				bits    int
				maxLoss float64
			}{{8, 0.1}, {4, 0.5}} {
				q := quantize(t, net, calib, func(c *quant.Config) { c.Bits = tc.bits })
				y, err := sim.Infer(q, test.X)
				if err != nil {
					t.Fatal(err)
				}
				qAcc := accuracy(y, test.Labels)
				t.Logf("%d bits: float %.2f%%, quantized %.2f%% on %d MNIST test images (agreement %.2f%%)", tc.bits, fAcc, qAcc, len(test.Labels), 100*agreement(f, y))
				if fAcc-qAcc > tc.maxLoss {
					t.Errorf("%d bits loses %.2f points (float %.2f%%, quantized %.2f%%), limit %v", tc.bits, fAcc-qAcc, fAcc, qAcc, tc.maxLoss)
				}
			}
		})
	}
}

func accuracy(y dataset.Tensor, labels []int) float64 {
	c := y.Shape[1]
	ok := 0
	for i, l := range labels {
		if argmax(y.Data[i*c:(i+1)*c]) == l {
			ok++
		}
	}
	return 100 * float64(ok) / float64(len(labels))
}

// TestRescaleBounds checks the rescale multipliers against their declared
// width, with and without --no-multipliers, down to narrow multipliers.
func TestRescaleBounds(t *testing.T) {
	nets(t)
	for _, mb := range []int{4, 8, 18} {
		for _, nm := range []bool{false, true} {
			q := quantize(t, lenetNet, lenetX, func(c *quant.Config) { c.MultBits, c.NoMultipliers = mb, nm })
			lim := int64(1)<<(mb-1) - 1
			for _, l := range q.Layers {
				if l.Rescale == nil {
					continue
				}
				for _, m := range l.Rescale.M {
					if m < -lim || m > lim || nm && !quant.IsTwoTerm(m) {
						t.Errorf("mult bits %d no-mult %v: layer %s has m = %d", mb, nm, l.Name, m)
					}
				}
			}
		}
	}
}

// TestWithEdgeBits: the conv2d and linear groups of LeNet-5 (conv1 with
// its BN and ReLU, fc3 with its BN) and the input get the edge width
// unless named (by any layer of the group); adder layers never do; the
// edge width is never below the default; edge 0 is a plain copy; a bad
// edge width is an error.
func TestWithEdgeBits(t *testing.T) {
	nets(t)
	net := lenetNet
	tests := []struct {
		per        map[string]int
		bits, edge int
		want       map[string]int
	}{
		{nil, 4, 8, map[string]int{"conv1": 8, "fc3": 8, "input": 8}},
		{map[string]int{"conv2": 6}, 4, 8, map[string]int{"conv1": 8, "fc3": 8, "input": 8, "conv2": 6}},
		{map[string]int{"bn1": 4, "fc3": 5, "input": 4}, 4, 8, map[string]int{"bn1": 4, "fc3": 5, "input": 4}},
		{nil, 10, 8, map[string]int{"conv1": 10, "fc3": 10, "input": 10}},
		{map[string]int{"fc1": 3}, 4, 0, map[string]int{"fc1": 3}},
	}
	for _, tt := range tests {
		got, err := quant.WithEdgeBits(net, tt.per, tt.bits, tt.edge)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got, tt.want) {
			t.Errorf("WithEdgeBits(%v, %d, %d) = %v, want %v", tt.per, tt.bits, tt.edge, got, tt.want)
		}
		cfg := quant.DefaultConfig()
		cfg.Bits, cfg.LayerBits = tt.bits, got
		q, err := quant.Quantize(net, lenetX, cfg, "")
		if err != nil {
			t.Fatal(err)
		}
		if tt.edge == 8 && tt.per == nil {
			if q.Layer("conv1").WeightBits != max(8, tt.bits) || q.Layer("fc3").WeightBits != max(8, tt.bits) || q.Input.Bits != max(8, tt.bits) {
				t.Errorf("bits %d: conv1 %d, fc3 %d, input %d bits", tt.bits, q.Layer("conv1").WeightBits, q.Layer("fc3").WeightBits, q.Input.Bits)
			}
			for _, n := range []string{"conv2", "fc1", "fc2"} {
				if b := q.InAct(q.Layer(n), 0).Bits; b != tt.bits {
					t.Errorf("bits %d: adder %s at %d bits", tt.bits, n, b)
				}
			}
		}
	}
	if _, err := quant.WithEdgeBits(net, nil, 4, 1); err == nil {
		t.Error("edge width 1 accepted")
	}
}
