package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/addergen/addergen/dataset"
)

func randTensor(rng *rand.Rand, shape ...int) dataset.Tensor {
	t := dataset.Tensor{Shape: shape, Data: make([]float64, numel(shape))}
	for i := range t.Data {
		t.Data[i] = rng.NormFloat64()
	}
	return t
}

// naiveConv is the textbook definition, for checking the im2col kernels.
func naiveConv(l *Layer, x []float64) []float64 {
	C, H, W := l.InShapes[0][0], l.InShapes[0][1], l.InShapes[0][2]
	OH, OW, K := l.OutShape[1], l.OutShape[2], l.Kernel
	out := make([]float64, l.OutC*OH*OW)
	for oc := range l.OutC {
		for oh := range OH {
			for ow := range OW {
				var s float64
				for c := range C {
					for ki := range K {
						for kj := range K {
							ih, iw := oh*l.Stride-l.Padding+ki, ow*l.Stride-l.Padding+kj
							var v float64 // zero padding
							if ih >= 0 && ih < H && iw >= 0 && iw < W {
								v = x[(c*H+ih)*W+iw]
							}
							w := l.W.Value.Data[((oc*C+c)*K+ki)*K+kj]
							if l.Op == OpAdder2d {
								s -= math.Abs(v - w)
							} else {
								s += v * w
							}
						}
					}
				}
				if l.Bias {
					s += l.B.Value.Data[oc]
				}
				out[(oc*OH+oh)*OW+ow] = s
			}
		}
	}
	return out
}

func TestConvKernelsAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for iter := range 60 {
		op := OpAdder2d
		if iter%3 == 0 {
			op = OpConv2d
		}
		k := 1 + rng.IntN(5)
		h, w := k+rng.IntN(20), k+rng.IntN(20) // up to 24x24: several im2col tiles
		ls := LayerSpec{Name: "c", Op: op, In: 1 + rng.IntN(4), Out: 1 + rng.IntN(9), Kernel: k,
			Stride: 1 + rng.IntN(3), Padding: rng.IntN(k + 1), Bias: rng.IntN(2) == 0}
		s := &Spec{Name: "k", Input: []int{ls.In, h, w}, Layers: []LayerSpec{ls}}
		n, err := New(s, rng)
		if err != nil {
			t.Fatal(err)
		}
		x := randTensor(rng, 2, ls.In, h, w)
		y, err := n.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		l := n.Layers[0]
		sz := numel(l.OutShape)
		for img := range 2 {
			want := naiveConv(l, x.Data[img*numel(n.Input):(img+1)*numel(n.Input)])
			got := y.Data[img*sz : (img+1)*sz]
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-12*math.Max(1, math.Abs(want[i])) {
					t.Fatalf("%+v on %dx%d: element %d = %v, want %v", ls, h, w, i, got[i], want[i])
				}
			}
		}
	}
}

// TestConvSkipAgainstNaive checks adder2d layers on non-negative inputs
// (convSkip in vector builds, which skips the taps of weights ≤ 0) against
// naiveConv, with zeros and rows of whole 8-position segments included.
func TestConvSkipAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for iter := range 60 {
		k := 1 + rng.IntN(5)
		h, w := k+rng.IntN(20), k+7+rng.IntN(30)
		ls := LayerSpec{Name: "c", Op: OpAdder2d, In: 1 + rng.IntN(4), Out: 1 + rng.IntN(11), Kernel: k,
			Stride: 1 + rng.IntN(2), Padding: rng.IntN(k + 1), Bias: rng.IntN(2) == 0}
		s := &Spec{Name: "k", Input: []int{ls.In, h, w}, Layers: []LayerSpec{ls}}
		n, err := New(s, rng)
		if err != nil {
			t.Fatal(err)
		}
		x := randTensor(rng, 2, ls.In, h, w)
		for i, v := range x.Data {
			x.Data[i] = max(v, 0) // about half zeros, as after a ReLU
		}
		if iter%2 == 0 { // some weights exactly 0
			for i := range n.Layers[0].W.Value.Data {
				if i%5 == 0 {
					n.Layers[0].W.Value.Data[i] = 0
				}
			}
		}
		y, err := n.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		l := n.Layers[0]
		sz := numel(l.OutShape)
		for img := range 2 {
			want := naiveConv(l, x.Data[img*numel(n.Input):(img+1)*numel(n.Input)])
			got := y.Data[img*sz : (img+1)*sz]
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-12*math.Max(1, math.Abs(want[i])) {
					t.Fatalf("%+v on %dx%d: element %d = %v, want %v", ls, h, w, i, got[i], want[i])
				}
			}
		}
	}
}

// TestPaddedOutput checks a conv whose only reader is a stride-1 padded
// conv with PadValue (Forward writes the first conv's output padded in
// vector builds, step.padFor) against ForwardAll, bit for bit, and the
// second layer against naiveConv's padding by hand.
func TestPaddedOutput(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, w := range []int{5, 9, 13, 30} {
		s := &Spec{Name: "p", Input: []int{2, 7, w}, Layers: []LayerSpec{
			{Name: "a", Op: OpAdder2d, In: 2, Out: 3, Kernel: 3, Padding: 1},
			{Name: "bn", Op: OpBatchNorm2d, Channels: 3},
			{Name: "r", Op: OpReLU},
			{Name: "c", Op: OpConv2d, In: 3, Out: 4, Kernel: 3, Padding: 2, Bias: true},
		}}
		n, err := New(s, rng)
		if err != nil {
			t.Fatal(err)
		}
		n.Layers[3].PadValue = []float64{0.5, -1.25, 2}
		x := randTensor(rng, 3, 2, 7, w)
		y, err := n.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		all, err := n.ForwardAll(x)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(y.Data, all[3].Data) {
			t.Errorf("width %d: Forward and ForwardAll differ", w)
		}
		// The conv with PadValue by hand: pad the ReLU output explicitly
		// and run naiveConv with padding 0.
		l := n.Layers[3]
		H, W, P := 7, w, 2
		Hp, Wp := H+2*P, W+2*P
		rs := numel(all[2].Shape[1:])
		for img := range 3 {
			r := all[2].Data[img*rs : (img+1)*rs]
			xp := make([]float64, 3*Hp*Wp)
			for c := range 3 {
				for i := range Hp {
					for j := range Wp {
						v := l.PadValue[c]
						if i >= P && i < P+H && j >= P && j < P+W {
							v = r[(c*H+i-P)*W+j-P]
						}
						xp[(c*Hp+i)*Wp+j] = v
					}
				}
			}
			l0 := *l
			l0.Padding, l0.PadValue = 0, nil
			l0.InShapes = [][]int{{3, Hp, Wp}}
			want := naiveConv(&l0, xp)
			got := y.Data[img*len(want) : (img+1)*len(want)]
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-12*math.Max(1, math.Abs(want[i])) {
					t.Fatalf("width %d: element %d = %v, want %v", w, i, got[i], want[i])
				}
			}
		}
	}
}

func TestSmallLayersByHand(t *testing.T) {
	// One 1x3x3 input through adder2d (2x2 kernel of ones, padding 1,
	// stride 2, bias 0.5), maxpool, avgpool, relu, flatten, linear and add.
	spec := &Spec{Name: "hand", Input: []int{1, 3, 3}, Layers: []LayerSpec{
		{Name: "a", Op: OpAdder2d, In: 1, Out: 1, Kernel: 2, Stride: 2, Padding: 1, Bias: true},
		{Name: "r", Op: OpReLU, Inputs: []string{"input"}},
		{Name: "m", Op: OpMaxPool2d, Kernel: 2, Stride: 1},
		{Name: "v", Op: OpAvgPool2d, Kernel: 2, Inputs: []string{"input"}},
		{Name: "s", Op: OpAdd, Inputs: []string{"a", "m"}},
		{Name: "f", Op: OpFlatten},
		{Name: "l", Op: OpLinear, In: 4, Out: 1},
		{Name: "fv", Op: OpFlatten, Inputs: []string{"v"}},
		{Name: "out", Op: OpAdd, Inputs: []string{"l", "fv"}},
	}}
	n, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n.Layer("a").W.Value.Data {
		n.Layer("a").W.Value.Data[i] = 1
	}
	n.Layer("a").B.Value.Data[0] = 0.5
	copy(n.Layer("l").W.Value.Data, []float64{1, 10, 100, 1000})
	x := dataset.Tensor{Shape: []int{1, 1, 3, 3}, Data: []float64{
		1, -2, 3,
		-4, 5, -6,
		7, -8, 9,
	}}
	outs, err := n.ForwardAll(x)
	if err != nil {
		t.Fatal(err)
	}
	// Adder output (2x2), windows over the zero-padded 5x5 input:
	// (0,0) holds {1} and three zeros: −(0 + 3·1) + 0.5;
	// (0,1) holds {−2, 3} and two zeros: −(3 + 2 + 2) + 0.5;
	// (1,0) holds {−4, 7}: −(5 + 6 + 2) + 0.5;
	// (1,1) holds {5, −6, −8, 9}: −(4 + 7 + 9 + 8) + 0.5.
	want := map[string][]float64{
		"a":   {-2.5, -6.5, -12.5, -27.5},
		"r":   {1, 0, 3, 0, 5, 0, 7, 0, 9},
		"m":   {5, 5, 7, 9},
		"v":   {(1 - 2 - 4 + 5) / 4.0},
		"s":   {2.5, -1.5, -5.5, -18.5},
		"out": {2.5 - 1.5*10 - 5.5*100 - 18.5*1000 + 0},
	}
	for name, w := range want {
		got := outs[n.Index(name)].Data
		if !slices.Equal(got, w) {
			t.Errorf("%s = %v, want %v", name, got, w)
		}
	}
}

func TestForwardDeterministic(t *testing.T) {
	n := tinyNet(t)
	x := randTensor(rand.New(rand.NewPCG(9, 9)), 7, 3, 12, 12)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var ref dataset.Tensor
	for _, procs := range []int{1, 2, 3} {
		runtime.GOMAXPROCS(procs)
		y, err := n.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		if procs == 1 {
			ref = y
			continue
		}
		if !slices.Equal(y.Data, ref.Data) {
			t.Errorf("GOMAXPROCS=%d: results differ from GOMAXPROCS=1", procs)
		}
	}
	// A sample's result does not depend on its batch.
	one, err := n.Forward(dataset.Tensor{Shape: []int{1, 3, 12, 12}, Data: x.Data[3*432 : 4*432]})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(one.Data, ref.Data[3*5:4*5]) {
		t.Error("sample 3 alone differs from sample 3 in the batch")
	}
}

// Forward caches the conv layers' weight layouts (forward_plan.go); a
// weight changed in place between calls must be seen by the next call, as
// training and batch-norm recalibration change them.
func TestForwardAfterWeightChange(t *testing.T) {
	n, fresh := tinyNet(t), tinyNet(t)
	x := randTensor(rand.New(rand.NewPCG(4, 4)), 3, 3, 12, 12)
	if _, err := n.Forward(x); err != nil {
		t.Fatal(err)
	}
	for _, nn := range []*Net{n, fresh} {
		for _, l := range nn.Layers {
			if l.Op == OpConv2d || l.Op == OpAdder2d || l.Op == OpBatchNorm2d {
				l.W.Value.Data[len(l.W.Value.Data)-1] += 0.25
			}
		}
	}
	got, err := n.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	want, err := fresh.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Data, want.Data) {
		t.Error("Forward after an in-place weight change differs from a fresh net's")
	}
}

// Forward runs a fused schedule over reused buffers (forward_plan.go);
// its result must equal ForwardAll's last output, which runs every layer
// by itself, bit for bit.
func TestForwardMatchesForwardAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	nets := []*Net{tinyNet(t)}
	for _, name := range []string{"lenet5-adder", "resnet20-adder", "small12-adder"} {
		s, err := BuiltinSpec(name)
		if err != nil {
			t.Fatal(err)
		}
		n, err := New(s, rng)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range n.Layers {
			if l.Op == OpBatchNorm2d {
				for c := range l.OutC {
					l.W.Value.Data[c] = 0.5 + rng.Float64()
					l.B.Value.Data[c] = rng.NormFloat64()
					l.Mean.Value.Data[c] = rng.NormFloat64()
					l.Var.Value.Data[c] = 0.5 + rng.Float64()
				}
			}
		}
		nets = append(nets, n)
		if s.Preprocess != nil {
			f, err := n.FoldPreprocess()
			if err != nil {
				t.Fatal(err)
			}
			nets = append(nets, f)
		}
	}
	for _, n := range nets {
		x := randTensor(rng, append([]int{3}, n.Input...)...)
		x.Data[7] = math.NaN()
		x.Data[8] = math.Copysign(0, -1)
		y, err := n.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		all, err := n.ForwardAll(x)
		if err != nil {
			t.Fatal(err)
		}
		want := all[len(all)-1].Data
		for i := range want {
			if math.Float64bits(y.Data[i]) != math.Float64bits(want[i]) {
				t.Errorf("%s: Forward[%d] = %v, ForwardAll's = %v", n.Spec.Name, i, y.Data[i], want[i])
				break
			}
		}
	}
}

func TestForwardErrors(t *testing.T) {
	n := tinyNet(t)
	for _, x := range []dataset.Tensor{
		{Shape: []int{3, 12, 12}, Data: make([]float64, 432)},
		{Shape: []int{1, 3, 12, 11}, Data: make([]float64, 396)},
		{Shape: []int{2, 3, 12, 12}, Data: make([]float64, 432)},
	} {
		if _, err := n.Forward(x); err == nil {
			t.Errorf("Forward(shape %v, %d values) succeeded", x.Shape, len(x.Data))
		}
	}
	y, err := n.Forward(dataset.Tensor{Shape: []int{0, 3, 12, 12}})
	if err != nil || !slices.Equal(y.Shape, []int{0, 5}) {
		t.Errorf("empty batch: %v %v", y.Shape, err)
	}
	n.Layer("fc1").W.Value.Data = n.Layer("fc1").W.Value.Data[:10]
	if _, err := n.Forward(dataset.Tensor{Shape: []int{1, 3, 12, 12}, Data: make([]float64, 432)}); err == nil || !strings.Contains(err.Error(), "fc1.weight") {
		t.Errorf("corrupted weight: %v", err)
	}
}

func TestPreprocessAndResolve(t *testing.T) {
	r, err := Resolve("resnet20-adder", "")
	if err == nil || r != nil {
		t.Fatalf("Resolve without weights = %v, %v", r, err)
	}
	r, err = Resolve("lenet5-adder", "testdata/lenet5_zip.pth")
	if err != nil {
		t.Fatal(err)
	}
	p := r.(Preprocessor)
	x, err := p.Preprocess(dataset.Tensor{Shape: []int{1, 1, 28, 28}, Data: slices.Repeat([]float64{255, 51}, 392)})
	if err != nil || x.Data[0] != 1 || x.Data[1] != 0.2 {
		t.Errorf("lenet preprocess: %v %v", x.Data[:2], err)
	}
	s, _ := BuiltinSpec("resnet20-adder")
	rn, _ := Build(s)
	x, _ = rn.Preprocess(dataset.Tensor{Shape: []int{1, 3, 32, 32}, Data: slices.Repeat([]float64{255}, 3072)})
	if want := (1 - 0.4822) / 0.1994; math.Abs(x.Data[1024]-want) > 1e-15 {
		t.Errorf("cifar preprocess: channel 1 = %v, want %v", x.Data[1024], want)
	}

	RegisterResolver("test", func(m, w string) (Runner, bool, error) {
		if m != "test:tiny" {
			return nil, false, nil
		}
		n, err := Load("testdata/tiny.json", w)
		return n, true, err
	})
	r, err = Resolve("test:tiny", "testdata/tiny.npz")
	if err != nil || !slices.Equal(r.InputShape(), []int{3, 12, 12}) {
		t.Errorf("registered resolver: %v", err)
	}
}

func benchNet(b *testing.B, spec string, batch int) {
	s, err := BuiltinSpec(spec)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	n, err := New(s, rng)
	if err != nil {
		b.Fatal(err)
	}
	x := randTensor(rng, append([]int{batch}, n.Input...)...)
	b.ResetTimer()
	for b.Loop() {
		if _, err := n.Forward(x); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "images/s")
}

func BenchmarkForwardLeNet(b *testing.B)    { benchNet(b, "lenet5-adder", 64) }
func BenchmarkForwardResNet20(b *testing.B) { benchNet(b, "resnet20-adder", 8) }

func ExampleLoad() {
	net, err := Load("lenet5-adder", "testdata/lenet5_zip.pth")
	if err != nil {
		fmt.Println(err)
		return
	}
	x, _ := dataset.ReadNPY("testdata/lenet5_input.npy")
	y, _ := net.Forward(x)
	fmt.Println(y.Shape, len(net.Layers), net.Layers[4].Name, net.Layers[4].Op, net.Layers[4].W.Key)
	// Output: [2 10] 17 conv2 adder2d conv2.adder
}
