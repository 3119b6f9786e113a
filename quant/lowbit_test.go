package quant_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/sim"
)

// lowBitNet builds a small AdderNet from spec layers with random weights;
// every BN gets random γ, β and the running mean and variance of its input
// on x (as training would leave them), so that ReLUs are not dead.
func lowBitNet(t *testing.T, input string, layers string, seed uint64, x dataset.Tensor) *model.Net {
	t.Helper()
	s, err := model.ParseSpec([]byte(`{"name": "lowbit", "input": `+input+`, "layers": [`+layers+`]}`), "lowbit")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 9))
	net, err := model.New(s, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range net.Layers {
		switch l.Op {
		case model.OpAdder2d:
			for i := range l.W.Value.Data {
				l.W.Value.Data[i] = rng.NormFloat64() * 0.5
			}
		case model.OpBatchNorm2d:
			for c := range l.W.Value.Data {
				l.W.Value.Data[c] = 0.5 + rng.Float64()
				l.B.Value.Data[c] = rng.NormFloat64() * 0.3
			}
		}
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
			var s, s2 float64
			for i := range in.Shape[0] {
				for _, v := range in.Data[(i*C+c)*hw : (i*C+c+1)*hw] {
					s, s2 = s+v, s2+v*v
				}
			}
			n := float64(in.Shape[0] * hw)
			l.Mean.Value.Data[c] = s / n
			l.Var.Value.Data[c] = max(1e-6, s2/n-(s/n)*(s/n))
		}
	}
	return net
}

// calibSet returns n samples of shape shape with heavy-tailed positive
// values (exponential), the kind of activations clipping is for.
func calibSet(n int, shape []int, seed uint64) dataset.Tensor {
	rng := rand.New(rand.NewPCG(seed, 3))
	x := dataset.Tensor{Shape: append([]int{n}, shape...)}
	x.Data = make([]float64, x.Len())
	for i := range x.Data {
		x.Data[i] = rng.ExpFloat64() * 0.4
	}
	return x
}

// channelMeanErr returns, per channel of a [N, C] output, the mean of
// (quantized − float) over the samples, from the bit-exact simulator.
func channelMeanErr(t *testing.T, net *model.Net, q *quant.Model, x dataset.Tensor) []float64 {
	t.Helper()
	yq, err := sim.Infer(q, x)
	if err != nil {
		t.Fatal(err)
	}
	yf, err := net.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	n := x.Shape[0]
	c := len(yf.Data) / n
	m := make([]float64, c)
	for i := range yf.Data {
		m[i%c] += (yq.Data[i] - yf.Data[i]) / float64(n)
	}
	return m
}

// TestBiasCorrectionZeroesMeanError: an adder layer at 3 bits whose window
// is its whole input (one output per channel and image, so the quantizer
// sees every calibration window). Without bias correction the bit-exact
// simulator's output has a large mean error per channel on the
// calibration set; with it, the mean error is within an output code step
// of zero (Nagel et al. 2019: the expected error is cancelled).
func TestBiasCorrectionZeroesMeanError(t *testing.T) {
	x := calibSet(64, []int{2, 5, 5}, 2)
	net := lowBitNet(t, `[2, 5, 5]`, `
		{"name": "a1", "op": "adder2d", "in": 2, "out": 6, "kernel": 5},
		{"name": "bn1", "op": "batchnorm2d", "channels": 6},
		{"name": "flatten", "op": "flatten"}`, 1, x)
	cfg := quant.DefaultConfig()
	cfg.Bits = 3
	plain, err := quant.Quantize(net, x, cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	cfg.BiasCorrection = true
	corr, err := quant.Quantize(net, x, cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	if !corr.Config.BiasCorrection {
		t.Error("config.bias_correction not recorded")
	}
	lsb := corr.Output().Out.Scale
	before := channelMeanErr(t, net, plain, x)
	after := channelMeanErr(t, net, corr, x)
	var maxBefore float64
	for c := range before {
		maxBefore = max(maxBefore, math.Abs(before[c]))
		if math.Abs(after[c]) > lsb {
			t.Errorf("channel %d: mean error %.4g after bias correction, want within one output step %.3g (before: %.4g)", c, after[c], lsb, before[c])
		}
	}
	if maxBefore < 20*lsb {
		t.Fatalf("the uncorrected mean error (largest %.3g) is already small (step %.3g): the case tests nothing", maxBefore, lsb)
	}
	for i := range plain.Layers[0].Weight.Data {
		if plain.Layers[0].Weight.Data[i] != corr.Layers[0].Weight.Data[i] {
			t.Fatal("bias correction changed the weights; it may only change the rescale constant B")
		}
	}
}

// residualSpec is a two-block residual adder net on [4, 6, 6]: a conv
// stem, then blocks adder → BN → ReLU → adder → BN, added to the block's
// input, then ReLU.
const residualSpec = `
	{"name": "c1", "op": "conv2d", "in": 4, "out": 8, "kernel": 3, "padding": 1},
	{"name": "bn0", "op": "batchnorm2d", "channels": 8},
	{"name": "r0", "op": "relu"},
	{"name": "a1", "op": "adder2d", "in": 8, "out": 8, "kernel": 3, "padding": 1},
	{"name": "bn1", "op": "batchnorm2d", "channels": 8},
	{"name": "r1", "op": "relu"},
	{"name": "a2", "op": "adder2d", "in": 8, "out": 8, "kernel": 3, "padding": 1},
	{"name": "bn2", "op": "batchnorm2d", "channels": 8},
	{"name": "add1", "op": "add", "inputs": ["bn2", "r0"]},
	{"name": "r2", "op": "relu"},
	{"name": "a3", "op": "adder2d", "in": 8, "out": 8, "kernel": 3, "padding": 1},
	{"name": "bn3", "op": "batchnorm2d", "channels": 8},
	{"name": "r3", "op": "relu"},
	{"name": "a4", "op": "adder2d", "in": 8, "out": 8, "kernel": 3, "padding": 1},
	{"name": "bn4", "op": "batchnorm2d", "channels": 8},
	{"name": "add2", "op": "add", "inputs": ["bn4", "r2"]},
	{"name": "r4", "op": "relu"},
	{"name": "pool", "op": "avgpool2d", "kernel": 6},
	{"name": "flatten", "op": "flatten"},
	{"name": "fc", "op": "linear", "in": 8, "out": 5, "bias": true}`

// TestNonPow2ScalesResidual: with NonPow2Scales the scales that a
// multiplier rescale produces leave the powers of two, the tensors joined
// by each residual add keep exact power-of-two ratios (the add aligns them
// by shifts), the model validates, survives a save/load round trip, and
// the simulator runs it.
func TestNonPow2ScalesResidual(t *testing.T) {
	x := calibSet(48, []int{4, 6, 6}, 5)
	net := lowBitNet(t, `[4, 6, 6]`, residualSpec, 4, x)
	cfg := quant.DefaultConfig()
	cfg.Bits = 4
	cfg.NonPow2Scales = true
	q, err := quant.Quantize(net, x, cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	nonPow2 := 0
	for _, l := range q.Layers {
		if _, ok := l.Out.Exp(); !ok {
			nonPow2++
		}
		if l.Op != quant.OpAdd {
			continue
		}
		for i := range 2 {
			a := q.InAct(l, i)
			fa, _ := math.Frexp(a.Scale)
			fo, _ := math.Frexp(l.Out.Scale)
			if fa != fo {
				t.Errorf("%s: input %d scale %v and output scale %v do not differ by a power of two", l.Name, i, a.Scale, l.Out.Scale)
			}
		}
	}
	if nonPow2 == 0 {
		t.Fatal("no layer got a scale that is not a power of two")
	}
	b, err := q.MarshalFile()
	if err != nil {
		t.Fatal(err)
	}
	q2, err := quant.Parse(b)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	y1, err := sim.Infer(q, x)
	if err != nil {
		t.Fatal(err)
	}
	y2, err := sim.Infer(q2, x)
	if err != nil {
		t.Fatal(err)
	}
	for i := range y1.Data {
		if y1.Data[i] != y2.Data[i] {
			t.Fatalf("output %d differs after a save/load round trip: %v, %v", i, y1.Data[i], y2.Data[i])
		}
	}
}

// layerRMS returns the simulator's RMS error at layer name against the
// float net on x.
func layerRMS(t *testing.T, net *model.Net, q *quant.Model, x dataset.Tensor, name string) float64 {
	t.Helper()
	cmp, err := sim.Compare(net, q, x, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range cmp.Layers {
		if l.Name == name {
			return float64(l.RMSErr)
		}
	}
	t.Fatalf("no layer %s in the comparison", name)
	return 0
}

// TestOutputClipLowersLayerError: choosing a1's input scale (the stem's
// output clipping point) by a1's output error gives a smaller error at
// a1's output (the network output, 16-bit, so its own rounding is
// negligible), measured bit-exact by the simulator on the calibration set,
// than choosing it by the input's own quantization error (both among the
// same non-power-of-two candidate scales).
func TestOutputClipLowersLayerError(t *testing.T) {
	x := calibSet(48, []int{4, 6, 6}, 7)
	net := lowBitNet(t, `[4, 6, 6]`, `
		{"name": "c1", "op": "conv2d", "in": 4, "out": 8, "kernel": 3, "padding": 1},
		{"name": "bn0", "op": "batchnorm2d", "channels": 8},
		{"name": "r0", "op": "relu"},
		{"name": "a1", "op": "adder2d", "in": 8, "out": 8, "kernel": 3, "padding": 1},
		{"name": "bn1", "op": "batchnorm2d", "channels": 8},
		{"name": "r1", "op": "relu"},
		{"name": "flatten", "op": "flatten"}`, 6, x)
	cfg := quant.DefaultConfig()
	cfg.Bits = 3
	cfg.NonPow2Scales = true // the same candidate scales for both
	plain, err := quant.Quantize(net, x, cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	cfg.OutputClip = true
	clip, err := quant.Quantize(net, x, cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	if plain.Layers[0].Out.Scale == clip.Layers[0].Out.Scale {
		t.Fatalf("output clipping chose the same stem scale %v", clip.Layers[0].Out.Scale)
	}
	e0 := layerRMS(t, net, plain, x, "a1")
	e1 := layerRMS(t, net, clip, x, "a1")
	if !(e1 < e0) {
		t.Fatalf("a1 output RMS error %.4g with output clipping, %.4g without: want lower", e1, e0)
	}
	t.Logf("stem scale %.4g by input error, %.4g by output error; a1 output RMS error %.4g, %.4g",
		plain.Layers[0].Out.Scale, clip.Layers[0].Out.Scale, e0, e1)
}
