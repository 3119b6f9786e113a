package sim

import (
	"math"
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

// BenchmarkRunNetResNet20Default4: ResNet-20 as `addergen quantize --bits
// 4` makes it with its defaults (raw-pixel input folded into conv1, conv1,
// fc and the input at 8 bits, scales off the power-of-two grid, output
// clipping, 8-bit residual activations) on raw-pixel images. The default
// bias correction only moves the rescale constants b, so it is left out
// (it needs the refine package, which imports sim).
func BenchmarkRunNetResNet20Default4(b *testing.B) {
	net, err := model.Load("resnet20-adder", resnetCheckpoint(b))
	if err != nil {
		b.Fatal(err)
	}
	if net, err = net.FoldPreprocess(); err != nil {
		b.Fatal(err)
	}
	x := quanttest.Uniform(net.Input, 8, 0, 255, 5)
	for i, v := range x.Data {
		x.Data[i] = math.Round(v)
	}
	cfg := quant.DefaultConfig()
	cfg.Bits = 4
	cfg.NonPow2Scales, cfg.OutputClip, cfg.ResidualBits = true, true, 8
	if cfg.LayerBits, err = quant.WithEdgeBits(net, nil, 4, quant.EdgeBits); err != nil {
		b.Fatal(err)
	}
	cfg.LayerBits[quant.InputName] = quant.RawPixelBits
	q, err := quant.Quantize(net, x, cfg, "uniform")
	if err != nil {
		b.Fatal(err)
	}
	benchNet(b, q, x)
}

// trainedLeNet is the built-in trained LeNet-5 (lenet5-adder-mnist) and the
// first 256 MNIST test images, [256, 1, 28, 28]. The float reference's
// speed depends on the weights (it skips non-positive weights on
// non-negative inputs), so trained weights are measured too.
func trainedLeNet(b *testing.B) (*model.Net, dataset.Tensor) {
	net, ok, err := model.Pretrained("lenet5-adder-mnist")
	if err != nil || !ok {
		b.Fatalf("lenet5-adder-mnist: built in %v, %v", ok, err)
	}
	dir, err := dataset.MNISTDir()
	if err != nil {
		b.Fatal(err)
	}
	test, err := dataset.Load(dir, "", dataset.SplitTest)
	if err != nil {
		b.Fatal(err)
	}
	x := test.Limit(256).X
	return net, dataset.Tensor{Shape: []int{256, 1, 28, 28}, Data: x.Data}
}

// BenchmarkRunNetLeNetTrained: the simulator on the trained LeNet-5 at 8
// bits (quant defaults) and real MNIST test images.
func BenchmarkRunNetLeNetTrained(b *testing.B) {
	net, x := trainedLeNet(b)
	q, err := quant.Quantize(net, x, quant.DefaultConfig(), "mnist")
	if err != nil {
		b.Fatal(err)
	}
	benchNet(b, q, x)
}

// BenchmarkFloatLeNetTrained: the float64 reference on the trained LeNet-5
// and real MNIST test images.
func BenchmarkFloatLeNetTrained(b *testing.B) {
	net, x := trainedLeNet(b)
	b.ResetTimer()
	for range b.N {
		if _, err := net.Forward(x); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*256)/b.Elapsed().Seconds(), "images/s")
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
