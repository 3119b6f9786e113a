package sim

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/exactsum"
	"github.com/addergen/addergen/internal/report"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
)

// Comparison is the float reference against the bit-exact simulator of
// its quantized model on one data set. Every float figure is a
// report.Num: a value that cannot be computed (an SQNR of ±Inf, a rate
// over no measurable time) is written to JSON as null, and the layer's
// note field says why.
type Comparison struct {
	Samples int `json:"samples"`
	// Labeled tells whether top-1 accuracies were computed.
	Labeled bool `json:"labeled"`
	// FloatTop1 and SimTop1 are accuracies in percent (0 without labels);
	// Agreement is the percentage of samples whose predicted class is the
	// same.
	FloatTop1 report.Num `json:"float_top1"`
	SimTop1   report.Num `json:"sim_top1"`
	Agreement report.Num `json:"agreement"`
	// Throughput of each, in images per second, measured on this run
	// (null when the time was too short to measure).
	FloatImagesPerSec report.Num `json:"float_images_per_sec"`
	SimImagesPerSec   report.Num `json:"sim_images_per_sec"`
	// InputSaturated counts input values clipped by the input encoding.
	InputSaturated int64             `json:"input_saturated"`
	Layers         []LayerComparison `json:"layers"`
	// State holds what MergeComparisons needs beyond the report; it is
	// nil (and absent from JSON) unless WithState set it.
	State *CompareState `json:"state,omitempty"`

	fCorrect, sCorrect, agree int
	floatSec, simSec          float64
}

// CompareState is the part of a Comparison of a slice of the data that
// the report does not show but merging needs: the counts behind the
// percentages, the measured times, and per layer the exact sums behind
// SQNR and RMS error. Comparisons of the slices of a data set, merged,
// give the Comparison of the whole data set bit for bit (except the
// measured throughputs).
type CompareState struct {
	FloatCorrect int     `json:"float_correct"`
	SimCorrect   int     `json:"sim_correct"`
	Agree        int     `json:"agree"`
	FloatSeconds float64 `json:"float_seconds"`
	SimSeconds   float64 `json:"sim_seconds"`
	// Layers are in the order of Comparison.Layers.
	Layers []LayerState `json:"layers"`
}

// LayerState is one layer's part of a CompareState.
type LayerState struct {
	// SumF2 and SumE2 are Σ f² and Σ (f − q)² over the finite float
	// outputs, exactly (see exactsum).
	SumF2 exactsum.State `json:"sum_f2"`
	SumE2 exactsum.State `json:"sum_e2"`
	// MaxErr, FloatMin and FloatMax are over the finite float outputs
	// (null when there are none).
	MaxErr   report.Num `json:"max_err"`
	FloatMin report.Num `json:"float_min"`
	FloatMax report.Num `json:"float_max"`
	// NonFinite counts float outputs that are NaN or ±Inf; StatOutputs is
	// the simulator's LayerStats.Outputs (the outputs that can saturate).
	NonFinite   int64 `json:"non_finite"`
	StatOutputs int64 `json:"stat_outputs"`
	// ViewClipped and ViewInputs are the simulator's counts behind the
	// groups' clip rates (LayerStats).
	ViewClipped []int64 `json:"view_clipped,omitempty"`
	ViewInputs  int64   `json:"view_inputs,omitempty"`
}

// LayerComparison compares one integer layer's dequantized output with
// the float output of the layer it stands for (its last fused layer).
type LayerComparison struct {
	Name string   `json:"name"`
	Op   quant.Op `json:"op"`
	Ref  string   `json:"ref"`
	// Out is the output code format.
	Bits   int     `json:"bits"`
	Signed bool    `json:"signed"`
	Scale  float64 `json:"scale"`
	// SQNR is 10·log10(Σ f² / Σ (f − q)²) in dB, f the float output and
	// q the dequantized simulator output. It is +Inf when the outputs
	// are equal (no error) and −Inf when the float output is all zero but
	// the quantized one is not; JSON writes either as null, and SQNRNote
	// (empty when SQNR is finite) names the layer and says which.
	SQNR      report.Num `json:"sqnr_db"`
	SQNRNote  string     `json:"sqnr_note,omitempty"`
	MaxAbsErr report.Num `json:"max_abs_err"`
	RMSErr    report.Num `json:"rms_err"`
	// Outputs, SatHigh, SatLow and ReLUZero are the simulator's counts
	// (see LayerStats); SatRate = (SatHigh+SatLow)/Outputs.
	Outputs  int64      `json:"outputs"`
	SatHigh  int64      `json:"saturated_high"`
	SatLow   int64      `json:"saturated_low"`
	ReLUZero int64      `json:"relu_zero"`
	SatRate  report.Num `json:"saturation_rate"`
	// FloatMin and FloatMax are the float outputs' range on the data;
	// RepMin and RepMax the range the codes can represent.
	FloatMin report.Num `json:"float_min"`
	FloatMax report.Num `json:"float_max"`
	RepMin   report.Num `json:"representable_min"`
	RepMax   report.Num `json:"representable_max"`
	// Weight ranges (layers with weights): the float weights, the range
	// the weight codes represent, and (adder) how many weights lie outside
	// it and are carried exactly by the per-channel constant.
	WeightMin      *report.Num `json:"weight_min,omitempty"`
	WeightMax      *report.Num `json:"weight_max,omitempty"`
	WeightRepMin   *report.Num `json:"weight_representable_min,omitempty"`
	WeightRepMax   *report.Num `json:"weight_representable_max,omitempty"`
	WeightsClamped int         `json:"weights_clamped,omitempty"`
	// AccWidth is the declared accumulator width (0 if none).
	AccWidth int `json:"acc_width,omitempty"`
	// Groups (adder layers with group-wise scales) describes each group
	// of output channels and how often its view of the input saturated.
	Groups []GroupComparison `json:"groups,omitempty"`

	sumF2, sumE2       exactsum.Sum
	maxErr, fmin, fmax float64
	viewClipped        []int64 // LayerStats.ViewClipped
	viewInputs         int64
	nonFinite          int64 // float outputs that are NaN or ±Inf
	statOutputs        int64 // LayerStats.Outputs
}

// GroupComparison is one group of an adder layer with group-wise shared
// scales (quant.Layer.GroupShift).
type GroupComparison struct {
	// Shift is the group's view shift; Scale and Bits its operand format
	// (the input scale·2^Shift, quant.Layer.Operand).
	Shift    int     `json:"shift"`
	Scale    float64 `json:"scale"`
	Bits     int     `json:"bits"`
	Channels int     `json:"channels"`
	// Clipped counts the input values the group's view saturated, out of
	// Inputs; ClipRate = Clipped/Inputs.
	Clipped  int64      `json:"clipped"`
	Inputs   int64      `json:"inputs"`
	ClipRate report.Num `json:"clip_rate"`
}

// sqnr returns the layer's SQNR in dB from Σ f² and Σ (f − q)², and, when
// it is not finite, a note that names the layer and the reason.
func sqnr(layer string, sumF2, sumE2 float64, nonFinite int64) (report.Num, string) {
	switch {
	case nonFinite > 0:
		return report.Unmeasured(), fmt.Sprintf("layer %s: %d float outputs are not finite", layer, nonFinite)
	case sumE2 == 0:
		return report.Num(math.Inf(1)), fmt.Sprintf("layer %s: no error, the quantized output equals the float output", layer)
	case sumF2 == 0:
		return report.Num(math.Inf(-1)), fmt.Sprintf("layer %s: float output is all zero, the quantized output is not", layer)
	}
	s := report.Num(10 * math.Log10(sumF2/sumE2))
	if !s.Finite() {
		return s, fmt.Sprintf("layer %s: signal or error power out of float64 range (%g / %g)", layer, sumF2, sumE2)
	}
	return s, ""
}

// compareBatch is the number of images compared at once.
const compareBatch = 128

// Compare runs the float net and the simulator of q on x ([N, C, H, W],
// values as the float net expects) and compares them at every layer;
// labels (nil if unknown) give top-1 accuracies. q must have been made
// from net (its layers' reference names must exist in net).
func Compare(net *model.Net, q *quant.Model, x dataset.Tensor, labels []int) (*Comparison, error) {
	n, err := Prepare(q)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(net.Input, q.Input.Shape) {
		return nil, fmt.Errorf("sim: float net input %v, quantized model input %v", net.Input, q.Input.Shape)
	}
	if len(x.Shape) != 4 || !slices.Equal(x.Shape[1:], net.Input) || x.Shape[0] < 1 {
		return nil, fmt.Errorf("sim: data shape %v, want [N %d %d %d]", x.Shape, net.Input[0], net.Input[1], net.Input[2])
	}
	N := x.Shape[0]
	if labels != nil && len(labels) != N {
		return nil, fmt.Errorf("sim: %d labels for %d samples", len(labels), N)
	}
	refs := make([]int, len(q.Layers))
	c := &Comparison{Samples: N, Labeled: labels != nil}
	for i, l := range q.Layers {
		refs[i] = net.Index(l.Ref())
		if refs[i] < 0 {
			return nil, fmt.Errorf("sim: quantized layer %q stands for float layer %q, which the float net %s lacks", l.Name, l.Ref(), net.Spec.Name)
		}
		if !slices.Equal(net.Layers[refs[i]].OutShape, l.OutShape) {
			return nil, fmt.Errorf("sim: quantized layer %q has shape %v, float layer %q %v", l.Name, l.OutShape, l.Ref(), net.Layers[refs[i]].OutShape)
		}
		lc := LayerComparison{
			Name: l.Name, Op: l.Op, Ref: l.Ref(), Bits: l.Out.Bits, Signed: l.Out.Signed, Scale: l.Out.Scale,
			RepMin: report.Num(l.Out.Decode(l.Out.Min())), RepMax: report.Num(l.Out.Decode(l.Out.Max())),
			fmin: math.Inf(1), fmax: math.Inf(-1),
		}
		if l.Ranges.Acc != nil {
			lc.AccWidth = l.Ranges.Acc.Width
		}
		if l.Op == quant.OpAdder2d && l.Grouped() {
			in := q.InAct(l, 0)
			for _, g := range l.GroupShifts() {
				gc := GroupComparison{Shift: g}
				for o := range l.Channels() {
					if l.Shift(o) == g {
						op := l.Operand(in, o)
						gc.Scale, gc.Bits = op.Scale, op.Bits
						gc.Channels++
					}
				}
				lc.Groups = append(lc.Groups, gc)
			}
		}
		if fl := net.Layer(l.Name); fl != nil && l.Weight != nil {
			wmin, wmax := report.Num(slices.Min(fl.W.Value.Data)), report.Num(slices.Max(fl.W.Value.Data))
			lc.WeightMin, lc.WeightMax = &wmin, &wmax
			var rmin, rmax float64
			if l.Op == quant.OpAdder2d {
				in := q.InAct(l, 0)
				rmin, rmax = math.Inf(1), math.Inf(-1)
				R := len(fl.W.Value.Data) / l.Channels()
				for i, w := range fl.W.Value.Data {
					op := l.Operand(in, i/R)
					rmin, rmax = min(rmin, op.Decode(op.Min())), max(rmax, op.Decode(op.Max()))
					if _, clamped, _ := op.Encode(w); clamped {
						lc.WeightsClamped++
					}
				}
			} else {
				lim := float64(int64(1)<<(l.WeightBits-1) - 1)
				for _, s := range l.WeightScale {
					rmax = max(rmax, lim*s)
				}
				rmin = -rmax
			}
			lo, hi := report.Num(rmin), report.Num(rmax)
			lc.WeightRepMin, lc.WeightRepMax = &lo, &hi
		}
		c.Layers = append(c.Layers, lc)
	}
	stats := make([]LayerStats, len(q.Layers))
	per := numel(net.Input)
	classes := numel(q.Output().OutShape)
	var floatTime, simTime time.Duration
	fCorrect, sCorrect, agree := 0, 0, 0
	for b := 0; b < N; b += compareBatch {
		m := min(compareBatch, N-b)
		batch := dataset.Tensor{Shape: append([]int{m}, net.Input...), Data: x.Data[b*per : (b+m)*per]}
		t0 := time.Now()
		fo, err := net.ForwardAll(batch)
		if err != nil {
			return nil, err
		}
		floatTime += time.Since(t0)
		codes, sat, err := q.EncodeInput(batch)
		if err != nil {
			return nil, err
		}
		c.InputSaturated += int64(sat)
		t0 = time.Now()
		res, err := n.Run(Codes{Shape: batch.Shape, Data: codes}, NetOptions{KeepAll: true})
		if err != nil {
			return nil, err
		}
		simTime += time.Since(t0)
		for i, l := range q.Layers {
			stats[i].merge(&res.Stats[i])
			lc := &c.Layers[i]
			f := fo[refs[i]].Data
			codes := res.Layers[i].Data
			per := len(codes) / m
			// Σ f² and Σ e² in order within each image, the images' sums
			// added exactly: the same bits for any split of the images.
			for k := range m {
				var sf2, se2 float64
				for j := k * per; j < (k+1)*per; j++ {
					if math.IsNaN(f[j]) || math.IsInf(f[j], 0) {
						lc.nonFinite++
						continue
					}
					v := l.Out.Decode(int64(codes[j]))
					e := math.Abs(f[j] - v)
					sf2 += f[j] * f[j]
					se2 += e * e
					lc.maxErr = max(lc.maxErr, e)
					lc.fmin, lc.fmax = min(lc.fmin, f[j]), max(lc.fmax, f[j])
				}
				lc.sumF2.Add(sf2)
				lc.sumE2.Add(se2)
			}
		}
		fl, sl := fo[len(fo)-1].Data, res.Output.Data
		for i := range m {
			fp := argmaxF(fl[i*classes : (i+1)*classes])
			sp := argmaxI(sl[i*classes : (i+1)*classes])
			if fp == sp {
				agree++
			}
			if labels != nil {
				if fp == labels[b+i] {
					fCorrect++
				}
				if sp == labels[b+i] {
					sCorrect++
				}
			}
		}
	}
	c.fCorrect, c.sCorrect, c.agree = fCorrect, sCorrect, agree
	c.floatSec, c.simSec = floatTime.Seconds(), simTime.Seconds()
	for i := range c.Layers {
		lc, st := &c.Layers[i], &stats[i]
		lc.Outputs = int64(N) * int64(numel(q.Layers[i].OutShape))
		lc.SatHigh, lc.SatLow, lc.ReLUZero = st.SatHigh, st.SatLow, st.ReLUZero
		lc.statOutputs = st.Outputs
		lc.viewClipped, lc.viewInputs = st.ViewClipped, st.ViewInputs
	}
	c.finish()
	return c, nil
}

// finish computes the report's figures from the counts and sums.
func (c *Comparison) finish() {
	N := c.Samples
	pct := func(k int) report.Num { return report.Ratio(100*float64(k), float64(N)) }
	c.Agreement = pct(c.agree)
	c.FloatTop1, c.SimTop1 = 0, 0
	if c.Labeled {
		c.FloatTop1, c.SimTop1 = pct(c.fCorrect), pct(c.sCorrect)
	}
	c.FloatImagesPerSec = report.Ratio(float64(N), c.floatSec)
	c.SimImagesPerSec = report.Ratio(float64(N), c.simSec)
	for i := range c.Layers {
		lc := &c.Layers[i]
		lc.SatRate = 0
		if lc.statOutputs > 0 { // layers that cannot saturate (flatten) count none: rate 0
			lc.SatRate = report.Ratio(float64(lc.SatHigh+lc.SatLow), float64(lc.statOutputs))
		}
		finite := lc.Outputs - lc.nonFinite
		lc.RMSErr = report.Unmeasured()
		lc.MaxAbsErr, lc.FloatMin, lc.FloatMax = lc.RMSErr, lc.RMSErr, lc.RMSErr
		sumF2, sumE2 := lc.sumF2.Value(), lc.sumE2.Value()
		if finite > 0 {
			lc.RMSErr = report.Num(math.Sqrt(sumE2 / float64(finite)))
			lc.MaxAbsErr, lc.FloatMin, lc.FloatMax = report.Num(lc.maxErr), report.Num(lc.fmin), report.Num(lc.fmax)
		}
		lc.SQNR, lc.SQNRNote = sqnr(lc.Name, sumF2, sumE2, lc.nonFinite)
		for k := range lc.Groups {
			g := &lc.Groups[k]
			g.Clipped, g.Inputs = 0, lc.viewInputs
			if k < len(lc.viewClipped) {
				g.Clipped = lc.viewClipped[k]
			}
			g.ClipRate = report.Ratio(float64(g.Clipped), float64(g.Inputs))
		}
	}
}

// WithState sets c.State (so that c's JSON can be merged with
// MergeComparisons) and returns c.
func (c *Comparison) WithState() *Comparison {
	st := &CompareState{FloatCorrect: c.fCorrect, SimCorrect: c.sCorrect, Agree: c.agree,
		FloatSeconds: c.floatSec, SimSeconds: c.simSec}
	for i := range c.Layers {
		lc := &c.Layers[i]
		ls := LayerState{SumF2: lc.sumF2.State(), SumE2: lc.sumE2.State(), NonFinite: lc.nonFinite, StatOutputs: lc.statOutputs,
			ViewClipped: slices.Clone(lc.viewClipped), ViewInputs: lc.viewInputs,
			MaxErr: report.Unmeasured(), FloatMin: report.Unmeasured(), FloatMax: report.Unmeasured()}
		if lc.Outputs-lc.nonFinite > 0 {
			ls.MaxErr, ls.FloatMin, ls.FloatMax = report.Num(lc.maxErr), report.Num(lc.fmin), report.Num(lc.fmax)
		}
		st.Layers = append(st.Layers, ls)
	}
	c.State = st
	return c
}

// MergeComparisons merges the comparisons of consecutive slices of one
// data set (each with its State, in the data's order, for example decoded
// from the JSON of sharded runs) into the comparison of the whole data
// set: every figure is the one Compare gives on the whole set, bit for
// bit, except FloatImagesPerSec and SimImagesPerSec, which are the images
// over the slices' summed times. The result has no State. It fails when
// a part has no State or the parts compare different layers.
func MergeComparisons(parts []*Comparison) (*Comparison, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("sim: no comparisons to merge")
	}
	first := parts[0]
	out := &Comparison{Labeled: first.Labeled}
	for k, p := range parts {
		if p.State == nil {
			return nil, fmt.Errorf("sim: comparison %d of %d has no state to merge", k+1, len(parts))
		}
		if len(p.State.Layers) != len(p.Layers) || len(p.Layers) != len(first.Layers) {
			return nil, fmt.Errorf("sim: comparison %d of %d has %d layers (%d states), the first %d", k+1, len(parts), len(p.Layers), len(p.State.Layers), len(first.Layers))
		}
		if p.Labeled != first.Labeled {
			return nil, fmt.Errorf("sim: comparison %d of %d is labeled=%v, the first labeled=%v", k+1, len(parts), p.Labeled, first.Labeled)
		}
		out.Samples += p.Samples
		out.InputSaturated += p.InputSaturated
		out.fCorrect += p.State.FloatCorrect
		out.sCorrect += p.State.SimCorrect
		out.agree += p.State.Agree
		out.floatSec += p.State.FloatSeconds
		out.simSec += p.State.SimSeconds
	}
	for i := range first.Layers {
		lc := first.Layers[i] // the layer's description, as every part has it
		lc.sumF2, lc.sumE2 = exactsum.Sum{}, exactsum.Sum{}
		lc.maxErr, lc.fmin, lc.fmax = 0, math.Inf(1), math.Inf(-1)
		lc.Outputs, lc.SatHigh, lc.SatLow, lc.ReLUZero, lc.nonFinite, lc.statOutputs = 0, 0, 0, 0, 0, 0
		lc.Groups = slices.Clone(lc.Groups)
		lc.viewClipped, lc.viewInputs = make([]int64, len(lc.Groups)), 0
		for k, p := range parts {
			pl, ps := &p.Layers[i], &p.State.Layers[i]
			if pl.Name != lc.Name || pl.Op != lc.Op || pl.Bits != lc.Bits || pl.Signed != lc.Signed || pl.Scale != lc.Scale {
				return nil, fmt.Errorf("sim: comparison %d of %d: layer %d is %s (%s, %d bits, scale %g), the first's %s (%s, %d bits, scale %g)",
					k+1, len(parts), i, pl.Name, pl.Op, pl.Bits, pl.Scale, lc.Name, lc.Op, lc.Bits, lc.Scale)
			}
			f2, err := exactsum.FromState(ps.SumF2)
			if err != nil {
				return nil, fmt.Errorf("sim: comparison %d of %d, layer %s: %v", k+1, len(parts), lc.Name, err)
			}
			e2, err := exactsum.FromState(ps.SumE2)
			if err != nil {
				return nil, fmt.Errorf("sim: comparison %d of %d, layer %s: %v", k+1, len(parts), lc.Name, err)
			}
			lc.sumF2.AddSum(&f2)
			lc.sumE2.AddSum(&e2)
			if pl.Outputs-ps.NonFinite > 0 {
				if !ps.MaxErr.Finite() || !ps.FloatMin.Finite() || !ps.FloatMax.Finite() {
					return nil, fmt.Errorf("sim: comparison %d of %d, layer %s: %d finite outputs but no error and range", k+1, len(parts), lc.Name, pl.Outputs-ps.NonFinite)
				}
				lc.maxErr = max(lc.maxErr, float64(ps.MaxErr))
				lc.fmin, lc.fmax = min(lc.fmin, float64(ps.FloatMin)), max(lc.fmax, float64(ps.FloatMax))
			}
			lc.Outputs += pl.Outputs
			lc.SatHigh += pl.SatHigh
			lc.SatLow += pl.SatLow
			lc.ReLUZero += pl.ReLUZero
			lc.nonFinite += ps.NonFinite
			lc.statOutputs += ps.StatOutputs
			if len(ps.ViewClipped) > len(lc.Groups) {
				return nil, fmt.Errorf("sim: comparison %d of %d, layer %s: %d view counts for %d groups", k+1, len(parts), lc.Name, len(ps.ViewClipped), len(lc.Groups))
			}
			for g, v := range ps.ViewClipped {
				lc.viewClipped[g] += v
			}
			lc.viewInputs += ps.ViewInputs
		}
		out.Layers = append(out.Layers, lc)
	}
	out.finish()
	return out, nil
}

// argmaxF returns the index of the first largest value.
func argmaxF(row []float64) int {
	b := 0
	for j := range row {
		if row[j] > row[b] {
			b = j
		}
	}
	return b
}

// argmaxI returns the index of the first largest code. Equal codes are the
// same dequantized value, so this is the argmax of the dequantized logits.
func argmaxI(row []int32) int {
	b := 0
	for j := range row {
		if row[j] > row[b] {
			b = j
		}
	}
	return b
}
