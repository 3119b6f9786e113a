// Package quanttest builds small, well-conditioned random AdderNets and
// data for tests of the quantizer, the simulator and the CLI.
package quanttest

import (
	"math"
	"math/rand/v2"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
)

// Uniform returns n samples of the given shape [C, H, W] with values
// uniform in [lo, hi), deterministic in seed.
func Uniform(shape []int, n int, lo, hi float64, seed uint64) dataset.Tensor {
	rng := rand.New(rand.NewPCG(seed, 7))
	t := dataset.Tensor{Shape: append([]int{n}, shape...)}
	t.Data = make([]float64, t.Len())
	for i := range t.Data {
		t.Data[i] = lo + (hi-lo)*rng.Float64()
	}
	return t
}

// Digits returns n MNIST-like samples [1, 28, 28]: mostly zero, with a few
// bright random strokes, values p/255.
func Digits(n int, seed uint64) dataset.Tensor {
	rng := rand.New(rand.NewPCG(seed, 11))
	t := dataset.Tensor{Shape: []int{n, 1, 28, 28}, Data: make([]float64, n*784)}
	for i := range n {
		img := t.Data[i*784 : (i+1)*784]
		for range 4 + rng.IntN(4) {
			x, y := 4+rng.Float64()*20, 4+rng.Float64()*20
			dx, dy := rng.Float64()*2-1, rng.Float64()*2-1
			for s := range 12 {
				px, py := int(x+dx*float64(s)), int(y+dy*float64(s))
				if px >= 0 && px < 28 && py >= 0 && py < 28 {
					img[py*28+px] = float64(128+rng.IntN(128)) / 255
				}
			}
		}
	}
	return t
}

// RandomNet builds the net of spec s with random weights (model.New),
// adder weights spread wider (normal with the given standard deviation, so
// that many fall outside the activation range, as in trained AdderNets),
// random BN affine parameters, and BN running statistics measured on x so
// that every layer is well-conditioned.
func RandomNet(s *model.Spec, x dataset.Tensor, adderStd float64, seed uint64) (*model.Net, error) {
	rng := rand.New(rand.NewPCG(seed, 3))
	net, err := model.New(s, rng)
	if err != nil {
		return nil, err
	}
	for _, l := range net.Layers {
		switch l.Op {
		case model.OpAdder2d:
			for i := range l.W.Value.Data {
				l.W.Value.Data[i] = rng.NormFloat64() * adderStd
			}
		case model.OpBatchNorm2d:
			for c := range l.OutC {
				l.W.Value.Data[c] = 0.5 + rng.Float64()
				l.B.Value.Data[c] = 0.5 * rng.NormFloat64()
			}
		}
	}
	if err := RecalibrateBN(net, x); err != nil {
		return nil, err
	}
	return net, nil
}

// SpreadNet is RandomNet with the adder weights of output channel o scaled
// by 2^−(o mod 4) (BN statistics re-measured), so that the channels' weight
// ranges differ by up to 8×, as in trained AdderNets: the case group-wise
// shared scales (quant.Config.GroupScales) are for.
func SpreadNet(s *model.Spec, x dataset.Tensor, adderStd float64, seed uint64) (*model.Net, error) {
	net, err := RandomNet(s, x, adderStd, seed)
	if err != nil {
		return nil, err
	}
	for _, l := range net.Layers {
		if l.Op != model.OpAdder2d {
			continue
		}
		R := len(l.W.Value.Data) / l.OutC
		for i := range l.W.Value.Data {
			l.W.Value.Data[i] = math.Ldexp(l.W.Value.Data[i], -(i/R)%4)
		}
	}
	if err := RecalibrateBN(net, x); err != nil {
		return nil, err
	}
	return net, nil
}

// RecalibrateBN sets every batchnorm2d layer's running mean and variance to
// the per-channel statistics of its input on x, layer by layer.
func RecalibrateBN(net *model.Net, x dataset.Tensor) error {
	for i, l := range net.Layers {
		if l.Op != model.OpBatchNorm2d {
			continue
		}
		outs, err := net.ForwardAll(x)
		if err != nil {
			return err
		}
		in := outs[l.InputIndex()[0]]
		if l.InputIndex()[0] < 0 {
			in = x
		}
		C := l.OutC
		N := in.Shape[0]
		hw := len(in.Data) / N / C
		for c := range C {
			var s, s2 float64
			for n := range N {
				for _, v := range in.Data[(n*C+c)*hw : (n*C+c+1)*hw] {
					s += v
					s2 += v * v
				}
			}
			cnt := float64(N * hw)
			mean := s / cnt
			l.Mean.Value.Data[c] = mean
			l.Var.Value.Data[c] = math.Max(s2/cnt-mean*mean, 1e-6)
		}
		_ = i
	}
	return nil
}
