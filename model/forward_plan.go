package model

import (
	"math"
	"slices"
	"sync"
)

// fastPlan is what Forward derives from a net's layers and conv weights
// once and reuses across calls: the conv layers' kernel layouts (convPrep,
// vector builds only), Forward's schedule of fused steps over reused
// buffers, and pools of per-worker scratch.
//
// A plan is valid only while the layers and the conv2d/adder2d weights it
// was built from are unchanged. Callers may change weights in place
// between Forward calls (training, batch-norm recalibration), so every
// call compares the plan's copy of those weights with the live ones
// (n.plan) and builds a new plan on any difference. The comparison reads
// each conv weight once, far cheaper than rebuilding the layouts.
// Batch-norm statistics and PadValue are read live by every call and are
// not part of the plan.
type fastPlan struct {
	// layers is the Layers slice the plan was built for (same pointers,
	// same length) and geom each layer's geometry then.
	layers []*Layer
	geom   []layerGeom
	// w[i] is a copy of layer i's W for conv2d/adder2d layers, nil for
	// the others.
	w [][]float64
	// convs[i] is layer i's convPrep when the vector kernels run (nil
	// for other layers, and all nil without them).
	convs []*convPrep
	// steps is Forward's schedule (ForwardAll runs every layer by itself,
	// as it returns every layer's output); bufSize[k] is the length of
	// buffer k.
	steps   []step
	bufSize []int
	// pools[0] holds scratch for Forward, pools[1] for ForwardAll.
	pools [2]sync.Pool
}

// layerGeom is the part of a Layer a plan depends on besides W.
type layerGeom struct {
	op                              Op
	inC, outC, kernel, stride, pad  int
	inC0, inH, inW, outC0, outH, ow int
}

func geomOf(l *Layer) layerGeom {
	g := layerGeom{op: l.Op, inC: l.InC, outC: l.OutC, kernel: l.Kernel, stride: l.Stride, pad: l.Padding}
	if len(l.InShapes) > 0 && len(l.InShapes[0]) == 3 {
		g.inC0, g.inH, g.inW = l.InShapes[0][0], l.InShapes[0][1], l.InShapes[0][2]
	}
	if len(l.OutShape) == 3 {
		g.outC0, g.outH, g.ow = l.OutShape[0], l.OutShape[1], l.OutShape[2]
	}
	return g
}

// valid reports whether p was built from n's current layers and conv
// weights (bit for bit).
func (p *fastPlan) valid(n *Net) bool {
	if len(p.layers) != len(n.Layers) {
		return false
	}
	for i, l := range n.Layers {
		if l != p.layers[i] || geomOf(l) != p.geom[i] {
			return false
		}
		if p.w[i] == nil {
			continue
		}
		w := l.W.Value.Data
		if len(w) != len(p.w[i]) {
			return false
		}
		for j, v := range p.w[i] {
			if math.Float64bits(v) != math.Float64bits(w[j]) {
				return false
			}
		}
	}
	return true
}

// plan returns a plan valid for n's current layers and weights, building
// and caching a new one if needed. Concurrent calls are safe: each gets a
// valid plan; when several build one at once, the last stored is kept
// (and copies of a Net, sharing the cache, may replace each other's).
// n.checkParams must have passed.
func (n *Net) plan() *fastPlan {
	if n.fast != nil {
		if p := n.fast.p.Load(); p != nil && p.valid(n) {
			return p
		}
	}
	p := &fastPlan{
		layers: append([]*Layer(nil), n.Layers...),
		geom:   make([]layerGeom, len(n.Layers)),
		w:      make([][]float64, len(n.Layers)),
	}
	for i, l := range n.Layers {
		p.geom[i] = geomOf(l)
		if l.Op == OpConv2d || l.Op == OpAdder2d {
			p.w[i] = append([]float64(nil), l.W.Value.Data...)
		}
	}
	if simdFloat {
		p.convs = n.prepConvs()
	}
	p.steps, p.bufSize = n.schedule(simdFloat)
	if n.fast != nil { // nil for a Net not made by Build: no caching
		n.fast.p.Store(p)
	}
	return p
}

// getScratch returns a worker's scratch for Forward (all false) or
// ForwardAll (all true), from the pool if one is free; putScratch returns
// it.
func (p *fastPlan) getScratch(n *Net, all bool) *scratch {
	if s, ok := p.pools[b2i(all)].Get().(*scratch); ok {
		return s
	}
	return n.newScratch(all, p)
}

func (p *fastPlan) putScratch(s *scratch, all bool) { p.pools[b2i(all)].Put(s) }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A step is one layer of Forward's schedule, possibly with the layers
// that only post-process its output fused into it:
//
//   - a batchnorm2d that is the only reader of a conv2d/adder2d's output
//     (bn), applied to each tile of the conv's output while it is in
//     cache;
//   - a ReLU that is the only reader of a conv2d/adder2d, batchnorm2d or
//     add output (relu), applied the same way.
//
// Values live in a few buffers reused once their last reader has run; a
// batchnorm2d, ReLU, add or flatten step writes over its input's buffer
// when it is that value's last reader. Fusing changes no result: each
// value is computed by the same operations in the same order.
type step struct {
	// i indexes the step's first layer l in Net.Layers.
	i int
	l *Layer
	// bn is the fused batchnorm2d (conv2d/adder2d steps only) or nil;
	// relu tells whether a ReLU follows.
	bn   *Layer
	relu bool
	// in are the buffers of l's inputs (bufInput: the network input) and
	// out the step's output buffer (bufOutput: the sample's slice of the
	// result). size is the output's length.
	in   [2]int
	out  int
	size int
	// padFor (vector builds only) is the stride-1 padded conv2d/adder2d
	// that is the only reader of this conv2d/adder2d step's output: the
	// step then writes its output, epilogue applied, padded as padFor's
	// convFast reads it (fillPhases' layout, padding 0 or PadValue), and
	// size is that padded length; padIn tells that l's input is so
	// written.
	padFor *Layer
	padIn  bool
}

const (
	bufInput  = -1
	bufOutput = -2
)

// schedule returns Forward's steps and buffer sizes for n; padOut allows
// step.padFor.
func (n *Net) schedule(padOut bool) ([]step, []int) {
	L := len(n.Layers)
	readers := make([]int, L)
	for _, l := range n.Layers {
		for _, j := range l.inIdx {
			if j >= 0 {
				readers[j]++
			}
		}
	}
	// stepOf[i] is the step whose output is layer i's output.
	stepOf := make([]int, L)
	var steps []step
	for i, l := range n.Layers {
		if p := l.inIdx[0]; p >= 0 && readers[p] == 1 && len(l.inIdx) == 1 {
			st := &steps[stepOf[p]]
			conv := st.l.Op == OpConv2d || st.l.Op == OpAdder2d
			switch {
			case l.Op == OpBatchNorm2d && conv && st.bn == nil && !st.relu:
				st.bn = l
				stepOf[i] = stepOf[p]
				continue
			case l.Op == OpReLU && !st.relu && (conv || st.l.Op == OpBatchNorm2d || st.l.Op == OpAdd):
				st.relu = true
				stepOf[i] = stepOf[p]
				continue
			}
		}
		stepOf[i] = len(steps)
		steps = append(steps, step{i: i, l: l, size: numel(l.OutShape)})
	}
	if padOut {
		last := make([]int, len(steps)) // the last layer fused in step t
		for i := range L {
			last[stepOf[i]] = i
		}
		isConv := func(l *Layer) bool { return l.Op == OpConv2d || l.Op == OpAdder2d }
		for t := range steps {
			st := &steps[t]
			j := last[t]
			if !isConv(st.l) || j == L-1 || readers[j] != 1 {
				continue
			}
			for u := t + 1; u < len(steps); u++ {
				ul := steps[u].l
				if !slices.Contains(ul.inIdx, j) {
					continue
				}
				if isConv(ul) && ul.inIdx[0] == j && ul.Stride == 1 && ul.Padding > 0 {
					_, _, size := phaseGeom(ul)
					st.padFor, st.size = ul, size
					steps[u].padIn = true
				}
				break
			}
		}
	}
	// lastRead[t] is the last step reading step t's output.
	lastRead := make([]int, len(steps))
	for t, st := range steps {
		lastRead[t] = t
		for _, j := range st.l.inIdx {
			if j >= 0 {
				lastRead[stepOf[j]] = t
			}
		}
	}
	final := stepOf[L-1]
	holder := make([]int, len(steps)) // buffer holding step t's output
	var size []int
	var free []int
	for t := range steps {
		st := &steps[t]
		st.in = [2]int{bufInput, bufInput}
		for k, j := range st.l.inIdx {
			if j >= 0 {
				st.in[k] = holder[stepOf[j]]
			}
		}
		inPlace := st.l.Op == OpBatchNorm2d || st.l.Op == OpReLU || st.l.Op == OpAdd || st.l.Op == OpFlatten
		st.out = -3
		switch {
		case t == final:
			st.out = bufOutput
		case inPlace:
			for _, j := range st.l.inIdx {
				if j >= 0 && lastRead[stepOf[j]] == t {
					st.out = holder[stepOf[j]]
					break
				}
			}
		}
		if st.out == -3 {
			if len(free) > 0 {
				st.out, free = free[len(free)-1], free[:len(free)-1]
			} else {
				st.out = len(size)
				size = append(size, 0)
			}
		}
		if st.out >= 0 {
			size[st.out] = max(size[st.out], st.size)
		}
		holder[t] = st.out
		// Release the inputs read for the last time (once each; not the
		// buffer just written over).
		for k, j := range st.l.inIdx {
			if j < 0 || lastRead[stepOf[j]] != t || (k == 1 && st.l.inIdx[0] == j) {
				continue
			}
			if b := holder[stepOf[j]]; b >= 0 && b != st.out {
				free = append(free, b)
			}
		}
		if lastRead[t] == t && st.out >= 0 { // never read
			free = append(free, st.out)
		}
	}
	return steps, size
}

// epilogue is what a step applies to each output value of channel oc, in
// this order: + bias[oc] (conv2d/adder2d with bias), batch norm
// (v − mean)·inv·g + b, ReLU. Nil slices and false skip a stage.
type epilogue struct {
	bias            []float64
	mean, inv, g, b []float64
	relu            bool
}

// epilogues returns the epilogue of each step of p (the bias of conv
// steps included) for n's current batch-norm statistics.
func (p *fastPlan) epilogues() []epilogue {
	es := make([]epilogue, len(p.steps))
	for t, st := range p.steps {
		e := &es[t]
		e.relu = st.relu || st.l.Op == OpReLU
		bn := st.bn
		switch st.l.Op {
		case OpConv2d, OpAdder2d:
			if st.l.Bias {
				e.bias = st.l.B.Value.Data
			}
		case OpBatchNorm2d:
			bn = st.l
		}
		if bn != nil {
			e.mean, e.g, e.b = bn.Mean.Value.Data, bn.W.Value.Data, bn.B.Value.Data
			e.inv = make([]float64, bn.OutC)
			for c, v := range bn.Var.Value.Data {
				e.inv[c] = 1 / math.Sqrt(v+bn.Eps)
			}
		}
	}
	return es
}

// one applies e to one value of channel oc.
func (e *epilogue) one(v float64, oc int) float64 {
	if e.bias != nil {
		v += e.bias[oc]
	}
	if e.inv != nil {
		v = float64(float64((v-e.mean[oc])*e.inv[oc])*e.g[oc]) + e.b[oc]
	}
	if e.relu {
		v = max(v, 0)
	}
	return v
}

// active reports whether e changes anything.
func (e *epilogue) active() bool { return e.bias != nil || e.inv != nil || e.relu }

// forwardSteps evaluates p's schedule on one sample x, writing the result
// to y; es are p.epilogues().
func (n *Net) forwardSteps(s *scratch, p *fastPlan, es []epilogue, x, y []float64) {
	buf := func(k, size int) []float64 {
		switch k {
		case bufInput:
			return x
		case bufOutput:
			return y
		}
		return s.vals[k][:size]
	}
	for t := range p.steps {
		st := &p.steps[t]
		l, e := st.l, &es[t]
		out := buf(st.out, st.size)
		insize := numel(l.InShapes[0])
		if st.padIn {
			_, _, insize = phaseGeom(l)
		}
		in := buf(st.in[0], insize)
		switch l.Op {
		case OpConv2d, OpAdder2d:
			if p.convs != nil && st.padFor != nil {
				tmp := s.unpad[:numel(l.OutShape)]
				convFast(l, p.convs[st.i], in, tmp, s, &epilogue{bias: e.bias}, st.padIn)
				post := *e
				post.bias = nil
				writePadded(st.padFor, tmp, out, &post)
				break
			}
			if p.convs != nil {
				convFast(l, p.convs[st.i], in, out, s, e, st.padIn)
				break
			}
			convLike(l, in, out, s.col) // adds the bias
			post := *e
			post.bias = nil
			if post.active() {
				npos := len(out) / l.OutC
				for oc := range l.OutC {
					o := out[oc*npos : (oc+1)*npos]
					postRow(o, o, &post, oc)
				}
			}
		case OpBatchNorm2d, OpReLU:
			C := l.InShapes[0][0]
			hw := len(out) / C
			for c := range C {
				postRow(in[c*hw:(c+1)*hw], out[c*hw:(c+1)*hw], e, c)
			}
		case OpAdd:
			addRow(in, buf(st.in[1], len(out)), out, e.relu)
		case OpMaxPool2d:
			pool(l, in, out, true)
		case OpAvgPool2d:
			pool(l, in, out, false)
		case OpLinear:
			linear(l, in, out)
		case OpFlatten:
			copy(out, in)
		}
	}
}
