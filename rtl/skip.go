package rtl

import "github.com/addergen/addergen/quant"

// needPixels is the number of input pixels (from pixel 0, raster order)
// an engine must hold to emit its output pixels 0..n-1: output pixel
// (oh, ow) issues once the input pixels under its windows are in, up to
// (oh*S-PAD+K-1, ow*S-PAD+K-1), and the last output row waits for the
// whole map. Add engines are pixel for pixel.
func needPixels(e *Engine, n int) int {
	switch {
	case n <= 0:
		return 0
	case e.Add:
		return n
	}
	oh, ow := (n-1)/e.OW, (n-1)%e.OW
	if e.PoolStream { // every output pixel as its window's last pixel arrives
		return (oh*e.K+e.K-1)*e.W + ow*e.K + e.K
	}
	if oh >= e.OH-1 {
		return e.H * e.W
	}
	rows := min(e.H, oh*e.S-e.PAD+e.K)
	return (rows-1)*e.W + min(e.W, ow*e.S-e.PAD+e.K)
}

// availPixels is the number of output pixels an engine can emit holding f
// input pixels: the largest n with needPixels(e, n) <= f.
func availPixels(e *Engine, f int) int {
	lo, hi := 0, e.OH*e.OW // needPixels is monotone: binary search
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if needPixels(e, mid) <= f {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// skipSlack is the FIFO depth beyond the lead: the beats in flight in the
// main branch's last engine and the add's own input, so that the fork
// does not wait in steady state.
const skipSlack = 2

// sizeSkipFIFOs sets every add engine's skip FIFO depth from the two
// branches between the fork and the add (FINN sizes its FIFOs from the
// same kind of branch analysis). The fork moves both branches in lock
// step, so the skip FIFO must hold what the skip branch has delivered
// while the main branch still waits for fork pixels to emit its next
// output pixel:
//
//	lead = max over output pixels p of availSkip(needMain(p+1)) - p
//
// where needMain composes needPixels along the main branch (pixels of the
// fork's stream for p+1 output pixels) and availSkip composes availPixels
// along the skip branch. The depth is lead plus the beats in flight in
// the main branch's pipelines and output FIFOs plus skipSlack. An identity
// shortcut around two 3x3 stride-1 engines leads by about 2W+4 beats,
// where a whole map was H*W.
func (n *Net) sizeSkipFIFOs() {
	byLayer := map[int]*Engine{}
	for _, e := range n.Engines {
		byLayer[e.Index] = e
	}
	root := func(j int) int {
		for j >= 0 && n.Model.Layers[j].Op == quant.OpFlatten {
			j = n.Model.Layers[j].InputIndex()[0]
		}
		return j
	}
	// chain lists the layers from j back to the network input (-1),
	// following an add's main (first) input.
	chain := func(j int) []int {
		var out []int
		for j = root(j); j >= 0; j = root(n.Model.Layers[j].InputIndex()[0]) {
			out = append(out, j)
		}
		return append(out, -1)
	}
	for _, e := range n.Engines {
		if !e.Add {
			continue
		}
		in := n.Model.Layers[e.Index].InputIndex()
		main, skip := in[0], in[1]
		if e.swapped {
			main, skip = skip, main
		}
		cm, cs := chain(main), chain(skip)
		onMain := map[int]int{}
		for i, j := range cm {
			onMain[j] = i
		}
		common, si := -1, len(cs)-1
		for i, j := range cs {
			if _, ok := onMain[j]; ok {
				common, si = j, i
				break
			}
		}
		mainPath := cm[:onMain[common]] // add's main input first, back to the fork
		skipPath := cs[:si]
		needMain := func(m int) int {
			for _, j := range mainPath {
				m = needPixels(byLayer[j], m)
			}
			return m
		}
		availSkip := func(f int) int {
			for i := len(skipPath) - 1; i >= 0; i-- {
				f = availPixels(byLayer[skipPath[i]], f)
			}
			return f
		}
		lead := 1
		for p := 0; p < e.OH*e.OW; p++ {
			lead = max(lead, availSkip(needMain(p+1))-p)
		}
		// The main branch's pipelines also hold beats in flight: an
		// engine's tail over its issue cycles per beat, and its output FIFO.
		flight := 0
		for _, j := range mainPath {
			m := byLayer[j]
			gt := max(1, m.G*m.T)
			flight += (m.Tail+gt-1)/gt + m.ODepth
		}
		e.SkipLead = lead
		e.FifoDepth = min(lead+flight+skipSlack, e.OH*e.OW+flight+skipSlack)
	}
}
