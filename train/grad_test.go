package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
)

// netFromJSON builds a net from a spec JSON with random weights; batch-norm
// γ and β are randomised too so their gradients are non-trivial.
func netFromJSON(t *testing.T, js string, seed uint64) *model.Net {
	t.Helper()
	s, err := model.ParseSpec([]byte(js), "test spec")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	n, err := model.New(s, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range n.Layers {
		if l.Op == model.OpBatchNorm2d {
			for i := range l.W.Value.Data {
				l.W.Value.Data[i] = 0.5 + rng.Float64()
				l.B.Value.Data[i] = rng.Float64() - 0.5
			}
		}
	}
	return n
}

func randBatch(net *model.Net, n int, seed uint64) ([]float64, []int) {
	rng := rand.New(rand.NewPCG(seed, 11))
	x := make([]float64, n*numel(net.Input))
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	y := make([]int, n)
	for i := range y {
		y[i] = rng.IntN(numel(net.Output()))
	}
	return x, y
}

// lossAt is the training-mode loss of x.
func lossAt(t *testing.T, tr *Trainer, x []float64, y []int) float64 {
	t.Helper()
	if _, err := tr.Forward(x, len(y)); err != nil {
		t.Fatal(err)
	}
	l, _, err := tr.loss(y)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// checkGrads compares analytic gradients of every parameter and of the
// input against central differences.
func checkGrads(t *testing.T, net *model.Net, batch int) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Chunk = 3 // several chunks: exercises the reduction
	tr, err := New(net, cfg)
	if err != nil {
		t.Fatal(err)
	}
	x, y := randBatch(net, batch, 3)
	tr.inGrad = make([]float64, len(x))
	if _, _, err := tr.ForwardBackward(x, y); err != nil {
		t.Fatal(err)
	}
	type target struct {
		name string
		v    []float64
		g    []float64
	}
	var ts []target
	for _, ps := range tr.params {
		ts = append(ts, target{ps.p.Key, ps.p.Value.Data, append([]float64(nil), ps.grad...)})
	}
	ts = append(ts, target{"input", x, append([]float64(nil), tr.inGrad...)})
	const h = 1e-6
	checked := 0
	for _, tg := range ts {
		step := max(1, len(tg.v)/40)
		for i := 0; i < len(tg.v); i += step {
			old := tg.v[i]
			tg.v[i] = old + h
			lp := lossAt(t, tr, x, y)
			tg.v[i] = old - h
			lm := lossAt(t, tr, x, y)
			tg.v[i] = old
			num := (lp - lm) / (2 * h)
			if d := math.Abs(num - tg.g[i]); d > 1e-6+1e-4*math.Abs(num) {
				t.Errorf("%s[%d]: analytic %.9g, numerical %.9g", tg.name, i, tg.g[i], num)
			}
			checked++
		}
	}
	if checked < 20 {
		t.Fatalf("only %d gradient entries checked", checked)
	}
}

func TestGradConvBNPoolLinear(t *testing.T) {
	net := netFromJSON(t, `{"name": "g1", "input": [2, 9, 9], "layers": [
		{"name": "c1", "op": "conv2d", "in": 2, "out": 3, "kernel": 3, "padding": 1, "bias": true},
		{"name": "bn1", "op": "batchnorm2d", "channels": 3},
		{"name": "r1", "op": "relu"},
		{"name": "p1", "op": "maxpool2d", "kernel": 2},
		{"name": "c2", "op": "conv2d", "in": 3, "out": 4, "kernel": 2, "stride": 2},
		{"name": "bn2", "op": "batchnorm2d", "channels": 4},
		{"name": "p2", "op": "avgpool2d", "kernel": 2},
		{"name": "f", "op": "flatten"},
		{"name": "fc", "op": "linear", "in": 4, "out": 5, "bias": true}
	]}`, 1)
	checkGrads(t, net, 7)
}

func TestGradResidualAvgPoolStride(t *testing.T) {
	net := netFromJSON(t, `{"name": "g2", "input": [3, 6, 6], "layers": [
		{"name": "c1", "op": "conv2d", "in": 3, "out": 3, "kernel": 3, "padding": 1},
		{"name": "bn1", "op": "batchnorm2d", "channels": 3},
		{"name": "add", "op": "add", "inputs": ["bn1", "input"]},
		{"name": "r", "op": "relu"},
		{"name": "p", "op": "avgpool2d", "kernel": 3, "stride": 2},
		{"name": "c2", "op": "conv2d", "in": 3, "out": 4, "kernel": 2, "bias": true},
		{"name": "f", "op": "flatten"},
		{"name": "fc", "op": "linear", "in": 4, "out": 3}
	]}`, 2)
	checkGrads(t, net, 5)
}

func TestGradMaxPoolOverlap(t *testing.T) {
	net := netFromJSON(t, `{"name": "g3", "input": [1, 7, 7], "layers": [
		{"name": "c1", "op": "conv2d", "in": 1, "out": 2, "kernel": 2, "bias": true},
		{"name": "p", "op": "maxpool2d", "kernel": 3, "stride": 1},
		{"name": "f", "op": "flatten"},
		{"name": "fc", "op": "linear", "in": 32, "out": 4, "bias": true}
	]}`, 3)
	checkGrads(t, net, 4)
}

// TestAdderBackwardFormulas checks the adder2d gradients against direct
// evaluation of the paper's rules, for every gradient mode.
func TestAdderBackwardFormulas(t *testing.T) {
	js := `{"name": "a", "input": [2, 5, 5], "layers": [
		{"name": "a1", "op": "adder2d", "in": 2, "out": 3, "kernel": 3, "padding": 1, "stride": 2, "bias": true},
		{"name": "f", "op": "flatten"},
		{"name": "fc", "op": "linear", "in": 27, "out": 4}
	]}`
	for _, tc := range []struct {
		grad GradMode
		noHT bool
	}{{GradFull, false}, {GradSign, false}, {GradFull, true}, {GradSign, true}} {
		net := netFromJSON(t, js, 4)
		cfg := DefaultConfig()
		cfg.Grad, cfg.NoHardTanh, cfg.Chunk = tc.grad, tc.noHT, 2
		tr, err := New(net, cfg)
		if err != nil {
			t.Fatal(err)
		}
		const N = 5
		x, y := randBatch(net, N, 5)
		for i := range x {
			x[i] *= 2 // many |F − X| > 1, so the clip matters
		}
		tr.inGrad = make([]float64, len(x))
		if _, _, err := tr.ForwardBackward(x, y); err != nil {
			t.Fatal(err)
		}
		l := net.Layers[0]
		G := tr.layers[0].grad // dL/dY, [N, 3, 3, 3]
		W := l.W.Value.Data
		wantW := make([]float64, len(W))
		wantX := make([]float64, len(x))
		wantB := make([]float64, 3)
		const C, H, K, S, P, OC, OH = 2, 5, 3, 2, 1, 3, 3
		for n := range N {
			for oc := range OC {
				for oh := range OH {
					for ow := range OH {
						g := G[((n*OC+oc)*OH+oh)*OH+ow]
						wantB[oc] += g
						for c := range C {
							for ki := range K {
								for kj := range K {
									ih, iw := oh*S-P+ki, ow*S-P+kj
									xi := -1
									xv := 0.0
									if ih >= 0 && ih < H && iw >= 0 && iw < H {
										xi = ((n*C+c)*H+ih)*H + iw
										xv = x[xi]
									}
									wi := ((oc*C+c)*K+ki)*K + kj
									d := xv - W[wi] // X − F
									if tc.grad == GradSign {
										wantW[wi] += g * sgn(d)
									} else {
										wantW[wi] += g * d
									}
									if xi >= 0 {
										if tc.noHT {
											wantX[xi] += g * -d
										} else {
											wantX[xi] += g * math.Max(-1, math.Min(1, -d))
										}
									}
								}
							}
						}
					}
				}
			}
		}
		cmp := func(name string, got, want []float64) {
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
					t.Errorf("grad %v noHT %v: %s[%d] = %.15g, want %.15g", tc.grad, tc.noHT, name, i, got[i], want[i])
				}
			}
		}
		cmp("dW", tr.Grad(l.W), wantW)
		cmp("dB", tr.Grad(l.B), wantB)
		cmp("dX", tr.inGrad, wantX)

		// The adaptive learning rate: with no momentum and no weight decay
		// the update is lr·η·√k/‖g‖·g for the filters and lr·g elsewhere.
		tr.cfg.Momentum, tr.cfg.WeightDecay = 0, 0
		before := append([]float64(nil), W...)
		bBefore := append([]float64(nil), l.B.Value.Data...)
		var ss float64
		for _, v := range wantW {
			ss += v * v
		}
		const lr = 0.05
		tr.Update(lr)
		scale := DefaultEta * math.Sqrt(float64(len(W))) / math.Sqrt(ss)
		for i := range W {
			want := before[i] - lr*scale*wantW[i]
			if math.Abs(W[i]-want) > 1e-12 {
				t.Errorf("adaptive lr: W[%d] = %.15g, want %.15g", i, W[i], want)
			}
		}
		for i, v := range l.B.Value.Data {
			if want := bBefore[i] - lr*wantB[i]; math.Abs(v-want) > 1e-12 {
				t.Errorf("bias update: B[%d] = %.15g, want %.15g", i, v, want)
			}
		}
	}
}

// TestForwardMatchesModel checks the training forward of the conv2d and
// adder2d kernels against the model package's float forward.
func TestForwardMatchesModel(t *testing.T) {
	net := netFromJSON(t, `{"name": "fw", "input": [3, 11, 11], "layers": [
		{"name": "a1", "op": "adder2d", "in": 3, "out": 5, "kernel": 3, "padding": 2, "stride": 2, "bias": true},
		{"name": "r", "op": "relu"},
		{"name": "c1", "op": "conv2d", "in": 5, "out": 7, "kernel": 3, "padding": 1, "bias": true},
		{"name": "p", "op": "maxpool2d", "kernel": 2},
		{"name": "a2", "op": "adder2d", "in": 7, "out": 4, "kernel": 1},
		{"name": "q", "op": "avgpool2d", "kernel": 3},
		{"name": "f", "op": "flatten"},
		{"name": "fc", "op": "linear", "in": 4, "out": 3, "bias": true}
	]}`, 6)
	cfg := DefaultConfig()
	cfg.Chunk = 2
	tr, err := New(net, cfg)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := randBatch(net, 5, 8)
	if _, err := tr.Forward(x, 5); err != nil {
		t.Fatal(err)
	}
	outs, err := net.ForwardAll(dataset.Tensor{Shape: []int{5, 3, 11, 11}, Data: x})
	if err != nil {
		t.Fatal(err)
	}
	for i, ls := range tr.layers {
		for j, want := range outs[i].Data {
			if got := ls.out[j]; math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
				t.Fatalf("layer %s: out[%d] = %.15g, model %.15g", ls.l.Name, j, got, want)
			}
		}
	}
}

// TestBatchNormRunningStats checks the running statistics after one
// training forward: momentum 0.1, unbiased variance.
func TestBatchNormRunningStats(t *testing.T) {
	net := netFromJSON(t, `{"name": "bn", "input": [2, 3, 3], "layers": [
		{"name": "bn", "op": "batchnorm2d", "channels": 2},
		{"name": "f", "op": "flatten"},
		{"name": "fc", "op": "linear", "in": 18, "out": 2}
	]}`, 9)
	tr, err := New(net, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	const N = 4
	x, _ := randBatch(net, N, 10)
	if _, err := tr.Forward(x, N); err != nil {
		t.Fatal(err)
	}
	l := net.Layers[0]
	for c := range 2 {
		var vals []float64
		for n := range N {
			vals = append(vals, x[(n*2+c)*9:(n*2+c+1)*9]...)
		}
		var mean, ss float64
		for _, v := range vals {
			mean += v
		}
		mean /= float64(len(vals))
		for _, v := range vals {
			ss += (v - mean) * (v - mean)
		}
		wantM := 0.1 * mean
		wantV := 0.9 + 0.1*ss/float64(len(vals)-1)
		if math.Abs(l.Mean.Value.Data[c]-wantM) > 1e-14 || math.Abs(l.Var.Value.Data[c]-wantV) > 1e-14 {
			t.Errorf("channel %d: running mean %v var %v, want %v %v", c, l.Mean.Value.Data[c], l.Var.Value.Data[c], wantM, wantV)
		}
	}
}
