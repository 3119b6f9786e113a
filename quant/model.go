package quant

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/addergen/addergen/fixedpoint"
	"github.com/addergen/addergen/model"
)

// FormatName and Version identify the quantized-model file format. A file
// carries the lowest version that expresses it: 1, 2 when it uses a field
// that version 2 added (preprocess_folded, pad_code), or 3 when it uses
// group_shift or operand_bits. Load reads all three.
const (
	FormatName = "addergen-quant"
	Version    = 3
	// Generator is written into every file this package saves.
	Generator = "addergen quant v1"
	// InputName is how layers refer to the network input.
	InputName = "input"
)

// Bit-width limits.
const (
	MinBits       = 2  // narrowest operand / activation code
	MaxBits       = 16 // widest operand code (adder lanes, conv/linear weights)
	MaxOutputBits = 24 // widest activation code (the logits may be wider)
)

// Op is the operation of an integer layer. The names match model.Op.
type Op string

// The integer ops (see FORMAT.md for the exact integer formula of each).
const (
	OpConv2d      Op = "conv2d"
	OpAdder2d     Op = "adder2d"
	OpLinear      Op = "linear"
	OpBatchNorm2d Op = "batchnorm2d"
	OpAdd         Op = "add"
	OpReLU        Op = "relu"
	OpMaxPool2d   Op = "maxpool2d"
	OpAvgPool2d   Op = "avgpool2d"
	OpFlatten     Op = "flatten"
)

// Model is the integer IR of a quantized network: the single source of truth
// for the simulator and the RTL generator. Its JSON form is FORMAT.md.
type Model struct {
	Format    string `json:"format"`
	Version   int    `json:"version"`
	Generator string `json:"generator"`
	// Name is the architecture (float spec) name.
	Name string `json:"name"`
	Doc  string `json:"doc,omitempty"`
	// Classes is the number of output classes (0 if the spec gives none).
	Classes int `json:"classes,omitempty"`
	// Preprocess tells how raw pixels become the float input (copied from
	// the spec; informational, used by infer --preprocess).
	Preprocess *model.Preprocess `json:"preprocess,omitempty"`
	// PreprocessFolded (version 2), if set, is the spec's preprocessing,
	// folded into the conv2d layers that read the input
	// (model.Net.FoldPreprocess): the input codes are the raw pixels and
	// Preprocess is the identity.
	PreprocessFolded *model.Preprocess `json:"preprocess_folded,omitempty"`
	// Config is how the model was quantized (informational).
	Config Config `json:"config"`
	// Calibration describes the calibration run (informational).
	Calibration CalibInfo `json:"calibration"`
	// Input is the network input: its shape and code format.
	Input Input `json:"input"`
	// Layers in topological order; the last one is the output.
	Layers []*Layer `json:"layers"`

	index map[string]int
}

// CalibInfo records how activation scales were chosen.
type CalibInfo struct {
	Method     string  `json:"method"`
	Percentile float64 `json:"percentile,omitempty"`
	Samples    int     `json:"samples"`
	Source     string  `json:"source,omitempty"`
	// Warnings are one-line messages, each naming a layer, about scales
	// that did not come from the calibration range (a degenerate range:
	// a tensor that is zero on every calibration sample). Commands print
	// them on stderr.
	Warnings []string `json:"warnings,omitempty"`
}

// Act is the format of an activation tensor: integer codes of Bits bits
// (two's complement if Signed), whose real value is code·Scale.
type Act struct {
	Bits   int     `json:"bits"`
	Signed bool    `json:"signed"`
	Scale  float64 `json:"scale"`
}

// Min and Max return the code range.
func (a Act) Min() int64 {
	if a.Signed {
		return -1 << (a.Bits - 1)
	}
	return 0
}

// Max returns the largest code.
func (a Act) Max() int64 {
	if a.Signed {
		return 1<<(a.Bits-1) - 1
	}
	return 1<<a.Bits - 1
}

// Interval returns the code range as an interval.
func (a Act) Interval() fixedpoint.Interval { return fixedpoint.Interval{Lo: a.Min(), Hi: a.Max()} }

// Exp returns e with Scale == 2^e, and whether Scale is a power of two.
func (a Act) Exp() (int, bool) { return pow2Exp(a.Scale) }

func pow2Exp(s float64) (int, bool) {
	if !(s > 0) || math.IsInf(s, 0) {
		return 0, false
	}
	frac, exp := math.Frexp(s)
	return exp - 1, frac == 0.5
}

// Input is the network input.
type Input struct {
	// Shape is the per-sample shape [C, H, W].
	Shape []int `json:"shape"`
	Act
}

// IntTensor is a dense row-major integer tensor.
type IntTensor struct {
	Shape []int   `json:"shape"`
	Data  []int64 `json:"data"`
}

// Range is a closed integer interval with the register that holds it.
type Range struct {
	Lo     int64 `json:"lo"`
	Hi     int64 `json:"hi"`
	Width  int   `json:"width"`
	Signed bool  `json:"signed"`
}

func rangeOf(iv fixedpoint.Interval) *Range {
	w, s := iv.Width()
	return &Range{Lo: iv.Lo, Hi: iv.Hi, Width: w, Signed: s}
}

// Interval returns [Lo, Hi].
func (r *Range) Interval() fixedpoint.Interval { return fixedpoint.Interval{Lo: r.Lo, Hi: r.Hi} }

// Contains reports whether v is in [Lo, Hi].
func (r *Range) Contains(v int64) bool { return r.Lo <= v && v <= r.Hi }

// Ranges are the exact worst-case ranges of a layer's intermediate values,
// from interval arithmetic over every legal input code. A register of
// Width bits holds each of them, so none can overflow.
type Ranges struct {
	// L1 is Σ|x − w| without the weight constant (adder2d).
	L1 *Range `json:"l1,omitempty"`
	// Acc is the accumulator: the L1 sum plus the constant (adder2d), the
	// MAC sum (conv2d, linear), the window sum (avgpool2d), the input code
	// (batchnorm2d) or the aligned sum (add).
	Acc *Range `json:"acc,omitempty"`
	// Product is acc·M + B (layers with a multiplier M).
	Product *Range `json:"product,omitempty"`
	// Shifted is the rounded, shifted value before saturation.
	Shifted *Range `json:"shifted,omitempty"`
}

// Rescale maps an accumulator to an output code, per output channel c:
//
//	y = sat(round((acc·M[c] + B[c]) / 2^Shift))
//
// with round the Rounding mode (half-up: (p + (1<<(Shift-1))) >> Shift) and
// sat the Overflow mode applied to the output Act. M and B are absent for
// the add op (M = 1, B = 0).
type Rescale struct {
	M        []int64             `json:"m,omitempty"`
	B        []int64             `json:"b,omitempty"`
	Shift    int                 `json:"shift"`
	Rounding fixedpoint.Rounding `json:"rounding"`
	Overflow fixedpoint.Overflow `json:"overflow"`
	// MultiplierFree is set when every M is 0, ±2^p or ±(2^p ± 2^q), so
	// that acc·M is one or two shifted copies of acc.
	MultiplierFree bool `json:"multiplier_free,omitempty"`
}

// Layer is one integer layer. Fields that do not apply to Op are zero.
type Layer struct {
	Name string `json:"name"`
	Op   Op     `json:"op"`
	// Inputs names the layers read (InputName for the network input); add
	// has two, every other op one.
	Inputs []string `json:"inputs"`
	// Fused lists the float layers folded into this one (batchnorm2d,
	// relu), in order; the layer's output matches the float output of
	// the last of them (or of Name when none).
	Fused []string `json:"fused,omitempty"`
	// OutShape is the per-sample output shape, [C, H, W] or [F].
	OutShape []int `json:"out_shape"`
	// Out is the output code format.
	Out Act `json:"out"`

	Kernel  int `json:"kernel,omitempty"`
	Stride  int `json:"stride,omitempty"`
	Padding int `json:"padding,omitempty"`

	// Weight holds integer weight codes: [O, C, K, K] (conv2d, adder2d) or
	// [O, I] (linear). Adder codes are in the input's code range and scale;
	// conv2d and linear codes are signed WeightBits-bit.
	Weight     *IntTensor `json:"weight,omitempty"`
	WeightBits int        `json:"weight_bits,omitempty"`
	// WeightScale (conv2d, linear) is the real value of one weight code per
	// output channel; informational, folded into the rescale.
	WeightScale []float64 `json:"weight_scale,omitempty"`
	// WeightConst (adder2d) is the exact per-output-channel constant of
	// the clamped weights, added to the L1 sum.
	WeightConst []int64 `json:"weight_const,omitempty"`
	// PadCode (conv2d, version 2), if set, is the input code a padded
	// position reads, per input channel, instead of 0: the raw mean pixel
	// of a folded preprocessing.
	PadCode []int64 `json:"pad_code,omitempty"`
	// OperandBits (adder2d, version 3), if set, is the width of the PE
	// operands (view codes and weights) when it is below the input's:
	// group-wise shared scales read a wider input. 0: the input's width.
	OperandBits int `json:"operand_bits,omitempty"`
	// GroupShift (adder2d, version 3), if set, gives each output channel o
	// its group's view of the input: operand codes View(x, GroupShift[o]),
	// the input rounded to scale in.Scale·2^GroupShift[o] and saturated to
	// OperandBits. The channel's weights, weight_const and accumulator are
	// at that scale (group-wise shared scales, Nie et al., NeurIPS 2022).
	GroupShift []int `json:"group_shift,omitempty"`
	// Align (add) is the left shift applied to each input before the sum.
	Align []int `json:"align,omitempty"`

	// ReLU tells whether a ReLU is fused: the output is unsigned and the
	// saturation's lower bound 0 is the ReLU.
	ReLU    bool     `json:"relu,omitempty"`
	Rescale *Rescale `json:"rescale,omitempty"`
	Ranges  Ranges   `json:"ranges"`

	inIdx []int
}

// Ref returns the name of the float layer whose output this layer's output
// approximates: the last fused layer, or Name.
func (l *Layer) Ref() string {
	if len(l.Fused) > 0 {
		return l.Fused[len(l.Fused)-1]
	}
	return l.Name
}

// InputIndex returns the indices into Model.Layers of the inputs; -1 is the
// network input. Valid after Validate (which Load and Quantize run).
func (l *Layer) InputIndex() []int { return append([]int(nil), l.inIdx...) }

// Channels returns the number of output channels (or features).
func (l *Layer) Channels() int { return l.OutShape[0] }

// Layer returns the named layer or nil.
func (m *Model) Layer(name string) *Layer {
	if i, ok := m.index[name]; ok {
		return m.Layers[i]
	}
	return nil
}

// MinVersion returns the lowest format version that expresses m: 3 when a
// layer has group_shift or operand_bits, 2 when it uses a field version 2 added, else 1.
func (m *Model) MinVersion() int {
	v := 1
	if m.PreprocessFolded != nil {
		v = 2
	}
	for _, l := range m.Layers {
		if l != nil && (l.GroupShift != nil || l.OperandBits != 0) {
			return 3
		}
		if l != nil && l.PadCode != nil {
			v = 2
		}
	}
	return v
}

// MaxGroupShift is the largest group_shift: a group's scale is at most
// 2^MaxGroupShift times its layer's input scale.
const MaxGroupShift = 4

// Operand returns the format of adder layer l's operands for output
// channel o when its input has format in: OperandBits (or in.Bits) wide,
// in's signedness, scale in.Scale·2^GroupShift[o].
func (l *Layer) Operand(in Act, o int) Act {
	op := Act{Bits: in.Bits, Signed: in.Signed, Scale: in.Scale}
	if l.OperandBits != 0 {
		op.Bits = l.OperandBits
	}
	op.Scale = math.Ldexp(in.Scale, l.Shift(o))
	return op
}

// Shift returns output channel o's group shift (0 without group_shift).
func (l *Layer) Shift(o int) int {
	if l.GroupShift == nil {
		return 0
	}
	return l.GroupShift[o]
}

// Grouped reports whether an adder layer's operands are views of its input
// (group_shift or operand_bits set), not the input codes themselves.
func (l *Layer) Grouped() bool { return l.GroupShift != nil || l.OperandBits != 0 }

// ViewCode returns the operand code of input code x for a group shift k
// and operand format op: round_half_up(x, k) = (x + 2^(k−1)) >> k (x when
// k = 0), saturated to op's code range. Padding (code 0) stays 0.
func ViewCode(x int64, k int, op Act) int64 {
	if k > 0 {
		x = (x + 1<<(k-1)) >> k
	}
	return max(op.Min(), min(op.Max(), x))
}

// ViewRange returns the least and greatest operand codes ViewCode gives
// over the input codes of format in (ViewCode is monotone).
func ViewRange(in Act, k int, op Act) (lo, hi int64) {
	return ViewCode(in.Min(), k, op), ViewCode(in.Max(), k, op)
}

// GroupShifts returns the distinct values of l.GroupShift in increasing
// order ([0] without groups): the layer's groups.
func (l *Layer) GroupShifts() []int {
	if l.GroupShift == nil {
		return []int{0}
	}
	g := slices.Clone(l.GroupShift)
	slices.Sort(g)
	return slices.Compact(g)
}

// Output returns the last layer.
func (m *Model) Output() *Layer { return m.Layers[len(m.Layers)-1] }

// InAct returns the format of input i of layer l.
func (m *Model) InAct(l *Layer, i int) Act {
	j := l.inIdx[i]
	if j < 0 {
		return m.Input.Act
	}
	return m.Layers[j].Out
}

// InShape returns the per-sample shape of input i of layer l.
func (m *Model) InShape(l *Layer, i int) []int {
	j := l.inIdx[i]
	if j < 0 {
		return m.Input.Shape
	}
	return m.Layers[j].OutShape
}

// Save writes the model as JSON to path (via a temporary file renamed into
// place).
func (m *Model) Save(path string) error {
	b, err := m.MarshalFile()
	if err != nil {
		return err
	}
	return writeAtomic(path, b)
}

var numArray = regexp.MustCompile(`\[(\s*-?[0-9][0-9.eE+-]*,)*\s*-?[0-9][0-9.eE+-]*\s*\]`)
var spaces = regexp.MustCompile(`\s+`)

// MarshalFile returns the file contents: indented JSON with every number
// array on one line, ending in a newline.
func (m *Model) MarshalFile() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("quant: encode: %w", err)
	}
	b = numArray.ReplaceAllFunc(b, func(a []byte) []byte {
		return bytes.ReplaceAll(spaces.ReplaceAll(a, nil), []byte(","), []byte(", "))
	})
	return append(b, '\n'), nil
}

func writeAtomic(path string, b []byte) error {
	dir, base := splitPath(path)
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("quant: write %s: %w", path, err)
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if werr != nil || cerr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("quant: write %s: %v", path, errors.Join(werr, cerr))
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("quant: write %s: %w", path, err)
	}
	return nil
}

func splitPath(p string) (dir, base string) {
	i := strings.LastIndexAny(p, `/\`)
	if i < 0 {
		return ".", p
	}
	return p[:i+1], p[i+1:]
}

// maxFileSize bounds the quantized files Load accepts.
const maxFileSize = 1 << 30

// Load reads and validates a quantized model file.
func Load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("quant: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("quant: read %s: %w", path, err)
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("quant: %s: larger than %d bytes", path, maxFileSize)
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("quant: %s: %w", path, err)
	}
	return m, nil
}

// Parse decodes and validates a quantized model. Unknown fields are errors.
func Parse(b []byte) (*Model, error) {
	var head struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("not a quantized model: %v", err)
	}
	if head.Format != FormatName {
		return nil, fmt.Errorf("format %q, want %q", head.Format, FormatName)
	}
	if head.Version < 1 || head.Version > Version {
		return nil, fmt.Errorf("format version %d not supported (this build reads versions 1 to %d)", head.Version, Version)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	m := &Model{}
	if err := dec.Decode(m); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON value")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// IsQuantized reports whether path is a regular file holding a JSON object
// whose top-level "format" is "addergen-quant". It reads the file only as
// far as the format field (streaming), so it is cheap on other inputs.
func IsQuantized(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	dec := json.NewDecoder(io.LimitReader(f, maxFileSize))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return false
		}
		if k == "format" {
			var v string
			return dec.Decode(&v) == nil && v == FormatName
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false
		}
	}
	return false
}
