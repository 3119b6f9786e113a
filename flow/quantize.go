package flow

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/quant/refine"
)

// QuantizeOptions are the inputs of Quantize beyond the net and the
// calibration data.
type QuantizeOptions struct {
	// Config is the validated quantization config (quant.DefaultConfig
	// with the user's choices).
	Config quant.Config
	// EdgeBits is the width of every conv2d/linear layer and of the input
	// that Config.LayerBits does not name (quant.WithEdgeBits); 0: Bits
	// for all.
	EdgeBits int
	// Source names the calibration data in the model file.
	Source string
	// Refine holds the refinement options (bias-correction images, the
	// --auto-bits budget, labels and a log); the zero value runs neither.
	Refine refine.Options
}

// DefaultResidualBits is the least width `addergen quantize` gives, by
// default, activations read only by residual adds (quant.Config.ResidualBits).
const DefaultResidualBits = 8

// DefaultQuantizeOptions returns the options `addergen quantize --bits
// bits` runs with when no other flag is given, the quantizer's best
// methods (measured on the official ResNet-20 at 4-6 bits, README
// "Low-bit quantization" ablation): search calibration; scales off the
// power-of-two grid where a multiplier rescale reaches them
// (Config.NonPow2Scales); each adder input clipped for the layer's output
// error (OutputClip, Banner et al. 2019); bias correction measured by the
// simulator, one run per adder layer on refine.DefaultBiasImages images
// (Nagel et al. 2019); residual-only activations at DefaultResidualBits;
// the first conv, the classifier and the input at quant.EdgeBits. sweep
// and demo quantize with these, so their accuracies are quantize's. The
// caller sets Source and, for --auto-bits, Refine.AutoBits and Labels.
func DefaultQuantizeOptions(bits int) QuantizeOptions {
	cfg := quant.DefaultConfig()
	cfg.Bits = bits
	cfg.NonPow2Scales, cfg.OutputClip, cfg.BiasCorrection = true, true, true
	cfg.BiasPasses = refine.Sequential
	cfg.ResidualBits = DefaultResidualBits
	return QuantizeOptions{Config: cfg, EdgeBits: quant.EdgeBits, Refine: refine.Options{BiasImages: refine.DefaultBiasImages}}
}

// Quantize quantizes net on calib ([N, C, H, W] floats in the model's
// input scale) with o (refine.Quantize: calibration, then the bias
// correction passes and the --auto-bits search when asked). It returns
// the integer model and the refinement report. Errors: a bad edge width,
// layer names in the config that net lacks, nets the IR cannot express and
// simulator errors, as quant and refine word them.
func Quantize(net *model.Net, calib dataset.Tensor, o QuantizeOptions) (*quant.Model, *refine.Report, error) {
	cfg := o.Config
	var err error
	if b, ok := cfg.LayerBits[quant.InputName]; ok && net.Folded != nil && b != quant.RawPixelBits {
		return nil, nil, fmt.Errorf("%w: input=%d, but the input is the raw %d-bit pixel (the preprocessing is folded into the first conv)", ErrRawInputBits, b, quant.RawPixelBits)
	}
	if cfg.LayerBits, err = quant.WithEdgeBits(net, cfg.LayerBits, cfg.Bits, o.EdgeBits); err != nil {
		return nil, nil, err
	}
	if net.Folded != nil {
		cfg.LayerBits[quant.InputName] = quant.RawPixelBits
	}
	return refine.Quantize(net, calib, cfg, o.Source, o.Refine)
}

// ErrRawInputBits is wrapped by Quantize when the widths name the input
// with other than 8 bits while the preprocessing is folded (raw 8-bit
// pixels in).
var ErrRawInputBits = errors.New("input width")

// RawInput returns net with its preprocessing folded into the conv2d
// layers that read the input (model.Net.FoldPreprocess), so that the
// network input is the raw 8-bit pixel, when raw is set and the spec's
// preprocessing normalizes (has a mean or a std); otherwise net itself.
// Calibration data for the result is raw pixels (its Spec.Preprocess is
// the identity). Errors: the fold's (a first layer that is not a conv2d).
func RawInput(net *model.Net, raw bool) (*model.Net, error) {
	if !raw || !net.Spec.Preprocess.Normalizes() || net.Folded != nil {
		return net, nil
	}
	return net.FoldPreprocess()
}

// MatchInput returns the float net that q was quantized from, as far as
// its input goes: net with the preprocessing folded when q's is
// (quant.Model.PreprocessFolded), so that both read the same data.
func MatchInput(net *model.Net, q *quant.Model) (*model.Net, error) {
	return RawInput(net, q.PreprocessFolded != nil)
}

// QuantizeReport is the JSON printed by addergen quantize --json.
type QuantizeReport struct {
	Model       string          `json:"model"`
	Weights     string          `json:"weights,omitempty"`
	Out         string          `json:"out"`
	Name        string          `json:"name"`
	Config      quant.Config    `json:"config"`
	Calibration quant.CalibInfo `json:"calibration"`
	Input       quant.Act       `json:"input"`
	Layers      []LayerBrief    `json:"layers"`
	// AutoBits is the --auto-bits search (absent without it).
	AutoBits *refine.AutoReport `json:"auto_bits,omitempty"`
}

// LayerBrief is one quantized layer in QuantizeReport.
type LayerBrief struct {
	Name     string   `json:"name"`
	Op       quant.Op `json:"op"`
	Fused    []string `json:"fused,omitempty"`
	InBits   int      `json:"in_bits"`
	Out      quant.Act
	AccWidth int  `json:"acc_width,omitempty"`
	Shift    *int `json:"shift,omitempty"`
	// MaxWeightConst is the largest adder clamp constant.
	MaxWeightConst int64 `json:"max_weight_const,omitempty"`
}

// NewQuantizeReport summarizes q, quantized from model (and weights) and
// saved as out; rr is Quantize's refinement report (nil: none).
func NewQuantizeReport(q *quant.Model, model, weights, out string, rr *refine.Report) *QuantizeReport {
	rep := &QuantizeReport{Model: model, Weights: weights, Out: out, Name: q.Name, Config: q.Config, Calibration: q.Calibration, Input: q.Input.Act}
	if rr != nil {
		rep.AutoBits = rr.Auto
	}
	for _, l := range q.Layers {
		br := LayerBrief{Name: l.Name, Op: l.Op, Fused: l.Fused, InBits: q.InAct(l, 0).Bits, Out: l.Out}
		if l.Ranges.Acc != nil {
			br.AccWidth = l.Ranges.Acc.Width
		}
		if l.Rescale != nil {
			sh := l.Rescale.Shift
			br.Shift = &sh
		}
		if len(l.WeightConst) > 0 {
			br.MaxWeightConst = slices.Max(l.WeightConst)
		}
		rep.Layers = append(rep.Layers, br)
	}
	return rep
}

// WriteWarnings writes each warning on its own line of w as "warning:
// MSG", a warning's own line breaks folded into spaces.
func WriteWarnings(w io.Writer, warnings []string) {
	if w == nil {
		return
	}
	for _, m := range warnings {
		fmt.Fprintf(w, "warning: %s\n", strings.ReplaceAll(m, "\n", " "))
	}
}
