package refine_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/quant/refine"
	"github.com/addergen/addergen/sim"
)

// chainNet is input [3, 6, 6] → adder a1 (3×3) → BN → ReLU → adder a2
// (whole 6×6 window: one output per channel) → BN → flatten, with random
// weights and BN statistics fitted on x (so ReLUs are alive).
func chainNet(t *testing.T, x dataset.Tensor) *model.Net {
	t.Helper()
	s, err := model.ParseSpec([]byte(`{"name": "chain", "input": [3, 6, 6], "layers": [
		{"name": "a1", "op": "adder2d", "in": 3, "out": 6, "kernel": 3, "padding": 1},
		{"name": "bn1", "op": "batchnorm2d", "channels": 6},
		{"name": "r1", "op": "relu"},
		{"name": "a2", "op": "adder2d", "in": 6, "out": 5, "kernel": 6},
		{"name": "bn2", "op": "batchnorm2d", "channels": 5},
		{"name": "flatten", "op": "flatten"}]}`), "chain")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	net, err := model.New(s, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range net.Layers {
		if l.Op == model.OpAdder2d {
			for i := range l.W.Value.Data {
				l.W.Value.Data[i] = rng.NormFloat64() * 0.5
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
			var sum, sum2 float64
			for i := range in.Shape[0] {
				for _, v := range in.Data[(i*C+c)*hw : (i*C+c+1)*hw] {
					sum, sum2 = sum+v, sum2+v*v
				}
			}
			n := float64(in.Shape[0] * hw)
			l.Mean.Value.Data[c] = sum / n
			l.Var.Value.Data[c] = max(1e-6, sum2/n-(sum/n)*(sum/n))
			l.W.Value.Data[c] = 0.5 + rng.Float64()
			l.B.Value.Data[c] = rng.NormFloat64() * 0.3
		}
	}
	return net
}

func maxAbsChannelMeanErr(t *testing.T, net *model.Net, q *quant.Model, x dataset.Tensor) float64 {
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
	var worst float64
	for _, v := range m {
		worst = max(worst, math.Abs(v))
	}
	return worst
}

// TestBiasCorrectSequential: on a two-adder chain at 3 bits, the
// simulator-measured bias correction with one run per layer is exactly
// sequential (more runs give the same constants), keeps the model valid
// and the weights unchanged, and brings the network output's per-channel
// mean error on the calibration images far below the uncorrected
// model's.
func TestBiasCorrectSequential(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := dataset.Tensor{Shape: []int{60, 3, 6, 6}}
	x.Data = make([]float64, x.Len())
	for i := range x.Data {
		x.Data[i] = rng.ExpFloat64() * 0.4
	}
	net := chainNet(t, x)
	cfg := quant.DefaultConfig()
	cfg.Bits = 3
	plain, err := quant.Quantize(net, x, cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	cfg.BiasCorrection, cfg.BiasPasses = true, 2
	qs := make([]*quant.Model, 3)
	for i, runs := range []int{1, 2, 5} {
		if qs[i], err = quant.Quantize(net, x, cfg, "test"); err != nil {
			t.Fatal(err)
		}
		rep, err := refine.BiasCorrect(net, qs[i], x, 0, runs)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Layers != 2 || rep.Images != 60 || rep.Runs != min(runs, 2) || rep.MaxShift == 0 {
			t.Fatalf("runs %d: report %+v", runs, rep)
		}
		if err := qs[i].Validate(); err != nil {
			t.Fatal(err)
		}
	}
	q := qs[1]
	b1, b2, b5 := qs[0].Layer("a2").Rescale.B, q.Layer("a2").Rescale.B, qs[2].Layer("a2").Rescale.B
	for o := range b2 {
		if b2[o] != b5[o] {
			t.Fatalf("a2 b[%d]: %d with 2 runs, %d with 5: one run per layer must be exact", o, b2[o], b5[o])
		}
	}
	same := true
	for o := range b1 {
		same = same && b1[o] == b2[o]
	}
	if same {
		t.Error("one run (a2 measured before a1 is corrected) gives the same a2 constants as sequential runs: the case tests nothing")
	}
	for i, l := range q.Layers {
		if l.Weight == nil {
			continue
		}
		for k, v := range l.Weight.Data {
			if v != plain.Layers[i].Weight.Data[k] {
				t.Fatalf("%s: weight %d changed", l.Name, k)
			}
		}
	}
	before := maxAbsChannelMeanErr(t, net, plain, x)
	after := maxAbsChannelMeanErr(t, net, q, x)
	if !(after < 0.25*before) {
		t.Fatalf("largest per-channel mean output error %.4g after correction, %.4g before: want below a quarter", after, before)
	}
	t.Logf("largest per-channel mean output error %.4g → %.4g", before, after)
}

// TestAdjustBErrors: AdjustB refuses unknown layers, layers without b and
// a wrong channel count, and leaves the model valid.
func TestAdjustBErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := dataset.Tensor{Shape: []int{8, 3, 6, 6}}
	x.Data = make([]float64, x.Len())
	for i := range x.Data {
		x.Data[i] = rng.Float64()
	}
	q, err := quant.Quantize(chainNet(t, x), x, quant.DefaultConfig(), "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		layer string
		db    []int64
	}{{"nope", nil}, {"flatten", nil}, {"a1", []int64{1}}, {"a1", []int64{1 << 62, 0, 0, 0, 0, 0}}} {
		if err := q.AdjustB(c.layer, c.db); err == nil {
			t.Errorf("AdjustB(%s, %v): no error", c.layer, c.db)
		}
	}
	if err := q.Validate(); err != nil {
		t.Fatalf("model invalid after refused adjustments: %v", err)
	}
	b0 := q.Layer("a1").Rescale.B[2]
	if err := q.AdjustB("a1", []int64{0, 0, 5, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if got := q.Layer("a1").Rescale.B[2]; got != b0+5 {
		t.Fatalf("b[2] = %d, want %d", got, b0+5)
	}
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
}
