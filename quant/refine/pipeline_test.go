package refine_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/quant/quanttest"
	"github.com/addergen/addergen/quant/refine"
	"github.com/addergen/addergen/sim"
)

// trainedLeNet is the trained LeNet-5 of quant/testdata and 64 MNIST-like
// digits.
func trainedLeNet(t *testing.T) (*model.Net, dataset.Tensor) {
	t.Helper()
	net, err := model.Load("lenet5-adder", "../testdata/lenet5_mnist.pth")
	if err != nil {
		t.Fatal(err)
	}
	return net, quanttest.Digits(64, 7)
}

func predictions(t *testing.T, y dataset.Tensor) []int {
	t.Helper()
	n := y.Shape[0]
	k := len(y.Data) / n
	p := make([]int, n)
	for i := range n {
		row := y.Data[i*k : (i+1)*k]
		p[i] = slices.Index(row, slices.Max(row))
	}
	return p
}

func agreement(a, b []int) float64 {
	c := 0
	for i := range a {
		if a[i] == b[i] {
			c++
		}
	}
	return 100 * float64(c) / float64(len(a))
}

// TestAutoBits: LeNet-5 from 3-bit adder layers with an 8-point budget on
// top-1 agreement with float (no labels). All-3-bit misses the budget, so
// the search widens; the model it returns meets the budget when measured
// independently with the simulator, some adder layer is wider than 3 bits,
// none wider than 8, the edge layers keep their widths, and every step
// before the last misses the budget. A 100-point budget widens nothing.
func TestAutoBits(t *testing.T) {
	net, x := trainedLeNet(t)
	fy, err := net.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	fpred := predictions(t, fy)
	cfg := quant.DefaultConfig()
	cfg.Bits = 3
	cfg.NonPow2Scales, cfg.OutputClip, cfg.BiasCorrection, cfg.BiasPasses = true, true, true, refine.Sequential
	cfg.LayerBits, err = quant.WithEdgeBits(net, nil, cfg.Bits, quant.EdgeBits)
	if err != nil {
		t.Fatal(err)
	}
	edges := maps.Clone(cfg.LayerBits)
	const budget = 8.0
	d := budget
	q, rep, err := refine.Quantize(net, x, cfg, "digits", refine.Options{AutoBits: &d, Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	a := rep.Auto
	if a == nil || !a.Met || len(a.Steps) < 2 || a.FloatTop1 != 100 || a.MaxBits != 8 {
		t.Fatalf("auto report %+v", a)
	}
	for i, s := range a.Steps[:len(a.Steps)-1] {
		if 100-s.Top1 <= budget || len(s.Widened) == 0 {
			t.Errorf("step %d: agreement %.2f%% within the budget, or nothing widened (%v), but the search went on", i, s.Top1, s.Widened)
		}
	}
	for name, b := range a.Steps[0].Bits {
		if b != 3 {
			t.Errorf("first step: %s at %d bits, want 3", name, b)
		}
	}
	yq, err := sim.Infer(q, x)
	if err != nil {
		t.Fatal(err)
	}
	got := agreement(predictions(t, yq), fpred)
	if 100-got > budget || got != a.Steps[len(a.Steps)-1].Top1 {
		t.Errorf("returned model: agreement %.2f%% (report %.2f%%), budget %v points", got, a.Steps[len(a.Steps)-1].Top1, budget)
	}
	wider := 0
	for _, l := range q.Layers {
		if l.Op != quant.OpAdder2d {
			continue
		}
		b := q.InAct(l, 0).Bits
		if b < 3 || b > 8 {
			t.Errorf("%s at %d bits", l.Name, b)
		}
		if b > 3 {
			wider++
		}
	}
	if wider == 0 {
		t.Error("no adder layer widened")
	}
	if q.Layer("conv1").WeightBits != edges["conv1"] || q.Layer("fc3").WeightBits != edges["fc3"] || q.Input.Bits != edges[quant.InputName] {
		t.Errorf("edge layers changed: conv1 %d, fc3 %d, input %d bits; want %v", q.Layer("conv1").WeightBits, q.Layer("fc3").WeightBits, q.Input.Bits, edges)
	}

	loose := 100.0
	q2, rep2, err := refine.Quantize(net, x, cfg, "digits", refine.Options{AutoBits: &loose})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep2.Auto.Steps) != 1 || !rep2.Auto.Met {
		t.Errorf("100-point budget: %d steps, met %v; want 1, true", len(rep2.Auto.Steps), rep2.Auto.Met)
	}
	for _, l := range q2.Layers {
		if l.Op == quant.OpAdder2d && q2.InAct(l, 0).Bits != 3 {
			t.Errorf("100-point budget: %s widened to %d bits", l.Name, q2.InAct(l, 0).Bits)
		}
	}
	bad := -1.0
	if _, _, err := refine.Quantize(net, x, cfg, "digits", refine.Options{AutoBits: &bad}); err == nil {
		t.Error("a negative budget was accepted")
	}
}

// TestQuantizeSequentialDefault: BiasPasses = Sequential runs one
// simulator pass per adder layer, records that number in the file, and
// gives the same model as asking for that number explicitly; without
// BiasCorrection it runs none.
func TestQuantizeSequentialDefault(t *testing.T) {
	net, x := trainedLeNet(t)
	cfg := quant.DefaultConfig()
	cfg.Bits = 4
	cfg.BiasCorrection, cfg.BiasPasses = true, refine.Sequential
	q, rep, err := refine.Quantize(net, x, cfg, "digits", refine.Options{BiasImages: 16})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bias == nil || rep.Bias.Runs != 3 || q.Config.BiasPasses != 3 || rep.Bias.Images != 16 {
		t.Fatalf("bias report %+v, config passes %d; want 3 runs (LeNet's adder layers) on 16 images", rep.Bias, q.Config.BiasPasses)
	}
	cfg.BiasPasses = 3
	q3, _, err := refine.Quantize(net, x, cfg, "digits", refine.Options{BiasImages: 16})
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := q.MarshalFile()
	b3, _ := q3.MarshalFile()
	if string(b1) != string(b3) {
		t.Error("Sequential and BiasPasses = 3 give different files")
	}
	cfg.BiasCorrection, cfg.BiasPasses = false, refine.Sequential
	q0, rep0, err := refine.Quantize(net, x, cfg, "digits", refine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep0.Bias != nil || q0.Config.BiasPasses != 0 {
		t.Errorf("without bias correction: report %+v, passes %d", rep0.Bias, q0.Config.BiasPasses)
	}
}
