package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/fixedpoint"
	"github.com/addergen/addergen/flow"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/quant/refine"
)

type quantizeOpts struct {
	g             *globalOpts
	model         string
	weights       string
	weightsKey    string
	calib         string
	calibSplit    string
	calibLimit    int
	bits          string
	perLayerBits  string
	outputBits    int
	calibration   string
	percentile    float64
	rounding      string
	noMultipliers bool
	multBits      int
	out           string
	json          bool
	preprocess    bool
	rawInput      bool
	nonPow2       bool
	outputClip    bool
	biasCorr      bool
	residualBits  int
	groupScales   int
	biasPasses    int
	biasImages    int
	edgeBits      int
	autoBits      float64
	// flags tells which flags were given (defaults that depend on others).
	flags *pflag.FlagSet
}

func newQuantizeCmd(g *globalOpts) *cobra.Command {
	o := &quantizeOpts{g: g}
	dq := flow.DefaultQuantizeOptions(0) // the flags' defaults
	d := dq.Config
	cmd := &cobra.Command{
		Use:   "quantize --model M [--weights FILE] --calib DATA --bits B[,LAYER=B...] --out Q.json",
		Short: "Quantize a trained float model to the integer IR (post-training)",
		Long: `Quantize a trained float AdderNet to the integer IR that the simulator and the
RTL generator read: one self-describing JSON file ("format": "addergen-quant",
version 1, 2 or 3, the lowest that expresses the file: 2 with a folded
preprocessing, 3 with group-wise scales; every field and integer formula is
in quant/FORMAT.md).

Adder layers share one scale between their input codes and their weights;
weights outside the activation code range are clamped with an exact
per-channel constant. Batchnorm, biases and ReLU fold into one integer rescale
per output channel, y = sat((acc*M + B + (1 << (sh-1))) >> sh). Accumulator
widths come from interval arithmetic and are stored in the file.

Widths: --bits B sets the adder layers to B bits (the PE lane width: their
input activations and weights). The first conv, the classifier (every conv2d
and linear layer: their weights) and the network input stay at 8 bits
(--edge-bits), as in the quantization literature, unless --bits names them:
--bits 4,conv1=4,fc=4,input=4 puts everything at 4 bits (so does --bits 4
--edge-bits 0). LAYER=B sets one layer (any float layer of a fused group names
the group; "input" is the network input). Activation scales are calibrated on
--calib (a folder of MNIST IDX files or of CIFAR-10 .bin files means its
training split unless --calib-split; CIFAR-10's is data_batch_*.bin). With
--preprocess, --calib holds raw pixels (CIFAR-10 .bin data always does) and
the model's preprocessing (scale, mean, std) is applied first.

Raw-pixel input (--raw-input, on by default): when the spec's preprocessing
normalises (a mean or a std, as resnet20-adder's CIFAR-10 one) and --calib
holds raw pixels (--preprocess, or CIFAR-10 .bin data; a .npy or MNIST IDX
without --preprocess is the model's normalised input, and nothing is folded),
it is folded exactly into the first conv (weights times 1/(scale*std), the
mean into the bias, padding with the mean pixel), so the network input is the
raw 8-bit pixel and the hardware needs no preprocessing. The input then stays
at 8 bits whatever --bits says (input=B other than 8 is refused: give
--raw-input=false to quantize the normalised input at B bits); infer,
compare, verify and sweep read the same raw data (--preprocess becomes the
identity). --raw-input=false quantizes the normalised input instead; so does
a net whose input goes into another kind of layer (an adder cannot absorb a
per-channel gain), with a warning.

Low-bit techniques, all ON by default; each only chooses other scales or
rescale constants (the integer formulas, hence sim and the RTL, are
unchanged; quant/FORMAT.md). Turn one off for an ablation with =false or 0:
  --non-pow2-scales      scales on a 16-per-octave grid, tensors joined by a
                         residual add sharing one mantissa (off by itself
                         with --no-multipliers)
  --output-clip          each adder input's clipping point chosen by the
                         adder layer's output error (Banner et al. 2019)
  --bias-correction      the mean accumulator error per channel cancelled in
                         b (Nagel et al. 2019), measured by the bit-exact
                         simulator on the quantized net's own activations,
                         one run per adder layer (--bias-correction-passes;
                         0: measured on float inputs, no simulator)
  --residual-bits 8      activations read only by residual adds at >= 8 bits
The README's ablation table gives their effect on ResNet-20 at 4-6 bits.

--auto-bits D allocates widths per layer: adder layers start at --bits and
the ones that add the most error widen one bit at a time (at most 8) until
the simulator's top-1 on the calibration images is within D points of the
float net's (labels from the data, else agreement with float). Each step
re-runs the pipeline, so it costs about one quantize per widening.`,
		Example: `  # LeNet-5: adder layers at 4 bits, conv1, fc3 and the input at 8; every
  # low-bit technique on (the defaults); 1000 MNIST training images
  addergen quantize --model lenet5-adder --weights lenet.pth --calib mnist --bits 4 --out lenet4.json

  # ResNet-20 at 4 bits on 1000 raw CIFAR-10 training images
  addergen quantize --model resnet20-adder --weights ResNet20-AdderNet.pth --calib data_batch_1.bin --calib-limit 1000 --preprocess --bits 4 --out r4.json

  # everything at 4 bits, the old power-of-two scheme (no low-bit technique)
  addergen quantize --model resnet20-adder --weights ResNet20-AdderNet.pth --calib data_batch_1.bin --preprocess --bits 4 --edge-bits 0 --non-pow2-scales=false --output-clip=false --bias-correction=false --residual-bits 0 --raw-input=false --out r4-pow2.json

  # narrowest per-layer widths from 4 bits within 0.5 points of float
  addergen quantize --model resnet20-adder --weights ResNet20-AdderNet.pth --calib data_batch_1.bin --preprocess --bits 4 --auto-bits 0.5 --out r4auto.json

  # 4 bits with conv2 at 6, shift-add rescales only, max calibration
  addergen quantize --model lenet5-adder --weights lenet.pth --calib mnist --bits 4,conv2=6 --no-multipliers --calibration max --out lenet4.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.OutOrStdout(), cmd.ErrOrStderr()) },
	}
	fl := cmd.Flags()
	o.flags = fl
	fl.StringVar(&o.model, "model", "", "float model: built-in name, spec JSON file, or training folder")
	fl.StringVar(&o.weights, "weights", "", "weights file (.pth, .pt, .safetensors, .npz)")
	fl.StringVar(&o.weightsKey, "weights-key", "", "entry of a checkpoint dict that holds the state_dict (net, model, state_dict, ...), when the checkpoint holds several")
	fl.StringVar(&o.calib, "calib", "", "calibration data: .npy [N,C,H,W], MNIST IDX file, CIFAR-10 .bin file, a folder of IDX or CIFAR-10 files, or mnist (the GoMNIST module's)")
	fl.BoolVar(&o.preprocess, "preprocess", false, "--calib holds raw pixels (0..255, e.g. CIFAR-10): apply the model's preprocessing (scale, mean, std)")
	fl.StringVar(&o.calibSplit, "calib-split", "train", "split of a --calib folder: train or test")
	fl.IntVar(&o.calibLimit, "calib-limit", 1000, "use the first N calibration samples (0 = all)")
	fl.StringVar(&o.bits, "bits", "", "adder-layer operand bits (2..16), optionally with per-layer overrides: 4 or 4,conv2=6 (the first conv, the classifier and the input stay at --edge-bits unless named)")
	fl.IntVar(&o.edgeBits, "edge-bits", dq.EdgeBits, "bits of every conv2d/linear layer (the first conv, the classifier) and of the network input that --bits does not name; never fewer than --bits; 0: --bits for all")
	fl.StringVar(&o.perLayerBits, "per-layer-bits", "", "per-layer overrides LAYER=B[,LAYER=B...] (also accepted in --bits)")
	fl.IntVar(&o.outputBits, "output-bits", d.OutputBits, fmt.Sprintf("bits of the output (logit) codes (%d..%d)", quant.MinBits, quant.MaxOutputBits))
	fl.StringVar(&o.calibration, "calibration", string(d.Calibration), "activation calibration: max, percentile or search (least squared error)")
	fl.Float64Var(&o.percentile, "percentile", d.Percentile, "percentile for --calibration percentile")
	fl.StringVar(&o.rounding, "rounding", d.Rounding.String(), "rounding at every rescale: half-up, half-even, floor or toward-zero")
	fl.BoolVar(&o.rawInput, "raw-input", true, "when the spec's preprocessing normalises (mean, std) and --calib holds raw pixels (--preprocess, or CIFAR-10 records), fold it into the first conv: the network input is the raw 8-bit pixel, padded with the mean pixel")
	fl.BoolVar(&o.noMultipliers, "no-multipliers", false, "restrict rescale multipliers to ±2^p or ±(2^p ± 2^q) (shift-add only)")
	fl.IntVar(&o.multBits, "mult-bits", d.MultBits, "signed width of the rescale multipliers (2..32)")
	fl.BoolVar(&o.nonPow2, "non-pow2-scales", d.NonPow2Scales, "activation scales on a 16-steps-per-octave grid, not only powers of two, wherever a multiplier rescale produces them (tensors joined by a residual add share one mantissa)")
	fl.BoolVar(&o.outputClip, "output-clip", d.OutputClip, "choose each adder layer's input scale (its clipping point) by the error of the layer's output on the calibration data, not of its input")
	fl.BoolVar(&o.biasCorr, "bias-correction", d.BiasCorrection, "cancel the mean per-channel accumulator error of every adder layer on the calibration data through the rescale constant B")
	fl.IntVar(&o.biasPasses, "bias-correction-passes", d.BiasPasses, "with --bias-correction: measure the correction with the bit-exact simulator on the quantized net's own activations, in N simulator runs (adder layers in N consecutive groups, each measured after the groups before it are corrected); -1: one run per adder layer (exactly sequential); 0: on float inputs, no simulator")
	fl.IntVar(&o.biasImages, "bias-correction-images", dq.Refine.BiasImages, "calibration images the simulator runs for --bias-correction-passes")
	fl.IntVar(&o.groupScales, "group-scales", 1, "group-wise shared scales: split each adder layer's output channels into at most N groups, each with its own scale (the input's over 1, 2, 4, … 16) shared by its weights and its saturated view of the input; 1: off")
	fl.IntVar(&o.residualBits, "residual-bits", d.ResidualBits, "least width of activations read only by residual adds (not adder operands); 0: their producer's width")
	fl.Float64Var(&o.autoBits, "auto-bits", 0, "per-layer bit allocation: widen adder layers from --bits (one bit at a time, at most 8) until top-1 on the calibration images is within D points of float (off unless given)")
	fl.StringVar(&o.out, "out", "", "output quantized model (.json)")
	fl.BoolVar(&o.json, "json", false, "print a summary as one JSON object")
	for _, f := range []string{"model", "calib", "bits", "out"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

// config validates the flags that shape the quantization.
func (o *quantizeOpts) config() (quant.Config, error) {
	cfg := quant.DefaultConfig()
	def, per, err := quant.ParseBits(o.bits)
	if err != nil {
		return cfg, usagef("--bits: %v", err)
	}
	if def == 0 {
		return cfg, usagef("--bits %q: give a default width, e.g. 8 or 8,conv2=6", o.bits)
	}
	d2, per2, err := quant.ParseBits(o.perLayerBits)
	if err != nil {
		return cfg, usagef("--per-layer-bits: %v", err)
	}
	if d2 != 0 {
		return cfg, usagef("--per-layer-bits %q: give LAYER=B entries (the default width goes in --bits)", o.perLayerBits)
	}
	for k, v := range per2 {
		if _, dup := per[k]; dup {
			return cfg, usagef("--per-layer-bits: %s is also given in --bits", k)
		}
		per[k] = v
	}
	cfg.Bits, cfg.LayerBits = def, per
	if o.edgeBits != 0 && (o.edgeBits < quant.MinBits || o.edgeBits > quant.MaxBits) {
		return cfg, usagef("--edge-bits %d outside [%d, %d] (or 0: --bits for every layer)", o.edgeBits, quant.MinBits, quant.MaxBits)
	}
	if o.outputBits < quant.MinBits || o.outputBits > quant.MaxOutputBits {
		return cfg, usagef("--output-bits %d outside [%d, %d]", o.outputBits, quant.MinBits, quant.MaxOutputBits)
	}
	cfg.OutputBits = o.outputBits
	m, err := quant.ParseMethod(o.calibration)
	if err != nil {
		return cfg, usagef("--calibration: %v", err)
	}
	cfg.Calibration = m
	if !(o.percentile > 0 && o.percentile <= 100) {
		return cfg, usagef("--percentile %v outside (0, 100]", o.percentile)
	}
	cfg.Percentile = o.percentile
	r, err := fixedpoint.ParseRounding(o.rounding)
	if err != nil {
		return cfg, usagef("--rounding: unknown mode %q (want half-up, half-even, floor or toward-zero)", o.rounding)
	}
	cfg.Rounding = r
	cfg.NoMultipliers = o.noMultipliers
	if o.noMultipliers && !o.flags.Changed("non-pow2-scales") {
		o.nonPow2 = false // the default yields to --no-multipliers
	}
	cfg.NonPow2Scales, cfg.OutputClip, cfg.BiasCorrection = o.nonPow2, o.outputClip, o.biasCorr
	cfg.ResidualBits = o.residualBits
	if o.groupScales < 1 || o.groupScales > quant.MaxGroupShift+1 {
		return cfg, usagef("--group-scales %d outside [1, %d]", o.groupScales, quant.MaxGroupShift+1)
	}
	if o.groupScales > 1 {
		cfg.GroupScales = o.groupScales
	}
	if o.biasPasses < refine.Sequential || o.biasPasses > 1000 || (o.flags.Changed("bias-correction-passes") && o.biasPasses != 0 && !o.biasCorr) {
		return cfg, usagef("--bias-correction-passes %d: want -1 (one per adder layer), 0..1000, and --bias-correction with it", o.biasPasses)
	}
	if !o.biasCorr {
		o.biasPasses = 0
	}
	if o.flags.Changed("auto-bits") && !(o.autoBits >= 0 && o.autoBits <= 100) {
		return cfg, usagef("--auto-bits %v: want a loss budget in points, 0..100", o.autoBits)
	}
	if o.biasImages < 1 {
		return cfg, usagef("--bias-correction-images %d: must be at least 1", o.biasImages)
	}
	cfg.BiasPasses = o.biasPasses
	if o.residualBits != 0 && (o.residualBits < quant.MinBits || o.residualBits > quant.MaxBits) {
		return cfg, usagef("--residual-bits %d outside [%d, %d] (or 0: off)", o.residualBits, quant.MinBits, quant.MaxBits)
	}
	if o.noMultipliers && o.nonPow2 {
		return cfg, usagef("--non-pow2-scales needs multiplier rescales; it does not combine with --no-multipliers (use --non-pow2-scales=false)")
	}
	if o.multBits < 2 || o.multBits > 32 {
		return cfg, usagef("--mult-bits %d outside [2, 32]", o.multBits)
	}
	cfg.MultBits = o.multBits
	if o.calibLimit < 0 {
		return cfg, usagef("--calib-limit %d is negative", o.calibLimit)
	}
	if o.calibSplit != dataset.SplitTrain && o.calibSplit != dataset.SplitTest {
		return cfg, usagef("--calib-split %q: want train or test", o.calibSplit)
	}
	return cfg, nil
}

// loadFloatNet resolves --model/--weights to a float net, with errors that
// name the flag at fault.
func loadFloatNet(m, weights, weightsKey string) (*model.Net, error) {
	if weightsKey != "" && weights == "" {
		return nil, usagef("--weights-key %s needs --weights", weightsKey)
	}
	if quant.IsQuantized(m) {
		return nil, usagef("--model %s is already quantized; give the float model", m)
	}
	r, err := model.ResolveWith(m, weights, model.LoadOptions{WeightsKey: weightsKey})
	if err != nil {
		if errors.Is(err, model.ErrNoWeights) {
			return nil, usagef("--weights is required with --model %s", m)
		}
		return nil, usageError{oneLineErr(err)}
	}
	net, ok := r.(*model.Net)
	if !ok {
		return nil, usagef("--model %s: not a float model (%T)", m, r)
	}
	return net, nil
}

// dataArg is a data argument (--input, --data, --calib) and how to read it.
type dataArg struct {
	flag, path, labels, split string
	limit                     int
	// preprocess applies pre (the model's raw-pixel preprocessing); an
	// error when pre is nil. model names the model for that error.
	preprocess bool
	pre        *model.Preprocess
	model      string
	// raw: the model reads raw 8-bit pixels (its normalisation is folded
	// into the first conv); data that cannot be raw pixels gets a warning.
	raw bool
}

// load reads the data argument (dataset.LoadLimit: .npy, MNIST IDX,
// CIFAR-10 binary, or a folder), adapts it to the model input [C, H, W]
// and applies the preprocessing when asked. Errors are one line naming
// the flag and the file. Raw CIFAR-10 pixels without --preprocess for a
// model that has a preprocessing get a warning on warn.
func (d dataArg) load(input []int, warn io.Writer) (*dataset.Set, error) {
	if d.preprocess && d.pre == nil {
		return nil, usagef("--preprocess: model %s has no preprocessing (scale, mean, std) in its spec", d.model)
	}
	set, err := dataset.LoadLimit(d.path, d.labels, d.split, d.limit)
	if err != nil {
		return nil, usagef("%s: %v", d.flag, oneLineErr(err))
	}
	if len(set.X.Shape) > 0 && set.X.Shape[0] < 1 {
		return nil, usagef("%s %s holds no samples", d.flag, d.path)
	}
	x, _, err := toNCHW(set.X, input, warn, d.flag+" "+d.path)
	if err != nil {
		return nil, usagef("%s %s: %v", d.flag, d.path, err)
	}
	set.X = x
	switch {
	case d.preprocess:
		// LoadLimit's data is ours (a fresh read), so apply in place.
		d.pre.Apply(set.X.Data, x.Shape[1], x.Shape[2]*x.Shape[3])
	case set.RawPixels && d.pre != nil && !d.pre.Identity() && warn != nil:
		fmt.Fprintf(warn, "addergen: warning: %s %s holds raw pixels (0..255) but --preprocess is not set: model %s expects its preprocessing (scale %v, mean %v, std %v)\n",
			d.flag, d.path, d.model, d.pre.Scale, d.pre.Mean, d.pre.Std)
	}
	if d.raw && !set.RawPixels && warn != nil {
		if lo, hi, ok := rawPixelRange(set.X.Data); !ok {
			fmt.Fprintf(warn, "addergen: warning: %s %s holds values in [%.4g, %.4g], not raw pixels (integers 0..255), but model %s reads raw pixels (its preprocessing is folded into the first conv; see --raw-input): give raw pixels, or quantize with --raw-input=false\n",
				d.flag, d.path, lo, hi, d.model)
		}
	}
	return set, nil
}

// rawPixelRange returns the least and greatest of x and whether every
// value is an integer in 0..255 (a raw 8-bit pixel).
func rawPixelRange(x []float64) (lo, hi float64, ok bool) {
	if len(x) == 0 {
		return 0, 0, true
	}
	lo, hi, ok = x[0], x[0], true
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
		if !(v >= 0 && v <= 255 && v == math.Trunc(v)) {
			ok = false
		}
	}
	return lo, hi, ok
}

func (o *quantizeOpts) run(stdout, stderr io.Writer) error {
	cfg, err := o.config()
	if err != nil {
		return err
	}
	if !strings.HasSuffix(strings.ToLower(o.out), ".json") {
		return usagef("--out %s: the quantized model is a .json file", o.out)
	}
	net, err := loadFloatNet(o.model, o.weights, o.weightsKey)
	if err != nil {
		return err
	}
	if net, err = rawInputNet(net, o.rawInput, o.flags.Changed("raw-input"), rawPixelData(o.preprocess, o.calib), stderr); err != nil {
		return err
	}
	set, err := dataArg{flag: "--calib", path: o.calib, split: o.calibSplit, limit: o.calibLimit,
		preprocess: o.preprocess, pre: net.Spec.Preprocess, model: o.model, raw: net.Folded != nil}.load(net.Input, stderr)
	if err != nil {
		return err
	}
	if o.g.verbose {
		fmt.Fprintf(stderr, "quantize: calibrating on %d samples of %s\n", set.X.Shape[0], o.calib)
	}
	ropt := refine.Options{BiasImages: o.biasImages, Labels: set.Labels}
	if o.flags.Changed("auto-bits") {
		ropt.AutoBits = &o.autoBits
		if o.g.verbose {
			ropt.Log = func(format string, args ...any) { fmt.Fprintf(stderr, "quantize: "+format+"\n", args...) }
		}
	}
	q, rr, err := flow.Quantize(net, set.X, flow.QuantizeOptions{Config: cfg, EdgeBits: o.edgeBits, Source: filepath.Base(o.calib), Refine: ropt})
	if errors.Is(err, flow.ErrRawInputBits) {
		flag, val := "--bits", o.bits
		if strings.Contains(o.perLayerBits, quant.InputName+"=") {
			flag, val = "--per-layer-bits", o.perLayerBits
		}
		return usagef("%s %s: %s; drop input= or quantize the normalised input with --raw-input=false", flag, val, strings.TrimPrefix(err.Error(), flow.ErrRawInputBits.Error()+": "))
	}
	if err != nil {
		// The config was validated; what remains are layer names in
		// --bits, nets the IR cannot express and simulator errors.
		return usageError{oneLineErr(err)}
	}
	flow.WriteWarnings(stderr, q.Calibration.Warnings)
	if rr.Bias != nil && o.g.verbose {
		fmt.Fprintf(stderr, "quantize: bias correction on %d images, %d adder layers, %d simulator runs, largest shift %.4g\n", rr.Bias.Images, rr.Bias.Layers, rr.Bias.Runs, rr.Bias.MaxShift)
	}
	if a := rr.Auto; a != nil {
		last := a.Steps[len(a.Steps)-1]
		if !a.Met {
			fmt.Fprintf(stderr, "warning: --auto-bits %v: every adder layer is at %d bits and top-1 on the calibration images is still %.2f%%, %.2f points below float\n", a.Budget, a.MaxBits, last.Top1, a.FloatTop1-last.Top1)
		} else if !o.g.quiet && !o.json {
			fmt.Fprintf(stdout, "auto-bits: %d step(s); top-1 on %d calibration images %.2f%% (float %.2f%%, budget %v points)\n", len(a.Steps), a.Images, last.Top1, a.FloatTop1, a.Budget)
		}
	}
	b, err := q.MarshalFile()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(o.out, b); err != nil {
		return usagef("--out %s: %v", o.out, err)
	}
	paths := []string{o.out}
	rep := flow.NewQuantizeReport(q, o.model, o.weights, o.out, rr)
	if o.json {
		return json.NewEncoder(stdout).Encode(rep)
	}
	if o.g.quiet {
		return nil
	}
	mult := "multipliers"
	if cfg.NoMultipliers {
		mult = "shift-add rescales (no multipliers)"
	}
	fmt.Fprintf(stdout, "%s: %d layers, %d-bit operands, %d-bit output, %s calibration on %d samples, %s rounding, %s\n",
		q.Name, len(q.Layers), cfg.Bits, cfg.OutputBits, cfg.Calibration, set.X.Shape[0], cfg.Rounding, mult)
	in := q.Input.Act
	fmt.Fprintf(stdout, "  %-24s %-12s %-22s\n", "input", "", actString(in))
	for _, br := range rep.Layers {
		extra := ""
		if br.AccWidth > 0 {
			extra = fmt.Sprintf("acc %d bits", br.AccWidth)
		}
		if br.Shift != nil {
			extra += fmt.Sprintf(", shift %d", *br.Shift)
		}
		if br.MaxWeightConst > 0 {
			extra += fmt.Sprintf(", clamp const ≤ %d", br.MaxWeightConst)
		}
		fmt.Fprintf(stdout, "  %-24s %-12s %-22s %s\n", br.Name, br.Op, actString(br.Out), strings.TrimPrefix(extra, ", "))
	}
	for _, p := range paths {
		fmt.Fprintf(stdout, "wrote %s\n", p)
	}
	return nil
}

func actString(a quant.Act) string {
	s := "u"
	if a.Signed {
		s = "s"
	}
	if e, ok := a.Exp(); ok {
		return fmt.Sprintf("%s%d × 2^%d", s, a.Bits, e)
	}
	return fmt.Sprintf("%s%d × %.4g", s, a.Bits, a.Scale)
}

// rawPixelData reports whether a data argument holds raw pixels: with
// --preprocess (the user says so), or CIFAR-10 binary data (raw 0..255 by
// format, dataset.IsCIFARPath).
func rawPixelData(preprocess bool, path string) bool {
	return preprocess || dataset.IsCIFARPath(path)
}

// rawInputNet folds the preprocessing into net (flow.RawInput) when raw is
// set and the data are raw pixels (rawPixels: --preprocess was given, or
// the data are CIFAR-10 records, raw by format; see rawPixelData). Other
// data (.npy, MNIST IDX) without --preprocess hold network-ready values
// (the models-and-data contract: values scaled as the model expects), so
// the net keeps its normalised input; --raw-input asked for explicitly
// then is an error. A net whose first layer cannot absorb the
// preprocessing keeps its normalised input, with a warning, unless
// --raw-input was asked for explicitly (then it is an error).
func rawInputNet(net *model.Net, raw, explicit, rawPixels bool, warn io.Writer) (*model.Net, error) {
	if !rawPixels && raw && net.Spec.Preprocess.Normalizes() {
		if explicit {
			return nil, usagef("--raw-input folds the preprocessing, so it needs raw pixels: give raw-pixel data with --preprocess (without it the data are the model's normalised input), or drop --raw-input")
		}
		return net, nil
	}
	f, err := flow.RawInput(net, raw)
	switch {
	case err == nil:
		return f, nil
	case errors.Is(err, model.ErrNotFoldable) && !explicit:
		fmt.Fprintf(warn, "addergen: warning: --raw-input: %s; the input stays normalised\n", oneLineErr(err))
		return net, nil
	}
	return nil, usagef("--raw-input: %v (use --raw-input=false)", oneLineErr(err))
}
