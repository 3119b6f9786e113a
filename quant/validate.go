package quant

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/addergen/addergen/fixedpoint"
)

// Validate checks that the model is complete and self-consistent: names and
// inputs, shapes, code formats, weight codes inside their formats, rescale
// parameters, power-of-two scales where the IR needs them, and that every
// declared Range equals the one interval arithmetic derives from the
// weights and the input formats. It also builds the name index, so call it
// after changing a Model by hand.
func (m *Model) Validate() (err error) {
	defer func() {
		// Interval arithmetic panics on int64 overflow; report it.
		if r := recover(); r != nil {
			err = fmt.Errorf("quant: %v", r)
		}
	}()
	if m.Format != FormatName {
		return fmt.Errorf("quant: format %q, want %q", m.Format, FormatName)
	}
	if m.Version < 1 || m.Version > Version {
		return fmt.Errorf("quant: version %d, want 1 to %d", m.Version, Version)
	}
	if v := m.MinVersion(); m.Version < v {
		return fmt.Errorf("quant: version %d, but its fields (preprocess_folded, pad_code: 2; group_shift: 3) need version %d", m.Version, v)
	}
	if err := checkShape(m.Input.Shape, 3); err != nil {
		return fmt.Errorf("quant: input: shape: %v", err)
	}
	if err := checkAct(m.Input.Act, MaxBits); err != nil {
		return fmt.Errorf("quant: input: %v", err)
	}
	if len(m.Layers) == 0 {
		return errors.New("quant: no layers")
	}
	m.index = map[string]int{}
	for i, l := range m.Layers {
		if l == nil {
			return fmt.Errorf("quant: layer #%d is null", i)
		}
		if err := m.validateLayer(i, l); err != nil {
			return fmt.Errorf("quant: layer #%d %q (%s): %w", i, l.Name, l.Op, err)
		}
		m.index[l.Name] = i
	}
	return nil
}

func checkShape(s []int, dims ...int) error {
	if !slices.Contains(dims, len(s)) {
		return fmt.Errorf("%v has %d dimensions, want %v", s, len(s), dims)
	}
	n := 1
	for _, d := range s {
		if d < 1 || d > 1<<16 {
			return fmt.Errorf("%v: dimension %d out of range", s, d)
		}
		n *= d
		if n > 1<<28 {
			return fmt.Errorf("%v is too large", s)
		}
	}
	return nil
}

func checkAct(a Act, maxBits int) error {
	if a.Bits < MinBits || a.Bits > maxBits {
		return fmt.Errorf("bits %d outside [%d, %d]", a.Bits, MinBits, maxBits)
	}
	if !(a.Scale > 0) || math.IsInf(a.Scale, 0) {
		return fmt.Errorf("scale %v is not a finite positive number", a.Scale)
	}
	return nil
}

func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func (m *Model) validateLayer(i int, l *Layer) error {
	if l.Name == "" || l.Name == InputName {
		return fmt.Errorf("bad name %q", l.Name)
	}
	if _, dup := m.index[l.Name]; dup {
		return errors.New("duplicate name")
	}
	want := 1
	if l.Op == OpAdd {
		want = 2
	}
	if len(l.Inputs) != want {
		return fmt.Errorf("inputs: want %d, got %d", want, len(l.Inputs))
	}
	l.inIdx = l.inIdx[:0]
	for _, in := range l.Inputs {
		if in == InputName {
			l.inIdx = append(l.inIdx, -1)
			continue
		}
		j, ok := m.index[in]
		if !ok {
			return fmt.Errorf("inputs: no earlier layer %q", in)
		}
		l.inIdx = append(l.inIdx, j)
	}
	if err := checkShape(l.OutShape, 1, 3); err != nil {
		return fmt.Errorf("out_shape: %v", err)
	}
	if err := checkAct(l.Out, MaxOutputBits); err != nil {
		return fmt.Errorf("out: %v", err)
	}
	in := m.InAct(l, 0)
	inShape := m.InShape(l, 0)

	// Fields that only some ops use must be absent elsewhere.
	hasWindow := map[Op]bool{OpConv2d: true, OpAdder2d: true, OpMaxPool2d: true, OpAvgPool2d: true}
	if !hasWindow[l.Op] && (l.Kernel != 0 || l.Stride != 0 || l.Padding != 0) {
		return errors.New("kernel/stride/padding given")
	}
	hasWeight := l.Op == OpConv2d || l.Op == OpAdder2d || l.Op == OpLinear
	if !hasWeight && (l.Weight != nil || l.WeightBits != 0 || l.WeightScale != nil || l.WeightConst != nil) {
		return errors.New("weight fields given")
	}
	if l.Op != OpAdder2d && (l.GroupShift != nil || l.OperandBits != 0) {
		return errors.New("group_shift and operand_bits apply only to adder2d")
	}
	if l.Op != OpAdder2d && (l.WeightConst != nil || l.Ranges.L1 != nil) {
		return errors.New("weight_const/ranges.l1 only apply to adder2d")
	}
	if l.Op != OpAdd && l.Align != nil {
		return errors.New("align only applies to add")
	}
	hasRescale := l.Op != OpReLU && l.Op != OpMaxPool2d && l.Op != OpFlatten
	if !hasRescale && (l.Rescale != nil || l.ReLU || l.Ranges != (Ranges{})) {
		return errors.New("rescale, relu and ranges do not apply")
	}
	if hasRescale && l.Rescale == nil {
		return errors.New("rescale missing")
	}
	if l.ReLU && l.Out.Signed {
		return errors.New("relu is fused but out is signed")
	}

	var wantOut []int
	switch l.Op {
	case OpConv2d, OpAdder2d, OpMaxPool2d, OpAvgPool2d:
		if len(inShape) != 3 {
			return fmt.Errorf("input shape %v, want [C H W]", inShape)
		}
		if l.Kernel < 1 || l.Stride < 1 || l.Padding < 0 || l.Kernel > 1024 || l.Stride > 1024 || l.Padding > 1024 {
			return fmt.Errorf("bad kernel %d / stride %d / padding %d", l.Kernel, l.Stride, l.Padding)
		}
		if l.Op != OpConv2d && l.Op != OpAdder2d && l.Padding != 0 {
			return errors.New("pools have no padding")
		}
		oh := (inShape[1]+2*l.Padding-l.Kernel)/l.Stride + 1
		ow := (inShape[2]+2*l.Padding-l.Kernel)/l.Stride + 1
		if inShape[1]+2*l.Padding < l.Kernel || inShape[2]+2*l.Padding < l.Kernel {
			return fmt.Errorf("kernel %d larger than the padded input %v", l.Kernel, inShape)
		}
		c := inShape[0]
		if hasWeight {
			c = l.Weight.shape0()
		}
		wantOut = []int{c, oh, ow}
	case OpLinear:
		if len(inShape) != 1 {
			return fmt.Errorf("input shape %v, want [F]", inShape)
		}
		wantOut = []int{l.Weight.shape0()}
	case OpFlatten:
		wantOut = []int{numel(inShape)}
	case OpBatchNorm2d, OpReLU:
		wantOut = inShape
	case OpAdd:
		if !slices.Equal(inShape, m.InShape(l, 1)) {
			return fmt.Errorf("inputs have shapes %v and %v", inShape, m.InShape(l, 1))
		}
		wantOut = inShape
	default:
		return fmt.Errorf("unknown op %q", l.Op)
	}
	if !slices.Equal(l.OutShape, wantOut) {
		return fmt.Errorf("out_shape %v, want %v", l.OutShape, wantOut)
	}

	// Formats of pass-through ops.
	switch l.Op {
	case OpMaxPool2d, OpFlatten:
		if l.Out != in {
			return fmt.Errorf("out %+v must equal the input format %+v", l.Out, in)
		}
	case OpReLU:
		if l.Out != (Act{Bits: in.Bits, Signed: false, Scale: in.Scale}) {
			return fmt.Errorf("out %+v must be the input format %+v made unsigned", l.Out, in)
		}
	}

	if l.PadCode != nil {
		if l.Op != OpConv2d || l.Padding == 0 {
			return errors.New("pad_code applies only to a conv2d layer with padding")
		}
		if len(l.PadCode) != inShape[0] {
			return fmt.Errorf("pad_code has %d values for %d input channels", len(l.PadCode), inShape[0])
		}
		for c, v := range l.PadCode {
			if v < in.Min() || v > in.Max() {
				return fmt.Errorf("pad_code[%d] = %d outside the input code range [%d, %d]", c, v, in.Min(), in.Max())
			}
		}
	}

	// Weights.
	if hasWeight {
		if err := l.checkWeights(in, inShape); err != nil {
			return err
		}
	}

	// Rescale parameters.
	if hasRescale {
		if err := l.checkRescale(m.Config.MultBits); err != nil {
			return fmt.Errorf("rescale: %v", err)
		}
	}
	if l.Op == OpAdd {
		if err := m.checkAdd(l); err != nil {
			return err
		}
	}

	// Ranges.
	if hasRescale {
		got, err := m.computeRanges(l)
		if err != nil {
			return err
		}
		// The simulator and the RTL add a rounding term below 2^shift to
		// these; keep that inside an int64.
		for _, r := range []*Range{got.Acc, got.Product} {
			if r != nil && (r.Lo < -(1<<62) || r.Hi > 1<<62) {
				return fmt.Errorf("intermediate range [%d, %d] exceeds ±2^62", r.Lo, r.Hi)
			}
		}
		for _, p := range []struct {
			name       string
			have, want *Range
		}{{"l1", l.Ranges.L1, got.L1}, {"acc", l.Ranges.Acc, got.Acc}, {"product", l.Ranges.Product, got.Product}, {"shifted", l.Ranges.Shifted, got.Shifted}} {
			switch {
			case p.have == nil && p.want == nil:
			case p.have == nil || p.want == nil:
				return fmt.Errorf("ranges.%s: present %v, want present %v", p.name, p.have != nil, p.want != nil)
			case *p.have != *p.want:
				return fmt.Errorf("ranges.%s: declared %+v, interval arithmetic gives %+v", p.name, *p.have, *p.want)
			}
		}
	}
	return nil
}

func (t *IntTensor) shape0() int {
	if t == nil || len(t.Shape) == 0 {
		return 0
	}
	return t.Shape[0]
}

func (l *Layer) checkWeights(in Act, inShape []int) error {
	w := l.Weight
	if w == nil {
		return errors.New("weight missing")
	}
	var want []int
	if l.Op == OpLinear {
		want = []int{w.shape0(), inShape[0]}
	} else {
		want = []int{w.shape0(), inShape[0], l.Kernel, l.Kernel}
	}
	if err := checkShape(w.Shape, len(want)); err != nil || !slices.Equal(w.Shape, want) {
		return fmt.Errorf("weight shape %v, want %v", w.Shape, want)
	}
	if len(w.Data) != numel(w.Shape) {
		return fmt.Errorf("weight: shape %v but %d values", w.Shape, len(w.Data))
	}
	O := w.Shape[0]
	if l.Op == OpAdder2d {
		if in.Bits > MaxBits {
			return fmt.Errorf("input codes of %d bits; adder operands have at most %d", in.Bits, MaxBits)
		}
		if l.WeightBits != 0 || l.WeightScale != nil {
			return errors.New("weight_bits/weight_scale do not apply (adder weights use the input's format)")
		}
		if l.OperandBits != 0 && (l.OperandBits < MinBits || l.OperandBits >= in.Bits) {
			return fmt.Errorf("operand_bits %d outside [%d, %d] (below the input's %d bits, or absent)", l.OperandBits, MinBits, in.Bits-1, in.Bits)
		}
		if l.GroupShift != nil {
			if len(l.GroupShift) != O {
				return fmt.Errorf("group_shift has %d values, want %d", len(l.GroupShift), O)
			}
			for o, g := range l.GroupShift {
				if g < 0 || g > MaxGroupShift {
					return fmt.Errorf("group_shift[%d] = %d outside [0, %d]", o, g, MaxGroupShift)
				}
			}
		}
		R := len(w.Data) / max(O, 1)
		for i, v := range w.Data {
			if op := l.Operand(in, i/R); v < op.Min() || v > op.Max() {
				return fmt.Errorf("weight code %d at flat index %d outside the operand range [%d, %d]", v, i, op.Min(), op.Max())
			}
		}
		if len(l.WeightConst) != O {
			return fmt.Errorf("weight_const has %d values, want %d", len(l.WeightConst), O)
		}
		for o, c := range l.WeightConst {
			if c < 0 || c > 1<<53 {
				return fmt.Errorf("weight_const[%d] = %d outside [0, 2^53]", o, c)
			}
		}
		return nil
	}
	if l.WeightBits < MinBits || l.WeightBits > MaxBits {
		return fmt.Errorf("weight_bits %d outside [%d, %d]", l.WeightBits, MinBits, MaxBits)
	}
	lim := int64(1)<<(l.WeightBits-1) - 1
	for i, v := range w.Data {
		if v < -lim-1 || v > lim {
			return fmt.Errorf("weight code %d at flat index %d outside signed %d bits", v, i, l.WeightBits)
		}
	}
	if l.WeightScale != nil && len(l.WeightScale) != O {
		return fmt.Errorf("weight_scale has %d values, want %d", len(l.WeightScale), O)
	}
	return nil
}

func (l *Layer) checkRescale(cfgMultBits int) error {
	r := l.Rescale
	if r.Shift < 0 || r.Shift > 62 {
		return fmt.Errorf("shift %d outside [0, 62]", r.Shift)
	}
	if r.Rounding < fixedpoint.HalfEven || r.Rounding > fixedpoint.TowardZero {
		return fmt.Errorf("bad rounding %v", r.Rounding)
	}
	if r.Overflow != fixedpoint.Saturate && r.Overflow != fixedpoint.Wrap {
		return fmt.Errorf("bad overflow %v", r.Overflow)
	}
	if l.Op == OpAdd {
		if r.M != nil || r.B != nil || r.MultiplierFree {
			return errors.New("add has no m, b or multiplier_free")
		}
		return nil
	}
	c := l.Channels()
	mlim := int64(1) << 40
	if mb := cfgMultBits; mb >= 2 && mb <= 32 {
		mlim = int64(1)<<(mb-1) - 1
	}
	if len(r.M) != c || len(r.B) != c {
		return fmt.Errorf("m has %d and b %d values, want %d (one per channel)", len(r.M), len(r.B), c)
	}
	for i := range c {
		if r.M[i] < -mlim || r.M[i] > mlim || r.B[i] < -(1<<61) || r.B[i] > 1<<61 {
			return fmt.Errorf("m[%d] = %d or b[%d] = %d out of range (|m| <= %d)", i, r.M[i], i, r.B[i], mlim)
		}
		if r.MultiplierFree && !IsTwoTerm(r.M[i]) {
			return fmt.Errorf("multiplier_free but m[%d] = %d is not ±2^p or ±(2^p ± 2^q)", i, r.M[i])
		}
	}
	return nil
}

func (m *Model) checkAdd(l *Layer) error {
	if len(l.Align) != 2 {
		return fmt.Errorf("align has %d values, want 2", len(l.Align))
	}
	var common float64
	for i := range 2 {
		a := m.InAct(l, i)
		if l.Align[i] < 0 || l.Align[i] > 32 {
			return fmt.Errorf("align[%d] = %d outside [0, 32]", i, l.Align[i])
		}
		c := math.Ldexp(a.Scale, -l.Align[i])
		if i == 1 && c != common {
			return fmt.Errorf("inputs aligned to different scales %v and %v", common, c)
		}
		common = c
	}
	if l.Out.Scale != math.Ldexp(common, l.Rescale.Shift) {
		return fmt.Errorf("out scale %v, want the aligned scale %v·2^shift = %v", l.Out.Scale, common, math.Ldexp(common, l.Rescale.Shift))
	}
	return nil
}

// IsTwoTerm reports whether m is 0, ±2^p or ±(2^p ± 2^q): a product by m
// needs at most two shifted copies of the multiplicand.
func IsTwoTerm(m int64) bool {
	if m < 0 {
		m = -m
	}
	if m <= 0 { // 0, or MinInt64
		return m == 0
	}
	low := m & -m
	rest := m - low
	if rest == 0 || rest&(rest-1) == 0 {
		return true // 2^p, or 2^p + 2^q
	}
	// 2^p − 2^q: m + 2^q is a power of two.
	s := m + low
	return s&(s-1) == 0
}

// computeRanges derives a layer's ranges from its weights, rescale and
// input formats by interval arithmetic. It panics (recovered by Validate)
// if a bound exceeds int64.
func (m *Model) computeRanges(l *Layer) (Ranges, error) {
	var r Ranges
	in := m.InAct(l, 0)
	x := in.Interval()
	perChan := func(acc func(o int) fixedpoint.Interval) {
		rs := l.Rescale
		var accU, prodU, shU *fixedpoint.Interval
		union := func(u **fixedpoint.Interval, v fixedpoint.Interval) {
			if *u == nil {
				*u = &v
			} else {
				w := (*u).Union(v)
				*u = &w
			}
		}
		for o := range l.Channels() {
			a := acc(o)
			p := a.MulConst(rs.M[o]).Add(fixedpoint.Point(rs.B[o]))
			union(&accU, a)
			union(&prodU, p)
			union(&shU, p.Shr(uint(rs.Shift), rs.Rounding))
		}
		r.Acc, r.Product, r.Shifted = rangeOf(*accU), rangeOf(*prodU), rangeOf(*shU)
	}
	switch l.Op {
	case OpAdder2d:
		R := numel(l.Weight.Shape[1:])
		var l1 *fixedpoint.Interval
		in := m.InAct(l, 0)
		perChan(func(o int) fixedpoint.Interval {
			vlo, vhi := ViewRange(in, l.Shift(o), l.Operand(in, o))
			var hi int64
			for _, w := range l.Weight.Data[o*R : (o+1)*R] {
				hi += max(w-vlo, vhi-w)
			}
			iv := fixedpoint.Interval{Lo: 0, Hi: hi}
			if l1 == nil {
				l1 = &iv
			} else {
				u := l1.Union(iv)
				l1 = &u
			}
			return iv.Add(fixedpoint.Point(l.WeightConst[o]))
		})
		r.L1 = rangeOf(*l1)
	case OpConv2d, OpLinear:
		R := numel(l.Weight.Shape[1:])
		perChan(func(o int) fixedpoint.Interval {
			var s fixedpoint.Interval
			for _, w := range l.Weight.Data[o*R : (o+1)*R] {
				s = s.Add(x.MulConst(w))
			}
			return s
		})
	case OpBatchNorm2d:
		perChan(func(int) fixedpoint.Interval { return x })
	case OpAvgPool2d:
		sum := fixedpoint.SumInterval(l.Kernel*l.Kernel, x)
		perChan(func(int) fixedpoint.Interval { return sum })
	case OpAdd:
		acc := x.Shl(uint(l.Align[0])).Add(m.InAct(l, 1).Interval().Shl(uint(l.Align[1])))
		r.Acc = rangeOf(acc)
		r.Shifted = rangeOf(acc.Shr(uint(l.Rescale.Shift), l.Rescale.Rounding))
	}
	return r, nil
}
