package model

import (
	"fmt"
	"math"
	"slices"
)

// Limits that keep a hostile spec from asking for absurd allocations.
const (
	maxDim        = 1 << 16 // channels, features, spatial size
	maxKernel     = 1 << 10 // kernel, stride, padding
	maxElems      = 1 << 27 // elements in one parameter or one sample's activation
	maxSpecLayers = 1 << 14
)

// resolved is a validated layer: its defaults filled in and its shapes
// computed.
type resolved struct {
	inputs   []string
	inIdx    []int // layer indices; -1 is the network input
	inShapes [][]int
	out      []int
	stride   int
	eps      float64
}

func fieldErr(i int, ls *LayerSpec, format string, args ...any) error {
	return fmt.Errorf("layer #%d %q (%s): %s", i, ls.Name, ls.Op, fmt.Sprintf(format, args...))
}

// shapes validates the spec and returns the resolved layers.
func (s *Spec) shapes() ([]resolved, error) {
	if s.Name == "" {
		return nil, fmt.Errorf(`field "name": missing`)
	}
	if len(s.Input) != 3 {
		return nil, fmt.Errorf(`field "input": want [C, H, W], got %v`, s.Input)
	}
	for _, d := range s.Input {
		if d < 1 || d > maxDim {
			return nil, fmt.Errorf(`field "input": dimension %d out of range [1, %d]`, d, maxDim)
		}
	}
	if s.Input[0]*s.Input[1]*s.Input[2] > maxElems {
		return nil, fmt.Errorf(`field "input": %v is too large`, s.Input)
	}
	if s.Classes < 0 {
		return nil, fmt.Errorf(`field "classes": %d is negative`, s.Classes)
	}
	if p := s.Preprocess; p != nil {
		if p.Scale < 0 || math.IsNaN(p.Scale) || math.IsInf(p.Scale, 0) {
			return nil, fmt.Errorf(`field "preprocess.scale": %v must be a finite non-negative number`, p.Scale)
		}
		for _, f := range []struct {
			name string
			v    []float64
		}{{"mean", p.Mean}, {"std", p.Std}} {
			if len(f.v) != 0 && len(f.v) != s.Input[0] {
				return nil, fmt.Errorf(`field "preprocess.%s": %d values for %d input channels`, f.name, len(f.v), s.Input[0])
			}
			for _, x := range f.v {
				if math.IsNaN(x) || math.IsInf(x, 0) || (f.name == "std" && x == 0) {
					return nil, fmt.Errorf(`field "preprocess.%s": invalid value %v`, f.name, x)
				}
			}
		}
	}
	if len(s.Layers) == 0 {
		return nil, fmt.Errorf(`field "layers": no layers`)
	}
	if len(s.Layers) > maxSpecLayers {
		return nil, fmt.Errorf(`field "layers": %d layers, at most %d`, len(s.Layers), maxSpecLayers)
	}

	index := map[string]int{InputName: -1}
	keys := map[string]string{} // state_dict key -> layer name
	used := make([]bool, len(s.Layers))
	res := make([]resolved, len(s.Layers))
	for i := range s.Layers {
		ls := &s.Layers[i]
		r := &res[i]
		if ls.Name == "" {
			return nil, fmt.Errorf("layer #%d: field \"name\": missing", i)
		}
		if _, dup := index[ls.Name]; dup {
			if ls.Name == InputName {
				return nil, fmt.Errorf("layer #%d: name %q is reserved for the network input", i, ls.Name)
			}
			return nil, fmt.Errorf("layer #%d: duplicate name %q", i, ls.Name)
		}
		if !ls.Op.Valid() {
			return nil, fmt.Errorf("layer #%d %q: field \"op\": unknown op %q (want one of %s)", i, ls.Name, ls.Op, opList())
		}
		if err := checkFields(i, ls); err != nil {
			return nil, err
		}

		// Inputs.
		r.inputs = ls.Inputs
		if len(r.inputs) == 0 && ls.Op != OpAdd {
			if i == 0 {
				r.inputs = []string{InputName}
			} else {
				r.inputs = []string{s.Layers[i-1].Name}
			}
		}
		want := 1
		if ls.Op == OpAdd {
			want = 2
		}
		if len(r.inputs) != want {
			return nil, fieldErr(i, ls, "field \"inputs\": want %d input(s), got %d", want, len(r.inputs))
		}
		for _, in := range r.inputs {
			j, ok := index[in]
			if !ok {
				if slices.ContainsFunc(s.Layers[i:], func(l LayerSpec) bool { return l.Name == in }) {
					return nil, fieldErr(i, ls, "field \"inputs\": %q is defined later; layers must be in topological order", in)
				}
				return nil, fieldErr(i, ls, "field \"inputs\": no layer named %q", in)
			}
			r.inIdx = append(r.inIdx, j)
			if j >= 0 {
				used[j] = true
				r.inShapes = append(r.inShapes, res[j].out)
			} else {
				r.inShapes = append(r.inShapes, s.Input)
			}
		}
		index[ls.Name] = i

		// Keys.
		for role, k := range ls.Keys {
			if defaultKeySuffix(ls.Op, role) == "" {
				return nil, fieldErr(i, ls, "field \"keys\": op %s has no tensor %q", ls.Op, role)
			}
			if k == "" {
				return nil, fieldErr(i, ls, "field \"keys\": empty key for %q", role)
			}
			if role == RoleBias && !ls.Bias && ls.Op != OpBatchNorm2d {
				return nil, fieldErr(i, ls, "field \"keys\": key for \"bias\" given but \"bias\" is false")
			}
		}
		for _, role := range rolesOf(ls) {
			k := ls.Key(role)
			if other, dup := keys[k]; dup {
				return nil, fieldErr(i, ls, "state_dict key %q is also used by layer %q", k, other)
			}
			keys[k] = ls.Name
		}

		out, err := outShape(i, ls, r)
		if err != nil {
			return nil, err
		}
		if numel(out) > maxElems {
			return nil, fieldErr(i, ls, "output %v is too large", out)
		}
		r.out = out
	}
	for i := range len(s.Layers) - 1 {
		if !used[i] {
			return nil, fmt.Errorf("layer #%d %q: output is never used (only the last layer may be unused)", i, s.Layers[i].Name)
		}
	}
	last := res[len(res)-1].out
	if s.Classes != 0 && !(len(last) == 1 && last[0] == s.Classes) {
		return nil, fmt.Errorf("field \"classes\": %d, but the last layer %q outputs %v per sample (add a flatten layer?)", s.Classes, s.Layers[len(s.Layers)-1].Name, last)
	}
	return res, nil
}

// rolesOf lists the state_dict roles a layer requires (num_batches_tracked
// is optional and not listed).
func rolesOf(ls *LayerSpec) []string {
	switch ls.Op {
	case OpConv2d, OpAdder2d, OpLinear:
		if ls.Bias {
			return []string{RoleWeight, RoleBias}
		}
		return []string{RoleWeight}
	case OpBatchNorm2d:
		return []string{RoleWeight, RoleBias, RoleRunningMean, RoleRunningVar}
	}
	return nil
}

// checkFields rejects fields that the op does not use and checks ranges.
func checkFields(i int, ls *LayerSpec) error {
	type field struct {
		name string
		set  bool
	}
	fields := []field{
		{"in", ls.In != 0}, {"out", ls.Out != 0}, {"channels", ls.Channels != 0},
		{"kernel", ls.Kernel != 0}, {"stride", ls.Stride != 0}, {"padding", ls.Padding != 0},
		{"bias", ls.Bias}, {"eps", ls.Eps != 0},
	}
	var allowed, required []string
	switch ls.Op {
	case OpConv2d, OpAdder2d:
		allowed = []string{"in", "out", "kernel", "stride", "padding", "bias"}
		required = []string{"in", "out", "kernel"}
	case OpLinear:
		allowed = []string{"in", "out", "bias"}
		required = []string{"in", "out"}
	case OpBatchNorm2d:
		allowed = []string{"channels", "eps"}
		required = []string{"channels"}
	case OpMaxPool2d, OpAvgPool2d:
		allowed = []string{"kernel", "stride"}
		required = []string{"kernel"}
	}
	for _, f := range fields {
		if f.set && !slices.Contains(allowed, f.name) {
			return fieldErr(i, ls, "field %q does not apply to this op", f.name)
		}
		if !f.set && slices.Contains(required, f.name) {
			return fieldErr(i, ls, "field %q: missing", f.name)
		}
	}
	for _, f := range []struct {
		name   string
		v, max int
	}{
		{"in", ls.In, maxDim}, {"out", ls.Out, maxDim}, {"channels", ls.Channels, maxDim},
		{"kernel", ls.Kernel, maxKernel}, {"stride", ls.Stride, maxKernel}, {"padding", ls.Padding, maxKernel},
	} {
		if f.v < 0 || f.v > f.max {
			return fieldErr(i, ls, "field %q: %d out of range [0, %d]", f.name, f.v, f.max)
		}
	}
	if ls.Eps < 0 || math.IsNaN(ls.Eps) || math.IsInf(ls.Eps, 0) {
		return fieldErr(i, ls, "field \"eps\": %v must be a finite positive number", ls.Eps)
	}
	return nil
}

func outShape(i int, ls *LayerSpec, r *resolved) ([]int, error) {
	in := r.inShapes[0]
	need3 := func() error {
		if len(in) != 3 {
			return fieldErr(i, ls, "input %q has shape %v, want [C, H, W]", r.inputs[0], in)
		}
		return nil
	}
	r.stride = ls.Stride
	switch ls.Op {
	case OpConv2d, OpAdder2d:
		if err := need3(); err != nil {
			return nil, err
		}
		if r.stride == 0 {
			r.stride = 1
		}
		if in[0] != ls.In {
			return nil, fieldErr(i, ls, "field \"in\": %d, but input %q has %d channels", ls.In, r.inputs[0], in[0])
		}
		if numel([]int{ls.Out, ls.In, ls.Kernel, ls.Kernel}) > maxElems {
			return nil, fieldErr(i, ls, "weight [%d %d %d %d] is too large", ls.Out, ls.In, ls.Kernel, ls.Kernel)
		}
		h, w := in[1]+2*ls.Padding, in[2]+2*ls.Padding
		if h < ls.Kernel || w < ls.Kernel {
			return nil, fieldErr(i, ls, "field \"kernel\": %d is larger than the padded input %dx%d from %q", ls.Kernel, h, w, r.inputs[0])
		}
		return []int{ls.Out, (h-ls.Kernel)/r.stride + 1, (w-ls.Kernel)/r.stride + 1}, nil
	case OpMaxPool2d, OpAvgPool2d:
		if err := need3(); err != nil {
			return nil, err
		}
		if r.stride == 0 {
			r.stride = ls.Kernel
		}
		if in[1] < ls.Kernel || in[2] < ls.Kernel {
			return nil, fieldErr(i, ls, "field \"kernel\": %d is larger than the input %dx%d from %q", ls.Kernel, in[1], in[2], r.inputs[0])
		}
		return []int{in[0], (in[1]-ls.Kernel)/r.stride + 1, (in[2]-ls.Kernel)/r.stride + 1}, nil
	case OpBatchNorm2d:
		if err := need3(); err != nil {
			return nil, err
		}
		r.eps = ls.Eps
		if r.eps == 0 {
			r.eps = DefaultEps
		}
		if in[0] != ls.Channels {
			return nil, fieldErr(i, ls, "field \"channels\": %d, but input %q has %d channels", ls.Channels, r.inputs[0], in[0])
		}
		return slices.Clone(in), nil
	case OpLinear:
		if len(in) != 1 {
			return nil, fieldErr(i, ls, "input %q has shape %v, want a flat vector (add a flatten layer)", r.inputs[0], in)
		}
		if in[0] != ls.In {
			return nil, fieldErr(i, ls, "field \"in\": %d, but input %q has %d features", ls.In, r.inputs[0], in[0])
		}
		if numel([]int{ls.Out, ls.In}) > maxElems {
			return nil, fieldErr(i, ls, "weight [%d %d] is too large", ls.Out, ls.In)
		}
		return []int{ls.Out}, nil
	case OpFlatten:
		return []int{numel(in)}, nil
	case OpReLU:
		return slices.Clone(in), nil
	case OpAdd:
		if !slices.Equal(in, r.inShapes[1]) {
			return nil, fieldErr(i, ls, "inputs %q %v and %q %v differ in shape", r.inputs[0], in, r.inputs[1], r.inShapes[1])
		}
		return slices.Clone(in), nil
	}
	return nil, fieldErr(i, ls, "unknown op")
}

// numel is the product of the dimensions, saturating at maxElems+1.
func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return maxElems + 1
		}
		if d != 0 && n > (maxElems+1)/d {
			return maxElems + 1
		}
		n *= d
	}
	return n
}
