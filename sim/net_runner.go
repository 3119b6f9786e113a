package sim

import (
	"errors"
	"fmt"
	"slices"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
)

// Runner runs a quantized model behind the model.Runner interface: float
// inputs in, dequantized float64 outputs out (see Infer). It also
// implements model.Preprocessor with the preprocessing recorded in the
// quantized file.
type Runner struct {
	net *Net
}

// NewRunner prepares q for inference.
func NewRunner(q *quant.Model) (*Runner, error) {
	n, err := Prepare(q)
	if err != nil {
		return nil, err
	}
	return &Runner{net: n}, nil
}

// LoadRunner loads a quantized model file (quant.Load) and prepares it.
func LoadRunner(path string) (*Runner, error) {
	q, err := quant.Load(path)
	if err != nil {
		return nil, err
	}
	return NewRunner(q)
}

// Forward implements model.Runner: sim.Infer on the prepared net.
func (r *Runner) Forward(x dataset.Tensor) (dataset.Tensor, error) { return r.net.Infer(x) }

// InputShape implements model.Runner.
func (r *Runner) InputShape() []int { return slices.Clone(r.net.q.Input.Shape) }

// Model returns the quantized model.
func (r *Runner) Model() *quant.Model { return r.net.q }

// Preprocess implements model.Preprocessor like model.Net.Preprocess.
func (r *Runner) Preprocess(x dataset.Tensor) (dataset.Tensor, error) {
	in := r.net.q.Input.Shape
	if len(x.Shape) != 4 || x.Shape[1] != in[0] {
		return dataset.Tensor{}, fmt.Errorf("sim: preprocess: input shape %v, want [N %d H W]", x.Shape, in[0])
	}
	out := dataset.Tensor{Shape: slices.Clone(x.Shape), Data: slices.Clone(x.Data)}
	if p := r.net.q.Preprocess; p != nil {
		p.Apply(out.Data, x.Shape[1], x.Shape[2]*x.Shape[3])
	}
	return out, nil
}

// ErrWeightsWithQuantized is returned by the resolver when a weights file
// is given with a quantized model, which holds its own weights.
var ErrWeightsWithQuantized = errors.New("a quantized model holds its weights; --weights does not apply")

// ResolveQuantized is a model.Resolver for quantized model files: it
// handles m when quant.IsQuantized(m). It is registered with
// model.RegisterResolver by this package's init, so model.Resolve (and
// the CLI's --model) accepts quantized files in any binary that links sim.
func ResolveQuantized(m, weights string) (model.Runner, bool, error) {
	if !quant.IsQuantized(m) {
		return nil, false, nil
	}
	if weights != "" {
		return nil, true, fmt.Errorf("model %s: %w", m, ErrWeightsWithQuantized)
	}
	r, err := LoadRunner(m)
	if err != nil {
		return nil, true, err
	}
	return r, true, nil
}

func init() { model.RegisterResolver("quantized", ResolveQuantized) }
