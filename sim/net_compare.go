package sim

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/addergen/addergen/dataset"
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

	sumF2, sumE2       float64
	maxErr, fmin, fmax float64
	nonFinite          int64 // float outputs that are NaN or ±Inf
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
		if fl := net.Layer(l.Name); fl != nil && l.Weight != nil {
			wmin, wmax := report.Num(slices.Min(fl.W.Value.Data)), report.Num(slices.Max(fl.W.Value.Data))
			lc.WeightMin, lc.WeightMax = &wmin, &wmax
			var rmin, rmax float64
			if l.Op == quant.OpAdder2d {
				in := q.InAct(l, 0)
				rmin, rmax = in.Decode(in.Min()), in.Decode(in.Max())
				for _, w := range fl.W.Value.Data {
					if _, clamped, _ := in.Encode(w); clamped {
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
			for j, code := range res.Layers[i].Data {
				if math.IsNaN(f[j]) || math.IsInf(f[j], 0) {
					lc.nonFinite++
					continue
				}
				v := l.Out.Decode(int64(code))
				e := math.Abs(f[j] - v)
				lc.sumF2 += f[j] * f[j]
				lc.sumE2 += e * e
				lc.maxErr = max(lc.maxErr, e)
				lc.fmin, lc.fmax = min(lc.fmin, f[j]), max(lc.fmax, f[j])
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
	pct := func(k int) report.Num { return report.Ratio(100*float64(k), float64(N)) }
	c.Agreement = pct(agree)
	if labels != nil {
		c.FloatTop1, c.SimTop1 = pct(fCorrect), pct(sCorrect)
	}
	c.FloatImagesPerSec = report.Ratio(float64(N), floatTime.Seconds())
	c.SimImagesPerSec = report.Ratio(float64(N), simTime.Seconds())
	for i := range c.Layers {
		lc, st := &c.Layers[i], &stats[i]
		lc.Outputs = int64(N) * int64(numel(q.Layers[i].OutShape))
		lc.SatHigh, lc.SatLow, lc.ReLUZero = st.SatHigh, st.SatLow, st.ReLUZero
		if st.Outputs > 0 { // layers that cannot saturate (flatten) count none: rate 0
			lc.SatRate = report.Ratio(float64(st.SatHigh+st.SatLow), float64(st.Outputs))
		}
		finite := lc.Outputs - lc.nonFinite
		lc.RMSErr = report.Unmeasured()
		lc.MaxAbsErr, lc.FloatMin, lc.FloatMax = lc.RMSErr, lc.RMSErr, lc.RMSErr
		if finite > 0 {
			lc.RMSErr = report.Num(math.Sqrt(lc.sumE2 / float64(finite)))
			lc.MaxAbsErr, lc.FloatMin, lc.FloatMax = report.Num(lc.maxErr), report.Num(lc.fmin), report.Num(lc.fmax)
		}
		lc.SQNR, lc.SQNRNote = sqnr(lc.Name, lc.sumF2, lc.sumE2, lc.nonFinite)
	}
	return c, nil
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
