package model

import (
	"errors"
	"fmt"
	"sync"

	"github.com/addergen/addergen/dataset"
)

// Runner is a model that maps a batch [N, C, H, W] to outputs [N, ...]:
// the float *Net here, and later quantized or simulated models.
type Runner interface {
	Forward(x dataset.Tensor) (dataset.Tensor, error)
	// InputShape is the per-sample input shape [C, H, W].
	InputShape() []int
}

// Preprocessor is implemented by runners that know how to turn raw pixels
// into their input (see Spec.Preprocess).
type Preprocessor interface {
	Preprocess(x dataset.Tensor) (dataset.Tensor, error)
}

// A Resolver turns a model argument (a name, a file or a folder) and an
// optional weights file into a Runner. It returns ok=false, with no error,
// for arguments it does not handle.
type Resolver func(model, weights string) (r Runner, ok bool, err error)

var resolvers struct {
	sync.Mutex
	list []namedResolver
}

type namedResolver struct {
	name string
	fn   Resolver
}

// RegisterResolver adds a resolver that Resolve tries, in registration
// order, before its float-net fallback. It is the extension point for
// model kinds defined in other packages (quantized models, trained model
// folders), which register themselves from an init function.
func RegisterResolver(name string, fn Resolver) {
	resolvers.Lock()
	defer resolvers.Unlock()
	resolvers.list = append(resolvers.list, namedResolver{name, fn})
}

// ErrNoWeights is returned by Resolve for a float net without a weights
// file.
var ErrNoWeights = errors.New("a weights file is required for this model")

// Resolve returns the model named by m. Registered resolvers are asked
// first; otherwise m is a built-in spec name or a spec JSON file, and
// weights is the file to load into it (see Load).
func Resolve(m, weights string) (Runner, error) {
	return ResolveWith(m, weights, LoadOptions{})
}

// ResolveWith is Resolve with options for the weights file (see
// LoadOptions). A weights key without a weights file is an error.
func ResolveWith(m, weights string, opt LoadOptions) (Runner, error) {
	if opt.WeightsKey != "" && weights == "" {
		return nil, fmt.Errorf("model %s: a weights key (%q) needs a weights file", m, opt.WeightsKey)
	}
	resolvers.Lock()
	list := append([]namedResolver(nil), resolvers.list...)
	resolvers.Unlock()
	for _, r := range list {
		run, ok, err := r.fn(m, weights)
		if err != nil {
			return nil, err
		}
		if ok {
			return run, nil
		}
	}
	if weights == "" {
		if _, err := LoadSpec(m); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("model %s: %w", m, ErrNoWeights)
	}
	return LoadWith(m, weights, opt)
}

// Preprocess applies the spec's preprocessing to a batch of raw images
// [N, C, H, W], returning a new tensor. Without a preprocess entry in the
// spec the data is returned unchanged (copied).
func (n *Net) Preprocess(x dataset.Tensor) (dataset.Tensor, error) {
	if len(x.Shape) != 4 || x.Shape[1] != n.Input[0] {
		return dataset.Tensor{}, fmt.Errorf("model: preprocess: input shape %v, want [N %d H W]", x.Shape, n.Input[0])
	}
	out := dataset.Tensor{Shape: append([]int(nil), x.Shape...), Data: append([]float64(nil), x.Data...)}
	if p := n.Spec.Preprocess; p != nil {
		p.Apply(out.Data, x.Shape[1], x.Shape[2]*x.Shape[3])
	}
	return out, nil
}
