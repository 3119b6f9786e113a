package rtl

import (
	"math"

	"github.com/addergen/addergen/quant"
)

// engineTail is the cycles from an add engine's input to its output
// beat; window engines have their own (Engine.Tail).
const engineTail = 4 // S, Q, Y registers, then the output FIFO

// Stages of a window engine around its PE/product stage: A0 address, A1
// read, A2 lane select (and A3, the slice register of a grouped adder
// engine's views, Engine.ViewStage); E accumulate; then F..J (rescale) or F, J; then the
// output slot and the capture into the FIFO.
const (
	stagesBeforePart  = 3
	postRescaleStages = 5
	postPlainStages   = 2
	stagesToCapture   = 2 // slot, capture
)

// predict fills the cycle model (see timing).
func (n *Net) predict() {
	n.PredictedCyclesPerImage, n.LatencyCycles = n.timing(nil)
}

// timing is the cycle model: per image, the cycles between images in steady
// state and the latency of one image from its first pixel in to its last
// class out. override, when set, gives an engine other compute figures
// (for balancing).
//
// An engine loads its input map as its producer emits it and issues an
// output pixel as soon as the input pixels under its windows are loaded
// (the last row waits for the whole map); it accepts the next map only after
// the map's last issue. In steady state the engines upstream of the
// slowest one wait on it with their next map loaded, so they emit at their
// own issue rate r_p (G·T cycles per output pixel; one for the network
// input), and for each engine e, from its first input beat:
//
//	first issue  F_e = beats of the input rows its first output row needs x r_p
//	last issue   W_e = max(beats_p x r_p + the last row's issue cycles, F_e + C_e)
//
// with C_e = OH·OW·G·T issue cycles. An engine cannot take the next image
// before W_e has passed: the slowest W_e plus the pipeline tail is the
// period. The latency follows one image through an empty pipeline, each
// engine emitting over its window W_e - F_e.
func (n *Net) timing(override func(e *Engine) (g, t int, ok bool)) (period, latency int) {
	inPixels := n.Model.Input.Shape[1] * n.Model.Input.Shape[2]
	type span struct {
		rate     float64 // issue cycles per output beat, unblocked
		beats    int     // output beats per image
		window   float64 // first image: cycles from the first output beat to the last
		firstOut float64 // first image: time of the first output beat
		hold     int     // output beats the producer holds finished (its output FIFO)
	}
	spans := map[int]span{-1: {rate: 1, beats: inPixels, window: float64(inPixels)}}
	root := func(j int) int {
		for j >= 0 && n.Model.Layers[j].Op == quant.OpFlatten {
			j = n.Model.Layers[j].InputIndex()[0]
		}
		return j
	}
	// The period without fill stalls: the input, or the slowest engine's
	// issue cycles. A producer spreads its beats over it, so a consumer
	// waiting for the next map's first pixels waits for them at that pace.
	base := float64(inPixels)
	for _, e := range n.Engines {
		g, t := e.G, e.T
		if override != nil {
			if og, ot, ok := override(e); ok {
				g, t = og, ot
			}
		}
		base = max(base, float64(e.OH*e.OW*g*t))
		if e.PoolStream {
			base = max(base, float64(e.H*e.W))
		}
	}
	worst, last := 0.0, span{}
	for _, e := range n.Engines {
		up := spans[root(n.Model.Layers[e.Index].InputIndex()[0])]
		if e.Add {
			for _, j := range n.Model.Layers[e.Index].InputIndex() {
				o := spans[root(j)]
				up.rate = max(up.rate, o.rate)
				if o.firstOut+o.window > up.firstOut+up.window {
					up.firstOut, up.window = o.firstOut, o.window
				}
			}
		}
		g, t := e.G, e.T
		if override != nil {
			if og, ot, ok := override(e); ok {
				g, t = og, ot
			}
		}
		upBeats := float64(max(1, up.beats))
		firstPerBeat := up.window / upBeats // first image: beats spread over the producer's window
		var steady, first, gt float64
		if e.PoolStream {
			// A streaming pool takes a beat a cycle and emits an output
			// as its window's last pixel arrives: K*K input beats an
			// output on average.
			gt = 1
			steady = max(upBeats*up.rate, float64(e.H*e.W))
			first = float64(needPixels(e, 1)) * firstPerBeat
		} else if e.Add {
			// An add engine streams: one output per input pixel pair.
			gt = 1
			c := float64(e.ComputeCycles)
			steady = max(upBeats*up.rate, c)
			first = firstPerBeat
		} else {
			gt = float64(g * t)
			needRows := min(e.H, max(1, e.K-e.PAD))
			if e.OH == 1 {
				needRows = e.H // the only row waits for the whole map
			}
			need := float64(needRows * e.W)
			c := float64(e.OH*e.OW) * gt
			// Consecutive maps overlap in the ring, so in steady state an
			// engine takes its input beats and issues its pixels at once,
			// plus the wait for the next map's first pixels when its ring
			// is too small to take them early (fillStall).
			steady = max(upBeats*up.rate, c+e.fillStall(max(up.rate, base/upBeats), up.hold))
			first = need * firstPerBeat
		}
		worst = max(worst, steady)
		// First image: the window this engine emits over.
		var w float64
		if e.PoolStream {
			w = float64(needPixels(e, e.OH*e.OW)-needPixels(e, 1))*firstPerBeat + 1
		} else if e.Add {
			w = max(up.window, float64(e.ComputeCycles))
		} else {
			w = max(up.window+float64(e.OW)*gt, first+float64(e.OH*e.OW)*gt) - first
		}
		rate := max(gt, 1)
		if e.PoolStream {
			rate = float64(e.KK) * max(up.rate, 1)
		}
		sp := span{hold: e.ODepth, rate: rate, beats: e.OH * e.OW, window: w, firstOut: up.firstOut + first + gt + float64(e.Tail)}
		spans[e.Index] = sp
		last = sp
	}
	period = int(math.Ceil(worst))
	latency = int(math.Ceil(last.firstOut+last.window)) + n.OutCount
	return period, latency
}

// fillStall is the cycles per image the engine's reader waits at a map's
// start when its ring cannot hold the next map's first NeedP0 slots beside
// those the current map's last output row holds: the slots missing, at
// rate cycles a beat from the producer, but a cycle each for the first
// hold of them, which wait finished in the producer's output FIFO. (A
// classifier after a classifier, one pixel a map, then needs one slot, not
// two: the LeNet demo's fc2 and fc3 rings hold 960 and 672 bits, not
// twice that.)
func (e *Engine) fillStall(rate float64, hold int) float64 {
	if e.streams() {
		return 0
	}
	heldEnd := e.lastSpan()
	missing := max(0, e.NeedP0-max(0, e.RingDepth-heldEnd))
	return float64(max(0, missing-hold))*rate + float64(min(missing, hold))
}

// sizeRings shrinks every window engine's ring to the smallest depth, from
// the streaming minimum up to the full ring, whose fill stall keeps the
// predicted period at or below limit (the full-ring period, or a looser
// target). fillStall falls as the depth grows, so the search is a
// bisection.
func (n *Net) sizeRings(limit int) {
	for _, e := range n.Engines {
		if e.streams() || e.RingDepth == e.minRing() {
			continue
		}
		// Depths are whole banks (NB slots).
		lo, hi := e.minRing()/e.NB, e.RingDepth/e.NB
		for lo < hi {
			mid := (lo + hi) / 2
			e.setRing(mid * e.NB)
			if p, _ := n.timing(nil); p > limit {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		e.setRing(lo * e.NB)
	}
}
