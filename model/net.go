package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"

	"github.com/addergen/addergen/dataset"
)

// Param is one parameter tensor of a layer together with its state_dict
// key.
type Param struct {
	Key   string
	Value dataset.Tensor
}

// Layer is one node of a Net. Fields that do not apply to Op are zero.
type Layer struct {
	Name string
	Op   Op
	// Inputs names the layers read by this one, InputName for the network
	// input. An add layer has two inputs, every other layer one.
	Inputs []string

	// InC and OutC are channels (conv2d, adder2d, batchnorm2d, pools,
	// relu and add on [C, H, W]) or features (linear).
	InC, OutC int
	// Kernel, Stride and Padding apply to conv2d, adder2d and the pools;
	// Stride has its default resolved.
	Kernel, Stride, Padding int
	// Bias tells whether a conv2d, adder2d or linear layer has a bias B.
	Bias bool
	// Eps is the batchnorm2d epsilon, default resolved.
	Eps float64

	// InShapes are the per-sample shapes of the inputs, OutShape that of
	// the output: [C, H, W] or [F].
	InShapes [][]int
	OutShape []int

	// W is the weight: [OutC, InC, K, K] for conv2d and adder2d,
	// [OutC, InC] for linear, γ [C] for batchnorm2d. Nil for layers
	// without parameters.
	W *Param
	// B is the bias [OutC] (nil if !Bias), or β [C] for batchnorm2d.
	B *Param
	// Mean and Var are the running statistics of batchnorm2d.
	Mean, Var *Param
	// PadValue, if set (conv2d only, one value per input channel), is what
	// a padded input position reads instead of zero: the raw pixel of a
	// folded preprocessing's zero (FoldPreprocess).
	PadValue []float64

	// NumBatchesKey is the batchnorm2d key that is accepted and ignored
	// when loading weights.
	NumBatchesKey string

	inIdx []int // indices into Net.Layers; -1 is the network input
}

// Params returns the layer's parameters in PyTorch state_dict order.
func (l *Layer) Params() []*Param {
	var ps []*Param
	for _, p := range []*Param{l.W, l.B, l.Mean, l.Var} {
		if p != nil {
			ps = append(ps, p)
		}
	}
	return ps
}

// InputIndex returns the indices into Net.Layers of the layer's inputs;
// -1 stands for the network input.
func (l *Layer) InputIndex() []int { return slices.Clone(l.inIdx) }

// Net is a float AdderNet: a DAG of layers in topological order. The last
// layer is the output.
type Net struct {
	// Spec is the architecture the net was built from.
	Spec *Spec
	// Input is the per-sample input shape [C, H, W].
	Input []int
	// Layers in topological order: every layer's inputs come before it.
	Layers []*Layer
	// Folded, if set, is the preprocessing folded into the layers that
	// read the input (FoldPreprocess): the input is the raw pixel.
	Folded *Preprocess

	index map[string]int
	// fast caches Forward's plan (forward_plan.go). It is a pointer so
	// that a Net stays copyable; copies share the cache, which checks
	// the layers and weights it was built from on every use.
	fast *planCache
}

// planCache holds the last plan Forward built for a net.
type planCache struct{ p atomic.Pointer[fastPlan] }

// Build makes a net from a spec, validating it. Parameters are allocated
// with weights zero, batchnorm γ and running variance one.
func Build(s *Spec) (*Net, error) {
	res, err := s.shapes()
	if err != nil {
		return nil, fmt.Errorf("model: spec %s: %w", s.Name, err)
	}
	n := &Net{Spec: s, Input: slices.Clone(s.Input), index: map[string]int{}, fast: &planCache{}}
	for i := range s.Layers {
		ls, r := &s.Layers[i], &res[i]
		l := &Layer{
			Name:     ls.Name,
			Op:       ls.Op,
			Inputs:   slices.Clone(r.inputs),
			Kernel:   ls.Kernel,
			Stride:   r.stride,
			Padding:  ls.Padding,
			Bias:     ls.Bias,
			Eps:      r.eps,
			InShapes: r.inShapes,
			OutShape: r.out,
			inIdx:    r.inIdx,
		}
		in := r.inShapes[0]
		switch ls.Op {
		case OpConv2d, OpAdder2d:
			l.InC, l.OutC = ls.In, ls.Out
			l.W = newParam(ls.Key(RoleWeight), 0, ls.Out, ls.In, ls.Kernel, ls.Kernel)
		case OpLinear:
			l.InC, l.OutC = ls.In, ls.Out
			l.W = newParam(ls.Key(RoleWeight), 0, ls.Out, ls.In)
		case OpBatchNorm2d:
			l.InC, l.OutC = ls.Channels, ls.Channels
			l.W = newParam(ls.Key(RoleWeight), 1, ls.Channels)
			l.B = newParam(ls.Key(RoleBias), 0, ls.Channels)
			l.Mean = newParam(ls.Key(RoleRunningMean), 0, ls.Channels)
			l.Var = newParam(ls.Key(RoleRunningVar), 1, ls.Channels)
			l.NumBatchesKey = ls.Key(RoleNumBatchesTracked)
		default:
			if len(in) == 3 {
				l.InC, l.OutC = in[0], r.out[0]
			}
		}
		if ls.Bias {
			l.B = newParam(ls.Key(RoleBias), 0, ls.Out)
		}
		n.Layers = append(n.Layers, l)
		n.index[l.Name] = i
	}
	return n, nil
}

func newParam(key string, fill float64, shape ...int) *Param {
	t := dataset.Tensor{Shape: shape, Data: make([]float64, numel(shape))}
	if fill != 0 {
		for i := range t.Data {
			t.Data[i] = fill
		}
	}
	return &Param{Key: key, Value: t}
}

// New builds a net from a spec with freshly initialised weights, as
// PyTorch initialises nn.Conv2d and nn.Linear: weights uniform in
// ±1/√fan_in (kaiming_uniform with a=√5), biases uniform in ±1/√fan_in.
// adder2d layers are initialised the same way. Batchnorm layers get γ=1,
// β=0, running mean 0 and running variance 1.
func New(s *Spec, rng *rand.Rand) (*Net, error) {
	n, err := Build(s)
	if err != nil {
		return nil, err
	}
	for _, l := range n.Layers {
		switch l.Op {
		case OpConv2d, OpAdder2d, OpLinear:
			fanIn := l.InC * max(l.Kernel*l.Kernel, 1)
			bound := 1 / math.Sqrt(float64(fanIn))
			for _, p := range []*Param{l.W, l.B} {
				if p == nil {
					continue
				}
				for i := range p.Value.Data {
					p.Value.Data[i] = (2*rng.Float64() - 1) * bound
				}
			}
		}
	}
	return n, nil
}

// Layer returns the layer with the given name, or nil.
func (n *Net) Layer(name string) *Layer {
	i, ok := n.index[name]
	if !ok {
		return nil
	}
	return n.Layers[i]
}

// Index returns the position of the named layer in Layers, or -1.
func (n *Net) Index(name string) int {
	i, ok := n.index[name]
	if !ok {
		return -1
	}
	return i
}

// Output returns the per-sample output shape of the net.
func (n *Net) Output() []int { return n.Layers[len(n.Layers)-1].OutShape }

// InputShape returns the per-sample input shape [C, H, W].
func (n *Net) InputShape() []int { return slices.Clone(n.Input) }

// Params returns all parameters in layer order.
func (n *Net) Params() []*Param {
	var ps []*Param
	for _, l := range n.Layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// checkParams verifies that parameter tensors still have the sizes the
// kernels index, so a caller who replaced one cannot make Forward panic.
func (n *Net) checkParams() error {
	for _, l := range n.Layers {
		for _, p := range l.Params() {
			if len(p.Value.Data) != numel(p.Value.Shape) {
				return fmt.Errorf("model: layer %q: %s has shape %v but %d values", l.Name, p.Key, p.Value.Shape, len(p.Value.Data))
			}
		}
		var want [][]int
		switch l.Op {
		case OpConv2d, OpAdder2d:
			want = [][]int{{l.OutC, l.InC, l.Kernel, l.Kernel}}
		case OpLinear:
			want = [][]int{{l.OutC, l.InC}}
		case OpBatchNorm2d:
			want = [][]int{{l.OutC}, {l.OutC}, {l.OutC}, {l.OutC}}
		}
		if l.Bias {
			want = append(want, []int{l.OutC})
		}
		if l.PadValue != nil && (l.Op != OpConv2d || len(l.PadValue) != l.InC) {
			return fmt.Errorf("model: layer %q: %d pad values for %s with %d input channels", l.Name, len(l.PadValue), l.Op, l.InC)
		}
		ps := l.Params()
		if len(ps) != len(want) {
			return fmt.Errorf("model: layer %q: has %d parameters, want %d", l.Name, len(ps), len(want))
		}
		for i, p := range ps {
			if !slices.Equal(p.Value.Shape, want[i]) {
				return fmt.Errorf("model: layer %q: %s has shape %v, want %v", l.Name, p.Key, p.Value.Shape, want[i])
			}
		}
	}
	return nil
}
