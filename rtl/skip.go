package rtl

import "github.com/addergen/addergen/quant"

// needRows is the number of input rows (from row 0) an engine must hold to
// emit output rows 0..m-1: an output row issues once the input rows under
// its windows are in, and the last waits for the whole map. Add engines
// are row for row.
func needRows(e *Engine, m int) int {
	switch {
	case m <= 0:
		return 0
	case e.Add:
		return m
	case m >= e.OH:
		return e.H
	}
	return min(e.H, (m-1)*e.S-e.PAD+e.K)
}

// availRows is the number of output rows an engine can emit holding f
// input rows: the largest m with needRows(e, m) <= f.
func availRows(e *Engine, f int) int {
	m := 0
	for m < e.OH && needRows(e, m+1) <= f {
		m++
	}
	return m
}

// sizeSkipFIFOs sets every add engine's skip FIFO depth from the two
// branches between the fork and the add (FINN sizes its FIFOs from the
// same kind of branch analysis). The fork moves both branches in lock
// step, so the skip FIFO must hold what the skip branch has delivered
// while the main branch still waits for fork rows to emit its next
// output row:
//
//	lead = max over output rows r of availSkip(needMain(r+1)) - r   rows
//
// where needMain composes needRows along the main branch (rows of the
// fork's stream for r+1 output rows) and availSkip composes availRows
// along the skip branch. The depth is (lead + 1) rows of the add's map
// (one row of slack so that the fork does not wait in steady state),
// rounded up to a power of two. An identity shortcut around two 3x3
// stride-1 engines leads by 3 rows: 4*W beats, where a whole map was H*W.
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
				m = needRows(byLayer[j], m)
			}
			return m
		}
		availSkip := func(f int) int {
			for i := len(skipPath) - 1; i >= 0; i-- {
				f = availRows(byLayer[skipPath[i]], f)
			}
			return f
		}
		lead := 1
		for r := 0; r < e.OH; r++ {
			lead = max(lead, availSkip(needMain(r+1))-r)
		}
		e.SkipLeadRows = lead
		e.FifoDepth = max(2, 1<<clog2(min(lead+1, e.OH)*e.OW))
	}
}
