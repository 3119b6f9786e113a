package sim

import (
	"encoding/binary"
	"math"

	"github.com/addergen/addergen/fixedpoint"
	"github.com/addergen/addergen/quant"
)

// scratch is one worker's workspace for the convolution kernels.
type scratch struct {
	patch []int32
	acc   []int64  // per-channel MAC sums
	xp    []uint64 // packed patch (SWAR)
	// Vector byte kernel: the input map as padded HWC bytes, one output
	// row's byte patches, and the layer's sums [quad][pixel][4] (L1 sums or
	// dot products; see rowSums).
	xh   []uint8
	pb   []uint8
	l1   []int32
	v    []int64   // one row of pre-scaled values (finishRow)
	p16  []int16   // one output row of int16 patches (vector conv2d)
	qacc []quadAcc // vector rescale statistics per group of four channels
	x16  []int16   // the input map as padded HWC int16 (vector conv2d)
	// Group-wise scales (layerPlan.runGroups): a group's view of the input
	// and its sub-plan's outputs.
	view, gout []int32
}

func (s *scratch) grow(p *layerPlan) {
	if p.groups != nil {
		if n := numel(p.inShape); len(s.view) < n {
			s.view = make([]int32, n)
		}
		for _, g := range p.groups {
			if n := g.p.size; len(s.gout) < n {
				s.gout = make([]int32, n)
			}
			s.grow(g.p)
		}
		return
	}
	if len(s.acc) < p.O {
		s.acc = make([]int64, p.O)
	}
	if p.op == quant.OpAdder2d || p.op == quant.OpConv2d {
		if n := p.R; len(s.patch) < n {
			s.patch = make([]int32, n)
		}
		if n := len(p.wp) / max(p.O, 1); len(s.xp) < n {
			s.xp = make([]uint64, n)
		}
		if p.wm != nil {
			if n := p.outShape[2] * p.rb; len(s.p16) < n {
				s.p16 = make([]int16, n)
			}
			C, H, W, P := p.inShape[0], p.inShape[1], p.inShape[2], p.l.Padding
			// 16 lanes of slack: macRowRows8, macRowRows16 and convC1Row
			// read up to 16 lanes from the last window row's start.
			if n := (H+2*P)*(W+2*P)*C + 16; len(s.x16) < n {
				s.x16 = make([]int16, n)
			}
			if n := p.outShape[1] * p.outShape[2] * 4 * p.oq; len(s.l1) < n {
				s.l1 = make([]int32, n)
			}
		}
		if p.wq != nil {
			C, H, W := p.inShape[0], p.inShape[1], p.inShape[2]
			P, OW := p.l.Padding, p.outShape[2]
			// 32 bytes of slack: the direct kernel's last masked chunk
			// may read past the map.
			if n := (H+2*P)*(W+2*P)*C + 32; len(s.xh) < n {
				s.xh = make([]uint8, n)
			}
			if n := OW * p.rb; len(s.pb) < n {
				s.pb = make([]uint8, n)
			}
			if n := p.outShape[1] * OW * 4 * p.oq; len(s.l1) < n {
				s.l1 = make([]int32, n)
			}
		}
	}
}

// swarPlan sets up a packed adder kernel when the input codes fit it: with
// the vector kernels, bytes for codes spanning at most 8 bits, 16-bit lanes
// up to 16 bits; otherwise SWAR words up to 15 bits; else the int32 kernel.
func (p *layerPlan) swarPlan(in quant.Act) {
	lo, hi := in.Min(), in.Max()
	if p.op != quant.OpAdder2d {
		return
	}
	p.off = int32(lo)
	if simdAvailable() && !noSIMD && lo <= 0 && hi >= 0 {
		switch {
		case hi-lo <= 255 && p.R <= 1<<20:
			p.bytePlan(p.useDirect())
			p.vectorRescalePlan(0, int64(p.R)*(hi-lo))
			return
		case hi-lo <= 65535 && int64(p.R)*(hi-lo) < 1<<31:
			p.wordPlan()
			p.vectorRescalePlan(0, int64(p.R)*(hi-lo))
			return
		}
	}
	if hi-lo >= 1<<swarMaxBits {
		return
	}
	words := (p.R + 3) / 4
	p.wp = make([]uint64, p.O*words)
	for o := range p.O {
		packLanes(p.wp[o*words:(o+1)*words], p.w[o*p.R:(o+1)*p.R], int32(lo), 0)
	}
	p.flush = swarFlush(hi - lo)
}

// bytePlan lays the adder weights out for the vector byte kernel, once at
// load: codes offset by the input's minimum (so every width up to 8 bits,
// signed or not, is a byte), each filter's window in HWC order ([ki][kj][c],
// matching the HWC input map), output channels grouped by four (the last
// group padded with zero filters, whose sums are discarded) and
// interleaved per 32-byte chunk: wq[quad][chunk][q][32]. Two layouts:
//   - direct (p.cpr > 0): each window row (K·C bytes, contiguous in the
//     HWC map) is padded to cpr chunks, so the kernel reads the window in
//     place, masking the padded lanes of each row's last chunk;
//   - half (a direct layout, p.half, when K·C mod 32 = 16, e.g. 16
//     channels and 3×3 windows): each window row is m = ⌊K·C/32⌋ full
//     chunks and a 16-byte tail; the tails of rows 2t and 2t+1 share one
//     chunk (low and high 16 bytes; the high half of a last odd row is
//     masked), after the K·m full chunks: K·m + ⌈K/2⌉ chunks per window
//     (5 instead of 6 for ResNet-20's first stage);
//   - patch: the whole window (R = C·K·K bytes) padded to a multiple of
//     32, for a gathered patch (used when row padding would waste more
//     than a quarter of the lanes, e.g. one input channel).
//
// rb is the number of lanes per filter in every layout.
func (p *layerPlan) bytePlan(direct bool) {
	C, K := p.inShape[0], p.l.Kernel
	cpr := (K*C + 31) / 32
	p.cpr = 0
	p.half = false
	p.rb = (p.R + 31) &^ 31
	m := K * C / 32
	if direct {
		p.cpr = cpr
		p.rb = K * cpr * 32
		if K*C%32 == 16 {
			p.half = true
			p.rb = (K*m + (K+1)/2) * 32
		}
	}
	p.oq = (p.O + 3) / 4
	p.wq = make([]uint8, p.oq*4*p.rb)
	for o := range p.O {
		base := (o/4)*4*p.rb + (o%4)*32
		for c := range C {
			for ki := range K {
				for kj := range K {
					r := (ki*K+kj)*C + c
					if direct {
						r = ki*cpr*32 + kj*C + c
					}
					if pos := kj*C + c; p.half {
						r = (ki*m)*32 + pos // a full chunk of row ki
						if pos >= 32*m {
							r = (K*m+ki/2)*32 + 16*(ki%2) + pos - 32*m // a shared tail chunk
						}
					}
					v := p.w[o*p.R+(c*K+ki)*K+kj]
					p.wq[base+(r/32)*128+r%32] = uint8(v - p.off)
				}
			}
		}
	}
}

// useDirect reports whether the direct layout wastes at most a quarter
// more lanes than the patch layout.
func (p *layerPlan) useDirect() bool {
	C, K := p.inShape[0], p.l.Kernel
	return 4*K*((K*C+31)/32)*32 <= 5*((p.R+31)&^31)
}

// macPlan sets up the vector conv2d kernel (macQuad2) when it is exact:
// input codes and weights fit int16 and R·max|x|·max|w| < 2^31, so every
// partial dot product fits an int32 lane. Weights are laid out once: each
// filter's window in HWC order ([ki][kj][c]), padded to a multiple of 16
// lanes, four filters interleaved per 16-lane chunk: wm[quad][chunk][q][16].
// When a window row holds at most 8 values (K·C ≤ 8, e.g. LeNet's first
// layer: one channel, 5×5), each window row instead takes 8 lanes (rows8;
// the lanes past K·C have zero weights) and the kernel (macRowRows8)
// reads the windows in place, two rows per 16-lane chunk, with no gather;
// with at most 16 (e.g. ResNet-20's first layer: 3 channels, 3×3), each
// window row takes a 16-lane chunk (rows16, macRowRows16).
// With one input channel, stride 1 and at least 16 output columns, the
// layer runs pixel-vectorized instead (convC1Row, weights wc1).
func (p *layerPlan) macPlan(in quant.Act) {
	lo, hi := in.Min(), in.Max()
	if p.op != quant.OpConv2d || lo < math.MinInt16 || hi > math.MaxInt16 {
		return
	}
	var wmax int64
	for _, v := range p.w {
		if v < math.MinInt16 || v > math.MaxInt16 {
			return
		}
		wmax = max(wmax, abs64(int64(v)))
	}
	bound := int64(p.R) * max(abs64(lo), abs64(hi)) * wmax
	if bound >= 1<<31 {
		return
	}
	C, K := p.inShape[0], p.l.Kernel
	p.rb = (p.R + 15) &^ 15
	p.rows8 = K*C <= 8
	p.rows16 = !p.rows8 && K*C <= 16
	if p.rows8 {
		p.rb = (K + 1) / 2 * 16
	}
	if p.rows16 {
		p.rb = K * 16
	}
	p.oq = (p.O + 3) / 4
	p.wm = make([]int16, p.oq*4*p.rb)
	for o := range p.O {
		base := (o/4)*4*p.rb + (o%4)*16
		for c := range C {
			for ki := range K {
				for kj := range K {
					r := (ki*K+kj)*C + c
					if p.rows8 {
						r = ki*8 + kj*C + c
					}
					if p.rows16 {
						r = ki*16 + kj*C + c
					}
					p.wm[base+(r/16)*64+r%16] = int16(p.w[o*p.R+(c*K+ki)*K+kj])
				}
			}
		}
	}
	if C == 1 && p.l.Stride == 1 && p.outShape[2] >= 16 {
		// One input channel: pixel-vectorized (convC1Row), tap pairs
		// wc1[quad][ki][pair][q][16]: each 32-bit lane holds the weights
		// of taps (ki, 2j) and (ki, 2j+1) (0 past the row).
		np := (K + 1) / 2
		p.wc1 = make([]int16, p.oq*K*np*4*16)
		for o := range p.O {
			for ki := range K {
				for j := range np {
					base := ((((o/4)*K+ki)*np+j)*4 + o%4) * 16
					for l := 0; l < 16; l += 2 {
						p.wc1[base+l] = int16(p.w[o*p.R+ki*K+2*j])
						if 2*j+1 < K {
							p.wc1[base+l+1] = int16(p.w[o*p.R+ki*K+2*j+1])
						}
					}
				}
			}
		}
	}
	p.vectorRescalePlan(-bound, bound)
}

// wordPlan lays adder weights out for the 16-bit vector kernel (l1Quad2W),
// like macPlan: codes offset by the input's minimum to [0, 2^16) (held as
// the bits of int16), HWC window order, padded to 16 lanes, four filters
// interleaved per chunk. Its sums are exact: the plan requires
// R·span < 2^31.
func (p *layerPlan) wordPlan() {
	C, K := p.inShape[0], p.l.Kernel
	p.rb = (p.R + 15) &^ 15
	p.oq = (p.O + 3) / 4
	p.wm = make([]int16, p.oq*4*p.rb)
	for o := range p.O {
		base := (o/4)*4*p.rb + (o%4)*16
		for c := range C {
			for ki := range K {
				for kj := range K {
					r := (ki*K+kj)*C + c
					p.wm[base+(r/16)*64+r%16] = int16(uint16(p.w[o*p.R+(c*K+ki)*K+kj] - p.off))
				}
			}
		}
	}
}

// convMAC computes a conv2d layer, or an adder2d layer with 16-bit codes,
// on one image with the int16-lane vector kernels: the input map is
// converted once to padded HWC int16 (code 0 where padded, or the pad
// code; adder codes offset like the weights); for each output row, each
// pair of pixels meets each group of four filters in registers (dot
// products, or L1 sums), reading the windows in place (rows8, rows16) or
// from gathered int16 patches (K copies of K·C contiguous values), or, for
// one input channel, 16 pixels at a time (convC1Row); the layer's sums
// are then rescaled (rescaleLayer, or row by row with the scalar
// rescale).
func (p *layerPlan) convMAC(x, out []int32, st *rawStats, s *scratch) {
	C, H, W := p.inShape[0], p.inShape[1], p.inShape[2]
	OH, OW := p.outShape[1], p.outShape[2]
	K, S, P := p.l.Kernel, p.l.Stride, p.l.Padding
	Hp, Wp := H+2*P, W+2*P
	rb, O4, KC := p.rb, 4*p.oq, K*C
	adder := p.op == quant.OpAdder2d
	off := int32(0)
	if adder {
		off = p.off
	}
	xm := s.x16[:Hp*Wp*C]
	if P > 0 {
		// Code 0, or the layer's pad code of each channel (PadCode).
		for c := range C {
			pad := int16(uint16(int32(p.padCode(c)) - off))
			for i := c; i < len(xm); i += C {
				xm[i] = pad
			}
		}
	}
	c0 := 0
	if C == 1 && !adder && W >= 16 {
		// One channel of int16-range codes (macPlan): rows converted 16
		// codes at a time.
		for h := range H {
			packInt16Row(x[h*W:(h+1)*W], xm[(h+P)*Wp+P:(h+P)*Wp+P+W])
		}
		c0 = 1
	}
	for c := c0; c < C; c++ {
		xc := x[c*H*W : (c+1)*H*W]
		for h := range H {
			row := xm[((h+P)*Wp+P)*C:]
			row = row[:W*C]
			for w, v := range xc[h*W : (h+1)*W] {
				row[w*C+c] = int16(uint16(v - off))
			}
		}
	}
	l1 := s.l1[:OH*OW*O4] // the whole layer's sums, rescaled at its end
	if p.wc1 != nil {
		np := (K + 1) / 2
		for oh := range OH {
			for qd := range p.oq {
				convC1Row(s.x16[oh*Wp:], Wp, OW, K, p.wc1[qd*K*np*64:(qd+1)*K*np*64], p.rowSums(l1, qd, oh))
			}
			p.rescaleRow(oh, l1, out, st, s)
		}
		p.rescaleLayer(l1, out, st, s)
		return
	}
	if p.rows8 || p.rows16 {
		rowStride := Wp * C
		for oh := range OH {
			xr := s.x16[oh*S*rowStride:]
			for qd := range p.oq {
				wm := p.wm[qd*4*rb : (qd+1)*4*rb]
				lq := p.rowSums(l1, qd, oh)
				if p.rows16 {
					macRowRows16(xr, S*C, OW, rowStride, K, wm, lq)
					continue
				}
				macRowRows8(xr, S*C, OW, rowStride, K, wm, lq)
			}
			p.rescaleRow(oh, l1, out, st, s)
		}
		p.rescaleLayer(l1, out, st, s)
		return
	}
	pb := s.p16[:OW*rb]
	for ow := range OW {
		clear(pb[ow*rb+p.R : (ow+1)*rb]) // padded lanes multiply zero weights
	}
	for oh := range OH {
		for ow := range OW {
			patch := pb[ow*rb : ow*rb+p.R]
			src := xm[(oh*S*Wp+ow*S)*C:]
			for ki := range K {
				d := patch[ki*KC:]
				sr := src[ki*Wp*C:]
				switch {
				case KC >= 8:
					// 8-lane moves, the last one overlapping backwards.
					i := 0
					for ; i+8 <= KC; i += 8 {
						*(*[8]int16)(d[i : i+8]) = *(*[8]int16)(sr[i : i+8])
					}
					if i < KC {
						*(*[8]int16)(d[KC-8 : KC]) = *(*[8]int16)(sr[KC-8 : KC])
					}
				case KC >= 4 && ki < K-1:
					// One 8-lane move: its excess lanes land in row ki+1's
					// place (written next) and are read from within the map
					// (a later map row follows).
					*(*[8]int16)(d[0:8]) = *(*[8]int16)(sr[0:8])
				default:
					d, sr := d[:KC], sr[:KC]
					for i := range d {
						d[i] = sr[i]
					}
				}
			}
		}
		for qd := range p.oq {
			wm := p.wm[qd*4*rb : (qd+1)*4*rb]
			lq := p.rowSums(l1, qd, oh)
			for ow := 0; ow < OW; ow += 2 {
				b := min(ow+1, OW-1) // an odd last pixel pairs with itself
				if adder {
					l1Quad2W(pb[ow*rb:(ow+1)*rb], pb[b*rb:(b+1)*rb], wm, lq[4*ow:4*ow+4], lq[4*b:4*b+4])
					continue
				}
				macQuad2(pb[ow*rb:(ow+1)*rb], pb[b*rb:(b+1)*rb], wm, lq[4*ow:4*ow+4], lq[4*b:4*b+4])
			}
		}
		p.rescaleRow(oh, l1, out, st, s)
	}
	p.rescaleLayer(l1, out, st, s)
}

// quadConst holds a group of four output channels' rescale constants
// (zero for the padding channels of the last group), for rescaleQuad,
// which works on two pixels' sums [pixel][4] per 8-lane vector: wc8 is
// WeightConst (0 for conv2d) per lane; mE and mO hold M of channels 0, 2
// and 1, 3 in the even 32-bit lanes ([m0 0 m2 0 m0 0 m2 0], the operand
// layout of VPMULDQ); bE and bO hold B + h + 2^62 of channels 0, 2, 0, 2
// and 1, 3, 1, 3 (h the rounding half). wc, m and b are the scalar
// values per channel (b including h) for odd pixels.
type quadConst struct {
	wc, m, b [4]int64
	wc8      [8]int32
	mE, mO   [8]int32
	bE, bO   [4]int64
}

// rescaleConst holds a layer's constants for rescaleQuad: the shift sh in
// every lane, the bounds hi and lo offset by k = 2^(62−sh) (the shifted
// value of the 2^62 bias), and the low 32 bits of k.
type rescaleConst struct {
	sh       [4]uint64
	hiK, loK [4]int64
	k32      [8]int32
}

// vectorRescalePlan sets p.qc and p.rc when the vector rescale
// (rescaleQuad) is exact for this layer: HalfUp or Floor rounding with
// saturation, shift at most 62, output codes within int32, every
// accumulator x + wconst (x, the kernel's sum, in [xlo, xhi]; wconst 0 for
// conv2d) and every M inside int32, and |acc·M| + |B| + h < 2^62, so that
// acc·M + B + h + 2^62 lies in [0, 2^63) and a logical shift floors it.
func (p *layerPlan) vectorRescalePlan(xlo, xhi int64) {
	if p.wrap || p.sh > 62 || (p.rnd != fixedpoint.HalfUp && p.rnd != fixedpoint.Floor) ||
		p.lo < math.MinInt32 || p.hi > math.MaxInt32 {
		return
	}
	h := int64(0)
	if p.rnd == fixedpoint.HalfUp && p.sh > 0 {
		h = 1 << (p.sh - 1)
	}
	qc := make([]quadConst, p.oq)
	for o := range p.O {
		wc, m, b := int64(0), p.m[o], p.b[o]
		if p.op == quant.OpAdder2d {
			wc = p.wconst[o]
		}
		amax := max(abs64(xlo+wc), abs64(xhi+wc))
		if amax >= 1<<31 || abs64(m) >= 1<<31 || abs64(b) >= 1<<61 || amax*abs64(m) >= 1<<61 ||
			amax*abs64(m)+abs64(b)+h >= 1<<62 {
			return
		}
		q, k := &qc[o/4], o%4
		q.wc[k], q.m[k], q.b[k] = wc, m, b+h
		q.wc8[k], q.wc8[k+4] = int32(wc), int32(wc)
		B := b + h + 1<<62
		if k%2 == 0 {
			q.mE[k], q.mE[k+4] = int32(m), int32(m)
			q.bE[k/2], q.bE[k/2+2] = B, B
		} else {
			q.mO[k-1], q.mO[k+3] = int32(m), int32(m)
			q.bO[k/2], q.bO[k/2+2] = B, B
		}
	}
	k := int64(1) << (62 - p.sh)
	for i := range 4 {
		p.rc.sh[i] = uint64(p.sh)
		p.rc.hiK[i], p.rc.loK[i] = p.hi+k, p.lo+k
	}
	for i := range 8 {
		p.rc.k32[i] = int32(k)
	}
	p.qc = qc
}

// addConst holds an add layer's constants for addRows, each in every
// lane: the input alignment shifts a0 and a1, the rounding half h, the
// output shift sh, and the output bounds lo and hi.
type addConst struct {
	a0, a1, h, sh, lo, hi [8]int32
}

// addAcc is addRows' statistics: the smallest and largest accumulators,
// and the counts of values above hi and below lo.
type addAcc struct {
	amin, amax  int32
	nHigh, nLow int64
}

// addVectorPlan sets p.ac when the add layer's vector path (addRows) is
// exact: HalfUp or Floor rounding with saturation, shift below 32, output
// codes within int32, and every accumulator a<<a0 + b<<a1 (inputs in
// their formats' ranges) plus the rounding half inside int32.
func (p *layerPlan) addVectorPlan(ina, inb quant.Act) {
	if p.op != quant.OpAdd || !simdAvailable() || noSIMD || p.wrap || p.sh >= 32 ||
		(p.rnd != fixedpoint.HalfUp && p.rnd != fixedpoint.Floor) ||
		p.lo < math.MinInt32 || p.hi > math.MaxInt32 || p.align[0] >= 31 || p.align[1] >= 31 {
		return
	}
	h := int64(0)
	if p.rnd == fixedpoint.HalfUp && p.sh > 0 {
		h = 1 << (p.sh - 1)
	}
	ma := max(abs64(ina.Min()), abs64(ina.Max())) << p.align[0]
	mb := max(abs64(inb.Min()), abs64(inb.Max())) << p.align[1]
	if ma+mb+h >= 1<<31 {
		return
	}
	c := &addConst{}
	for i := range 8 {
		c.a0[i], c.a1[i], c.h[i], c.sh[i] = int32(p.align[0]), int32(p.align[1]), int32(h), int32(p.sh)
		c.lo[i], c.hi[i] = int32(p.lo), int32(p.hi)
	}
	p.ac = c
}

func abs64(v int64) int64 { return max(v, -v) }

// round is finish's rounding shift of one value.
func (p *layerPlan) round(v int64) int64 {
	if p.rnd == fixedpoint.HalfUp {
		if p.sh > 0 {
			return (v + 1<<(p.sh-1)) >> p.sh
		}
		return v
	}
	return fixedpoint.RoundShiftRight(v, p.sh, p.rnd)
}

// convBytes computes an adder2d layer on one image with the vector byte
// kernel: the input map is converted once to padded HWC bytes (padding is
// code 0; 16 channels at a time by packBytes16 where it applies); then,
// for each output row, each pair of pixels is reduced against each group
// of four filters in registers, reading the windows in place (direct and
// half layouts) or from gathered byte patches (K copies of K·C contiguous
// bytes each; patch layout); the layer's sums are then rescaled
// (rescaleLayer, or row by row with the scalar rescale).
func (p *layerPlan) convBytes(x, out []int32, st *rawStats, s *scratch) {
	C, H, W := p.inShape[0], p.inShape[1], p.inShape[2]
	OH, OW := p.outShape[1], p.outShape[2]
	K, S, P := p.l.Kernel, p.l.Stride, p.l.Padding
	Hp, Wp := H+2*P, W+2*P
	rb, R, O4 := p.rb, p.R, 4*p.oq
	off := p.off
	xh := s.xh[:Hp*Wp*C]
	if P > 0 {
		pad := uint8(-off) // code 0
		for h := range Hp {
			row := xh[h*Wp*C : (h+1)*Wp*C]
			if h < P || h >= H+P {
				for i := range row {
					row[i] = pad
				}
				continue
			}
			for i := range P * C {
				row[i] = pad
				row[len(row)-1-i] = pad
			}
		}
	}
	HW := H * W
	c := 0
	if C%16 == 0 && W%8 == 0 {
		packBytes16(x, C, H, W, P, Wp, off, xh)
		c = C
	}
	for ; c+4 <= C; c += 4 {
		// Four channels at a time: one 32-bit store per pixel.
		x0, x1, x2, x3 := x[c*HW:(c+1)*HW], x[(c+1)*HW:(c+2)*HW], x[(c+2)*HW:(c+3)*HW], x[(c+3)*HW:(c+4)*HW]
		for h := range H {
			row := xh[((h+P)*Wp+P)*C:]
			row = row[:W*C]
			for w := range W {
				i := h*W + w
				v := uint32(uint8(x0[i]-off)) | uint32(uint8(x1[i]-off))<<8 | uint32(uint8(x2[i]-off))<<16 | uint32(uint8(x3[i]-off))<<24
				binary.LittleEndian.PutUint32(row[w*C+c:], v)
			}
		}
	}
	for ; c < C; c++ {
		xc := x[c*HW : (c+1)*HW]
		for h := range H {
			row := xh[((h+P)*Wp+P)*C:]
			row = row[:W*C]
			for w, v := range xc[h*W : (h+1)*W] {
				row[w*C+c] = uint8(v - off)
			}
		}
	}
	l1 := s.l1[:OH*OW*O4] // the whole layer's sums, rescaled at its end
	KC := K * C
	var pb []uint8
	if p.cpr == 0 {
		pb = s.pb[:OW*rb]
		for ow := range OW {
			clear(pb[ow*rb+R : (ow+1)*rb]) // padded lanes add |0 − 0|
		}
	}
	var mask [32]uint8 // the valid lanes of a window row's last chunk
	for i := range mask {
		if p.cpr > 0 && i < KC-(p.cpr-1)*32 {
			mask[i] = 0xFF
		}
	}
	rowStride := Wp * C
	for oh := range OH {
		if p.cpr > 0 {
			// Direct: each window is read in place from the HWC map.
			xr := s.xh[(oh*S)*rowStride:]
			for qd := range p.oq {
				wq := p.wq[qd*4*rb : (qd+1)*4*rb]
				lq := p.rowSums(l1, qd, oh)
				if p.half {
					l1RowHalf(xr, S*C, OW, rowStride, K, K*C/32, wq, lq)
					continue
				}
				l1RowDirect(xr, S*C, OW, rowStride, K, p.cpr, &mask, wq, lq)
			}
		} else {
			p.patchRow(oh, pb, l1, s)
		}
		p.rescaleRow(oh, l1, out, st, s)
	}
	p.rescaleLayer(l1, out, st, s)
}

// patchRow computes the L1 sums of output row oh with gathered patches.
func (p *layerPlan) patchRow(oh int, pb []uint8, l1 []int32, s *scratch) {
	C, W := p.inShape[0], p.inShape[2]
	OW := p.outShape[2]
	K, S, P := p.l.Kernel, p.l.Stride, p.l.Padding
	Wp := W + 2*P
	rb, R := p.rb, p.R
	KC := K * C
	xh := s.xh
	{
		for ow := range OW {
			dst := pb[ow*rb : ow*rb+R]
			src := xh[((oh*S)*Wp+ow*S)*C:]
			for ki := range K {
				copy(dst[ki*KC:(ki+1)*KC], src[ki*Wp*C:])
			}
		}
		for qd := range p.oq {
			wq := p.wq[qd*4*rb : (qd+1)*4*rb]
			lq := p.rowSums(l1, qd, oh)
			ow := 0
			for ; ow+2 <= OW; ow += 2 {
				l1Quad2(pb[ow*rb:(ow+1)*rb], pb[(ow+1)*rb:(ow+2)*rb], wq, lq[4*ow:4*ow+4], lq[4*ow+4:4*ow+8])
			}
			if ow < OW {
				l1Quad1(pb[ow*rb:(ow+1)*rb], wq, lq[4*ow:4*ow+4])
			}
		}
	}
}

// rowSums returns the sums of output row oh for quad qd within a layer's
// sums l1, laid out [oq][OH·OW][4] (quad, pixel, channel of the quad).
func (p *layerPlan) rowSums(l1 []int32, qd, oh int) []int32 {
	OW := p.outShape[2]
	npos := p.outShape[1] * OW
	return l1[(qd*npos+oh*OW)*4 : (qd*npos+(oh+1)*OW)*4]
}

// rescaleRow rescales output row oh from the layer's sums l1 (see rowSums)
// with the scalar rescale: L1 sums (adder2d) or dot products (conv2d).
// With the vector rescale (p.qc) it does nothing: rescaleLayer rescales
// the whole layer at its end.
func (p *layerPlan) rescaleRow(oh int, l1 []int32, out []int32, st *rawStats, s *scratch) {
	if p.qc != nil {
		return
	}
	OH, OW := p.outShape[1], p.outShape[2]
	npos := OH * OW
	for o := range p.O {
		lo := p.rowSums(l1, o/4, oh)[o%4:]
		if p.op == quant.OpAdder2d {
			p.rescaleL1(lo, 4, out[o*npos+oh*OW:o*npos+(oh+1)*OW], o, st, s)
			continue
		}
		for i := range OW {
			out[o*npos+oh*OW+i] = p.rescale(int64(lo[4*i]), o, st)
		}
	}
}

// rescaleLayer rescales a whole layer from its sums l1 [oq][OH·OW][4] with
// the vector rescale (rescaleQuad over every pixel of the map at once, so
// its per-call setup and odd tails are paid once per layer, not per row),
// and records the statistics (flushQuadStats). Without p.qc it does
// nothing (rescaleRow did the work).
func (p *layerPlan) rescaleLayer(l1, out []int32, st *rawStats, s *scratch) {
	if p.qc == nil {
		return
	}
	p.resetQuadStats(s)
	npos := p.outShape[1] * p.outShape[2]
	for qd := range p.oq {
		o0 := 4 * qd
		rescaleQuad(l1[o0*npos:(o0+4)*npos], npos, &p.qc[qd], &p.rc, out[o0*npos:], npos, min(4, p.O-o0), &s.qacc[qd])
	}
	p.flushQuadStats(st, s)
}

// quadAcc is one group of four channels' statistics over a layer's rows
// (vector rescale): the counts of values above hi and below lo, and the
// smallest and largest sums.
type quadAcc struct {
	nHigh, nLow [4]int64
	lmin, lmax  [4]int32
}

// resetQuadStats prepares s.qacc for a layer with the vector rescale.
func (p *layerPlan) resetQuadStats(s *scratch) {
	if p.qc == nil {
		return
	}
	if len(s.qacc) < p.oq {
		s.qacc = make([]quadAcc, p.oq)
	}
	for i := range s.qacc[:p.oq] {
		a := &s.qacc[i]
		*a = quadAcc{}
		for q := range 4 {
			a.lmin[q], a.lmax[q] = math.MaxInt32, math.MinInt32
		}
	}
}

// flushQuadStats adds a layer's vector-rescale statistics (s.qacc) to st:
// the same counts and observed ranges as rescale value by value, since
// the ranges follow from each channel's smallest and largest sums (the
// map from sum to product is affine, rounding monotone).
func (p *layerPlan) flushQuadStats(st *rawStats, s *scratch) {
	if p.qc == nil {
		return
	}
	n := int64(p.outShape[1] * p.outShape[2])
	for qd := range p.oq {
		a := &s.qacc[qd]
		for q := range min(4, p.O-4*qd) {
			o := 4*qd + q
			wc, m, b := int64(0), p.m[o], p.b[o]
			if p.op == quant.OpAdder2d {
				wc = p.wconst[o]
			}
			ext := [2]int64{int64(a.lmin[q]), int64(a.lmax[q])}
			k := 2
			if ext[0] == ext[1] {
				k = 1 // e.g. one output per channel
			}
			for _, x := range ext[:k] {
				if p.op == quant.OpAdder2d {
					st.l1.add(x)
				}
				st.acc.add(x + wc)
				v := (x+wc)*m + b
				st.product.add(v)
				st.shifted.add(p.round(v))
			}
			st.outputs += n
			st.satHigh += a.nHigh[q]
			if p.relu && p.lo == 0 {
				st.reluZero += a.nLow[q]
			} else {
				st.satLow += a.nLow[q]
			}
		}
	}
}

// rescaleL1 rescales n = len(out) L1 sums of channel o, read at
// l1[i·stride], into out, exactly as rescale(l1 + wconst[o], o) would
// value by value (same outputs, same statistics). The observed L1,
// accumulator and product ranges are those of the row's smallest and
// largest sums (the map from L1 sum to product is affine), so they are
// recorded once per row.
func (p *layerPlan) rescaleL1(l1 []int32, stride int, out []int32, o int, st *rawStats, s *scratch) {
	if len(out) == 0 {
		return
	}
	wc, m, b := p.wconst[o], p.m[o], p.b[o]
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	l1 = l1[:(len(out)-1)*stride+1]
	v := s.row(len(out))
	for i := range v {
		x := int64(l1[i*stride])
		lo, hi = min(lo, x), max(hi, x)
		v[i] = (x+wc)*m + b
	}
	st.l1.add(lo)
	st.l1.add(hi)
	st.acc.add(lo + wc)
	st.acc.add(hi + wc)
	st.product.add((lo+wc)*m + b)
	st.product.add((hi+wc)*m + b)
	p.finishRow(v, out, st)
}

// row returns an n-value int64 buffer.
func (s *scratch) row(n int) []int64 {
	if len(s.v) < n {
		s.v = make([]int64, n)
	}
	return s.v[:n]
}

// finishRow is finish applied to every pre-scaled value v[i], writing
// out[i]: the rounding shift runs as one loop per mode, then saturation
// (or wrap) and its counts; the observed shifted range is the rounded
// values' extremes. v is overwritten.
func (p *layerPlan) finishRow(v []int64, out []int32, st *rawStats) {
	out = out[:len(v)]
	sh := p.sh
	switch {
	case p.rnd == fixedpoint.HalfUp:
		if sh > 0 {
			h := int64(1) << (sh - 1)
			for i, x := range v {
				v[i] = (x + h) >> sh // cannot overflow: |x| < 2^62 by validation
			}
		}
	case p.rnd == fixedpoint.Floor:
		for i, x := range v {
			v[i] = x >> sh // floor(x / 2^sh), also for sh ≥ 64
		}
	default:
		for i, x := range v {
			v[i] = fixedpoint.RoundShiftRight(x, sh, p.rnd)
		}
	}
	lo, hi := p.lo, p.hi
	smin, smax := int64(math.MaxInt64), int64(math.MinInt64)
	var nHigh, nLow int64
	for i, x := range v {
		smin, smax = min(smin, x), max(smax, x)
		if x > hi {
			nHigh++
		}
		if x < lo {
			nLow++
		}
		out[i] = int32(min(max(x, lo), hi))
	}
	st.shifted.add(smin)
	st.shifted.add(smax)
	st.outputs += int64(len(v))
	st.satHigh += nHigh
	if p.relu && p.lo == 0 {
		st.reluZero += nLow
	} else {
		st.satLow += nLow
	}
	if p.wrap && nHigh+nLow > 0 {
		for i, x := range v {
			if x > hi || x < lo {
				out[i] = int32(fixedpoint.WrapTo(x, p.outBits, p.outSigned))
			}
		}
	}
}

// padCode returns the code a padded position of input channel c reads: 0,
// or the conv2d layer's PadCode (a folded preprocessing's mean pixel).
func (p *layerPlan) padCode(c int) int64 {
	if p.l.PadCode == nil {
		return 0
	}
	return p.l.PadCode[c]
}

// convLike computes an adder2d or conv2d layer on one image: for each
// output position the input window (pad codes where padded) is gathered
// into a patch laid out like a weight row [C][K][K], then every output
// channel reduces it against its weights.
func (p *layerPlan) convLike(x, out []int32, st *rawStats, s *scratch) {
	C, H, W := p.inShape[0], p.inShape[1], p.inShape[2]
	OH, OW := p.outShape[1], p.outShape[2]
	K, S, P := p.l.Kernel, p.l.Stride, p.l.Padding
	if p.wq != nil {
		p.convBytes(x, out, st, s)
		return
	}
	if p.wm != nil {
		p.convMAC(x, out, st, s)
		return
	}
	npos := OH * OW
	patch := s.patch[:p.R]
	adder := p.op == quant.OpAdder2d
	for oh := range OH {
		for ow := range OW {
			r := 0
			ih0, iw0 := oh*S-P, ow*S-P
			if ih0 >= 0 && iw0 >= 0 && ih0+K <= H && iw0+K <= W {
				// Interior window: copy K rows of K codes per channel.
				for c := range C {
					base := c*H*W + ih0*W + iw0
					for ki := range K {
						copy(patch[r:r+K], x[base+ki*W:])
						r += K
					}
				}
			} else {
				for c := range C {
					xc := x[c*H*W : (c+1)*H*W]
					for ki := range K {
						ih := ih0 + ki
						for kj := range K {
							iw := iw0 + kj
							if ih < 0 || ih >= H || iw < 0 || iw >= W {
								patch[r] = int32(p.padCode(c)) // code 0, or the pad code
							} else {
								patch[r] = xc[ih*W+iw]
							}
							r++
						}
					}
				}
			}
			pos := oh*OW + ow
			if p.wp != nil {
				words := len(p.wp) / p.O
				xp := s.xp[:words]
				packLanes(xp, patch, p.off, swarBias)
				for o := range p.O {
					l1 := l1SWAR(xp, p.wp[o*words:(o+1)*words], p.flush)
					st.l1.add(l1)
					out[o*npos+pos] = p.rescale(l1+p.wconst[o], o, st)
				}
				continue
			}
			if !adder {
				acc := s.acc[:p.O]
				macAll(acc, patch, p.wt)
				for o, a := range acc {
					out[o*npos+pos] = p.rescale(a, o, st)
				}
				continue
			}
			for o := range p.O {
				l1 := l1Sum(patch, p.w[o*p.R:(o+1)*p.R])
				st.l1.add(l1)
				out[o*npos+pos] = p.rescale(l1+p.wconst[o], o, st)
			}
		}
	}
}

// macAll sets acc[o] = Σ_r x[r]·wt[r·O + o] for every output channel o,
// with the weights transposed to [R][O]: each input code is loaded once,
// and zero codes (padding, ReLU zeros, blank pixels) are skipped.
func macAll(acc []int64, x, wt []int32) {
	clear(acc)
	O := len(acc)
	for r, xv := range x {
		if xv == 0 {
			continue
		}
		v := int64(xv)
		for o, w := range wt[r*O : (r+1)*O] {
			acc[o] += v * int64(w)
		}
	}
}

// l1Sum returns Σ|x[i] − w[i]| exactly. Codes are at most 24 bits, so each
// difference fits an int32.
func l1Sum(x, w []int32) int64 {
	w = w[:len(x)]
	var s0, s1, s2, s3 int64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		d0 := x[i] - w[i]
		d1 := x[i+1] - w[i+1]
		d2 := x[i+2] - w[i+2]
		d3 := x[i+3] - w[i+3]
		m0, m1, m2, m3 := d0>>31, d1>>31, d2>>31, d3>>31
		s0 += int64((d0 ^ m0) - m0)
		s1 += int64((d1 ^ m1) - m1)
		s2 += int64((d2 ^ m2) - m2)
		s3 += int64((d3 ^ m3) - m3)
	}
	for ; i < len(x); i++ {
		d := x[i] - w[i]
		m := d >> 31
		s0 += int64((d ^ m) - m)
	}
	return s0 + s1 + s2 + s3
}

// SWAR L1 kernel. Adder codes of at most 15 bits are offset to
// [0, 2^15) and packed four to a uint64, in 16-bit lanes. With the patch
// lanes biased by 0x8000, t = xb − w never borrows across lanes (every lane
// stays in (0, 2^16)); t ^ 0x8000 is x − w as a 16-bit two's complement
// lane, and its lane-wise absolute value is (d ^ n) + (n & 1) with n the
// lane's sign mask. Lane sums are flushed into a wide total before they
// can overflow 16 bits. The result equals l1Sum exactly (tested).
const (
	swarBias = 0x8000_8000_8000_8000
	swarLow  = 0x0001_0001_0001_0001
	swarHalf = 0x0000_FFFF_0000_FFFF
	// swarMaxBits is the widest code range the packing holds.
	swarMaxBits = 15
)

// packLanes packs v[i] − off into 16-bit lanes, four per word, padding the
// last word with lanes of value pad.
func packLanes(dst []uint64, v []int32, off int32, bias uint64) {
	for i := range dst {
		var w uint64
		for k := range 4 {
			var lane uint64
			if j := 4*i + k; j < len(v) {
				lane = uint64(uint16(v[j] - off))
			}
			w |= lane << (16 * k)
		}
		dst[i] = w | bias
	}
}

// l1SWAR returns Σ over lanes of |x − w| for packed biased x lanes and
// packed w lanes; flush is the number of words whose lane sums fit 16 bits.
func l1SWAR(xb, w []uint64, flush int) int64 {
	w = w[:len(xb)]
	var total uint64
	for start := 0; start < len(xb); start += flush {
		end := min(start+flush, len(xb))
		var acc0, acc1 uint64
		i := start
		for ; i+2 <= end; i += 2 {
			t0 := xb[i] - w[i]
			t1 := xb[i+1] - w[i+1]
			n0 := ((t0 & swarBias) ^ swarBias) >> 15 // 1 in lanes where x < w
			n1 := ((t1 & swarBias) ^ swarBias) >> 15
			acc0 += ((t0 ^ swarBias) ^ (n0 * 0xFFFF)) + n0
			acc1 += ((t1 ^ swarBias) ^ (n1 * 0xFFFF)) + n1
		}
		for ; i < end; i++ {
			t := xb[i] - w[i]
			n := ((t & swarBias) ^ swarBias) >> 15
			acc0 += ((t ^ swarBias) ^ (n * 0xFFFF)) + n
		}
		// Each 32-bit half of h holds at most 4·0xFFFF: no carry between them.
		h := acc0&swarHalf + (acc0>>16)&swarHalf + acc1&swarHalf + (acc1>>16)&swarHalf
		total += h&0xFFFF_FFFF + h>>32
	}
	return int64(total)
}

// swarFlush returns how many words can be summed before a 16-bit lane
// overflows, for lane terms of at most maxTerm (two accumulators share the
// words, so each gets half).
func swarFlush(maxTerm int64) int {
	if maxTerm == 0 {
		return 1 << 30
	}
	return max(1, int(0xFFFF/maxTerm))
}
