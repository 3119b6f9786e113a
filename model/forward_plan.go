package model

import (
	"math"
	"sync"
)

// fastPlan is what Forward derives from a net's layers and conv weights
// once and reuses across calls: the conv layers' kernel layouts (convPrep,
// vector builds only) and pools of per-worker scratch.
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
// valid plan; when several build one at once, the last stored is kept.
// n.checkParams must have passed.
func (n *Net) plan() *fastPlan {
	if p := n.fast.Load(); p != nil && p.valid(n) {
		return p
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
	n.fast.Store(p)
	return p
}

// getScratch returns a worker's scratch for Forward (all false) or
// ForwardAll (all true), from the pool if one is free; putScratch returns
// it.
func (p *fastPlan) getScratch(n *Net, all bool) *scratch {
	if s, ok := p.pools[b2i(all)].Get().(*scratch); ok {
		return s
	}
	return n.newScratch(all)
}

func (p *fastPlan) putScratch(s *scratch, all bool) { p.pools[b2i(all)].Put(s) }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
