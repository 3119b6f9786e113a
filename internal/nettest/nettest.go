// Package nettest builds small quantized networks for addergen's tests.
package nettest

import (
	"math/rand/v2"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/sim"
)

// LeNet quantizes a randomly initialised lenet5-adder at the given bits,
// calibrated on 64 MNIST test images, and returns it with the input codes
// of the first n test images and their labels.
func LeNet(t testing.TB, bits, n int) (*quant.Model, sim.Codes, []int) {
	t.Helper()
	return leNet(t, n, func(c *quant.Config) { c.Bits = bits })
}

// LeNetGroups is LeNet at 4 bits with group-wise shared scales
// (quant.Config.GroupScales 3: 6-bit activations, 4-bit operand views),
// each adder layer's channels then spread over three groups (shifts
// o mod 3, ranges re-derived), whatever the search chose, so that every
// view runs.
func LeNetGroups(t testing.TB, n int) (*quant.Model, sim.Codes, []int) {
	t.Helper()
	q, codes, labels := leNet(t, n, func(c *quant.Config) {
		c.Bits, c.GroupScales, c.OutputClip, c.BiasCorrection = 4, 3, true, true
	})
	grouped := 0
	for _, l := range q.Layers {
		if l.OperandBits == 0 || l.GroupShift == nil {
			continue
		}
		for o := range l.GroupShift {
			l.GroupShift[o] = o % 3
		}
		if err := q.AdjustB(l.Name, make([]int64, len(l.GroupShift))); err != nil {
			t.Fatal(err)
		}
		grouped++
	}
	if grouped == 0 {
		t.Fatal("nettest: no adder layer has operand views")
	}
	return q, codes, labels
}

func leNet(t testing.TB, n int, mod func(*quant.Config)) (*quant.Model, sim.Codes, []int) {
	t.Helper()
	spec, err := model.BuiltinSpec("lenet5-adder")
	if err != nil {
		t.Fatal(err)
	}
	net, err := model.New(spec, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := dataset.MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	set, err := dataset.Load(dir, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	cfg := quant.DefaultConfig()
	mod(&cfg)
	q, err := quant.Quantize(net, set.Limit(64).X, cfg, "nettest")
	if err != nil {
		t.Fatal(err)
	}
	sub := set.Limit(n)
	codes, _, err := q.EncodeInput(sub.X)
	if err != nil {
		t.Fatal(err)
	}
	return q, sim.Codes{Shape: append([]int{n}, q.Input.Shape...), Data: codes}, sub.Labels
}

// ResNet20 quantizes the official ResNet-20 AdderNet checkpoint
// (../shared/models/ResNet20-AdderNet.pth, found by walking up from the
// working directory) at 8 bits, calibrated on 16 random CIFAR-shaped
// inputs, and returns it with the input codes of n more random inputs.
// Without the checkpoint the test is skipped (see testutil.SharedFile).
func ResNet20(t testing.TB, n int) (*quant.Model, sim.Codes) {
	t.Helper()
	path := testutil.SharedFile(t, "models/ResNet20-AdderNet.pth")
	net, err := model.Load("resnet20-adder", path)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	randn := func(k int) dataset.Tensor {
		x := dataset.Tensor{Shape: []int{k, 3, 32, 32}, Data: make([]float64, k*3*32*32)}
		for i := range x.Data {
			x.Data[i] = rng.NormFloat64()
		}
		return x
	}
	q, err := quant.Quantize(net, randn(16), quant.DefaultConfig(), "nettest")
	if err != nil {
		t.Fatal(err)
	}
	codes, _, err := q.EncodeInput(randn(n))
	if err != nil {
		t.Fatal(err)
	}
	return q, sim.Codes{Shape: append([]int{n}, q.Input.Shape...), Data: codes}
}

// TinySpec is a network small enough for yosys in seconds: one adder
// layer (2->3 channels, 3x3) on a 2x6x6 input, its BN and ReLU, and a
// global average pool.
const TinySpec = `{"name": "tiny", "input": [2, 6, 6], "layers": [
	{"name": "a1", "op": "adder2d", "in": 2, "out": 3, "kernel": 3},
	{"name": "bn1", "op": "batchnorm2d", "channels": 3},
	{"name": "r1", "op": "relu"},
	{"name": "p1", "op": "avgpool2d", "kernel": 4},
	{"name": "f", "op": "flatten"}]}`

// Tiny quantizes TinySpec with random weights at 4 bits, calibrated on 16
// random inputs in [0, 1).
func Tiny(t testing.TB) *quant.Model {
	t.Helper()
	s, err := model.ParseSpec([]byte(TinySpec), "tiny")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	net, err := model.New(s, rng)
	if err != nil {
		t.Fatal(err)
	}
	x := dataset.Tensor{Shape: []int{16, 2, 6, 6}, Data: make([]float64, 16*2*6*6)}
	for i := range x.Data {
		x.Data[i] = rng.Float64()
	}
	cfg := quant.DefaultConfig()
	cfg.Bits = 4
	q, err := quant.Quantize(net, x, cfg, "tiny")
	if err != nil {
		t.Fatal(err)
	}
	return q
}
