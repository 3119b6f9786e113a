package rtl

import (
	"fmt"

	"github.com/addergen/addergen/quant"
)

// ValidLanes reports whether lanes is a legal lanes-per-PE value for a
// layer with cin input channels and kk window positions: a divisor of cin
// (SIMD folding) or a multiple of cin up to the whole window.
func ValidLanes(cin, kk, lanes int) bool {
	if lanes < 1 {
		return false
	}
	if lanes < cin {
		return cin%lanes == 0
	}
	return lanes%cin == 0 && lanes <= kk*cin
}

// laneChoices lists the legal lanes-per-PE values of a layer with cin
// input channels and kk window positions, ascending (see ValidLanes).
func laneChoices(cin, kk int) []int {
	var out []int
	for d := 1; d < cin; d++ {
		if cin%d == 0 {
			out = append(out, d)
		}
	}
	for u := 1; u <= kk; u++ {
		out = append(out, u*cin)
	}
	return out
}

// stepsFor is T, the issue cycles per output pixel and fold, of a layer
// with cin input channels and kk window positions at lanes lanes per PE.
func stepsFor(cin, kk, lanes int) int {
	if lanes < cin {
		return kk * (cin / largestDivisorAtMost(cin, lanes))
	}
	u := min(kk, lanes/cin)
	return (kk + u - 1) / u
}

// largestDivisorAtMost is the largest divisor of n that is at most k (k >= 1).
func largestDivisorAtMost(n, k int) int {
	for d := min(n, k); d > 1; d-- {
		if n%d == 0 {
			return d
		}
	}
	return 1
}

// fold returns c with a per-layer override for every adder/conv engine
// that has none: the PEs p and lanes per PE l (SIMD channels or window
// positions, see ValidLanes) of least foldCost whose issue cycles
// per image, OH*OW*ceil(COUT/p)*T(l), meet c.TargetCycles; fewer PEs break
// ties (fewer rescale units). It is an error when no choice meets the
// target, or when an engine that cannot fold (pool, add, the input) needs
// more cycles.
func fold(q *quant.Model, c NetConfig) (NetConfig, error) {
	target := c.TargetCycles
	c.TargetCycles, c.Balance = 0, false
	probe := c
	probe.Parallel, probe.Lanes = 1, 1
	n, err := PlanNet(q, probe)
	if err != nil {
		return c, err
	}
	if in := q.Input.Shape[1] * q.Input.Shape[2]; in > target {
		return c, fmt.Errorf("target %d cycles per image: the input alone takes %d (one pixel a cycle)", target, in)
	}
	layers := map[string]LayerHW{}
	for name, o := range c.Layers {
		layers[name] = o
	}
	for _, e := range n.Engines {
		if !e.Reduce {
			if cyc := e.OH * e.OW * e.G * e.T; cyc > target {
				return c, fmt.Errorf("target %d cycles per image: layer %s (%s) takes %d and does not fold", target, e.Layer, e.Kind, cyc)
			}
			continue
		}
		if o, ok := c.Layers[e.Layer]; ok && (o.Parallel > 0 || o.Lanes > 0) {
			continue
		}
		best, bp, bl := 0, 0, 0
		for p := 1; p <= e.COUT; p++ {
			g := (e.COUT + p - 1) / p
			for _, l := range laneChoices(e.CIN, e.KK) {
				if e.OH*e.OW*g*stepsFor(e.CIN, e.KK, l) > target {
					continue
				}
				if c := e.foldCost(p, l); best == 0 || c < best || c == best && p < bp {
					best, bp, bl = c, p, l
				}
				break // more lanes only cost more at this p
			}
		}
		if best == 0 {
			return c, fmt.Errorf("target %d cycles per image: layer %s needs %d at its widest", target, e.Layer, e.OH*e.OW)
		}
		layers[e.Layer] = LayerHW{Parallel: bp, Lanes: bl}
	}
	c.Layers = layers
	return c, nil
}

// LaneUtilization is the fraction of the adder/conv lanes' cycles that do
// useful work in steady state: the lane operations an image needs
// (OH*OW*COUT*KK*CIN per layer) over the lanes times the predicted cycles
// per image.
func (n *Net) LaneUtilization() float64 {
	useful, lanes := 0.0, 0.0
	for _, e := range n.Engines {
		if !e.Reduce {
			continue
		}
		useful += float64(e.OH * e.OW * e.COUT * e.KK * e.CIN)
		lanes += float64(e.P * e.LanesPE)
	}
	if lanes == 0 || n.PredictedCyclesPerImage == 0 {
		return 0
	}
	return useful / (lanes * float64(n.PredictedCyclesPerImage))
}

// balance returns c with a per-layer override for every adder/conv engine
// that has none: the fewest PEs times window positions (the engine's
// lanes in total) whose compute cycles keep every producer/consumer pair
// within the period that c predicts unbalanced. The period is unchanged;
// the engines off the critical pair shrink.
func balance(q *quant.Model, c NetConfig) (NetConfig, error) {
	c.Balance = false
	n, err := PlanNet(q, c)
	if err != nil {
		return c, err
	}
	// Search with every ring full (no fill stalls); PlanNet sizes the
	// rings of the balanced design afterwards.
	for _, e := range n.Engines {
		if !e.streams() {
			e.setRing(e.fullRing())
		}
	}
	period, _ := n.timing(nil)
	type pl struct{ p, lanes int }
	chosen := map[*Engine]pl{}
	override := func(e *Engine) (int, int, bool) {
		c, ok := chosen[e]
		if !ok {
			return 0, 0, false
		}
		return (e.COUT + c.p - 1) / c.p, stepsFor(e.CIN, e.KK, c.lanes), true
	}
	layers := map[string]LayerHW{}
	for name, o := range c.Layers {
		layers[name] = o
	}
	for _, e := range n.Engines {
		if !e.Reduce {
			continue
		}
		if o, ok := c.Layers[e.Layer]; ok && (o.Parallel > 0 || o.Lanes > 0) {
			continue
		}
		best := pl{e.P, e.LanesPE}
		for p := 1; p <= e.P; p++ {
			for _, lanes := range laneChoices(e.CIN, e.KK) {
				if c, bc := e.foldCost(p, lanes), e.foldCost(best.p, best.lanes); lanes > e.LanesPE || c > bc || c == bc && p >= best.p {
					continue
				}
				chosen[e] = pl{p, lanes}
				if got, _ := n.timing(override); got <= period {
					best = pl{p, lanes}
				}
			}
		}
		chosen[e] = best
		layers[e.Layer] = LayerHW{Parallel: best.p, Lanes: best.lanes}
	}
	c.Layers = layers
	return c, nil
}

// Folding weighs a choice of p PEs of l lanes in lanes: p*(l+peOverhead)
// plus what unrolling U window positions costs the line buffer. A PE's
// accumulator, rescale (one DSP48 unless constant or shifts) and output
// stage cost about peOverhead lanes (an 8-bit L1 lane is about 20 LUTs,
// synth pe). With U > 1 the ring is banked (see Engine): its rows grow to
// the banked pitch, and the lanes take the bank words through a rotator
// of log2(NB) levels of 2:1 multiplexers. Activation memory is the
// scarcest resource of these designs (the network-hardware review), so
// every bitsPerRingLane ring bits weigh a lane, and every
// muxBitsPerLane rotator bits (two levels per LUT6, about 20 LUTs a lane).
const (
	peOverhead      = 8
	bitsPerRingLane = 8
	muxBitsPerLane  = 40
)

// foldCost is the cost folding minimizes for the engine at p PEs of l lanes.
func (e *Engine) foldCost(p, l int) int {
	u, simd := 1, min(l, e.CIN)
	if l >= e.CIN {
		u = min(e.KK, l/e.CIN)
	}
	cost := p * (l + peOverhead)
	if u > 1 {
		bb := clog2(u)
		nb := 1 << bb
		wp := e.W
		for wp%nb != e.K%nb {
			wp++
		}
		cost += (wp-e.W)*(e.K-1)*e.InBits/bitsPerRingLane + u*simd*e.BIN*bb/muxBitsPerLane
	}
	return cost
}
