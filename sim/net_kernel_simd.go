//go:build goexperiment.simd && amd64

package sim

import "simd/archsimd"

// Every function here ends with VZEROUPPER (archsimd.ClearAVXUpperBits):
// the Go code around it uses SSE instructions, and SSE after 256-bit AVX
// with dirty upper halves costs a state transition (about 1,000 cycles per
// occurrence on the 2-core AMD EPYC VM these kernels were measured on,
// 2026-11-30).
//
// The AVX2 adder kernel, built only with GOEXPERIMENT=simd on amd64 and
// used only when the CPU has AVX2: adder layers whose input codes span at
// most 8 bits (after offsetting signed codes by their minimum) are packed
// one code per byte, and VPSADBW (Uint8x32.SumAbsDiff) sums |x − w| of 32
// lanes per instruction into 64-bit lanes. The results equal l1Sum exactly
// (tested under the same build tag).

// simdAvailable reports whether the byte kernel can run: the binary has it
// and the CPU has AVX2 (checked at run time, so a simd build still runs,
// on the portable kernel, on CPUs without AVX2).
func simdAvailable() bool { return archsimd.X86.AVX2() }

// Kernel names the adder kernel this binary runs on this CPU: "avx2" for
// the vector kernel, or "portable" with the reason.
func Kernel() string {
	if simdAvailable() {
		return "avx2 (GOEXPERIMENT=simd)"
	}
	return "portable (GOEXPERIMENT=simd build, but this CPU lacks AVX2)"
}

// l1Quad2 computes, for two byte patches xa and xb (len rb, a multiple of
// 32) against one quad of four output channels' weights wq (len 4·rb,
// interleaved [rb/32][4][32]), the sums Σ|x − w| of the 8 pairs: oa[q]
// for xa and ob[q] for xb, channel q of the quad. Each loaded 32-byte input
// vector meets the four filters in registers (8 VPSADBW per 6 loads).
// Sums must stay below 2^32 (rb ≤ 2^24 guarantees it).
func l1Quad2(xa, xb, wq []uint8, oa, ob []int32) {
	xb = xb[:len(xa)]
	wq = wq[:4*len(xa)]
	var a0, a1, a2, a3, b0, b1, b2, b3 archsimd.Uint64x4
	for j := 0; j+32 <= len(xa); j += 32 {
		x0 := archsimd.LoadUint8x32Slice(xa[j : j+32])
		x1 := archsimd.LoadUint8x32Slice(xb[j : j+32])
		w := wq[4*j : 4*j+128]
		w0 := archsimd.LoadUint8x32Slice(w[0:32])
		a0 = a0.Add(x0.SumAbsDiff(w0).AsUint64x4())
		b0 = b0.Add(x1.SumAbsDiff(w0).AsUint64x4())
		w1 := archsimd.LoadUint8x32Slice(w[32:64])
		a1 = a1.Add(x0.SumAbsDiff(w1).AsUint64x4())
		b1 = b1.Add(x1.SumAbsDiff(w1).AsUint64x4())
		w2 := archsimd.LoadUint8x32Slice(w[64:96])
		a2 = a2.Add(x0.SumAbsDiff(w2).AsUint64x4())
		b2 = b2.Add(x1.SumAbsDiff(w2).AsUint64x4())
		w3 := archsimd.LoadUint8x32Slice(w[96:128])
		a3 = a3.Add(x0.SumAbsDiff(w3).AsUint64x4())
		b3 = b3.Add(x1.SumAbsDiff(w3).AsUint64x4())
	}
	reduce4(a0, a1, a2, a3).AsInt32x4().StoreSlice(oa)
	reduce4(b0, b1, b2, b3).AsInt32x4().StoreSlice(ob)
	archsimd.ClearAVXUpperBits() // VZEROUPPER before the caller's SSE code
}

// l1Quad1 is l1Quad2 for one patch.
func l1Quad1(xa, wq []uint8, oa []int32) {
	wq = wq[:4*len(xa)]
	var a0, a1, a2, a3 archsimd.Uint64x4
	for j := 0; j+32 <= len(xa); j += 32 {
		x0 := archsimd.LoadUint8x32Slice(xa[j : j+32])
		w := wq[4*j : 4*j+128]
		a0 = a0.Add(x0.SumAbsDiff(archsimd.LoadUint8x32Slice(w[0:32])).AsUint64x4())
		a1 = a1.Add(x0.SumAbsDiff(archsimd.LoadUint8x32Slice(w[32:64])).AsUint64x4())
		a2 = a2.Add(x0.SumAbsDiff(archsimd.LoadUint8x32Slice(w[64:96])).AsUint64x4())
		a3 = a3.Add(x0.SumAbsDiff(archsimd.LoadUint8x32Slice(w[96:128])).AsUint64x4())
	}
	reduce4(a0, a1, a2, a3).AsInt32x4().StoreSlice(oa)
	archsimd.ClearAVXUpperBits()
}

// reduce4 sums the four 64-bit lanes of each accumulator (every lane and
// every total below 2^32) into the 32-bit lanes of one vector: lane q
// holds the total of aq. Two accumulators share each 64-bit lane (one
// shifted up 32 bits), so no carry crosses between them.
func reduce4(a0, a1, a2, a3 archsimd.Uint64x4) archsimd.Uint64x2 {
	u := a0.Add(a1.ShiftAllLeft(32))
	v := a2.Add(a3.ShiftAllLeft(32))
	u2 := u.GetLo().Add(u.GetHi())
	v2 := v.GetLo().Add(v.GetHi())
	return u2.InterleaveLo(v2).Add(u2.InterleaveHi(v2))
}

// rescaleQuad rescales one output row of one group of four channels in
// 64-bit vector lanes: for pixel i and lane q, with x = l1[i·stride + q]
// (an L1 sum or a dot product),
// s = floor(((x + c.wc[q])·c.m[q] + c.b[q] + h) / 2^sh), clamped to
// [lo, hi] and written to out[q·npos + i] for q < nq. It is finish's
// HalfUp (h = 2^(sh−1), or 0 when sh = 0) or Floor (h = 0) rounding with
// saturation, exactly, given the plan's bounds (|x + wc| < 2^31,
// |m| < 2^31, |v| < 2^62, sh ≤ 62; see vectorRescalePlan). It adds to
// nHigh[q] and nLow[q] the values above hi and below lo, and folds the
// sums' extremes into lmin and lmax.
func rescaleQuad(l1 []int32, stride int, c *quadConst, h int64, sh uint, lo, hi int64, out []int32, npos, nq int, nHigh, nLow *[4]int64, lmin, lmax *[4]int32) {
	n := len(out)
	if n == 0 {
		return
	}
	l1 = l1[:(n-1)*stride+4]
	out = out[:(nq-1)*npos+n]
	wc := archsimd.LoadInt64x4(&c.wc)
	m := archsimd.LoadInt64x4(&c.m).AsInt32x8()
	b := archsimd.BroadcastInt64x4(h).Add(archsimd.LoadInt64x4(&c.b))
	loV, hiV := archsimd.BroadcastInt64x4(lo), archsimd.BroadcastInt64x4(hi)
	// The shift count comes from memory as a vector (VPSRLQ by a count
	// the compiler moves from a general register uses a non-VEX MOVQ, whose
	// SSE/AVX transition costs about 1,000 cycles per use on this
	// machine, measured 2026-11-30), and the sign mask from a compare.
	shv := [4]uint64{uint64(sh), uint64(sh), uint64(sh), uint64(sh)}
	shift := archsimd.LoadUint64x4(&shv)
	var zero, cHigh, cLow archsimd.Int64x4
	mn := archsimd.LoadInt32x4(lmin)
	mx := archsimd.LoadInt32x4(lmax)
	var tmp [4]int64
	for i := range n {
		x := archsimd.LoadInt32x4Slice(l1[i*stride : i*stride+4])
		mn, mx = mn.Min(x), mx.Max(x)
		acc := x.ExtendToInt64().Add(wc)
		v := acc.AsInt32x8().MulEvenWiden(m).Add(b)
		sgn := zero.Greater(v).ToInt64x4()
		s := v.Xor(sgn).AsUint64x4().ShiftRight(shift).AsInt64x4().Xor(sgn)
		above, below := s.Greater(hiV), loV.Greater(s)
		cHigh = cHigh.Sub(above.ToInt64x4())
		cLow = cLow.Sub(below.ToInt64x4())
		s = hiV.Merge(s, above)
		s = loV.Merge(s, below)
		s.Store(&tmp)
		for q := range nq {
			out[q*npos+i] = int32(tmp[q])
		}
	}
	mn.Store(lmin)
	mx.Store(lmax)
	var ch, cl [4]int64
	cHigh.Store(&ch)
	cLow.Store(&cl)
	archsimd.ClearAVXUpperBits()
	for q := range 4 {
		nHigh[q] += ch[q]
		nLow[q] += cl[q]
	}
}

// l1Quad2Direct is l1Quad2 reading two windows in place from an HWC byte
// map: window row ki of pixel a starts at xa[ki·stride] and spans cpr
// chunks of 32 bytes, the last one ANDed with mask (its lanes past the
// row read the next pixels' codes and must count as 0, against zero
// weights). wq holds K·cpr chunks per filter. oa and ob may alias (then xa
// and xb must be the same window).
func l1Quad2Direct(xa, xb []uint8, stride, K, cpr int, mask *[32]uint8, wq []uint8, oa, ob []int32) {
	n := (K-1)*stride + cpr*32
	xa, xb = xa[:n], xb[:n]
	wq = wq[:4*32*K*cpr]
	m := archsimd.LoadUint8x32(mask)
	var a0, a1, a2, a3, b0, b1, b2, b3 archsimd.Uint64x4
	c := 0 // chunk index in the filter
	for ki := range K {
		row := ki * stride
		for j := range cpr {
			i := row + 32*j
			x0 := archsimd.LoadUint8x32Slice(xa[i : i+32])
			x1 := archsimd.LoadUint8x32Slice(xb[i : i+32])
			if j == cpr-1 {
				x0, x1 = x0.And(m), x1.And(m)
			}
			w := wq[128*c : 128*c+128]
			c++
			w0 := archsimd.LoadUint8x32Slice(w[0:32])
			a0 = a0.Add(x0.SumAbsDiff(w0).AsUint64x4())
			b0 = b0.Add(x1.SumAbsDiff(w0).AsUint64x4())
			w1 := archsimd.LoadUint8x32Slice(w[32:64])
			a1 = a1.Add(x0.SumAbsDiff(w1).AsUint64x4())
			b1 = b1.Add(x1.SumAbsDiff(w1).AsUint64x4())
			w2 := archsimd.LoadUint8x32Slice(w[64:96])
			a2 = a2.Add(x0.SumAbsDiff(w2).AsUint64x4())
			b2 = b2.Add(x1.SumAbsDiff(w2).AsUint64x4())
			w3 := archsimd.LoadUint8x32Slice(w[96:128])
			a3 = a3.Add(x0.SumAbsDiff(w3).AsUint64x4())
			b3 = b3.Add(x1.SumAbsDiff(w3).AsUint64x4())
		}
	}
	reduce4(b0, b1, b2, b3).AsInt32x4().StoreSlice(ob)
	reduce4(a0, a1, a2, a3).AsInt32x4().StoreSlice(oa)
	archsimd.ClearAVXUpperBits()
}

// macQuad2 computes the dot products of two int16 patches xa and xb (len a
// multiple of 16) with one quad of four filters wq (len 4·len(xa),
// interleaved [len/16][4][16]): oa[q] for xa, ob[q] for xb. VPMADDWD
// multiplies 16 lanes and adds pairs into int32 lanes, exactly while every
// partial sum fits int32 (the plan bounds R·max|x|·max|w| below 2^31).
// oa and ob may alias (then xa and xb must be equal).
func macQuad2(xa, xb, wq []int16, oa, ob []int32) {
	xb = xb[:len(xa)]
	wq = wq[:4*len(xa)]
	var a0, a1, a2, a3, b0, b1, b2, b3 archsimd.Int32x8
	for j := 0; j+16 <= len(xa); j += 16 {
		x0 := archsimd.LoadInt16x16Slice(xa[j : j+16])
		x1 := archsimd.LoadInt16x16Slice(xb[j : j+16])
		w := wq[4*j : 4*j+64]
		w0 := archsimd.LoadInt16x16Slice(w[0:16])
		a0 = a0.Add(x0.DotProductPairs(w0))
		b0 = b0.Add(x1.DotProductPairs(w0))
		w1 := archsimd.LoadInt16x16Slice(w[16:32])
		a1 = a1.Add(x0.DotProductPairs(w1))
		b1 = b1.Add(x1.DotProductPairs(w1))
		w2 := archsimd.LoadInt16x16Slice(w[32:48])
		a2 = a2.Add(x0.DotProductPairs(w2))
		b2 = b2.Add(x1.DotProductPairs(w2))
		w3 := archsimd.LoadInt16x16Slice(w[48:64])
		a3 = a3.Add(x0.DotProductPairs(w3))
		b3 = b3.Add(x1.DotProductPairs(w3))
	}
	reduce4i32(b0, b1, b2, b3).StoreSlice(ob)
	reduce4i32(a0, a1, a2, a3).StoreSlice(oa)
	archsimd.ClearAVXUpperBits()
}

// reduce4i32 returns the lane totals of four int32 accumulators: lane q
// holds the sum of the eight lanes of aq.
func reduce4i32(a0, a1, a2, a3 archsimd.Int32x8) archsimd.Int32x4 {
	h := a0.AddPairsGrouped(a1).AddPairsGrouped(a2.AddPairsGrouped(a3))
	return h.GetLo().Add(h.GetHi())
}

// wordBias and wordOnes are l1Quad2W's constants, loaded from memory.
var (
	wordBias = [16]int16{-32768, -32768, -32768, -32768, -32768, -32768, -32768, -32768, -32768, -32768, -32768, -32768, -32768, -32768, -32768, -32768}
	wordOnes = [16]int16{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
)

// l1Quad2W is l1Quad2 for 16-bit codes: xa, xb and wq hold codes in
// [0, 2^16) as the bits of int16, 16 lanes per chunk (wq interleaved
// [len/16][4][16]). Per lane d = max(x, w) − min(x, w) (VPMAXUW, VPMINUW,
// VPSUBW) is exact in 16 bits; d − 2^15 (d XOR 0x8000) is summed in pairs
// into int32 lanes by VPMADDWD with ones, and 2^15 per lane is added back
// at the end. The int32 arithmetic wraps modulo 2^32, so the result is
// exact whenever the true total is below 2^31 (the plan bounds R·span).
// oa and ob may alias (then xa and xb are equal).
func l1Quad2W(xa, xb, wq []int16, oa, ob []int32) {
	xb = xb[:len(xa)]
	wq = wq[:4*len(xa)]
	bias := archsimd.LoadInt16x16(&wordBias)
	ones := archsimd.LoadInt16x16(&wordOnes)
	var a0, a1, a2, a3, b0, b1, b2, b3 archsimd.Int32x8
	l1 := func(x, w archsimd.Uint16x16) archsimd.Int32x8 {
		return x.Max(w).Sub(x.Min(w)).AsInt16x16().Xor(bias).DotProductPairs(ones)
	}
	for j := 0; j+16 <= len(xa); j += 16 {
		x0 := archsimd.LoadInt16x16Slice(xa[j : j+16]).AsUint16x16()
		x1 := archsimd.LoadInt16x16Slice(xb[j : j+16]).AsUint16x16()
		w := wq[4*j : 4*j+64]
		w0 := archsimd.LoadInt16x16Slice(w[0:16]).AsUint16x16()
		a0 = a0.Add(l1(x0, w0))
		b0 = b0.Add(l1(x1, w0))
		w1 := archsimd.LoadInt16x16Slice(w[16:32]).AsUint16x16()
		a1 = a1.Add(l1(x0, w1))
		b1 = b1.Add(l1(x1, w1))
		w2 := archsimd.LoadInt16x16Slice(w[32:48]).AsUint16x16()
		a2 = a2.Add(l1(x0, w2))
		b2 = b2.Add(l1(x1, w2))
		w3 := archsimd.LoadInt16x16Slice(w[48:64]).AsUint16x16()
		a3 = a3.Add(l1(x0, w3))
		b3 = b3.Add(l1(x1, w3))
	}
	corr := [4]int32{}
	for q := range corr {
		corr[q] = int32(len(xa)) << 15
	}
	c := archsimd.LoadInt32x4(&corr)
	reduce4i32(b0, b1, b2, b3).Add(c).StoreSlice(ob)
	reduce4i32(a0, a1, a2, a3).Add(c).StoreSlice(oa)
	archsimd.ClearAVXUpperBits()
}
