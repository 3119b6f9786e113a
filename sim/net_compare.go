package sim

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
)

// Comparison is the float reference against the bit-exact simulator of
// its quantized model on one data set.
type Comparison struct {
	Samples int `json:"samples"`
	// Labeled tells whether top-1 accuracies were computed.
	Labeled bool `json:"labeled"`
	// FloatTop1 and SimTop1 are accuracies in percent (0 without labels);
	// Agreement is the percentage of samples whose predicted class is the
	// same.
	FloatTop1 float64 `json:"float_top1"`
	SimTop1   float64 `json:"sim_top1"`
	Agreement float64 `json:"agreement"`
	// Throughput of each, in images per second, measured on this run.
	FloatImagesPerSec float64 `json:"float_images_per_sec"`
	SimImagesPerSec   float64 `json:"sim_images_per_sec"`
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
	// SQNR is 10·log10(Σ f² / Σ (f − q)²) in dB; nil when the outputs
	// are equal (no error).
	SQNR      *float64 `json:"sqnr_db"`
	MaxAbsErr float64  `json:"max_abs_err"`
	RMSErr    float64  `json:"rms_err"`
	// Outputs, SatHigh, SatLow and ReLUZero are the simulator's counts
	// (see LayerStats); SatRate = (SatHigh+SatLow)/Outputs.
	Outputs  int64   `json:"outputs"`
	SatHigh  int64   `json:"saturated_high"`
	SatLow   int64   `json:"saturated_low"`
	ReLUZero int64   `json:"relu_zero"`
	SatRate  float64 `json:"saturation_rate"`
	// FloatMin and FloatMax are the float outputs' range on the data;
	// RepMin and RepMax the range the codes can represent.
	FloatMin float64 `json:"float_min"`
	FloatMax float64 `json:"float_max"`
	RepMin   float64 `json:"representable_min"`
	RepMax   float64 `json:"representable_max"`
	// Weight ranges (layers with weights): the float weights, the range
	// the weight codes represent, and (adder) how many weights lie outside
	// it and are carried exactly by the per-channel constant.
	WeightMin      *float64 `json:"weight_min,omitempty"`
	WeightMax      *float64 `json:"weight_max,omitempty"`
	WeightRepMin   *float64 `json:"weight_representable_min,omitempty"`
	WeightRepMax   *float64 `json:"weight_representable_max,omitempty"`
	WeightsClamped int      `json:"weights_clamped,omitempty"`
	// AccWidth is the declared accumulator width (0 if none).
	AccWidth int `json:"acc_width,omitempty"`

	sumF2, sumE2 float64
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
			FloatMin: math.Inf(1), FloatMax: math.Inf(-1),
			RepMin: l.Out.Decode(l.Out.Min()), RepMax: l.Out.Decode(l.Out.Max()),
		}
		if l.Ranges.Acc != nil {
			lc.AccWidth = l.Ranges.Acc.Width
		}
		if fl := net.Layer(l.Name); fl != nil && l.Weight != nil {
			wmin, wmax := slices.Min(fl.W.Value.Data), slices.Max(fl.W.Value.Data)
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
			lc.WeightRepMin, lc.WeightRepMax = &rmin, &rmax
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
				v := l.Out.Decode(int64(code))
				e := math.Abs(f[j] - v)
				lc.sumF2 += f[j] * f[j]
				lc.sumE2 += e * e
				lc.MaxAbsErr = max(lc.MaxAbsErr, e)
				lc.FloatMin, lc.FloatMax = min(lc.FloatMin, f[j]), max(lc.FloatMax, f[j])
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
	pct := func(k int) float64 { return 100 * float64(k) / float64(N) }
	c.Agreement = pct(agree)
	if labels != nil {
		c.FloatTop1, c.SimTop1 = pct(fCorrect), pct(sCorrect)
	}
	c.FloatImagesPerSec = float64(N) / floatTime.Seconds()
	c.SimImagesPerSec = float64(N) / simTime.Seconds()
	for i := range c.Layers {
		lc, st := &c.Layers[i], &stats[i]
		lc.Outputs = int64(N) * int64(numel(q.Layers[i].OutShape))
		lc.SatHigh, lc.SatLow, lc.ReLUZero = st.SatHigh, st.SatLow, st.ReLUZero
		if st.Outputs > 0 {
			lc.SatRate = float64(st.SatHigh+st.SatLow) / float64(st.Outputs)
		}
		lc.RMSErr = math.Sqrt(lc.sumE2 / float64(lc.Outputs))
		if lc.sumE2 > 0 {
			s := 10 * math.Log10(lc.sumF2/lc.sumE2)
			lc.SQNR = &s
		}
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
