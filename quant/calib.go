package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
	"gonum.org/v1/gonum/stat"
)

// reservoirSize bounds the values kept per tensor for percentile and
// search calibration.
const reservoirSize = 1 << 17

// calibBatch is the number of images run through the float net at once.
const calibBatch = 64

// calibStats summarises the values one tensor took on the calibration set.
type calibStats struct {
	min, max float64
	seen     int
	sample   []float64 // uniform reservoir sample
	rng      *rand.Rand
}

func newStats() *calibStats {
	return &calibStats{min: math.Inf(1), max: math.Inf(-1), rng: rand.New(rand.NewPCG(1, 2))}
}

func (s *calibStats) add(vals []float64) {
	for _, v := range vals {
		s.min = min(s.min, v)
		s.max = max(s.max, v)
		s.seen++
		if len(s.sample) < reservoirSize {
			s.sample = append(s.sample, v)
		} else if j := s.rng.IntN(s.seen); j < reservoirSize {
			s.sample[j] = v
		}
	}
}

// amax returns the largest magnitude seen.
func (s *calibStats) amax() float64 { return max(math.Abs(s.min), math.Abs(s.max)) }

// percentile returns the p-th percentile of the sampled magnitudes.
func (s *calibStats) percentile(p float64) float64 {
	a := make([]float64, len(s.sample))
	for i, v := range s.sample {
		a[i] = math.Abs(v)
	}
	if len(a) == 0 {
		return 0
	}
	slices.Sort(a)
	// The empirical quantile: the smallest sampled magnitude whose
	// cumulative share reaches p.
	return stat.Quantile(min(1, max(0, p/100)), stat.Empirical, a, nil)
}

// mse returns the mean squared error of quantizing the sample to codes
// [qmin, qmax] of the given scale (round half even, saturate).
func (s *calibStats) mse(scale float64, qmin, qmax float64) float64 {
	var sum float64
	for _, v := range s.sample {
		q := max(qmin, min(qmax, math.RoundToEven(v/scale)))
		d := v - q*scale
		sum += d * d
	}
	return sum / float64(max(1, len(s.sample)))
}

// calibrate runs the float net on the calibration set, gathers the values of
// every tensor that gets a scale, and chooses the scales.
func (q *quantizer) calibrate(x dataset.Tensor) error {
	refIdx := map[int]*tensor{}
	for _, t := range q.order {
		t.stats = newStats()
		if t.name != InputName {
			refIdx[q.net.Index(t.ref)] = t
		}
	}
	N := x.Shape[0]
	per := numel(x.Shape[1:])
	if q.cfg.needPatches() {
		q.initPatches()
	}
	for b := 0; b < N; b += calibBatch {
		n := min(calibBatch, N-b)
		batch := dataset.Tensor{Shape: append([]int{n}, x.Shape[1:]...), Data: x.Data[b*per : (b+n)*per]}
		q.tensors[InputName].stats.add(batch.Data)
		outs, err := q.net.ForwardAll(batch)
		if err != nil {
			return fmt.Errorf("quant: calibration forward: %w", err)
		}
		for i, t := range refIdx {
			t.stats.add(outs[i].Data)
		}
		for _, ap := range q.patches {
			in := batch
			if src := ap.layer.Inputs[0]; src != model.InputName {
				in = outs[q.net.Index(src)]
			}
			ap.sample(in, n, N)
		}
	}
	for _, t := range q.order {
		if t.name == InputName {
			t.signed = t.stats.min < 0
		} else {
			t.signed = q.outSigned(t.name)
		}
	}
	if q.cfg.lowBit() {
		q.chooseScalesLowBit()
	} else {
		for _, t := range q.order {
			t.scale = q.chooseScale(t)
		}
	}
	if f := q.net.Folded; f != nil {
		// The raw pixel p in [0, Scale] is the input: code p·255/Scale
		// (the pixel itself for Scale 255), unsigned, exact.
		in := q.tensors[InputName]
		in.signed = false
		in.scale = pixelScale(f) / (1<<RawPixelBits - 1)
	}
	return nil
}

// RawPixelBits is the width of the network input when the preprocessing
// is folded into the first layers (model.Net.FoldPreprocess): 8-bit pixels.
const RawPixelBits = 8

// pixelScale returns the largest raw pixel value of p (Scale, 0 meaning 1).
func pixelScale(p *model.Preprocess) float64 {
	if p.Scale == 0 {
		return 1
	}
	return p.Scale
}

// outSigned tells whether the codes a group outputs are signed.
func (q *quantizer) outSigned(name string) bool {
	if name == InputName {
		return q.tensors[InputName].signed
	}
	g := q.groups[q.groupIdx(name)]
	switch g.first().Op {
	case model.OpReLU:
		return false
	case model.OpMaxPool2d, model.OpFlatten:
		return q.outSigned(g.inputs[0])
	case model.OpAvgPool2d:
		return q.outSigned(g.inputs[0]) && !g.hasReLU()
	}
	return !g.hasReLU()
}

// unitFallback is the magnitude a degenerate tensor's format covers when
// no weights give one: [0, 1] unsigned, [−1, 1] signed.
const unitFallback = 1.0

// calibRange returns the magnitude a tensor's format must cover, from its
// calibration values with the configured method, or, when that range is
// degenerate (zero: the tensor is zero on every calibration sample, as
// behind a dead ReLU or an all-zero filter), from a documented fallback:
//
//   - a tensor read by adder layers shares its scale with their weights,
//     so it covers their largest weight magnitude (the weights then need no
//     clamp and are rounded at the tensor's resolution, which halves with
//     every added bit);
//   - otherwise (or when those weights are zero too) it covers
//     unitFallback.
//
// A percentile of zero on a tensor that is not all zero (a sparse tensor)
// falls back to the largest magnitude. Each fallback adds a warning that
// names the tensor and the layers reading it.
func (q *quantizer) calibRange(t *tensor) float64 {
	st := t.stats
	amax := st.amax()
	if q.cfg.Calibration == MethodPercentile {
		p := st.percentile(q.cfg.Percentile)
		if p > 0 || !(amax > 0) {
			amax = p
		} else {
			q.warnf("%s: the %v-th percentile of its magnitudes on %d calibration values is 0; its scale covers the largest magnitude, %.4g, instead",
				q.tensorDesc(t), q.cfg.Percentile, st.seen, amax)
		}
	}
	if amax > 0 && !math.IsInf(amax, 0) {
		return amax
	}
	what := "zero on every calibration sample"
	if math.IsNaN(amax) || math.IsInf(amax, 0) || math.IsNaN(st.min) {
		what = fmt.Sprintf("not finite on the calibration data (range [%v, %v])", st.min, st.max)
	}
	var wmax float64
	for _, name := range t.adderUse {
		for _, v := range q.net.Layer(name).W.Value.Data {
			if a := math.Abs(v); a > wmax && !math.IsInf(a, 0) {
				wmax = a
			}
		}
	}
	if wmax > 0 {
		q.warnf("%s is %s; its scale comes from the weights of %s (largest |w| %.4g) instead of the calibration range",
			q.tensorDesc(t), what, strings.Join(t.adderUse, ", "), wmax)
		return wmax
	}
	q.warnf("%s is %s; its scale is the fallback that covers magnitude %v",
		q.tensorDesc(t), what, unitFallback)
	return unitFallback
}

// tensorDesc names a tensor for a warning: the layer that produces it
// and the adder layers that read it.
func (q *quantizer) tensorDesc(t *tensor) string {
	s := fmt.Sprintf("the output of layer %s", t.name)
	if t.name == InputName {
		s = "the network input"
	}
	if len(t.adderUse) > 0 {
		s = fmt.Sprintf("layer %s's input (%s)", strings.Join(t.adderUse, ", "), s)
	}
	return s
}

// chooseScale picks a tensor's scale with the configured method: a power
// of two unless the tensor's scale is free (the network input feeding only
// layers with a multiplier). The range it covers comes from calibRange.
func (q *quantizer) chooseScale(t *tensor) float64 {
	qmax := math.Ldexp(1, t.bits) - 1
	qmin := 0.0
	if t.signed {
		qmax = math.Ldexp(1, t.bits-1) - 1
		qmin = -qmax - 1
	}
	st := t.stats
	amax := q.calibRange(t)
	if t.freeScl {
		s := amax / qmax
		if q.cfg.Calibration != MethodSearch {
			return s
		}
		best, bestErr := s, st.mse(s, qmin, qmax)
		for k := 1; k <= 32; k++ {
			c := s * math.Exp2(-float64(k)/8)
			if e := st.mse(c, qmin, qmax); e < bestErr {
				best, bestErr = c, e
			}
		}
		return best
	}
	// Smallest power of two with amax <= qmax·2^e.
	e := int(math.Ceil(math.Log2(amax / qmax)))
	for math.Ldexp(qmax, e) < amax {
		e++
	}
	for math.Ldexp(qmax, e-1) >= amax {
		e--
	}
	if q.cfg.Calibration != MethodSearch {
		return math.Ldexp(1, e)
	}
	best, bestErr := e, st.mse(math.Ldexp(1, e), qmin, qmax)
	for c := e - 1; c >= e-8; c-- {
		if err := st.mse(math.Ldexp(1, c), qmin, qmax); err < bestErr {
			best, bestErr = c, err
		}
	}
	return math.Ldexp(1, best)
}
