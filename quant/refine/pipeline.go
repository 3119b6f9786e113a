package refine

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/sim"
)

// Sequential, as quant.Config.BiasPasses given to [Quantize], means one
// simulator run per adder layer of the net: exactly sequential bias
// correction ([BiasCorrect] with runs = the number of adder layers). It is
// the default of `addergen quantize`.
const Sequential = -1

// DefaultBiasImages is the number of calibration images [BiasCorrect] runs
// through the simulator by default.
const DefaultBiasImages = 64

// Options are the parts of the quantization pipeline that need the
// simulator (so live outside package quant).
type Options struct {
	// BiasImages is the number of calibration images the simulator runs
	// for bias correction (Config.BiasPasses != 0); <= 0 means
	// DefaultBiasImages.
	BiasImages int
	// AutoBits, when non-nil, is the accuracy budget in percentage points
	// of the automatic per-layer bit allocation ([AutoBits]); nil: off.
	AutoBits *float64
	// Labels are the calibration labels (len N) for AutoBits; nil: the
	// float net's own predictions serve as labels (the budget is then on
	// top-1 agreement with float).
	Labels []int
	// Log, when non-nil, receives one line per step of the search.
	Log func(format string, args ...any)
}

// Report says what [Quantize] did beyond quant.Quantize.
type Report struct {
	// Bias is the last bias correction's report (nil without one).
	Bias *BiasReport
	// Auto is the bit allocation's report (nil without AutoBits).
	Auto *AutoReport
}

// Quantize is the whole post-training pipeline of `addergen quantize`:
// quant.Quantize with cfg, then, when cfg.BiasCorrection and
// cfg.BiasPasses != 0, [BiasCorrect] on the first opt.BiasImages
// calibration images in cfg.BiasPasses simulator runs ([Sequential]: one
// per adder layer; the file records the runs made), then, with
// opt.AutoBits, the bit allocation of [AutoBits] (which repeats the first
// two steps for every width it tries). calib is [N, C, H, W] as the float
// net expects it (preprocessed).
//
// Errors: those of quant.Quantize (config, layer names, nets the IR cannot
// express), of the simulator, or labels whose length is not N.
func Quantize(net *model.Net, calib dataset.Tensor, cfg quant.Config, source string, opt Options) (*quant.Model, *Report, error) {
	if opt.AutoBits != nil {
		return AutoBits(net, calib, cfg, source, opt)
	}
	q, br, err := quantizeOnce(net, calib, cfg, source, opt)
	if err != nil {
		return nil, nil, err
	}
	return q, &Report{Bias: br}, nil
}

// adderCount is the number of adder2d layers of net.
func adderCount(net *model.Net) int {
	n := 0
	for _, l := range net.Layers {
		if l.Op == model.OpAdder2d {
			n++
		}
	}
	return n
}

func quantizeOnce(net *model.Net, calib dataset.Tensor, cfg quant.Config, source string, opt Options) (*quant.Model, *BiasReport, error) {
	runs := cfg.BiasPasses
	if runs == Sequential {
		runs = max(1, adderCount(net))
		if !cfg.BiasCorrection {
			runs = 0
		}
		cfg.BiasPasses = runs
	}
	q, err := quant.Quantize(net, calib, cfg, source)
	if err != nil {
		return nil, nil, err
	}
	if runs == 0 {
		return q, nil, nil
	}
	imgs := opt.BiasImages
	if imgs <= 0 {
		imgs = DefaultBiasImages
	}
	rep, err := BiasCorrect(net, q, calib, imgs, runs)
	if err != nil {
		return nil, nil, err
	}
	q.Config.BiasPasses = rep.Runs
	return q, rep, nil
}

// AutoStep is one model tried by [AutoBits].
type AutoStep struct {
	// Bits are the adder layers' widths (by layer name).
	Bits map[string]int `json:"bits"`
	// Top1 is the simulator's top-1 on the calibration images, in percent.
	Top1 float64 `json:"top1"`
	// Widened names the adder layers widened by one bit to make the next
	// step (empty for the last).
	Widened []string `json:"widened,omitempty"`
}

// AutoReport says what [AutoBits] chose.
type AutoReport struct {
	// Budget is the allowed loss in points; FloatTop1 the float net's
	// top-1 on the same images (100 without labels: agreement).
	Budget    float64 `json:"budget"`
	FloatTop1 float64 `json:"float_top1"`
	// Images is the number of calibration images evaluated.
	Images int `json:"images"`
	// Met tells whether the last step is within the budget (false when
	// every adder layer reached MaxBits and the loss is still larger).
	Met bool `json:"met"`
	// MaxBits is the widest width the search gives an adder layer.
	MaxBits int        `json:"max_bits"`
	Steps   []AutoStep `json:"steps"`
}

// sensitivityImages is the number of calibration images on which the
// per-layer error is measured to choose the layer to widen.
const sensitivityImages = 32

// AutoBits is automatic per-layer bit allocation under an accuracy
// budget: the adder layers start at cfg.Bits (the narrowest width; their
// LayerBits entries, if any, are replaced) and, while the simulator's
// top-1 on the calibration images is more than *opt.AutoBits points
// below the float net's on the same images, the adder layers that read
// one activation (they must share its width) and add the most error are
// widened by one bit, up to max(cfg.Bits, quant.EdgeBits), and the
// pipeline (quant.Quantize and bias correction) is run again. Layers that
// are not adders keep their cfg widths.
//
// The error a group adds is measured once per step, on the first 32
// calibration images, with the relative error power r = Σ(q − f)²/Σf² of
// every layer's output (q the dequantized simulator value, f the float
// value; sim.Compare's SQNR): a group's width rounds the activation it
// reads, so its score is r of the layer that produces that activation
// minus the largest r of that layer's inputs (0 when the group reads the
// network input), and the group with the largest score widens (the first
// on ties). This is a greedy search: one pipeline
// run and one simulation of the calibration images per step, at most
// (groups × (max − cfg.Bits)) steps; it stops at the first step within
// the budget, so the result is the narrowest allocation along the greedy
// path, not a global optimum.
//
// Errors: a negative budget, labels of the wrong length, or those of
// [Quantize].
func AutoBits(net *model.Net, calib dataset.Tensor, cfg quant.Config, source string, opt Options) (*quant.Model, *Report, error) {
	budget := *opt.AutoBits
	if !(budget >= 0) || math.IsInf(budget, 0) {
		return nil, nil, fmt.Errorf("refine: auto-bits budget %v points: want a finite number >= 0", budget)
	}
	if len(calib.Shape) != 4 || calib.Shape[0] < 1 {
		return nil, nil, fmt.Errorf("refine: calibration data has shape %v, want [N C H W]", calib.Shape)
	}
	n := calib.Shape[0]
	if opt.Labels != nil && len(opt.Labels) != n {
		return nil, nil, fmt.Errorf("refine: %d labels for %d calibration images", len(opt.Labels), n)
	}
	logf := opt.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	fy, err := net.Forward(calib)
	if err != nil {
		return nil, nil, fmt.Errorf("refine: float forward: %w", err)
	}
	fpred := argmaxRows(fy.Data, n)
	labels := opt.Labels
	if labels == nil {
		labels = fpred
	}
	rep := &AutoReport{Budget: budget, FloatTop1: top1(fpred, labels), Images: n, MaxBits: max(cfg.Bits, quant.EdgeBits)}
	sub := calib
	if k := min(n, sensitivityImages); k < n {
		per := calib.Len() / n
		sub = dataset.Tensor{Shape: append([]int{k}, calib.Shape[1:]...), Data: calib.Data[:k*per]}
	}
	cfg.LayerBits = maps.Clone(cfg.LayerBits)
	if cfg.LayerBits == nil {
		cfg.LayerBits = map[string]int{}
	}
	var groups [][]string // adder layers that share an input, by first appearance
	var last *BiasReport
	for {
		q, br, err := quantizeOnce(net, calib, cfg, source, opt)
		if err != nil {
			return nil, nil, err
		}
		last = br
		if groups == nil {
			groups = adderGroups(q)
			for _, g := range groups {
				for _, name := range g {
					for _, f := range q.Layer(name).Fused {
						delete(cfg.LayerBits, f)
					}
					cfg.LayerBits[name] = cfg.Bits
				}
			}
			// Re-quantize only if an override was replaced.
			if !sameAdderBits(q, cfg) {
				continue
			}
		}
		y, err := sim.Infer(q, calib)
		if err != nil {
			return nil, nil, fmt.Errorf("refine: %w", err)
		}
		step := AutoStep{Bits: adderBits(q, groups), Top1: top1(argmaxRows(y.Data, n), labels)}
		loss := rep.FloatTop1 - step.Top1
		logf("auto-bits: step %d: top-1 %.2f%% (float %.2f%%, loss %.2f, budget %.2f), widths %v", len(rep.Steps)+1, step.Top1, rep.FloatTop1, loss, budget, step.Bits)
		if loss <= budget {
			rep.Met = true
			rep.Steps = append(rep.Steps, step)
			return q, &Report{Bias: last, Auto: rep}, nil
		}
		g, err := worstGroup(net, q, sub, groups, cfg.LayerBits, rep.MaxBits)
		if err != nil {
			return nil, nil, err
		}
		if g < 0 {
			rep.Steps = append(rep.Steps, step)
			return q, &Report{Bias: last, Auto: rep}, nil
		}
		step.Widened = slices.Clone(groups[g])
		rep.Steps = append(rep.Steps, step)
		for _, name := range groups[g] {
			cfg.LayerBits[name]++
		}
	}
}

// adderGroups returns q's adder layers grouped by the activation they read
// (through maxpool, flatten and unfused relu, which pass codes through):
// layers of one group must have one width.
func adderGroups(q *quant.Model) [][]string {
	src := func(i int) int { return source(q, i) }
	at := map[int]int{}
	var groups [][]string
	for _, l := range q.Layers {
		if l.Op != quant.OpAdder2d {
			continue
		}
		s := src(l.InputIndex()[0])
		k, ok := at[s]
		if !ok {
			k = len(groups)
			at[s] = k
			groups = append(groups, nil)
		}
		groups[k] = append(groups[k], l.Name)
	}
	return groups
}

// source returns the layer index whose output layer i passes on (i itself
// unless i is a maxpool, flatten or unfused relu), -1 for the network
// input.
func source(q *quant.Model, i int) int {
	for i >= 0 {
		switch q.Layers[i].Op {
		case quant.OpMaxPool2d, quant.OpFlatten, quant.OpReLU:
			i = q.Layers[i].InputIndex()[0]
			continue
		}
		break
	}
	return i
}

func adderBits(q *quant.Model, groups [][]string) map[string]int {
	b := map[string]int{}
	for _, g := range groups {
		for _, name := range g {
			b[name] = q.InAct(q.Layer(name), 0).Bits
		}
	}
	return b
}

func sameAdderBits(q *quant.Model, cfg quant.Config) bool {
	for _, l := range q.Layers {
		if l.Op == quant.OpAdder2d && q.InAct(l, 0).Bits != cfg.LayerBits[l.Name] {
			return false
		}
	}
	return true
}

// worstGroup returns the index of the group (below maxBits) whose layers
// add the most relative error power on x, or -1 when every group is at
// maxBits.
func worstGroup(net *model.Net, q *quant.Model, x dataset.Tensor, groups [][]string, bits map[string]int, maxBits int) (int, error) {
	cmp, err := sim.Compare(net, q, x, nil)
	if err != nil {
		return 0, fmt.Errorf("refine: %w", err)
	}
	ratio := map[string]float64{} // Σe²/Σf² by layer name
	for _, lc := range cmp.Layers {
		s := float64(lc.SQNR)
		switch {
		case math.IsNaN(s):
			ratio[lc.Name] = math.Inf(1)
		default:
			ratio[lc.Name] = math.Pow(10, -s/10) // +Inf SQNR: 0
		}
	}
	// inRatio is the error ratio of layer i's inputs (the largest, for an
	// add); 0 for the network input.
	inRatio := func(i int) float64 {
		r := 0.0
		for _, k := range q.Layers[i].InputIndex() {
			if k >= 0 {
				r = max(r, ratio[q.Layers[k].Name])
			}
		}
		return r
	}
	type cand struct {
		g     int
		score float64
	}
	var cands []cand
	for gi, g := range groups {
		if bits[g[0]] >= maxBits {
			continue
		}
		// The group's width rounds the activation it reads (made by the
		// producer's rescale) and its weights: the error the producer
		// adds (its output's minus its inputs') is where its width
		// shows first.
		score := 0.0
		if p := source(q, q.Layer(g[0]).InputIndex()[0]); p >= 0 {
			score = ratio[q.Layers[p].Name] - inRatio(p)
		}
		cands = append(cands, cand{gi, score})
	}
	if len(cands) == 0 {
		return -1, nil
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].score > cands[b].score })
	return cands[0].g, nil
}

func argmaxRows(data []float64, n int) []int {
	k := len(data) / n
	out := make([]int, n)
	for i := range n {
		row := data[i*k : (i+1)*k]
		out[i] = slices.Index(row, slices.Max(row))
	}
	return out
}

func top1(pred, labels []int) float64 {
	c := 0
	for i, p := range pred {
		if p == labels[i] {
			c++
		}
	}
	return 100 * float64(c) / float64(len(pred))
}
