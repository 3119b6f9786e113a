package model

import (
	"errors"
	"fmt"
	"slices"
)

// ErrNotFoldable is wrapped by FoldPreprocess when a layer that reads the
// input cannot absorb the preprocessing (it is not a conv2d).
var ErrNotFoldable = errors.New("only conv2d layers can absorb the preprocessing")

// Normalizes reports whether p does more than scale pixels: it has a mean
// or a std (so the network input is not the raw pixel up to a constant).
func (p *Preprocess) Normalizes() bool { return p != nil && (len(p.Mean) > 0 || len(p.Std) > 0) }

// Identity reports whether p leaves pixels unchanged (Scale 0 or 1, no
// mean, no std), as the preprocessing of a folded net does.
func (p *Preprocess) Identity() bool {
	return p != nil && (p.Scale == 0 || p.Scale == 1) && !p.Normalizes()
}

// affine returns the per-channel map x = a[c]·p + b[c] that p applies to a
// raw pixel p (see Apply): a = 1/(scale·std), b = −mean/std.
func (p *Preprocess) affine(c int) (a, b []float64) {
	scale := p.Scale
	if scale == 0 {
		scale = 1
	}
	a, b = make([]float64, c), make([]float64, c)
	for i := range c {
		a[i] = 1 / scale
		if len(p.Mean) == c {
			b[i] = -p.Mean[i]
		}
		if len(p.Std) == c {
			a[i] /= p.Std[i]
			b[i] /= p.Std[i]
		}
	}
	return a, b
}

// FoldPreprocess returns a copy of n whose input is the raw pixel p
// (0..Scale) instead of the preprocessed x = a[c]·p + b[c] (Spec.Preprocess:
// a = 1/(Scale·std[c]), b = −mean[c]/std[c]). The preprocessing folds
// exactly into every layer that reads the network input, which must be a
// conv2d:
//
//	W'[o,c,i,j] = W[o,c,i,j]·a[c]
//	B'[o]       = B[o] + Σ_{c,i,j} W[o,c,i,j]·b[c]
//	PadValue[c] = −b[c]/a[c] = Scale·mean[c]
//
// A padded position of the folded layer reads PadValue[c], the raw pixel
// whose preprocessed value is the original zero padding, so every output
// equals n's on the preprocessed input up to float rounding. The copy's
// Spec.Preprocess is the identity (Scale 1: raw pixels in) and Folded is
// n's preprocessing. Parameters are copied, not shared.
//
// Errors: n has no preprocessing, was folded already, or the input is read
// by a layer of another op (ErrNotFoldable: an adder2d cannot absorb a
// per-channel gain, its input and weights share one scale).
func (n *Net) FoldPreprocess() (*Net, error) {
	p := n.Spec.Preprocess
	if p == nil {
		return nil, fmt.Errorf("model %s: fold preprocess: the spec has no preprocessing", n.Spec.Name)
	}
	if n.Folded != nil {
		return nil, fmt.Errorf("model %s: fold preprocess: already folded", n.Spec.Name)
	}
	C := n.Input[0]
	a, b := p.affine(C)
	spec := *n.Spec
	spec.Layers = slices.Clone(n.Spec.Layers)
	spec.Preprocess = &Preprocess{Scale: 1}
	readers := map[string]bool{}
	for i, l := range n.Layers {
		if !slices.Contains(l.Inputs, InputName) {
			continue
		}
		if l.Op != OpConv2d {
			return nil, fmt.Errorf("model %s: fold preprocess: layer %s (%s) reads the input: %w", n.Spec.Name, l.Name, l.Op, ErrNotFoldable)
		}
		readers[l.Name] = true
		spec.Layers[i].Bias = true
	}
	f, err := Build(&spec)
	if err != nil {
		return nil, err
	}
	f.Folded = p
	for i, l := range n.Layers {
		fl := f.Layers[i]
		for _, pr := range []struct{ dst, src *Param }{{fl.W, l.W}, {fl.B, l.B}, {fl.Mean, l.Mean}, {fl.Var, l.Var}} {
			if pr.dst != nil && pr.src != nil {
				pr.dst.Value.Data = slices.Clone(pr.src.Value.Data)
			}
		}
		fl.PadValue = slices.Clone(l.PadValue)
		if !readers[l.Name] {
			continue
		}
		// Per output channel, R = C·K·K weights.
		R := len(fl.W.Value.Data) / fl.OutC
		per := R / C
		w := fl.W.Value.Data
		for o := range fl.OutC {
			var s float64
			for r := range R {
				c := r / per
				s += w[o*R+r] * b[c]
				w[o*R+r] *= a[c]
			}
			fl.B.Value.Data[o] += s
		}
		if l.Padding > 0 {
			fl.PadValue = make([]float64, C)
			for c := range C {
				fl.PadValue[c] = -b[c] / a[c]
			}
		}
	}
	return f, nil
}
