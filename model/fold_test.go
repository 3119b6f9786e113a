package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/addergen/addergen/dataset"
)

// TestFoldPreprocess checks that the folded ResNet-20 on raw pixels equals
// the original on preprocessed pixels at every layer (float rounding
// only), that the padding reads the mean pixel, and the refusals.
func TestFoldPreprocess(t *testing.T) {
	s, err := BuiltinSpec("resnet20-adder")
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(s, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	raw := dataset.Tensor{Shape: []int{2, 3, 32, 32}, Data: make([]float64, 2*3*32*32)}
	for i := range raw.Data {
		raw.Data[i] = float64(rng.IntN(256))
	}
	pre, err := n.Preprocess(raw)
	if err != nil {
		t.Fatal(err)
	}
	// BN statistics of the data, layer after layer, so that no ReLU
	// output is all zero and every layer's output is sensitive.
	for _, l := range n.Layers {
		if l.Op != OpBatchNorm2d {
			continue
		}
		outs, err := n.ForwardAll(pre)
		if err != nil {
			t.Fatal(err)
		}
		in := outs[n.Index(l.Inputs[0])]
		C, hw := l.OutC, len(in.Data)/(2*l.OutC)
		for c := range C {
			var s, s2 float64
			for img := range 2 {
				for _, v := range in.Data[(img*C+c)*hw : (img*C+c+1)*hw] {
					s, s2 = s+v, s2+v*v
				}
			}
			m := s / float64(2*hw)
			l.Mean.Value.Data[c], l.Var.Value.Data[c] = m, s2/float64(2*hw)-m*m+1e-3
		}
	}
	f, err := n.FoldPreprocess()
	if err != nil {
		t.Fatal(err)
	}
	if f.Folded != s.Preprocess || f.Spec.Preprocess.Normalizes() || n.Spec.Preprocess != s.Preprocess {
		t.Fatalf("folded preprocess %+v, spec %+v", f.Folded, f.Spec.Preprocess)
	}
	c1 := f.Layer("conv1")
	for c, v := range c1.PadValue {
		if want := 255 * s.Preprocess.Mean[c]; math.Abs(v-want) > 1e-9 {
			t.Errorf("conv1 pad value %d = %v, want %v", c, v, want)
		}
	}
	if n.Layer("conv1").PadValue != nil || n.Layer("conv1").Bias {
		t.Error("FoldPreprocess changed the original net")
	}
	want, err := n.ForwardAll(pre)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.ForwardAll(raw)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range n.Layers {
		var peak, diff float64
		for j, v := range want[i].Data {
			peak = max(peak, math.Abs(v))
			diff = max(diff, math.Abs(got[i].Data[j]-v))
		}
		if !(peak > 0) || diff > 1e-9*peak {
			t.Errorf("layer %s: folded differs by %g (peak %g)", l.Name, diff, peak)
		}
	}

	if _, err := f.FoldPreprocess(); err == nil || !strings.Contains(err.Error(), "already folded") {
		t.Errorf("second fold: %v", err)
	}
	a, _ := BuiltinSpec("small12-adder")
	a.Preprocess = &Preprocess{Scale: 255, Mean: []float64{0.5}, Std: []float64{0.25}}
	a.Layers[0].Op = OpAdder2d
	na, err := Build(a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := na.FoldPreprocess(); err == nil || !strings.Contains(err.Error(), "layer "+a.Layers[0].Name+" (adder2d)") {
		t.Errorf("fold into an adder layer: %v", err)
	}
}
