package sim

import (
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/quant/quanttest"
)

// laneOps counts the L1 (|x − w|) and MAC terms one image needs.
func laneOps(q *quant.Model) (adder, mac int64) {
	for _, l := range q.Layers {
		if l.Weight == nil {
			continue
		}
		terms := int64(numel(l.OutShape)) * int64(len(l.Weight.Data)/l.Weight.Shape[0])
		if l.Op == quant.OpAdder2d {
			adder += terms
		} else {
			mac += terms
		}
	}
	return
}

func benchNet(b *testing.B, q *quant.Model, x dataset.Tensor) {
	n, err := Prepare(q)
	if err != nil {
		b.Fatal(err)
	}
	codes, _, err := q.EncodeInput(x)
	if err != nil {
		b.Fatal(err)
	}
	images := x.Shape[0]
	in := Codes{Shape: x.Shape, Data: codes}
	adder, mac := laneOps(q)
	b.ResetTimer()
	for range b.N {
		if _, err := n.Run(in, NetOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*images)/s, "images/s")
	b.ReportMetric(float64(int64(b.N*images)*adder)/s, "adder-lane-ops/s")
	b.ReportMetric(float64(int64(b.N*images)*(adder+mac))/s, "lane-ops/s")
}

// BenchmarkRunNetLeNet: the 8-bit LeNet-5 simulator on 256 MNIST-like
// images per run, on every core.
func BenchmarkRunNetLeNet(b *testing.B) {
	tm := testModels(b)[4]
	benchNet(b, tm.q, quanttest.Digits(256, 1))
}

// BenchmarkFloatLeNet: the float64 reference forward on the same net.
func BenchmarkFloatLeNet(b *testing.B) {
	tm := testModels(b)[4]
	x := quanttest.Digits(256, 1)
	b.ResetTimer()
	for range b.N {
		if _, err := tm.net.Forward(x); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*256)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkRunNetResNet20: the 8-bit official ResNet-20, 8 images per run.
func BenchmarkRunNetResNet20(b *testing.B) { benchResNet20(b, 8) }

// BenchmarkRunNetResNet20Bits4: the same at 4 bits (the adder inputs are
// 4-bit codes: the byte kernel, as at 8 bits).
func BenchmarkRunNetResNet20Bits4(b *testing.B) { benchResNet20(b, 4) }

func benchResNet20(b *testing.B, bits int) {
	net, err := model.Load("resnet20-adder", resnetCheckpoint(b))
	if err != nil {
		b.Fatal(err)
	}
	x := quanttest.Uniform(net.Input, 8, -2, 2, 5)
	cfg := quant.DefaultConfig()
	cfg.Bits = bits
	q, err := quant.Quantize(net, x, cfg, "uniform")
	if err != nil {
		b.Fatal(err)
	}
	benchNet(b, q, x)
}

// BenchmarkFloatResNet20: the float64 reference on ResNet-20.
func BenchmarkFloatResNet20(b *testing.B) {
	net, err := model.Load("resnet20-adder", resnetCheckpoint(b))
	if err != nil {
		b.Fatal(err)
	}
	x := quanttest.Uniform(net.Input, 8, -2, 2, 5)
	b.ResetTimer()
	for range b.N {
		if _, err := net.Forward(x); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*8)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkAdderKernel: the adder layer kernel alone (LeNet conv2 shape).
func BenchmarkAdderKernel(b *testing.B) {
	tm := testModels(b)[4]
	n, err := Prepare(tm.q)
	if err != nil {
		b.Fatal(err)
	}
	i := 2 // conv2
	l := tm.q.Layers[i]
	in := make([]int32, numel(tm.q.InShape(l, 0)))
	for j := range in {
		in[j] = int32(j * 7 % 256)
	}
	adder, _ := laneOps(&quant.Model{Layers: []*quant.Layer{l}})
	b.ResetTimer()
	for range b.N {
		if _, _, err := n.RunLayer(i, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(int64(b.N)*adder)/b.Elapsed().Seconds(), "lane-ops/s")
}
