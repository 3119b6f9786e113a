package quant

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/fixedpoint"
	"github.com/addergen/addergen/model"
)

// Method is an activation calibration method.
type Method string

// Calibration methods.
const (
	// MethodMax takes the largest magnitude seen.
	MethodMax Method = "max"
	// MethodPercentile takes the Config.Percentile-th percentile of the
	// magnitudes seen, clipping the rare larger values.
	MethodPercentile Method = "percentile"
	// MethodSearch picks, among the power-of-two scales from the max scale
	// down to 2^-8 of it, the one with the least mean squared
	// quantization error on the calibration values.
	MethodSearch Method = "search"
)

// ParseMethod returns the method named s.
func ParseMethod(s string) (Method, error) {
	switch m := Method(s); m {
	case MethodMax, MethodPercentile, MethodSearch:
		return m, nil
	}
	return "", fmt.Errorf("unknown calibration method %q (want max, percentile or search)", s)
}

// Config controls Quantize.
type Config struct {
	// Bits is the default operand width: the code width of every adder
	// layer's input activations and weights (its PE lane width), of every
	// conv2d/linear layer's weights, and of activations that feed no adder.
	Bits int `json:"bits"`
	// LayerBits overrides Bits for the layer of that float name (any layer
	// of a fused group names the group) or for "input", the network input.
	LayerBits map[string]int `json:"layer_bits,omitempty"`
	// OutputBits is the code width of the network output (the logits).
	OutputBits int `json:"output_bits"`
	// Calibration chooses activation scales; Percentile applies to
	// MethodPercentile (e.g. 99.99).
	Calibration Method  `json:"calibration"`
	Percentile  float64 `json:"percentile,omitempty"`
	// Rounding is used at every rescale and alignment shift.
	Rounding fixedpoint.Rounding `json:"rounding"`
	// NoMultipliers restricts every rescale multiplier M to 0, ±2^p or
	// ±(2^p ± 2^q).
	NoMultipliers bool `json:"no_multipliers,omitempty"`
	// MultBits is the signed width of the rescale multipliers M.
	MultBits int `json:"mult_bits"`
	// NonPow2Scales lets every activation scale that a rescale with a
	// multiplier produces (or input encoding) take any value on a grid of
	// 16 steps per octave, not only powers of two; tensors joined by a
	// residual add keep scales that differ by exact powers of two (one
	// mantissa per class). See lowbit.go.
	NonPow2Scales bool `json:"non_pow2_scales,omitempty"`
	// OutputClip chooses the scale (hence the clipping point) of every
	// tensor that adder layers read by the error of those layers' outputs
	// (after BN and ReLU) on sampled calibration windows, instead of the
	// tensor's own quantization error (Banner et al., NeurIPS 2019).
	// It searches like MethodSearch (5 octaves below the covering scale).
	OutputClip bool `json:"output_clip,omitempty"`
	// BiasCorrection removes, through each adder layer's rescale constant
	// B, the mean per output channel of the accumulator error that input
	// clipping and the rounding of inputs and weights cause, measured on
	// sampled calibration windows (Nagel et al., ICCV 2019).
	BiasCorrection bool `json:"bias_correction,omitempty"`
	// BiasPasses > 0 records that the bias correction was measured with
	// the bit-exact simulator on the quantized network's own activations
	// (quant/refine.BiasCorrect, in that many simulator runs) instead of on sampled
	// windows of float inputs: Quantize then leaves b uncorrected (the
	// caller runs refine.BiasCorrect), while OutputClip still assumes the
	// correction. Needs BiasCorrection.
	BiasPasses int `json:"bias_correction_passes,omitempty"`
	// GroupScales, when > 1, is the most groups of output channels each
	// adder layer may split into, each group with its own scale shared by
	// its weights and its view of the input: in.Scale/2^g for g in
	// 0..MaxGroupShift, the view ViewCode(x, g, in) (group-wise shared
	// scales, Nie et al., "Redistribution of weights and activations for
	// AdderNet quantization", NeurIPS 2022). Each channel takes the g
	// with the least output error on sampled calibration windows (which
	// clusters the channels by their weight range); see lowbit.go.
	GroupScales int `json:"group_scales,omitempty"`
	// ResidualBits, when > 0, is the least width of activations that a
	// residual add reads and no adder layer does (in ResNets, the
	// BN outputs of a block's last adder and of a downsampling shortcut):
	// they are not PE operands, so widening them costs only the add and
	// its buffer. 0 leaves them at their producer's width.
	ResidualBits int `json:"residual_bits,omitempty"`
}

// DefaultConfig returns the defaults: 8 bits, 16-bit logits, search
// calibration, half-up rounding, 18-bit multipliers.
func DefaultConfig() Config {
	return Config{Bits: 8, OutputBits: 16, Calibration: MethodSearch, Percentile: 99.99, Rounding: fixedpoint.HalfUp, MultBits: 18}
}

func (c *Config) check() error {
	if c.Bits < MinBits || c.Bits > MaxBits {
		return fmt.Errorf("bits %d outside [%d, %d]", c.Bits, MinBits, MaxBits)
	}
	for k, b := range c.LayerBits {
		if b < MinBits || b > MaxBits {
			return fmt.Errorf("bits for %s: %d outside [%d, %d]", k, b, MinBits, MaxBits)
		}
	}
	if c.OutputBits < MinBits || c.OutputBits > MaxOutputBits {
		return fmt.Errorf("output bits %d outside [%d, %d]", c.OutputBits, MinBits, MaxOutputBits)
	}
	if _, err := ParseMethod(string(c.Calibration)); err != nil {
		return err
	}
	if c.Calibration == MethodPercentile && !(c.Percentile > 0 && c.Percentile <= 100) {
		return fmt.Errorf("percentile %v outside (0, 100]", c.Percentile)
	}
	if c.Rounding < fixedpoint.HalfEven || c.Rounding > fixedpoint.TowardZero {
		return fmt.Errorf("bad rounding mode %v", c.Rounding)
	}
	if c.MultBits < 2 || c.MultBits > 32 {
		return fmt.Errorf("mult bits %d outside [2, 32]", c.MultBits)
	}
	if c.BiasPasses < 0 || (c.BiasPasses > 0 && !c.BiasCorrection) {
		return fmt.Errorf("bias correction passes %d: want 0, or > 0 with bias correction", c.BiasPasses)
	}
	if c.ResidualBits != 0 && (c.ResidualBits < MinBits || c.ResidualBits > MaxBits) {
		return fmt.Errorf("residual bits %d outside [%d, %d] (or 0: off)", c.ResidualBits, MinBits, MaxBits)
	}
	return nil
}

// ParseBits parses "8" or "8,conv2=6,fc1=4" into a default width and
// per-layer overrides. A list without a plain number ("conv2=6") leaves
// def at 0.
func ParseBits(s string) (def int, per map[string]int, err error) {
	per = map[string]int{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, named := strings.Cut(part, "=")
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if !named {
			n, err = strconv.Atoi(name)
		}
		if err != nil {
			return 0, nil, fmt.Errorf("%q is not BITS or LAYER=BITS", part)
		}
		if n < MinBits || n > MaxBits {
			return 0, nil, fmt.Errorf("%q: bits %d outside [%d, %d]", part, n, MinBits, MaxBits)
		}
		if !named {
			if def != 0 {
				return 0, nil, fmt.Errorf("two default widths in %q", s)
			}
			def = n
			continue
		}
		name = strings.TrimSpace(name)
		if _, dup := per[name]; dup {
			return 0, nil, fmt.Errorf("layer %s given twice", name)
		}
		per[name] = n
	}
	return def, per, nil
}

// EdgeBits is the width that `addergen quantize` gives, by default, the
// layers that quantization practice keeps wide when the adder layers go
// narrow: the first convolution, the classifier and the network input
// ([WithEdgeBits]).
const EdgeBits = 8

// WithEdgeBits returns a copy of per (Config.LayerBits) in which every
// conv2d or linear layer group of net and the network input ("input") that
// per does not name (by any float layer of its fused group) gets
// max(edge, bits) bits. In the built-in nets these are exactly the first
// convolution and the classifier: every other operand layer is an
// adder2d. Adder layers, and whatever per names, are left alone, so
// "--bits 4" puts the adders at 4 bits and the first conv, the classifier
// and the input at 8, while "--bits 4,conv1=4,fc=4,input=4" puts all at 4
// (the convention of the quantization literature, e.g. Nagel et al., "A
// white paper on neural network quantization", 2021, §4.6). edge 0 returns
// per unchanged (a copy). Errors: edge outside [MinBits, MaxBits] (when
// not 0), or a net that does not fuse.
func WithEdgeBits(net *model.Net, per map[string]int, bits, edge int) (map[string]int, error) {
	out := make(map[string]int, len(per)+3)
	for k, v := range per {
		out[k] = v
	}
	if edge == 0 {
		return out, nil
	}
	if edge < MinBits || edge > MaxBits {
		return nil, fmt.Errorf("quant: edge bits %d outside [%d, %d] (or 0: off)", edge, MinBits, MaxBits)
	}
	w := max(edge, bits)
	groups, _, err := fuse(net)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		if op := g.first().Op; op != model.OpConv2d && op != model.OpLinear {
			continue
		}
		named := false
		for _, l := range g.members {
			_, ok := per[l.Name]
			named = named || ok
		}
		if !named {
			out[g.first().Name] = w
		}
	}
	if _, ok := per[InputName]; !ok {
		out[InputName] = w
	}
	return out, nil
}

// group is a node of the integer graph: one float layer and the layers
// fused into it.
type group struct {
	members []*model.Layer
	inputs  []string // group names or InputName
	bits    int      // operand width (weights; adder input)
	idx     int
}

func (g *group) first() *model.Layer { return g.members[0] }
func (g *group) last() *model.Layer  { return g.members[len(g.members)-1] }

func (g *group) find(op model.Op) *model.Layer {
	for _, l := range g.members {
		if l.Op == op {
			return l
		}
	}
	return nil
}

func (g *group) hasReLU() bool { return g.find(model.OpReLU) != nil }

func passThrough(op model.Op) bool {
	return op == model.OpMaxPool2d || op == model.OpFlatten || op == model.OpReLU
}

// Quantize converts a float net to the integer IR, calibrating activation
// scales on calib ([N, C, H, W], values as the net expects them). source
// is recorded in the model (e.g. the calibration file name).
func Quantize(net *model.Net, calib dataset.Tensor, cfg Config, source string) (*Model, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("quant: %w", err)
	}
	if len(calib.Shape) != 4 || calib.Shape[0] < 1 || !slices.Equal(calib.Shape[1:], net.Input) {
		return nil, fmt.Errorf("quant: calibration data has shape %v, want [N %d %d %d] with N >= 1", calib.Shape, net.Input[0], net.Input[1], net.Input[2])
	}
	groups, alias, err := fuse(net)
	if err != nil {
		return nil, err
	}
	if err := resolveBits(groups, alias, cfg); err != nil {
		return nil, err
	}
	q := &quantizer{net: net, cfg: cfg, groups: groups, alias: alias}
	if err := q.plan(); err != nil {
		return nil, err
	}
	if err := q.calibrate(calib); err != nil {
		return nil, err
	}
	m, err := q.build()
	if err != nil {
		return nil, err
	}
	m.Calibration = CalibInfo{Method: string(cfg.Calibration), Samples: calib.Shape[0], Source: source, Warnings: q.warns}
	if cfg.Calibration == MethodPercentile {
		m.Calibration.Percentile = cfg.Percentile
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("quant: internal error: built an invalid model: %w", err)
	}
	return m, nil
}

// fuse groups the float layers: conv2d/adder2d/linear absorb a following
// batchnorm2d, and any layer with a rescale absorbs a following relu, when
// the absorbed layer is the sole consumer of the one before it.
func fuse(net *model.Net) ([]*group, map[string]*group, error) {
	consumers := map[string][]*model.Layer{}
	for _, l := range net.Layers {
		for _, in := range l.Inputs {
			consumers[in] = append(consumers[in], l)
		}
	}
	last := net.Layers[len(net.Layers)-1]
	sole := func(l *model.Layer, op model.Op) *model.Layer {
		c := consumers[l.Name]
		if l == last || len(c) != 1 || c[0].Op != op || len(c[0].Inputs) != 1 {
			return nil
		}
		return c[0]
	}
	var groups []*group
	alias := map[string]*group{}
	for _, l := range net.Layers {
		if alias[l.Name] != nil {
			continue
		}
		g := &group{members: []*model.Layer{l}, idx: len(groups)}
		switch l.Op {
		case model.OpConv2d, model.OpAdder2d, model.OpLinear:
			if bn := sole(l, model.OpBatchNorm2d); bn != nil {
				g.members = append(g.members, bn)
			}
		}
		switch l.Op {
		case model.OpConv2d, model.OpAdder2d, model.OpLinear, model.OpBatchNorm2d, model.OpAvgPool2d, model.OpAdd:
			if r := sole(g.last(), model.OpReLU); r != nil {
				g.members = append(g.members, r)
			}
		}
		for _, in := range l.Inputs {
			if in == model.InputName {
				g.inputs = append(g.inputs, InputName)
				continue
			}
			src := alias[in]
			if src == nil || src.last().Name != in {
				return nil, nil, fmt.Errorf("quant: layer %q reads %q, which was fused away", l.Name, in)
			}
			g.inputs = append(g.inputs, src.first().Name)
		}
		for _, m := range g.members {
			alias[m.Name] = g
		}
		groups = append(groups, g)
	}
	return groups, alias, nil
}

// resolveBits sets every group's operand width from the config.
func resolveBits(groups []*group, alias map[string]*group, cfg Config) error {
	for _, name := range sortedKeys(cfg.LayerBits) {
		if name == InputName {
			continue
		}
		g := alias[name]
		if g == nil {
			return fmt.Errorf("quant: bits given for %q, which is not a layer of the net", name)
		}
		if passThrough(g.first().Op) {
			return fmt.Errorf("quant: bits given for %q (%s), which has no operands of its own (it passes codes through)", name, g.first().Op)
		}
	}
	for _, g := range groups {
		g.bits = cfg.Bits
		var from string
		for _, l := range g.members {
			if b, ok := cfg.LayerBits[l.Name]; ok {
				if from != "" && b != g.bits {
					return fmt.Errorf("quant: fused layers %s and %s are given different bits (%d, %d)", from, l.Name, g.bits, b)
				}
				g.bits, from = b, l.Name
			}
		}
	}
	return nil
}

// tensor is an activation the IR gives a scale: the network input or the
// output of a group with a rescale.
type tensor struct {
	name string // group name or InputName
	ref  string // float layer whose output it is
	bits int
	// opBits, when > 0, is the operand width of the adder layers reading
	// the tensor, below bits (group-wise scales read a wider input).
	opBits   int
	signed   bool
	freeScl  bool // the scale need not be a power of two
	adderUse []string
	addUse   bool // read by a residual add
	isOutput bool
	scale    float64
	stats    *calibStats
}

type quantizer struct {
	net     *model.Net
	cfg     Config
	groups  []*group
	alias   map[string]*group
	tensors map[string]*tensor // by group name or InputName
	order   []*tensor
	warns   []string
	warnMu  sync.Mutex
	// patches holds sampled adder windows (OutputClip, BiasCorrection),
	// by adder layer name.
	patches map[string]*adderPatches
}

// warnf records a warning for CalibInfo.Warnings.
// It is safe for concurrent use (the low-bit scale search runs tensors in
// parallel).
func (q *quantizer) warnf(format string, args ...any) {
	q.warnMu.Lock()
	defer q.warnMu.Unlock()
	q.warns = append(q.warns, "quant: "+fmt.Sprintf(format, args...))
}

// source returns the tensor that a group (or the input) passes on: pass-
// through groups (maxpool, flatten, standalone relu) forward their input's.
func (q *quantizer) source(name string) string {
	for name != InputName {
		g := q.groups[q.groupIdx(name)]
		if !passThrough(g.first().Op) {
			return name
		}
		name = g.inputs[0]
	}
	return name
}

func (q *quantizer) groupIdx(name string) int { return q.alias[name].idx }

// plan decides which tensors get a scale and their widths.
func (q *quantizer) plan() error {
	q.tensors = map[string]*tensor{}
	add := func(name, ref string) *tensor {
		t := &tensor{name: name, ref: ref, freeScl: true}
		q.tensors[name] = t
		q.order = append(q.order, t)
		return t
	}
	in := add(InputName, InputName)
	in.bits = q.cfg.Bits
	if b, ok := q.cfg.LayerBits[InputName]; ok {
		in.bits = b
	}
	if q.net.Folded != nil {
		in.bits = RawPixelBits // the raw pixel, whatever the widths say
	}
	for _, g := range q.groups {
		if !passThrough(g.first().Op) {
			t := add(g.first().Name, g.last().Name)
			t.bits = g.bits
		}
	}
	for _, g := range q.groups {
		for _, in := range g.inputs {
			t := q.tensors[q.source(in)]
			switch g.first().Op {
			case model.OpAdder2d:
				t.freeScl = false
				t.adderUse = append(t.adderUse, g.first().Name)
			case model.OpAdd:
				t.freeScl = false
				t.addUse = true
			}
		}
	}
	out := q.tensors[q.source(q.groups[len(q.groups)-1].first().Name)]
	out.isOutput = true
	for _, t := range q.order {
		if t.name != InputName {
			t.freeScl = false // every tensor but the input has a power-of-two scale
		}
		switch {
		case t.isOutput:
			t.bits = q.cfg.OutputBits
			if len(t.adderUse) > 0 {
				return fmt.Errorf("quant: the network output %s is also read by adder layer %s", t.name, t.adderUse[0])
			}
		case len(t.adderUse) > 0:
			t.bits = q.groups[q.groupIdx(t.adderUse[0])].bits
			for _, u := range t.adderUse[1:] {
				if b := q.groups[q.groupIdx(u)].bits; b != t.bits {
					return fmt.Errorf("quant: adder layers %s and %s read the same activation (%s) but ask for %d and %d bits", t.adderUse[0], u, t.name, t.bits, b)
				}
			}
			if q.cfg.GroupScales > 1 && t.name != InputName {
				// Group-wise scales: the groups' views take operands of
				// t.bits from an input GroupScales−1 bits wider.
				t.opBits = t.bits
				t.bits = min(MaxBits, t.bits+q.cfg.GroupScales-1)
			}
		case t.addUse && t.name != InputName && q.cfg.ResidualBits > 0:
			t.bits = max(t.bits, q.cfg.ResidualBits)
		}
	}
	return nil
}

// build assembles the integer model once scales are known.
func (q *quantizer) build() (*Model, error) {
	net := q.net
	m := &Model{
		Format: FormatName, Version: Version, Generator: Generator,
		Name: net.Spec.Name, Doc: net.Spec.Doc, Classes: net.Spec.Classes,
		Preprocess: net.Spec.Preprocess, PreprocessFolded: net.Folded, Config: q.cfg,
		index: map[string]int{},
	}
	if len(q.cfg.LayerBits) == 0 {
		m.Config.LayerBits = nil
	}
	tin := q.tensors[InputName]
	m.Input = Input{Shape: slices.Clone(net.Input), Act: Act{Bits: tin.bits, Signed: tin.signed, Scale: tin.scale}}
	for _, g := range q.groups {
		l, err := q.buildLayer(m, g)
		if err != nil {
			return nil, fmt.Errorf("quant: layer %q: %w", g.first().Name, err)
		}
		m.index[l.Name] = len(m.Layers)
		m.Layers = append(m.Layers, l)
	}
	m.Version = m.MinVersion()
	return m, nil
}

func (q *quantizer) buildLayer(m *Model, g *group) (l *Layer, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f := g.first()
	l = &Layer{Name: f.Name, Op: Op(f.Op), Inputs: slices.Clone(g.inputs), OutShape: slices.Clone(g.last().OutShape)}
	for _, mem := range g.members[1:] {
		l.Fused = append(l.Fused, mem.Name)
	}
	for _, in := range g.inputs {
		if in == InputName {
			l.inIdx = append(l.inIdx, -1)
		} else {
			l.inIdx = append(l.inIdx, m.index[in])
		}
	}
	in := m.InAct(l, 0)
	l.ReLU = g.hasReLU() && f.Op != model.OpReLU
	if t := q.tensors[f.Name]; t != nil {
		l.Out = Act{Bits: t.bits, Signed: t.signed, Scale: t.scale}
	}
	bn := g.find(model.OpBatchNorm2d)
	if f.Op == model.OpBatchNorm2d {
		bn = f
	}
	switch f.Op {
	case model.OpConv2d, model.OpAdder2d:
		l.Kernel, l.Stride, l.Padding = f.Kernel, f.Stride, f.Padding
	case model.OpMaxPool2d, model.OpAvgPool2d:
		l.Kernel, l.Stride = f.Kernel, f.Stride
	}

	// The layer computes y_real = alpha[o]·acc + kappa[o] (before the
	// output scale); accMean is where BN centres the accumulator.
	var alpha, kappa, accMean []float64
	C := l.OutShape[0]
	affine := func(unit func(o int) float64) {
		alpha, kappa, accMean = make([]float64, C), make([]float64, C), make([]float64, C)
		for o := range C {
			u := unit(o)
			var bias float64
			if f.Bias {
				bias = f.B.Value.Data[o]
			}
			gain, mean, beta := 1.0, 0.0, 0.0
			if bn != nil {
				gain = bn.W.Value.Data[o] / math.Sqrt(bn.Var.Value.Data[o]+bn.Eps)
				mean, beta = bn.Mean.Value.Data[o], bn.B.Value.Data[o]
			}
			alpha[o] = u * gain
			kappa[o] = gain*(bias-mean) + beta
			if bn != nil && u != 0 {
				accMean[o] = (mean - bias) / u
			}
		}
	}

	switch f.Op {
	case model.OpAdder2d:
		opBits := q.tensors[q.source(g.inputs[0])].opBits
		gs := q.groupShifts(f.Name, in, opBits)
		l.OperandBits, l.GroupShift = opBits, gs
		op := l.Operand(in, 0)
		w, c, err := quantizeAdderWeights(f.W.Value, in.Scale, op.Min(), op.Max(), gs)
		if err != nil {
			return nil, err
		}
		l.Weight, l.WeightConst = w, c
		sc := func(o int) float64 { return l.Operand(in, o).Scale }
		affine(func(o int) float64 { return -sc(o) })
		// Bias correction: the quantized accumulator runs high by
		// shift[o] (real units) on average; y = −gain·acc + …, so add
		// gain·shift[o] back.
		if shift := q.biasShift(f.Name, in, opBits, gs); shift != nil {
			for o := range kappa {
				kappa[o] -= alpha[o] / sc(o) * shift[o]
			}
		}
	case model.OpConv2d, model.OpLinear:
		if f.PadValue != nil {
			l.PadCode = make([]int64, len(f.PadValue))
			for c, v := range f.PadValue {
				l.PadCode[c] = max(in.Min(), min(in.Max(), int64(math.RoundToEven(v/in.Scale))))
			}
		}
		w, sc := quantizeMACWeights(f.W.Value, g.bits)
		l.Weight, l.WeightBits, l.WeightScale = w, g.bits, sc
		affine(func(o int) float64 { return in.Scale * sc[o] })
	case model.OpBatchNorm2d:
		affine(func(int) float64 { return in.Scale })
	case model.OpAvgPool2d:
		affine(func(int) float64 { return in.Scale / float64(f.Kernel*f.Kernel) })
	case model.OpAdd:
		if err := q.buildAdd(m, l); err != nil {
			return nil, err
		}
	case model.OpReLU:
		l.Out = Act{Bits: in.Bits, Signed: false, Scale: in.Scale}
	case model.OpMaxPool2d, model.OpFlatten:
		l.Out = in
	}
	if alpha != nil {
		for o := range alpha {
			alpha[o] /= l.Out.Scale
			kappa[o] /= l.Out.Scale
		}
		rs, err := chooseRescale(alpha, kappa, accMean, q.cfg)
		if err != nil {
			return nil, err
		}
		l.Rescale = rs
	}
	if l.Rescale != nil {
		r, err := m.computeRanges(l)
		if err != nil {
			return nil, err
		}
		l.Ranges = r
	}
	return l, nil
}

func (q *quantizer) buildAdd(m *Model, l *Layer) error {
	// Scales f·2^e sharing one mantissa f (a power of two, f = 1, unless
	// NonPow2Scales); exponents are relative to f.
	sa, sb, sy := m.InAct(l, 0).Scale, m.InAct(l, 1).Scale, l.Out.Scale
	fa, ea := math.Frexp(sa)
	fb, eb := math.Frexp(sb)
	fy, ey := math.Frexp(sy)
	if fa != fb || fa != fy {
		return fmt.Errorf("add inputs and output need scales that differ by powers of two (have %v, %v, %v)", sa, sb, sy)
	}
	ec := min(ea, eb)
	if ey < ec {
		// An output finer than both inputs gains nothing.
		ey = ec
		l.Out.Scale = math.Ldexp(fa, ey)
	}
	l.Align = []int{ea - ec, eb - ec}
	if l.Align[0] > 32 || l.Align[1] > 32 || ey-ec > 62 {
		return fmt.Errorf("branch scales 2^%d and 2^%d (output 2^%d) are too far apart", ea, eb, ey)
	}
	l.Rescale = &Rescale{Shift: ey - ec, Rounding: q.cfg.Rounding, Overflow: fixedpoint.Saturate}
	return nil
}

// quantizeAdderWeights returns the adder weight codes at scale s (the
// input's, any positive value) times 2^gs[o] for output channel o (gs
// nil: all 0), round-half-even(w/s) clamped to [lo, hi], and the exact
// per-output-channel constant of the clamp: for x in [lo, hi],
// |x − w| = |x − hi| + (w − hi) if w > hi and |x − lo| + (lo − w) if w < lo.
func quantizeAdderWeights(w dataset.Tensor, s float64, lo, hi int64, gs []int) (*IntTensor, []int64, error) {
	O := w.Shape[0]
	R := len(w.Data) / O
	codes := make([]int64, len(w.Data))
	consts := make([]int64, O)
	for i, v := range w.Data {
		r := math.RoundToEven(math.Ldexp(v/s, -groupShift(gs, i/R)))
		if math.Abs(r) > 1<<40 {
			return nil, nil, fmt.Errorf("weight %v is %v codes of scale %v: too large", v, r, s)
		}
		c, k := ClampAdderWeight(int64(r), lo, hi)
		codes[i] = c
		consts[i/R] += k
	}
	return &IntTensor{Shape: slices.Clone(w.Shape), Data: codes}, consts, nil
}

// groupShift returns gs[o], or 0 when gs is nil.
func groupShift(gs []int, o int) int {
	if gs == nil {
		return 0
	}
	return gs[o]
}

// ClampAdderWeight clamps an adder weight code w to the input code range
// [lo, hi] and returns the clamped code and the exact excess k >= 0, so
// that |x − w| = |x − clamped| + k for every x in [lo, hi].
func ClampAdderWeight(w, lo, hi int64) (clamped, k int64) {
	switch {
	case w > hi:
		return hi, w - hi
	case w < lo:
		return lo, lo - w
	}
	return w, 0
}

// quantizeMACWeights quantizes conv2d/linear weights symmetrically per
// output channel to signed bits-bit codes: scale[o] = max|w[o]|/(2^(bits-1)-1),
// code = round-half-even(w/scale[o]).
func quantizeMACWeights(w dataset.Tensor, bits int) (*IntTensor, []float64) {
	O := w.Shape[0]
	R := len(w.Data) / O
	qmax := float64(int64(1)<<(bits-1) - 1)
	codes := make([]int64, len(w.Data))
	scales := make([]float64, O)
	for o := range O {
		row := w.Data[o*R : (o+1)*R]
		var amax float64
		for _, v := range row {
			amax = max(amax, math.Abs(v))
		}
		scales[o] = 1
		if amax > 0 {
			scales[o] = amax / qmax
		}
		for r, v := range row {
			codes[o*R+r] = int64(max(-qmax, min(qmax, math.RoundToEven(v/scales[o]))))
		}
	}
	return &IntTensor{Shape: slices.Clone(w.Shape), Data: codes}, scales
}

// chooseRescale finds integers with (acc·M[o] + B[o]) / 2^shift ≈
// alpha[o]·acc + kappa[o]. The shift is shared by the layer's channels and
// is the largest that keeps every |M| inside cfg.MultBits signed bits; the
// rounding error of M is centred on accMean (the accumulator value where
// BN's running mean lies), so that a coarse M (as with NoMultipliers) errs
// only on the deviation from the mean.
func chooseRescale(alpha, kappa, accMean []float64, cfg Config) (*Rescale, error) {
	mmax := math.Ldexp(1, cfg.MultBits-1) - 1
	var amax, kmax float64
	for o := range alpha {
		if math.IsNaN(alpha[o]) || math.IsInf(alpha[o], 0) || math.IsNaN(kappa[o]) || math.IsInf(kappa[o], 0) {
			return nil, fmt.Errorf("channel %d: non-finite rescale (gain %v, offset %v)", o, alpha[o], kappa[o])
		}
		amax = max(amax, math.Abs(alpha[o]))
		kmax = max(kmax, math.Abs(kappa[o])+math.Abs(alpha[o]*accMean[o]))
	}
	const maxShift = 48
	sh := maxShift
	if amax > 0 {
		for sh >= 0 && math.Abs(math.RoundToEven(math.Ldexp(amax, sh))) > mmax {
			sh--
		}
		if sh < 0 {
			return nil, fmt.Errorf("rescale gain %v does not fit a %d-bit multiplier", amax, cfg.MultBits)
		}
	}
	for sh > 0 && math.Ldexp(kmax, sh) > 1<<60 {
		sh--
	}
	rs := &Rescale{M: make([]int64, len(alpha)), B: make([]int64, len(alpha)), Rounding: cfg.Rounding, Overflow: fixedpoint.Saturate, MultiplierFree: cfg.NoMultipliers}
	for {
		fits := true
		for o := range alpha {
			exact := math.Ldexp(alpha[o], sh)
			var mo float64
			if cfg.NoMultipliers {
				mo = float64(nearestTwoTerm(exact))
			} else {
				mo = math.RoundToEven(exact)
			}
			b := math.RoundToEven(math.Ldexp(kappa[o], sh) + (exact-mo)*accMean[o])
			if math.Abs(b) > 1<<61 {
				return nil, fmt.Errorf("channel %d: rescale offset %v out of range", o, b)
			}
			rs.M[o], rs.B[o] = int64(mo), int64(b)
			fits = fits && math.Abs(mo) <= mmax
		}
		if fits {
			break
		}
		if sh == 0 {
			return nil, fmt.Errorf("rescale gain %v does not fit a %d-bit multiplier", amax, cfg.MultBits)
		}
		sh-- // a two-term M rounded up past the multiplier width
	}
	// Drop common factors of two: the same value, smaller numbers.
	for sh > 0 {
		even := true
		for o := range rs.M {
			even = even && rs.M[o]%2 == 0 && rs.B[o]%2 == 0
		}
		if !even {
			break
		}
		for o := range rs.M {
			rs.M[o] /= 2
			rs.B[o] /= 2
		}
		sh--
	}
	rs.Shift = sh
	return rs, nil
}

// nearestTwoTerm returns the integer nearest to v of the form 0, ±2^p or
// ±(2^p ± 2^q) (ties to the smaller magnitude).
func nearestTwoTerm(v float64) int64 {
	a := math.Abs(v)
	best := int64(0)
	consider := func(c int64) {
		if math.Abs(float64(c)-a) < math.Abs(float64(best)-a) {
			best = c
		}
	}
	if a >= 1<<60 {
		best = 1 << 60
	} else {
		p := 0
		for int64(1)<<(p+1) <= int64(a) {
			p++
		}
		// Candidates around a: 2^p + 2^q and 2^(p+1) − 2^q for q <= p.
		for qq := 0; qq <= p; qq++ {
			consider(1<<p + 1<<qq)
			consider(1<<(p+1) - 1<<qq)
		}
		consider(1 << p)
		consider(1 << (p + 1))
	}
	if v < 0 {
		return -best
	}
	return best
}

// sortedKeys returns the map's keys sorted.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
