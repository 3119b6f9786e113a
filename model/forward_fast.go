package model

// convFast is the float reference's conv2d/adder2d when the vector kernels
// of forward_simd.go run (simdFloat). It is direct convolution without an
// im2col copy for layers whose output rows hold at least 8 positions:
//
//   - The input is copied once per layer into xq, padded (zero or
//     PadValue) and split into its Stride×Stride phases, plane
//     (c, a, b) holding padded pixel (i·S + a, j·S + b) at i·Wq + j. Kernel
//     tap (c, ki, kj) of output (oh, ow) is then xq[off[r] + oh·Wq + ow]
//     with off[r] fixed per tap, so 8 consecutive outputs of a row read 8
//     consecutive values for every tap, for any stride.
//   - Tiles of 8 positions of one row (the last tile of a row shifted left
//     to end at the row's end, recomputing a few outputs identically) meet
//     blocks of 4, 3 or 2 output channels at a time in registers
//     (minSum4x8, minSum3x8, minSum2x8 and dot4x8, dot3x8, dot2x8;
//     chanBlocks chooses the blocks).
//   - An adder2d layer (rows of at least 8) whose input has no negative
//     value runs instead through convSkip: one channel at a time against
//     4 segments of 8 positions (minSum1x32), reading only the taps whose
//     weight is positive (see skipPrep).
//   - Layers with rows shorter than 8 gather tiles of 8 positions into
//     col; layers with fewer than 8 positions (the fully connected adder
//     layers) run one position against 16 channels at a time (minSumRow,
//     dotRow).
//
// The weights are interleaved by 3 (tiles) or 4 (rows) channels once
// (prepConvs) and cached with the net's plan (forward_plan.go) until the
// weights change; the workers share them read-only.

// convPrep is one conv2d/adder2d layer's precomputed state for convFast.
// R = InC·K·K is the window length. Taps are numbered kernel row first,
// r = (ki·InC + c)·K + kj (not the weight's own order (c·K + ki)·K + kj),
// so that the taps of kernel rows ki0 ≤ ki < ki1 are the contiguous range
// [ki0·InC·K, ki1·InC·K) (see rowTaps).
type convPrep struct {
	// rows tells that the layer has fewer than 8 output positions and
	// runs through minSumRow/dotRow.
	rows bool
	// wp holds the weights interleaved by channel blocks, tap r of
	// channel oc being W[oc][c][ki][kj]. Tiles (!rows): block b of blocks
	// holds wp[b.at + b.n·r + j] = tap r of channel b.oc + j (zero for a
	// channel ≥ OutC). Rows: blocks of 4, wp[(b·R + r)·4 + j] = tap r of
	// channel 4b+j, zero for channels ≥ OutC.
	wp     []float64
	blocks []chanBlock
	// sw[oc] = Σ_r W[oc][r] (adder2d only; zero beyond OutC, padded to a
	// whole block).
	sw []float64
	// off[r] is tap r's offset in xq; idOff[r] = 8r, the offsets into a
	// gathered col tile.
	off, idOff []int32
	// Hq, Wq are the size of one phase plane of xq.
	Hq, Wq int
	// copyIn is false when xq would equal the input (no padding, stride 1).
	copyIn bool
	// offT[k] is kernel position k = ki·K + kj's offset in the channel sum
	// of xq's planes (sumPlanes), whose window sums give Σx per position
	// with K·K instead of InC·K·K additions.
	offT []int32
	// rowTaps (adder2d tiles only, else nil) lets an output row skip the
	// kernel rows that lie wholly in the zero padding above or below the
	// input: output row oh uses the taps of rowTaps[oh] only.
	rowTaps []*tapRange
	// skip (adder2d tiles only, else nil) runs the layer through
	// minSum1x32 when its input is non-negative.
	skip *skipPrep
	// reluIn tells that the layer's input is a ReLU's output: no value
	// below 0 (NaN is possible, and gives NaN outputs through either
	// kernel, as Σx is NaN), so convFast need not scan it for skip.
	reluIn bool
}

// skipPrep is an adder2d layer's state for inputs x ≥ 0 (after a ReLU,
// zero padding). A tap with weight w ≤ 0 then has min(x, w) = w for every
// x, so Σ_r min(x, w_r) needs the min of the positive weights' taps only
// (about 57% of ResNet-20's taps) plus a constant per channel:
//
//	2·Σ_r min(x, w_r) − Σx − Σw = 2·Σ_{w_r > 0} min(x, w_r) − Σx − (Σw − 2·Σ_{w_r ≤ 0} w_r).
//
// Each channel has its own list of taps, so the kernel (minSum1x32)
// computes one channel at a time against 4 segments of 8 positions.
type skipPrep struct {
	// Channel oc's positive taps, in tap order, are off[i] and w[i] for
	// idx[oc·(K+1)] ≤ i < idx[oc·(K+1)+K]; idx[oc·(K+1)+k] is the first
	// of them in kernel row ≥ k (taps r ≥ k·InC·K).
	off []int32
	w   []float64
	idx []int
	// neg[oc·(K+1)+k] is Σ_{r < k·InC·K, w_r ≤ 0} w_r of channel oc.
	neg []float64
	// groups are the output's segments of 8 positions (rows in order;
	// the last segment of a row shifted left to end at the row's end),
	// 4 at a time, the last group filled up with repeats.
	groups []segGroup
}

// segGroup is 4 segments of 8 output positions: segment k's position q
// is output position pos[k] + q and reads tap r at xq[base[k] + off[r] +
// q]. They use the kernel rows k0 ≤ k < k1 only, with t's sw (nil: all
// rows and convPrep.sw).
type segGroup struct {
	base, pos [4]int
	k0, k1    int
	t         *tapRange
}

// newSkipPrep returns l's skipPrep; p.off, p.Wq and p.rowTaps must be
// set, tap(oc, r) is tap r of channel oc.
func newSkipPrep(l *Layer, p *convPrep, tap func(oc, r int) float64) *skipPrep {
	C, K := l.InC, l.Kernel
	OH, OW := l.OutShape[1], l.OutShape[2]
	CK := C * K
	sp := &skipPrep{idx: make([]int, l.OutC*(K+1)), neg: make([]float64, l.OutC*(K+1))}
	for oc := range l.OutC {
		var neg float64
		for k := range K {
			sp.idx[oc*(K+1)+k] = len(sp.off)
			sp.neg[oc*(K+1)+k] = neg
			for r := k * CK; r < (k+1)*CK; r++ {
				if v := tap(oc, r); v > 0 {
					sp.off = append(sp.off, p.off[r])
					sp.w = append(sp.w, v)
				} else {
					neg += v
				}
			}
		}
		sp.idx[oc*(K+1)+K] = len(sp.off)
		sp.neg[oc*(K+1)+K] = neg
	}
	type seg struct{ base, pos, oh int }
	var segs []seg
	for oh := range OH {
		for ow0 := 0; ow0 < OW; ow0 += 8 {
			ow0 = min(ow0, OW-8)
			segs = append(segs, seg{oh*p.Wq + ow0, oh*OW + ow0, oh})
		}
	}
	for i := 0; i < len(segs); i += 4 {
		var g segGroup
		var ts [4]*tapRange
		for k := range 4 {
			sg := segs[min(i+k, len(segs)-1)]
			g.base[k], g.pos[k] = sg.base, sg.pos
			if p.rowTaps != nil {
				ts[k] = p.rowTaps[sg.oh]
			}
		}
		g.k0, g.k1 = 0, K
		if ts[0] != nil && ts[0] == ts[1] && ts[0] == ts[2] && ts[0] == ts[3] {
			g.t = ts[0]
			g.k0, g.k1 = g.t.lo/CK, g.t.hi/CK
		}
		sp.groups = append(sp.groups, g)
	}
	return sp
}

// nonNeg reports whether every element of s is ≥ 0 (false for NaN).
func nonNeg(s []float64) bool {
	for _, v := range s {
		if !(v >= 0) {
			return false
		}
	}
	return true
}

// convSkip computes adder2d layer l on non-negative src (xq, or the input
// if not copied) through p.skip; tsum is the channel sum of src's planes.
func convSkip(l *Layer, p *convPrep, src, tsum, out []float64) {
	sp := p.skip
	K := l.Kernel
	npos := l.OutShape[1] * l.OutShape[2]
	var sx [4][8]float64
	var dst [4]*[8]float64
	for gi := range sp.groups {
		g := &sp.groups[gi]
		for k := range 4 {
			sumWin8(tsum, g.base[k], p.offT, &sx[k])
		}
		sw := p.sw
		if g.t != nil {
			sw = g.t.sw
		}
		for oc := range l.OutC {
			j := oc * (K + 1)
			a, b := sp.idx[j+g.k0], sp.idx[j+g.k1]
			c := sw[oc] - 2*(sp.neg[j+g.k1]-sp.neg[j+g.k0])
			o := out[oc*npos : (oc+1)*npos]
			for k := range 4 {
				dst[k] = (*[8]float64)(o[g.pos[k]:])
			}
			minSum1x32(src, &g.base, sp.off[a:b], sp.w[a:b], &sx, &c, &dst)
		}
	}
}

// tapRange is the taps [lo, hi) of the kernel rows an output row reads
// inside the input. sw[oc] = Σ_r W[oc][r] − 2·Σ_{r skipped} min(0, W[oc][r])
// stands in for convPrep.sw: with −|x − w| = 2·min(x, w) − x − w, a
// skipped tap (x = 0) adds 2·min(0, w) − 0 − w, so the kernel's
// 2·Σ_{lo≤r<hi} min − (Σx + sw) is the whole window's sum. Σx includes the
// skipped zeros at no cost.
type tapRange struct {
	lo, hi int
	sw     []float64
}

// chanBlock is a block of n output channels from oc that the tile kernels
// compute together, its weights at convPrep.wp[at:][:n·R].
type chanBlock struct{ oc, n, at int }

// blockCost is the time of the tile kernels for 4, 3 and 2 channels
// relative to the one for 3 (minSum4x8, minSum3x8, minSum2x8; R = 576,
// one core, 2026-11-30).
var blockCost = [5]float64{4: 1.26, 3: 1, 2: 0.88}

// chanBlocks returns the tile kernel blocks for OutC channels: n4 blocks
// of 4, n3 of 3, then n2 of 2 (the last possibly half empty), with the
// least blockCost. For 16, 32 and 64 channels that is all blocks of 4
// (5.04 instead of 5.76 for 4 blocks of 3 and 2 of 2); for 6 it is 3+3.
func chanBlocks(OutC, R int) []chanBlock {
	best, b4, b3 := -1.0, 0, 0
	for n4 := 0; 4*n4 <= OutC+3; n4++ {
		for n3 := 0; 4*n4+3*n3 <= OutC+2; n3++ {
			n2 := (max(OutC-4*n4-3*n3, 0) + 1) / 2
			c := float64(n4)*blockCost[4] + float64(n3)*blockCost[3] + float64(n2)*blockCost[2]
			if best < 0 || c < best-1e-9 {
				best, b4, b3 = c, n4, n3
			}
		}
	}
	var bs []chanBlock
	oc, at := 0, 0
	for oc < OutC {
		n := 2
		switch {
		case len(bs) < b4:
			n = 4
		case len(bs) < b4+b3:
			n = 3
		}
		bs = append(bs, chanBlock{oc: oc, n: n, at: at})
		oc, at = oc+n, at+n*R
	}
	return bs
}

// phaseGeom returns the phase-plane size of l's xq and xq's length.
func phaseGeom(l *Layer) (Hq, Wq, size int) {
	C, H, W := l.InShapes[0][0], l.InShapes[0][1], l.InShapes[0][2]
	S, P := l.Stride, l.Padding
	Hq, Wq = (H+2*P+S-1)/S, (W+2*P+S-1)/S
	return Hq, Wq, C * S * S * Hq * Wq
}

// prepConvs returns each conv2d/adder2d layer's convPrep (nil for other
// layers).
func (n *Net) prepConvs() []*convPrep {
	preps := make([]*convPrep, len(n.Layers))
	for i, l := range n.Layers {
		if l.Op != OpConv2d && l.Op != OpAdder2d {
			continue
		}
		C, K, S := l.InC, l.Kernel, l.Stride
		R := C * K * K
		p := &convPrep{off: make([]int32, R), idOff: make([]int32, R)}
		p.rows = l.OutShape[1]*l.OutShape[2] < 8
		// tap(oc, r) is tap r of channel oc.
		w := l.W.Value.Data
		tap := func(oc, r int) float64 {
			ki, c, kj := r/(C*K), r/K%C, r%K
			return w[oc*R+(c*K+ki)*K+kj]
		}
		if p.rows {
			nb := (l.OutC + 3) / 4
			p.wp = make([]float64, nb*R*4)
			for oc := range l.OutC {
				b, j := oc/4, oc%4
				for r := range R {
					p.wp[(b*R+r)*4+j] = tap(oc, r)
				}
			}
		} else {
			p.blocks = chanBlocks(l.OutC, R)
			last := p.blocks[len(p.blocks)-1]
			p.wp = make([]float64, last.at+last.n*R)
			for _, b := range p.blocks {
				for j := range min(b.n, l.OutC-b.oc) {
					for r := range R {
						p.wp[b.at+b.n*r+j] = tap(b.oc+j, r)
					}
				}
			}
		}
		if l.Op == OpAdder2d {
			p.sw = make([]float64, l.OutC+4)
			for oc := range l.OutC {
				var s float64
				for _, v := range w[oc*R : (oc+1)*R] {
					s += v
				}
				p.sw[oc] = s
			}
		}
		var size int
		p.Hq, p.Wq, size = phaseGeom(l)
		plane := p.Hq * p.Wq
		if size > 1<<31-1 {
			panic("model: layer too large for convFast")
		}
		for ki := range K {
			for c := range C {
				for kj := range K {
					r := (ki*C+c)*K + kj
					p.off[r] = int32(((c*S+ki%S)*S+kj%S)*plane + (ki/S)*p.Wq + kj/S)
					p.idOff[r] = int32(8 * r)
				}
			}
		}
		p.copyIn = l.Padding > 0 || S > 1
		p.offT = make([]int32, K*K)
		for ki := range K {
			for kj := range K {
				p.offT[ki*K+kj] = int32(((ki%S)*S+kj%S)*plane + (ki/S)*p.Wq + kj/S)
			}
		}
		if l.Op == OpAdder2d && !p.rows && l.OutShape[2] >= 8 && l.Padding > 0 {
			p.rowTaps = rowTaps(l, tap)
		}
		if l.Op == OpAdder2d && !p.rows && l.OutShape[2] >= 8 {
			p.skip = newSkipPrep(l, p, tap)
			j := l.inIdx[0]
			p.reluIn = j >= 0 && n.Layers[j].Op == OpReLU
		}
		preps[i] = p
	}
	return preps
}

// rowTaps returns convPrep.rowTaps for adder2d layer l (zero padding);
// tap(oc, r) is tap r of channel oc. Output rows with the same kernel
// rows inside the input share a tapRange.
func rowTaps(l *Layer, tap func(oc, r int) float64) []*tapRange {
	C, H, K, S, P := l.InC, l.InShapes[0][1], l.Kernel, l.Stride, l.Padding
	OH, R := l.OutShape[1], C*l.Kernel*l.Kernel
	out := make([]*tapRange, OH)
	byRange := map[[2]int]*tapRange{}
	for oh := range OH {
		k0 := max(0, P-oh*S)   // first kernel row inside the input
		k1 := min(K, H+P-oh*S) // one past the last
		k1 = max(k1, k0)       // (an output row wholly in padding)
		key := [2]int{k0, k1}
		if t := byRange[key]; t != nil {
			out[oh] = t
			continue
		}
		t := &tapRange{lo: k0 * C * K, hi: k1 * C * K, sw: make([]float64, l.OutC+4)}
		for oc := range l.OutC {
			var s, skip float64
			for r := range R {
				v := tap(oc, r)
				s += v
				if r < t.lo || r >= t.hi {
					skip += min(0, v)
				}
			}
			t.sw[oc] = s - 2*skip
		}
		byRange[key] = t
		out[oh] = t
	}
	return out
}

// fillPhases writes l's input x, padded and split into stride phases, to
// xq (layout in convFast's comment).
func fillPhases(l *Layer, p *convPrep, x, xq []float64) {
	C, H, W := l.InShapes[0][0], l.InShapes[0][1], l.InShapes[0][2]
	S, P := l.Stride, l.Padding
	Hp, Wp := H+2*P, W+2*P
	Hq, Wq := p.Hq, p.Wq
	plane := Hq * Wq
	for c := range C {
		var pad float64
		if l.PadValue != nil {
			pad = l.PadValue[c]
		}
		xc := x[c*H*W : (c+1)*H*W]
		if S == 1 { // one phase: Hq = Hp, Wq = Wp
			q := xq[c*plane:][:plane]
			for i := range Hq {
				row := q[i*Wq:][:Wq]
				ih := i - P
				if ih < 0 || ih >= H {
					for j := range row {
						row[j] = pad
					}
					continue
				}
				for j := range P {
					row[j] = pad
					row[P+W+j] = pad
				}
				copy(row[P:P+W], xc[ih*W:][:W])
			}
			continue
		}
		// ceil(n/S) for n ≥ 0, clamped to [0, Wq]
		col := func(n int) int { return min(Wq, (max(n, 0)+S-1)/S) }
		for a := range S {
			for b := range S {
				// Phase column j is padded column j·S + b: padding below
				// jLo, input column j·S + b − P below jHi, padding below
				// jEnd, beyond the padded input (never read) after.
				jLo, jHi, jEnd := col(P-b), col(W+P-b), col(Wp-b)
				q := xq[((c*S+a)*S+b)*plane:][:plane]
				for i := range Hq {
					row := q[i*Wq : (i+1)*Wq]
					ih := i*S + a - P
					switch {
					case i*S+a >= Hp:
						clear(row)
						continue
					case ih < 0 || ih >= H:
						fill(row[:jEnd], pad)
					default:
						xr := xc[ih*W : (ih+1)*W]
						fill(row[:jLo], pad)
						for j := jLo; j < jHi; j++ {
							row[j] = xr[j*S+b-P]
						}
						fill(row[jHi:jEnd], pad)
					}
					clear(row[jEnd:])
				}
			}
		}
	}
}

// writePadded sets xq to y (the output of a conv2d/adder2d step, shape
// [C, H, W]) with epilogue e applied, padded for conv l (stride 1) as
// fillPhases would: padding l.PadValue[c], or 0.
func writePadded(l *Layer, y, xq []float64, e *epilogue) {
	C, H, W := l.InShapes[0][0], l.InShapes[0][1], l.InShapes[0][2]
	P := l.Padding
	Wp := W + 2*P
	plane := (H + 2*P) * Wp
	y, xq = y[:C*H*W], xq[:C*plane]
	for c := range C {
		var pad float64
		if l.PadValue != nil {
			pad = l.PadValue[c]
		}
		q := xq[c*plane : (c+1)*plane]
		fill(q[:P*Wp+P], pad)
		for i := range H {
			row := q[(P+i)*Wp+P:][:W]
			yr := y[(c*H+i)*W:][:W]
			if e.active() {
				postRow(yr, row, e, c)
			} else {
				copy(row, yr)
			}
			if i+1 < H {
				fill(q[(P+i)*Wp+P+W:][:2*P], pad)
			}
		}
		fill(q[(P+H-1)*Wp+P+W:], pad)
	}
}

// fill sets every element of s to v.
func fill(s []float64, v float64) {
	for i := range s {
		s[i] = v
	}
}

// convFast computes conv2d or adder2d on one sample with the vector
// kernels (see the comment at the top of this file), followed by the
// epilogue e (which holds the bias, if any), applied channel by channel
// once all outputs are stored: one vectorised pass per channel costs far
// less than one call per tile of 8.
func convFast(l *Layer, p *convPrep, x, out []float64, s *scratch, e *epilogue, padded bool) {
	OH, OW := l.OutShape[1], l.OutShape[2]
	npos := OH * OW
	R := len(p.off)
	adder := l.Op == OpAdder2d
	src := x
	if p.copyIn && !padded {
		_, _, size := phaseGeom(l)
		src = s.xq[:size]
		fillPhases(l, p, x, src)
	}
	var tsum []float64 // channel sum of src's planes, for Σx
	if adder && !p.rows && OW >= 8 {
		tsum = s.tsum[:l.Stride*l.Stride*p.Hq*p.Wq]
		sumPlanes(src, tsum)
	}
	switch {
	case p.skip != nil && (p.reluIn && nonNeg(l.PadValue) || nonNeg(src)):
		convSkip(l, p, src, tsum, out)
	case p.rows:
		nb := (l.OutC + 3) / 4
		row := s.col[:R]
		var res [16]float64
		for pos := range npos {
			base := (pos/OW)*p.Wq + pos%OW
			var sx float64
			for r, o := range p.off {
				v := src[base+int(o)]
				row[r] = v
				sx += v
			}
			for b0 := 0; b0 < nb; b0 += 4 {
				k := min(4, nb-b0)
				wp := p.wp[b0*4*R : (b0+k)*4*R]
				if adder {
					minSumRow(row, wp, k, sx, p.sw[4*b0:4*(b0+k)], &res)
				} else {
					dotRow(row, wp, k, &res)
				}
				for j := range min(4*k, l.OutC-4*b0) {
					out[(4*b0+j)*npos+pos] = res[j]
				}
			}
		}
	case OW >= 8:
		for oh := range OH {
			lo, hi, sw := 0, R, p.sw
			if p.rowTaps != nil {
				t := p.rowTaps[oh]
				lo, hi, sw = t.lo, t.hi, t.sw
			}
			for ow0 := 0; ow0 < OW; ow0 += 8 {
				ow0 = min(ow0, OW-8)
				var sx [8]float64
				if adder {
					sumWin8(tsum, oh*p.Wq+ow0, p.offT, &sx)
				}
				convTile(l, p, src, oh*p.Wq+ow0, p.off, lo, hi, sw, &sx, out, oh*OW+ow0, 8, adder)
			}
		}
	default:
		col := s.col[:8*R]
		for p0 := 0; p0 < npos; p0 += 8 {
			tp := min(8, npos-p0)
			for q := range 8 {
				if q >= tp {
					for r := range R {
						col[8*r+q] = 0
					}
					continue
				}
				pos := p0 + q
				base := (pos/OW)*p.Wq + pos%OW
				for r, o := range p.off {
					col[8*r+q] = src[base+int(o)]
				}
			}
			var sx [8]float64
			if adder {
				sumWin8(col, 0, p.idOff, &sx)
			}
			convTile(l, p, col, 0, p.idOff, 0, R, p.sw, &sx, out, p0, tp, adder)
		}
	}
	if e.active() {
		for oc := range l.OutC {
			o := out[oc*npos : (oc+1)*npos]
			postRow(o, o, e, oc)
		}
	}
}

// convTile computes 8 consecutive output positions (the first tp of which
// are stored, at out[oc·npos + pos0 + q]) for every output channel from
// taps lo ≤ r < hi; tap r of position q is src[base + off[r] + q] and
// sx[q] is Σ_r of those over all taps (adder2d only, with sw standing in
// for p.sw: see tapRange).
func convTile(l *Layer, p *convPrep, src []float64, base int, off []int32, lo, hi int, sw []float64, sx *[8]float64, out []float64, pos0, tp int, adder bool) {
	npos := l.OutShape[1] * l.OutShape[2]
	off = off[lo:hi]
	// The kernels store straight into out (dst) but for a partial tile
	// (tp < 8) or a block's channels beyond OutC, which go to spare.
	var spare [4][8]float64
	var dst [4]*[8]float64
	for _, b := range p.blocks {
		nj := min(b.n, l.OutC-b.oc)
		for j := range b.n {
			dst[j] = &spare[j]
			if j < nj && tp == 8 {
				dst[j] = (*[8]float64)(out[(b.oc+j)*npos+pos0:])
			}
		}
		wp := p.wp[b.at:][b.n*lo : b.n*hi]
		var swb *[4]float64
		if adder {
			swb = (*[4]float64)(sw[b.oc:])
		}
		switch {
		case b.n == 4 && adder:
			minSum4x8(src, base, off, wp, sx, swb, &dst)
		case b.n == 4:
			dot4x8(src, base, off, wp, &dst)
		case b.n == 3 && adder:
			minSum3x8(src, base, off, wp, sx, swb, &dst)
		case b.n == 3:
			dot3x8(src, base, off, wp, &dst)
		case adder:
			minSum2x8(src, base, off, wp, sx, swb, &dst)
		default:
			dot2x8(src, base, off, wp, &dst)
		}
		if tp < 8 {
			for j := range nj {
				copy(out[(b.oc+j)*npos+pos0:][:tp], spare[j][:tp])
			}
		}
	}
}

// sumPlanes sets t to the sum of the len(t)-long planes that make up src
// (len(src) is a multiple of len(t)): t[i] = Σ_c src[c·len(t) + i].
func sumPlanes(src, t []float64) {
	copy(t, src[:len(t)])
	for c := len(t); c < len(src); c += len(t) {
		addTo(t, src[c:c+len(t)])
	}
}
