package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
)

// Low-bit techniques (Config.NonPow2Scales, Config.OutputClip,
// Config.BiasCorrection). None changes the integer semantics of the IR:
// they only choose different scales and rescale constants, so the
// simulator and the RTL run the result unchanged.
//
//   - Scale classes. A residual add aligns its inputs by shifts, so the
//     tensors joined by add layers (its two inputs and its output) must
//     have scales that differ by exact powers of two. Every other scale is
//     produced by a rescale with a multiplier (or by input encoding), so it
//     is free. A class therefore shares one mantissa f in [1, 2) and each
//     member has scale f·2^e with its own e.
//   - Scale grid. Candidate scales are 2^(j/16) for integer j, built as
//     ldexp(2^(r/16), e) with r = j mod 16 (the class mantissa) so that the
//     ratio of two members of a class is an exact power of two. Without
//     NonPow2Scales only r = 0 (powers of two) is tried.
//   - Criterion. A tensor that adder layers read is judged, with
//     OutputClip, by the error of those layers' outputs (after the fused BN
//     and ReLU) on sampled calibration windows, not by its own quantization
//     error: this is the clipping choice of Banner et al. ("Post training
//     4-bit quantization of convolutional networks for rapid-deployment",
//     NeurIPS 2019), here searched rather than derived from a prior, and
//     measured through the adder's shared input/weight scale (a coarser
//     scale clips the input less but rounds the weights more). Other
//     tensors use the mean squared quantization error of their values. A
//     class picks the mantissa minimising the sum over its members of the
//     logarithm of their best error (each member's relative improvement
//     counts equally).
//   - Bias correction (Nagel et al., "Data-free quantization through
//     weight equalization and bias correction", ICCV 2019, empirical
//     variant): the mean per output channel of (quantized − float)
//     accumulator of every adder layer on the sampled windows, with the
//     input quantized at its chosen scale and the weights rounded at the
//     same scale, is subtracted through the rescale's B constant.

// gridSteps is the number of scale candidates per octave.
const gridSteps = 16

// gridMant[r] = 2^(r/gridSteps), the mantissa of scale class residue r.
var gridMant = func() [gridSteps]float64 {
	var m [gridSteps]float64
	for r := range m {
		m[r] = math.Exp2(float64(r) / gridSteps)
	}
	return m
}()

// gridScale returns the candidate scale 2^(j/gridSteps), exactly
// ldexp(gridMant[j mod gridSteps], floor(j/gridSteps)).
func gridScale(j int) float64 {
	e := floorDiv(j, gridSteps)
	return math.Ldexp(gridMant[j-e*gridSteps], e)
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// patchesPerLayer is the number of calibration windows sampled per adder
// layer for OutputClip and BiasCorrection (the error estimates' sample).
const patchesPerLayer = 384

// octavesOutput is how far below the covering scale the output-error
// search goes (octaves); octavesValue the value-MSE search (as MethodSearch).
const (
	octavesOutput = 5
	octavesValue  = 8
)

// adderPatches holds sampled input windows of one adder layer: P rows of
// R = C·K·K float inputs (zero where the window is in the padding), and
// the layer's float accumulator Σ|x − w| for each window and channel.
type adderPatches struct {
	layer *model.Layer
	R, P  int
	x     []float64 // [P, R]
	acc   []float64 // [P, O]
	// gain, kappa: the fused BN (and bias) as y = −gain·acc + kappa;
	// relu tells whether a ReLU follows.
	gain, kappa []float64
	relu        bool
	rng         *rand.Rand
}

// lowBit reports whether the low-bit scale search is on.
func (c *Config) lowBit() bool { return c.NonPow2Scales || c.OutputClip }

// needPatches reports whether calibration must sample adder windows.
func (c *Config) needPatches() bool { return c.OutputClip || c.BiasCorrection || c.GroupScales > 1 }

// initPatches prepares the window samplers of every adder layer.
func (q *quantizer) initPatches() {
	q.patches = map[string]*adderPatches{}
	for _, g := range q.groups {
		f := g.first()
		if f.Op != model.OpAdder2d {
			continue
		}
		O := f.OutC
		ap := &adderPatches{layer: f, R: f.InC * f.Kernel * f.Kernel, gain: make([]float64, O), kappa: make([]float64, O),
			relu: g.hasReLU(), rng: rand.New(rand.NewPCG(uint64(g.idx)+7, 11))}
		bn := g.find(model.OpBatchNorm2d)
		for o := range O {
			gain, mean, beta, bias := 1.0, 0.0, 0.0, 0.0
			if f.Bias {
				bias = f.B.Value.Data[o]
			}
			if bn != nil {
				gain = bn.W.Value.Data[o] / math.Sqrt(bn.Var.Value.Data[o]+bn.Eps)
				mean, beta = bn.Mean.Value.Data[o], bn.B.Value.Data[o]
			}
			ap.gain[o] = gain
			ap.kappa[o] = gain*(bias-mean) + beta
		}
		q.patches[f.Name] = ap
	}
}

// sample adds windows of a calibration batch: about patchesPerLayer·n/N of
// them (at least one), at random images and output positions, or every
// window of the batch when there are no more than that. in is the float
// input of the layer [n, C, H, W]. At most patchesPerLayer are kept.
func (ap *adderPatches) sample(in dataset.Tensor, n, N int) {
	f := ap.layer
	C, H, W := in.Shape[1], in.Shape[2], in.Shape[3]
	K, S, P := f.Kernel, f.Stride, f.Padding
	OH, OW := (H+2*P-K)/S+1, (W+2*P-K)/S+1
	k := max(1, (patchesPerLayer*n+N-1)/N)
	if ap.P+k > patchesPerLayer {
		k = patchesPerLayer - ap.P
	}
	O := f.OutC
	w := f.W.Value.Data
	all := n*OH*OW <= k // few windows: take every one, in order
	if all {
		k = n * OH * OW
	}
	for i := range k {
		img, oh, ow := ap.rng.IntN(n), ap.rng.IntN(OH), ap.rng.IntN(OW)
		if all {
			img, oh, ow = i/(OH*OW), i/OW%OH, i%OW
		}
		row := make([]float64, ap.R)
		for c := range C {
			for i := range K {
				y := oh*S - P + i
				for j := range K {
					x := ow*S - P + j
					if y >= 0 && y < H && x >= 0 && x < W {
						row[(c*K+i)*K+j] = in.Data[((img*C+c)*H+y)*W+x]
					}
				}
			}
		}
		ap.x = append(ap.x, row...)
		for o := range O {
			wo := w[o*ap.R : (o+1)*ap.R]
			var s float64
			for r, v := range row {
				s += math.Abs(v - wo[r])
			}
			ap.acc = append(ap.acc, s)
		}
		ap.P++
	}
}

// quantAcc returns the accumulators Σ|v − cw|·s_o of every window and
// channel [P, O]: the input quantized to codes of format in at scale s,
// channel o reading its view v = ViewCode(cx, gs[o], op) (op: the operand
// format, opBits wide, 0: in.Bits; gs nil: all 0) at scale s_o = s·2^gs[o],
// and its weights rounded at s_o (unclamped: the clamp constant keeps that
// exact).
func (ap *adderPatches) quantAcc(s float64, in Act, opBits int, gs []int) []float64 {
	O := ap.layer.OutC
	w := ap.layer.W.Value.Data
	lo, hi := float64(in.Min()), float64(in.Max())
	cx := make([]int32, len(ap.x))
	for i, v := range ap.x {
		cx[i] = int32(max(lo, min(hi, math.RoundToEven(v/s))))
	}
	op := in
	if opBits != 0 {
		op.Bits = opBits
	}
	views := map[int][]int32{}
	out := make([]float64, ap.P*O)
	cw := make([]int32, ap.R)
	for o := range O {
		g := groupShift(gs, o)
		xv := views[g]
		if xv == nil {
			xv = make([]int32, len(cx))
			for i, v := range cx {
				xv[i] = int32(ViewCode(int64(v), g, op))
			}
			views[g] = xv
		}
		so := math.Ldexp(s, g)
		for r, v := range w[o*ap.R : (o+1)*ap.R] {
			cw[r] = int32(max(-1<<30, min(1<<30, math.RoundToEven(v/so))))
		}
		for p := range ap.P {
			xr := xv[p*ap.R : (p+1)*ap.R]
			var sum int64
			for r, xv := range xr {
				d := xv - cw[r]
				if d < 0 {
					d = -d
				}
				sum += int64(d)
			}
			out[p*O+o] = float64(sum) * so
		}
	}
	return out
}

// meanShift returns, per output channel, the mean of (quantized − float)
// accumulator over the windows.
func (ap *adderPatches) meanShift(accq []float64) []float64 {
	O := ap.layer.OutC
	d := make([]float64, O)
	if ap.P == 0 {
		return d
	}
	for p := range ap.P {
		for o := range O {
			d[o] += accq[p*O+o] - ap.acc[p*O+o]
		}
	}
	for o := range d {
		d[o] /= float64(ap.P)
	}
	return d
}

// outputMSE is the mean squared error of the layer's output (after the
// fused BN and ReLU, in real units) with the input at scale s, codes of
// format in, against the float output on the windows. With biasCorr the
// per-channel mean accumulator shift is removed first, as BiasCorrection
// will do. With opBits > 0 (group-wise scales, up to groups groups), each
// channel counts with its best group shift (chooseShifts).
func (ap *adderPatches) outputMSE(s float64, in Act, opBits, groups int, biasCorr bool) float64 {
	var sum float64
	if opBits == 0 {
		for _, e := range ap.channelSSE(s, in, 0, nil, biasCorr) {
			sum += e
		}
	} else {
		gs, sse := ap.chooseShifts(s, in, opBits, groups, biasCorr)
		for o, g := range gs {
			sum += sse[g][o]
		}
	}
	return sum / float64(max(1, ap.P*ap.layer.OutC))
}

// channelSSE returns, per output channel, the summed squared error of the
// layer's output (as outputMSE) on the windows, channel o reading the view
// of group shift gs[o].
func (ap *adderPatches) channelSSE(s float64, in Act, opBits int, gs []int, biasCorr bool) []float64 {
	O := ap.layer.OutC
	accq := ap.quantAcc(s, in, opBits, gs)
	var shift []float64
	if biasCorr {
		shift = ap.meanShift(accq)
	}
	sse := make([]float64, O)
	for p := range ap.P {
		for o := range O {
			aq := accq[p*O+o]
			if shift != nil {
				aq -= shift[o]
			}
			yf := -ap.gain[o]*ap.acc[p*O+o] + ap.kappa[o]
			yq := -ap.gain[o]*aq + ap.kappa[o]
			if ap.relu {
				yf, yq = max(yf, 0), max(yq, 0)
			}
			sse[o] += (yq - yf) * (yq - yf)
		}
	}
	return sse
}

// groupGain is how much a larger group shift must lower a channel's
// sampled output error to be taken over a smaller one (a guard against
// fitting the sample's noise).
const groupGain = 0.9

// chooseShifts chooses the group shift of every output channel of the
// layer (group-wise shared scales, Config.GroupScales): the input at scale
// s in format in, operands opBits wide, shifts 0..groups−1. Per channel,
// the least shift whose output error on the sampled windows is under
// groupGain times that of every smaller one. It returns the shifts and the
// per-shift channel errors sse[g][o].
func (ap *adderPatches) chooseShifts(s float64, in Act, opBits, groups int, biasCorr bool) ([]int, [][]float64) {
	O := ap.layer.OutC
	sse := make([][]float64, groups)
	for g := range sse {
		gs := make([]int, O)
		for o := range gs {
			gs[o] = g
		}
		sse[g] = ap.channelSSE(s, in, opBits, gs, biasCorr)
	}
	gs := make([]int, O)
	for o := range gs {
		be := math.Inf(1)
		for g := range sse {
			if sse[g][o] < groupGain*be {
				gs[o], be = g, sse[g][o]
			}
		}
	}
	return gs, sse
}

// groupShifts returns the group shifts of an adder layer whose input has
// format in and whose operands are opBits wide (chooseShifts at the input's
// scale), or nil without group-wise scales.
func (q *quantizer) groupShifts(name string, in Act, opBits int) []int {
	if q.cfg.GroupScales < 2 || opBits == 0 {
		return nil
	}
	ap := q.patches[name]
	if ap == nil || ap.P == 0 {
		return make([]int, q.net.Layer(name).OutC)
	}
	gs, _ := ap.chooseShifts(in.Scale, in, opBits, q.cfg.GroupScales, q.cfg.BiasCorrection)
	return gs
}

// scaleClasses groups the tensors joined by add layers (see the package
// comment of this file) and returns the classes, each in q.order order.
func (q *quantizer) scaleClasses() [][]*tensor {
	parent := map[string]string{}
	var find func(string) string
	find = func(a string) string {
		if parent[a] == "" || parent[a] == a {
			return a
		}
		r := find(parent[a])
		parent[a] = r
		return r
	}
	union := func(a, b string) {
		ra, rb := find(a), find(b)
		if ra != rb {
			parent[ra] = rb
		}
	}
	for _, g := range q.groups {
		if g.first().Op != model.OpAdd {
			continue
		}
		out := g.first().Name
		for _, in := range g.inputs {
			union(q.source(in), out)
		}
	}
	byRoot := map[string]int{}
	var classes [][]*tensor
	for _, t := range q.order {
		r := find(t.name)
		i, ok := byRoot[r]
		if !ok {
			i = len(classes)
			byRoot[r] = i
			classes = append(classes, nil)
		}
		classes[i] = append(classes[i], t)
	}
	return classes
}

// errTable is a tensor's error for each candidate scale index j (from jHi
// down): errs[k] belongs to j = jHi − k. Inf marks candidates not tried.
type errTable struct {
	jHi  int
	errs []float64
	// fixed: a degenerate tensor, no search (covering scale per residue).
	fixed bool
	rng   float64
}

// chooseScalesLowBit sets the scale of every tensor (NonPow2Scales or
// OutputClip): per class, the mantissa residue minimising the summed log
// error of its members, and each member's best exponent for it.
func (q *quantizer) chooseScalesLowBit() {
	classes := q.scaleClasses()
	tables := map[*tensor]*errTable{}
	var mu sync.Mutex
	var jobs []*tensor
	for _, cl := range classes {
		for _, t := range cl {
			if t.isOutput {
				continue
			}
			jobs = append(jobs, t)
		}
	}
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for _, t := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			et := q.errorTable(t)
			mu.Lock()
			tables[t] = et
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(q.warns) // the parallel search adds them in any order
	for _, cl := range classes {
		residues := []int{0}
		if q.cfg.NonPow2Scales {
			residues = residues[:0]
			for r := range gridSteps {
				residues = append(residues, r)
			}
		}
		bestR, bestObj := 0, math.Inf(1)
		for _, r := range residues {
			var obj float64
			for _, t := range cl {
				et := tables[t]
				if et == nil || et.fixed {
					continue
				}
				_, e := et.best(r)
				obj += math.Log(e + 1e-30)
			}
			if obj < bestObj {
				bestR, bestObj = r, obj
			}
		}
		for _, t := range cl {
			et := tables[t]
			switch {
			case t.isOutput:
				t.scale = q.chooseScale(t)
			case et.fixed:
				t.scale = coverScale(et.rng, q.qmax(t), bestR)
			default:
				j, _ := et.best(bestR)
				t.scale = gridScale(j)
			}
		}
	}
}

// best returns the candidate index j ≡ r (mod gridSteps) with the least
// error, and that error.
func (et *errTable) best(r int) (int, float64) {
	bj, be := 0, math.Inf(1)
	for k, e := range et.errs {
		j := et.jHi - k
		if floorDiv(j, gridSteps)*gridSteps+r != j {
			continue
		}
		if e < be {
			bj, be = j, e
		}
	}
	return bj, be
}

// qmax returns the largest code of a tensor's format (as a float).
func (q *quantizer) qmax(t *tensor) float64 {
	if t.signed {
		return math.Ldexp(1, t.bits-1) - 1
	}
	return math.Ldexp(1, t.bits) - 1
}

// coverScale returns the smallest grid scale of residue r with
// scale·qmax >= rng.
func coverScale(rng, qmax float64, r int) float64 {
	e := int(math.Ceil(math.Log2(rng/(qmax*gridMant[r])))) - 1
	for math.Ldexp(gridMant[r]*qmax, e) < rng {
		e++
	}
	return math.Ldexp(gridMant[r], e)
}

// errorTable computes a tensor's error for each candidate scale: the
// output error of the adder layers reading it (OutputClip) or the value
// MSE.
func (q *quantizer) errorTable(t *tensor) *errTable {
	st := t.stats
	qm := q.qmax(t)
	qmin := 0.0
	if t.signed {
		qmin = -qm - 1
	}
	amax := st.amax()
	if !(amax > 0) || math.IsInf(amax, 0) || math.IsNaN(amax) {
		// Degenerate: calibRange's fallback (and its warning).
		return &errTable{fixed: true, rng: q.calibRange(t)}
	}
	top := q.calibRange(t) // max, or the percentile; may warn
	jHi := int(math.Ceil(gridSteps * math.Log2(top/qm)))
	for gridScale(jHi)*qm < top {
		jHi++
	}
	useOut := q.cfg.OutputClip && len(t.adderUse) > 0
	oct := octavesValue
	if useOut {
		oct = octavesOutput
	}
	et := &errTable{jHi: jHi, errs: make([]float64, oct*gridSteps+1)}
	for k := range et.errs {
		j := jHi - k
		s := gridScale(j)
		if !q.cfg.NonPow2Scales && floorDiv(j, gridSteps)*gridSteps != j {
			et.errs[k] = math.Inf(1)
			continue
		}
		if q.cfg.Calibration != MethodSearch && k >= gridSteps {
			// max/percentile: only the covering scales (one per residue).
			et.errs[k] = math.Inf(1)
			continue
		}
		if useOut {
			var e float64
			for _, name := range t.adderUse {
				e += q.patches[name].outputMSE(s, Act{Bits: t.bits, Signed: t.signed}, t.opBits, q.cfg.GroupScales, q.cfg.BiasCorrection)
			}
			et.errs[k] = e
		} else {
			et.errs[k] = st.mse(s, qmin, qm)
		}
	}
	return et
}

// biasShift returns the per-channel accumulator shift (real units) of an
// adder layer whose input has format in, channel o reading the view of
// group shift gs[o]: the mean of quantized − float on
// the sampled windows (nil without BiasCorrection, or when BiasPasses
// leaves the correction to quant/refine).
func (q *quantizer) biasShift(name string, in Act, opBits int, gs []int) []float64 {
	if !q.cfg.BiasCorrection || q.cfg.BiasPasses > 0 {
		return nil
	}
	ap := q.patches[name]
	if ap == nil || ap.P == 0 {
		return nil
	}
	return ap.meanShift(ap.quantAcc(in.Scale, in, opBits, gs))
}

// AdjustB adds db[o] to the rescale constant b[o] of every output channel
// o of the named layer (a layer with m and b) and re-derives its ranges,
// so that the model stays valid; the integer formula is unchanged. It is
// how a correction measured outside this package (for example with the
// bit-exact simulator, quant/refine) is folded in. Errors: no such layer,
// a layer without m and b, len(db) not its channel count, a b outside
// ±2^61 or ranges beyond ±2^62 (the model is then left unchanged).
func (m *Model) AdjustB(name string, db []int64) (err error) {
	l := m.Layer(name)
	if l == nil {
		return fmt.Errorf("quant: no layer %q", name)
	}
	if l.Rescale == nil || l.Rescale.B == nil {
		return fmt.Errorf("quant: layer %q has no rescale constant b", name)
	}
	if len(db) != len(l.Rescale.B) {
		return fmt.Errorf("quant: layer %q: %d corrections for %d channels", name, len(db), len(l.Rescale.B))
	}
	old := slices.Clone(l.Rescale.B)
	oldR := l.Ranges
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("quant: layer %q: %v", name, r)
		}
		if err != nil {
			l.Rescale.B, l.Ranges = old, oldR
		}
	}()
	for o, d := range db {
		b := l.Rescale.B[o] + d
		if b < -(1<<61) || b > 1<<61 {
			return fmt.Errorf("quant: layer %q: b[%d] = %d out of range", name, o, b)
		}
		l.Rescale.B[o] = b
	}
	r, err := m.computeRanges(l)
	if err != nil {
		return err
	}
	for _, x := range []*Range{r.Acc, r.Product} {
		if x != nil && (x.Lo < -(1<<62) || x.Hi > 1<<62) {
			return fmt.Errorf("quant: layer %q: range [%d, %d] exceeds ±2^62", name, x.Lo, x.Hi)
		}
	}
	l.Ranges = r
	return nil
}
