package sim

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/fixedpoint"
	"github.com/addergen/addergen/quant"
)

// Codes is a batch of integer codes, row-major: [N, ...per-sample shape].
type Codes struct {
	Shape []int
	Data  []int32
}

// Sample returns sample i (sharing Data).
func (c Codes) Sample(i int) []int32 {
	n := numel(c.Shape[1:])
	return c.Data[i*n : (i+1)*n : (i+1)*n]
}

// NetOptions control RunNet.
type NetOptions struct {
	// KeepAll returns every layer's output, not only the last.
	KeepAll bool
	// Workers is the number of goroutines (images run in parallel, one
	// image per goroutine at a time); 0 means GOMAXPROCS.
	Workers int
}

// Observed is the range of values an intermediate took.
type Observed struct {
	Lo, Hi int64
	Seen   bool
}

func (o *Observed) add(v int64) {
	if !o.Seen {
		o.Lo, o.Hi, o.Seen = v, v, true
		return
	}
	o.Lo, o.Hi = min(o.Lo, v), max(o.Hi, v)
}

func (o *Observed) merge(p Observed) {
	if p.Seen {
		o.add(p.Lo)
		o.add(p.Hi)
	}
}

// LayerStats counts what a layer did over a run.
type LayerStats struct {
	// Outputs is the number of output values computed.
	Outputs int64
	// SatHigh and SatLow count outputs whose pre-saturation value was above
	// the largest or below the smallest code. A fused ReLU's clamp of
	// negative values to 0 is not a saturation; ReLUZero counts it.
	SatHigh, SatLow, ReLUZero int64
	// The observed ranges of the intermediates declared in quant.Ranges.
	L1, Acc, Product, Shifted Observed
	// Group-wise scales (adder2d with operand views): ViewClipped[k]
	// counts the input values that group k's view (quant.Layer.GroupShifts
	// order) saturated, out of ViewInputs input values per group.
	ViewClipped []int64
	ViewInputs  int64
}

// obs tracks a range in the hot loops: lo > hi means nothing seen.
type obs struct{ lo, hi int64 }

func newObs() obs { return obs{math.MaxInt64, math.MinInt64} }

func (o *obs) add(v int64) {
	o.lo = min(o.lo, v)
	o.hi = max(o.hi, v)
}

func (o obs) observed() Observed {
	if o.lo > o.hi {
		return Observed{}
	}
	return Observed{Lo: o.lo, Hi: o.hi, Seen: true}
}

// rawStats is LayerStats as the kernels update it.
type rawStats struct {
	outputs, satHigh, satLow, reluZero int64
	l1, acc, product, shifted          obs
	viewClipped                        []int64
	viewInputs                         int64
}

func newRawStats() rawStats {
	return rawStats{l1: newObs(), acc: newObs(), product: newObs(), shifted: newObs()}
}

func (r *rawStats) stats() LayerStats {
	return LayerStats{
		Outputs: r.outputs, SatHigh: r.satHigh, SatLow: r.satLow, ReLUZero: r.reluZero,
		L1: r.l1.observed(), Acc: r.acc.observed(), Product: r.product.observed(), Shifted: r.shifted.observed(),
		ViewClipped: slices.Clone(r.viewClipped), ViewInputs: r.viewInputs,
	}
}

func (s *LayerStats) merge(p *LayerStats) {
	s.Outputs += p.Outputs
	s.SatHigh += p.SatHigh
	s.SatLow += p.SatLow
	s.ReLUZero += p.ReLUZero
	s.L1.merge(p.L1)
	s.Acc.merge(p.Acc)
	s.Product.merge(p.Product)
	s.Shifted.merge(p.Shifted)
	if len(s.ViewClipped) < len(p.ViewClipped) {
		s.ViewClipped = append(s.ViewClipped, make([]int64, len(p.ViewClipped)-len(s.ViewClipped))...)
	}
	for k, v := range p.ViewClipped {
		s.ViewClipped[k] += v
	}
	s.ViewInputs += p.ViewInputs
}

// NetResult is the outcome of RunNet.
type NetResult struct {
	// Output is the last layer's output, [N, ...OutShape].
	Output Codes
	// Layers[i] is the output of q.Layers[i] (only with KeepAll).
	Layers []Codes
	// Stats[i] are the counts and observed ranges of q.Layers[i].
	Stats []LayerStats
}

// Net is a quantized model prepared for simulation. It is safe for
// concurrent use.
type Net struct {
	q      *quant.Model
	layers []*layerPlan
	inSize int
	// Idle workers kept for the next Run: reusing their buffers keeps Run
	// from allocating megabytes per batch (2.4 MB for 8 ResNet-20 images),
	// whose garbage collections preempt the workers; on this shared
	// 2-core machine under load that halved ResNet-20 throughput
	// (441 images/s against 886 with GOGC=off, measured 2026-11-30).
	mu   sync.Mutex
	idle []*worker
}

// Prepare checks the model and lays out its weights for the kernels.
func Prepare(q *quant.Model) (*Net, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	n := &Net{q: q, inSize: numel(q.Input.Shape)}
	for _, l := range q.Layers {
		n.layers = append(n.layers, newLayerPlan(q, l))
	}
	return n, nil
}

// Model returns the quantized model.
func (n *Net) Model() *quant.Model { return n.q }

// RunNet runs a batch of input codes [N, C, H, W] through the quantized
// model, bit-exact, integer-only. See Net.Run.
func RunNet(q *quant.Model, in Codes, opt NetOptions) (*NetResult, error) {
	n, err := Prepare(q)
	if err != nil {
		return nil, err
	}
	return n.Run(in, opt)
}

// Run simulates a batch of input codes [N, C, H, W]. Every input code must
// lie in the model's input format. Images are processed in parallel; the
// results do not depend on scheduling.
func (n *Net) Run(in Codes, opt NetOptions) (*NetResult, error) {
	q := n.q
	if len(in.Shape) != 4 || !slices.Equal(in.Shape[1:], q.Input.Shape) {
		return nil, fmt.Errorf("sim: input codes have shape %v, want [N %d %d %d]", in.Shape, q.Input.Shape[0], q.Input.Shape[1], q.Input.Shape[2])
	}
	N := in.Shape[0]
	if N < 1 || len(in.Data) != N*n.inSize {
		return nil, fmt.Errorf("sim: input shape %v but %d codes", in.Shape, len(in.Data))
	}
	lo, hi := q.Input.Min(), q.Input.Max()
	for i, c := range in.Data {
		if int64(c) < lo || int64(c) > hi {
			return nil, fmt.Errorf("sim: input code %d at flat index %d outside [%d, %d]", c, i, lo, hi)
		}
	}
	res := &NetResult{Stats: make([]LayerStats, len(q.Layers))}
	outs := make([]Codes, len(q.Layers))
	for i, l := range q.Layers {
		if opt.KeepAll || i == len(q.Layers)-1 {
			outs[i] = Codes{Shape: append([]int{N}, l.OutShape...), Data: make([]int32, N*numel(l.OutShape))}
		}
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, N)
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := n.getWorker(outs)
			defer n.putWorker(w)
			for {
				i := int(next.Add(1)) - 1
				if i >= N {
					break
				}
				w.image(in.Data[i*n.inSize:(i+1)*n.inSize], i)
			}
			mu.Lock()
			for j := range res.Stats {
				st := w.stats[j].stats()
				res.Stats[j].merge(&st)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Output = outs[len(outs)-1]
	if opt.KeepAll {
		res.Layers = outs
	}
	return res, nil
}

// worker holds one goroutine's buffers.
type worker struct {
	n     *Net
	outs  []Codes
	bufs  [][]int32
	stats []rawStats
	s     scratch
}

// getWorker returns an idle worker (or a new one) writing to outs, with
// cleared statistics. Its buffers hold every layer's output (used for
// the layers whose outputs are not kept).
func (n *Net) getWorker(outs []Codes) *worker {
	n.mu.Lock()
	var w *worker
	if k := len(n.idle); k > 0 {
		w = n.idle[k-1]
		n.idle = n.idle[:k-1]
	}
	n.mu.Unlock()
	if w == nil {
		w = &worker{n: n, bufs: make([][]int32, len(n.layers)), stats: make([]rawStats, len(n.layers))}
		for i, p := range n.layers {
			w.bufs[i] = make([]int32, p.size)
			w.s.grow(p)
		}
	}
	w.outs = outs
	for i := range w.stats {
		w.stats[i] = newRawStats()
	}
	return w
}

// putWorker returns w to the idle list.
func (n *Net) putWorker(w *worker) {
	w.outs = nil
	n.mu.Lock()
	n.idle = append(n.idle, w)
	n.mu.Unlock()
}

func (w *worker) image(x []int32, img int) {
	buf := func(i int) []int32 {
		if i < 0 {
			return x
		}
		if d := w.outs[i].Data; d != nil {
			sz := w.n.layers[i].size
			return d[img*sz : (img+1)*sz]
		}
		return w.bufs[i]
	}
	for i, p := range w.n.layers {
		var in2 []int32
		if len(p.in) == 2 {
			in2 = buf(p.in[1])
		}
		p.run(buf(p.in[0]), in2, buf(i), &w.stats[i], &w.s)
	}
}

// Infer runs float inputs [N, C, H, W] through the quantized model: the
// inputs are encoded to codes (quant.Model.EncodeInput), simulated
// bit-exact, and the last layer's codes dequantized (code·scale, exact for
// a power-of-two scale) to float64 [N, ...OutShape].
func Infer(q *quant.Model, x dataset.Tensor) (dataset.Tensor, error) {
	n, err := Prepare(q)
	if err != nil {
		return dataset.Tensor{}, err
	}
	return n.Infer(x)
}

// Infer is the package-level Infer on a prepared net.
func (n *Net) Infer(x dataset.Tensor) (dataset.Tensor, error) {
	codes, _, err := n.q.EncodeInput(x)
	if err != nil {
		return dataset.Tensor{}, err
	}
	res, err := n.Run(Codes{Shape: slices.Clone(x.Shape), Data: codes}, NetOptions{})
	if err != nil {
		return dataset.Tensor{}, err
	}
	return Dequantize(res.Output, n.q.Output().Out), nil
}

// Dequantize returns the real values code·scale of a batch of codes.
func Dequantize(c Codes, a quant.Act) dataset.Tensor {
	t := dataset.Tensor{Shape: slices.Clone(c.Shape), Data: make([]float64, len(c.Data))}
	for i, v := range c.Data {
		t.Data[i] = a.Decode(int64(v))
	}
	return t
}

func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// noSWAR and noSIMD disable the packed adder kernels (tests compare all
// kernels).
var noSWAR, noSIMD = false, false

// layerPlan is a layer laid out for the kernels.
type layerPlan struct {
	l          *quant.Layer
	op         quant.Op
	in         []int
	inShape    []int
	outShape   []int
	size       int
	w          []int32 // weights [O][R]
	wt         []int32 // conv2d/linear weights transposed, [R][O]
	R, O       int
	wconst     []int64
	m, b       []int64
	sh         uint
	rnd        fixedpoint.Rounding
	wrap       bool
	outBits    int
	outSigned  bool
	lo, hi     int64
	align      [2]uint
	relu       bool
	hasProduct bool
	// Packed adder kernels: vector bytes (wq: oq groups of four filters,
	// rb lanes each, see bytePlan) or SWAR words (wp); both nil: the int32
	// kernel.
	wq     []uint8
	rb     int
	oq     int
	cpr    int         // direct layout: 32-byte chunks per window row (0: patch layout)
	half   bool        // direct layout with shared row tails (see bytePlan)
	wm     []int16     // int16-lane vector weights: conv2d (macPlan) or 16-bit adder (wordPlan)
	rows8  bool        // wm holds 8 lanes per window row (macRowRows8)
	rows16 bool        // wm holds 16 lanes per window row (macRowRows16)
	wc1    []int16     // one-channel conv2d tap-pair weights (convC1Row), or nil
	qc     []quadConst // vector rescale constants (nil: scalar rescale)
	rc     rescaleConst
	ac     *addConst // add layer's vector constants (nil: scalar path)
	wp     []uint64
	off    int32
	flush  int
	// groups (adder2d with group_shift): one sub-plan per group, over the
	// group's output channels, reading the group's view of the input.
	groups []groupPlan
}

// groupPlan is one group of an adder layer with group-wise scales.
type groupPlan struct {
	shift int // the view's right shift (quant.ViewCode)
	op    quant.Act
	ch    []int // the layer's output channels in the group, increasing
	p     *layerPlan
}

func newLayerPlan(q *quant.Model, l *quant.Layer) *layerPlan {
	var in2 quant.Act
	if len(l.Inputs) == 2 {
		in2 = q.InAct(l, 1)
	}
	return newPlan(l, l.InputIndex(), q.InShape(l, 0), q.InAct(l, 0), in2)
}

// newPlan lays out layer l, whose inputs are the layers in (-1: the network
// input) of shape inShape and formats in0, in1 (in1 for add only).
func newPlan(l *quant.Layer, in []int, inShape []int, in0, in1 quant.Act) *layerPlan {
	p := &layerPlan{l: l, op: l.Op, in: in, inShape: inShape, outShape: l.OutShape, size: numel(l.OutShape)}
	if l.Grouped() {
		p.groupPlans(in0)
		return p
	}
	p.outBits, p.outSigned, p.lo, p.hi = l.Out.Bits, l.Out.Signed, l.Out.Min(), l.Out.Max()
	p.relu = l.ReLU
	if l.Weight != nil {
		p.O = l.Weight.Shape[0]
		p.R = len(l.Weight.Data) / p.O
		p.w = make([]int32, len(l.Weight.Data))
		for i, v := range l.Weight.Data {
			p.w[i] = int32(v)
		}
		if l.Op != quant.OpAdder2d {
			p.wt = make([]int32, len(p.w))
			for o := range p.O {
				for r := range p.R {
					p.wt[r*p.O+o] = p.w[o*p.R+r]
				}
			}
		}
	}
	p.wconst = l.WeightConst
	if r := l.Rescale; r != nil {
		p.m, p.b, p.sh, p.rnd, p.wrap = r.M, r.B, uint(r.Shift), r.Rounding, r.Overflow == fixedpoint.Wrap
		p.hasProduct = r.M != nil
	}
	if len(l.Align) == 2 {
		p.align = [2]uint{uint(l.Align[0]), uint(l.Align[1])}
	}
	if !noSWAR {
		p.swarPlan(in0)
	}
	if l.Op == quant.OpAdd && l.Rescale != nil && len(l.Inputs) == 2 {
		p.addVectorPlan(in0, in1)
	}
	if l.Op == quant.OpConv2d && simdAvailable() && !noSIMD {
		p.macPlan(in0)
	}
	return p
}

// groupPlans splits an adder layer with group_shift into one plain sub-layer
// per group (its channels' weights, constants and rescale), each laid out
// for the kernels like any adder layer.
func (p *layerPlan) groupPlans(in quant.Act) {
	l := p.l
	O := l.OutShape[0]
	R := len(l.Weight.Data) / O
	for _, g := range l.GroupShifts() {
		var ch []int
		for o, v := range l.GroupShift {
			if v == g {
				ch = append(ch, o)
			}
		}
		sub := *l
		sub.GroupShift, sub.OperandBits = nil, 0
		sub.OutShape = append([]int{len(ch)}, l.OutShape[1:]...)
		sub.Weight = &quant.IntTensor{Shape: append([]int{len(ch)}, l.Weight.Shape[1:]...)}
		sub.WeightConst = nil
		rs := *l.Rescale
		rs.M, rs.B = nil, nil
		for _, o := range ch {
			sub.Weight.Data = append(sub.Weight.Data, l.Weight.Data[o*R:(o+1)*R]...)
			sub.WeightConst = append(sub.WeightConst, l.WeightConst[o])
			rs.M = append(rs.M, l.Rescale.M[o])
			rs.B = append(rs.B, l.Rescale.B[o])
		}
		sub.Rescale = &rs
		op := l.Operand(in, ch[0])
		p.groups = append(p.groups, groupPlan{shift: g, op: op, ch: ch, p: newPlan(&sub, p.in, p.inShape, op, quant.Act{})})
	}
	p.O = O
	p.R = R
}

// runGroups runs an adder layer with group-wise scales: each group's
// sub-plan on the group's view of x (quant.ViewCode), its outputs
// scattered to the group's channels of out. It counts the saturated view
// values per group.
func (p *layerPlan) runGroups(x, out []int32, st *rawStats, s *scratch) {
	hw := p.size / p.O
	if len(st.viewClipped) < len(p.groups) {
		st.viewClipped = make([]int64, len(p.groups))
	}
	st.viewInputs += int64(len(x))
	for k, g := range p.groups {
		view := s.view[:len(x)]
		lo, hi := int32(g.op.Min()), int32(g.op.Max())
		half := int32(0)
		if g.shift > 0 {
			half = 1 << (g.shift - 1)
		}
		var clipped int64
		for i, v := range x {
			r := (v + half) >> g.shift // quant.ViewCode, unsaturated
			if r < lo || r > hi {
				clipped++
				r = max(lo, min(hi, r))
			}
			view[i] = r
		}
		st.viewClipped[k] += clipped
		gout := s.gout[:len(g.ch)*hw]
		g.p.run(view, nil, gout, st, s)
		for k, o := range g.ch {
			copy(out[o*hw:(o+1)*hw], gout[k*hw:(k+1)*hw])
		}
	}
}

// finish rounds, shifts and saturates one pre-scaled value v of channel c
// and records it in st.
func (p *layerPlan) finish(v int64, st *rawStats) int32 {
	var s int64
	if p.rnd == fixedpoint.HalfUp {
		if p.sh > 0 {
			s = (v + 1<<(p.sh-1)) >> p.sh // cannot overflow: |v| < 2^62 by validation
		} else {
			s = v
		}
	} else {
		s = fixedpoint.RoundShiftRight(v, p.sh, p.rnd)
	}
	st.shifted.add(s)
	st.outputs++
	switch {
	case s > p.hi:
		st.satHigh++
		if !p.wrap {
			return int32(p.hi)
		}
	case s < p.lo:
		if p.relu && p.lo == 0 {
			st.reluZero++
		} else {
			st.satLow++
		}
		if !p.wrap {
			return int32(p.lo)
		}
	default:
		return int32(s)
	}
	return int32(fixedpoint.WrapTo(s, p.outBits, p.outSigned))
}

// rescale applies acc·M[c] + B[c] and finish.
func (p *layerPlan) rescale(acc int64, c int, st *rawStats) int32 {
	st.acc.add(acc)
	v := acc*p.m[c] + p.b[c]
	st.product.add(v)
	return p.finish(v, st)
}

func (p *layerPlan) run(x, x2, out []int32, st *rawStats, s *scratch) {
	if p.groups != nil {
		p.runGroups(x, out, st, s)
		return
	}
	switch p.op {
	case quant.OpAdder2d, quant.OpConv2d:
		p.convLike(x, out, st, s)
	case quant.OpLinear:
		acc := s.acc[:p.O]
		macAll(acc, x, p.wt)
		for o, a := range acc {
			out[o] = p.rescale(a, o, st)
		}
	case quant.OpBatchNorm2d:
		hw := len(x) / p.outShape[0]
		for i, v := range x {
			out[i] = p.rescale(int64(v), i/hw, st)
		}
	case quant.OpAdd:
		const chunk = 256
		a0, a1 := p.align[0], p.align[1]
		start := 0
		if p.ac != nil {
			a := addAcc{amin: math.MaxInt32, amax: math.MinInt32}
			start = addRows(x, x2, out, p.ac, &a)
			if start > 0 {
				// The observed ranges follow from the extreme
				// accumulators (rounding is monotone).
				st.acc.add(int64(a.amin))
				st.acc.add(int64(a.amax))
				st.shifted.add(p.round(int64(a.amin)))
				st.shifted.add(p.round(int64(a.amax)))
				st.outputs += int64(start)
				st.satHigh += a.nHigh
				if p.relu && p.lo == 0 {
					st.reluZero += a.nLow
				} else {
					st.satLow += a.nLow
				}
			}
		}
		for ; start < len(out); start += chunk {
			end := min(start+chunk, len(out))
			v := s.row(end - start)
			xa, xb := x[start:end], x2[start:end]
			xb = xb[:len(xa)]
			lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
			for i := range v {
				acc := int64(xa[i])<<a0 + int64(xb[i])<<a1
				lo, hi = min(lo, acc), max(hi, acc)
				v[i] = acc
			}
			st.acc.add(lo)
			st.acc.add(hi)
			p.finishRow(v, out[start:end], st)
		}
	case quant.OpReLU:
		for i, v := range x {
			out[i] = max(v, 0)
		}
	case quant.OpFlatten:
		copy(out, x)
	case quant.OpMaxPool2d, quant.OpAvgPool2d:
		p.pool(x, out, st)
	default:
		panic(errors.New("sim: unknown op " + string(p.op)))
	}
}

// pool computes max or average pooling (no padding, floor mode).
func (p *layerPlan) pool(x, out []int32, st *rawStats) {
	C, H, W := p.inShape[0], p.inShape[1], p.inShape[2]
	OH, OW := p.outShape[1], p.outShape[2]
	K, S := p.l.Kernel, p.l.Stride
	isMax := p.op == quant.OpMaxPool2d
	if isMax && K == 2 && S == 2 {
		// The common 2×2 stride-2 max pool, one output row at a time.
		for c := range C {
			xc := x[c*H*W : (c+1)*H*W]
			for oh := range OH {
				r0 := xc[2*oh*W : 2*oh*W+W]
				r1 := xc[(2*oh+1)*W : (2*oh+1)*W+W]
				o := out[(c*OH+oh)*OW : (c*OH+oh+1)*OW]
				r0, r1 = r0[:2*len(o)], r1[:2*len(o)]
				if len(o) >= 8 && simdAvailable() && !noSIMD {
					maxPool2Row(r0, r1, o)
					continue
				}
				for ow := range o {
					o[ow] = max(r0[2*ow], r0[2*ow+1], r1[2*ow], r1[2*ow+1])
				}
			}
		}
		return
	}
	for c := range C {
		xc := x[c*H*W : (c+1)*H*W]
		oc := out[c*OH*OW : (c+1)*OH*OW]
		for oh := range OH {
			for ow := range OW {
				if isMax {
					m := int32(math.MinInt32)
					for ki := range K {
						for _, v := range xc[(oh*S+ki)*W+ow*S:][:K] {
							m = max(m, v)
						}
					}
					oc[oh*OW+ow] = m
					continue
				}
				var acc int64
				for ki := range K {
					for _, v := range xc[(oh*S+ki)*W+ow*S:][:K] {
						acc += int64(v)
					}
				}
				oc[oh*OW+ow] = p.rescale(acc, c, st)
			}
		}
	}
}

// RunLayer runs layer i of the model alone on one sample's input codes
// (two inputs for add) and returns its output codes and statistics. Input
// codes must lie in the formats of the layer's inputs.
func (n *Net) RunLayer(i int, in ...[]int32) ([]int32, LayerStats, error) {
	if i < 0 || i >= len(n.layers) {
		return nil, LayerStats{}, fmt.Errorf("sim: no layer %d", i)
	}
	p := n.layers[i]
	l := p.l
	if len(in) != len(l.Inputs) {
		return nil, LayerStats{}, fmt.Errorf("sim: layer %q takes %d inputs, got %d", l.Name, len(l.Inputs), len(in))
	}
	for k, x := range in {
		a, shape := n.q.InAct(l, k), n.q.InShape(l, k)
		if len(x) != numel(shape) {
			return nil, LayerStats{}, fmt.Errorf("sim: layer %q input %d: %d codes, want %d (shape %v)", l.Name, k, len(x), numel(shape), shape)
		}
		for j, c := range x {
			if int64(c) < a.Min() || int64(c) > a.Max() {
				return nil, LayerStats{}, fmt.Errorf("sim: layer %q input %d: code %d at %d outside [%d, %d]", l.Name, k, c, j, a.Min(), a.Max())
			}
		}
	}
	var s scratch
	s.grow(p)
	st := newRawStats()
	out := make([]int32, p.size)
	var in2 []int32
	if len(in) == 2 {
		in2 = in[1]
	}
	p.run(in[0], in2, out, &st, &s)
	return out, st.stats(), nil
}
