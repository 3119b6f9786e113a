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

// Constants of rescaleQuad, loaded from memory (a broadcast from a
// general register would go through a non-VEX move; so would the count of
// a constant 64-bit shift here, which is why lanes move by VPSHUFD: with
// such a MOVQ in its loop rescaleQuad ran 2× slower end to end, measured
// 2026-11-30 on this machine).
var (
	evenLanes  = [8]int32{-1, 0, -1, 0, -1, 0, -1, 0}
	pixelOrder = [8]uint32{0, 4, 1, 5, 2, 6, 3, 7}
	int32Max8  = [8]int32{1<<31 - 1, 1<<31 - 1, 1<<31 - 1, 1<<31 - 1, 1<<31 - 1, 1<<31 - 1, 1<<31 - 1, 1<<31 - 1}
	int32Min8  = [8]int32{-1 << 31, -1 << 31, -1 << 31, -1 << 31, -1 << 31, -1 << 31, -1 << 31, -1 << 31}
)

// rescaleQuad rescales n pixels (a layer's whole map, see rescaleLayer)
// of one group of four channels: for pixel i < n and channel q < nq, with
// x = l1[4i + q] (an L1 sum or a dot product; l1 is [n][4]),
// s = floor(((x + wc[q])·m[q] + b[q] + h) / 2^sh), clamped to [lo, hi],
// is written to out[q·npos + i]. It is finish's
// HalfUp (h = 2^(sh−1), or 0 when sh = 0) or Floor (h = 0) rounding with
// saturation, exactly, given the plan's bounds (vectorRescalePlan): x + wc
// is exact in int32, the product is VPMULDQ's exact 64-bit product, and
// the value plus 2^62 lies in [0, 2^63), so a logical shift floors it
// (the bias 2^(62−sh) is folded into the bounds and subtracted in 32
// bits). Two pixels fill an 8-lane vector; eight pixels' results are
// transposed to channel rows and stored 8 lanes at a time. It adds to
// a.nHigh[q] and a.nLow[q] the values above hi and below lo, and folds
// the sums' extremes into a.lmin and a.lmax.
func rescaleQuad(l1 []int32, n int, c *quadConst, rc *rescaleConst, out []int32, npos, nq int, a *quadAcc) {
	if n == 0 {
		return
	}
	l1 = l1[:4*n]
	out = out[:(nq-1)*npos+n]
	if n == 1 {
		// One pixel (e.g. a fully connected layer): scalar, without the
		// vector setup.
		rescaleQuadScalar(l1, 0, c, rc, out, npos, nq, a)
		return
	}
	// Declared before any AVX instruction: zeroing an array takes SSE
	// stores, which after 256-bit code would cost a transition.
	var tmp [8]int32
	wc := archsimd.LoadInt32x8(&c.wc8)
	mE, mO := archsimd.LoadInt32x8(&c.mE), archsimd.LoadInt32x8(&c.mO)
	bE, bO := archsimd.LoadInt64x4(&c.bE), archsimd.LoadInt64x4(&c.bO)
	shift := archsimd.LoadUint64x4(&rc.sh)
	hiK, loK := archsimd.LoadInt64x4(&rc.hiK), archsimd.LoadInt64x4(&rc.loK)
	k32 := archsimd.LoadInt32x8(&rc.k32)
	even := archsimd.LoadInt32x8(&evenLanes).ToMask()
	mn, mx := archsimd.LoadInt32x8(&int32Max8), archsimd.LoadInt32x8(&int32Min8)
	var cHE, cHO, cLE, cLO archsimd.Int64x4
	perm := archsimd.LoadUint32x8(&pixelOrder)
	i := 0
	for ; i+8 <= n; i += 8 {
		// Each vector holds two pixels: lanes [p0 c0..c3 | p1 c0..c3]. (The
		// four copies are written out: a closure here is not inlined.)
		v0 := archsimd.LoadInt32x8Slice(l1[4*i+0 : 4*i+8])
		mn, mx = mn.Min(v0), mx.Max(v0)
		a0 := v0.Add(wc)
		se0 := a0.MulEvenWiden(mE).Add(bE).AsUint64x4().ShiftRight(shift).AsInt64x4()
		so0 := a0.PermuteScalarsGrouped(1, 1, 3, 3).MulEvenWiden(mO).Add(bO).AsUint64x4().ShiftRight(shift).AsInt64x4()
		aE0, lE0 := se0.Greater(hiK), loK.Greater(se0)
		aO0, lO0 := so0.Greater(hiK), loK.Greater(so0)
		cHE, cLE = cHE.Sub(aE0.ToInt64x4()), cLE.Sub(lE0.ToInt64x4())
		cHO, cLO = cHO.Sub(aO0.ToInt64x4()), cLO.Sub(lO0.ToInt64x4())
		se0 = loK.Merge(hiK.Merge(se0, aE0), lE0)
		so0 = loK.Merge(hiK.Merge(so0, aO0), lO0)
		r0 := se0.AsInt32x8().Merge(so0.AsInt32x8().PermuteScalarsGrouped(0, 0, 2, 2), even).Sub(k32)
		v1 := archsimd.LoadInt32x8Slice(l1[4*i+8 : 4*i+16])
		mn, mx = mn.Min(v1), mx.Max(v1)
		a1 := v1.Add(wc)
		se1 := a1.MulEvenWiden(mE).Add(bE).AsUint64x4().ShiftRight(shift).AsInt64x4()
		so1 := a1.PermuteScalarsGrouped(1, 1, 3, 3).MulEvenWiden(mO).Add(bO).AsUint64x4().ShiftRight(shift).AsInt64x4()
		aE1, lE1 := se1.Greater(hiK), loK.Greater(se1)
		aO1, lO1 := so1.Greater(hiK), loK.Greater(so1)
		cHE, cLE = cHE.Sub(aE1.ToInt64x4()), cLE.Sub(lE1.ToInt64x4())
		cHO, cLO = cHO.Sub(aO1.ToInt64x4()), cLO.Sub(lO1.ToInt64x4())
		se1 = loK.Merge(hiK.Merge(se1, aE1), lE1)
		so1 = loK.Merge(hiK.Merge(so1, aO1), lO1)
		r1 := se1.AsInt32x8().Merge(so1.AsInt32x8().PermuteScalarsGrouped(0, 0, 2, 2), even).Sub(k32)
		v2 := archsimd.LoadInt32x8Slice(l1[4*i+16 : 4*i+24])
		mn, mx = mn.Min(v2), mx.Max(v2)
		a2 := v2.Add(wc)
		se2 := a2.MulEvenWiden(mE).Add(bE).AsUint64x4().ShiftRight(shift).AsInt64x4()
		so2 := a2.PermuteScalarsGrouped(1, 1, 3, 3).MulEvenWiden(mO).Add(bO).AsUint64x4().ShiftRight(shift).AsInt64x4()
		aE2, lE2 := se2.Greater(hiK), loK.Greater(se2)
		aO2, lO2 := so2.Greater(hiK), loK.Greater(so2)
		cHE, cLE = cHE.Sub(aE2.ToInt64x4()), cLE.Sub(lE2.ToInt64x4())
		cHO, cLO = cHO.Sub(aO2.ToInt64x4()), cLO.Sub(lO2.ToInt64x4())
		se2 = loK.Merge(hiK.Merge(se2, aE2), lE2)
		so2 = loK.Merge(hiK.Merge(so2, aO2), lO2)
		r2 := se2.AsInt32x8().Merge(so2.AsInt32x8().PermuteScalarsGrouped(0, 0, 2, 2), even).Sub(k32)
		v3 := archsimd.LoadInt32x8Slice(l1[4*i+24 : 4*i+32])
		mn, mx = mn.Min(v3), mx.Max(v3)
		a3 := v3.Add(wc)
		se3 := a3.MulEvenWiden(mE).Add(bE).AsUint64x4().ShiftRight(shift).AsInt64x4()
		so3 := a3.PermuteScalarsGrouped(1, 1, 3, 3).MulEvenWiden(mO).Add(bO).AsUint64x4().ShiftRight(shift).AsInt64x4()
		aE3, lE3 := se3.Greater(hiK), loK.Greater(se3)
		aO3, lO3 := so3.Greater(hiK), loK.Greater(so3)
		cHE, cLE = cHE.Sub(aE3.ToInt64x4()), cLE.Sub(lE3.ToInt64x4())
		cHO, cLO = cHO.Sub(aO3.ToInt64x4()), cLO.Sub(lO3.ToInt64x4())
		se3 = loK.Merge(hiK.Merge(se3, aE3), lE3)
		so3 = loK.Merge(hiK.Merge(so3, aO3), lO3)
		r3 := se3.AsInt32x8().Merge(so3.AsInt32x8().PermuteScalarsGrouped(0, 0, 2, 2), even).Sub(k32)
		// Transpose [pixel][channel] to [channel][pixel]: per 128-bit
		// half, then 64-bit interleaves give each channel's pixels in the
		// order 0 2 4 6 1 3 5 7, which VPERMD restores.
		t0, t1 := r0.InterleaveLoGrouped(r1).AsInt64x4(), r0.InterleaveHiGrouped(r1).AsInt64x4()
		t2, t3 := r2.InterleaveLoGrouped(r3).AsInt64x4(), r2.InterleaveHiGrouped(r3).AsInt64x4()
		u0 := t0.InterleaveLoGrouped(t2).AsInt32x8().Permute(perm)
		u1 := t0.InterleaveHiGrouped(t2).AsInt32x8().Permute(perm)
		u2 := t1.InterleaveLoGrouped(t3).AsInt32x8().Permute(perm)
		u3 := t1.InterleaveHiGrouped(t3).AsInt32x8().Permute(perm)
		u0.StoreSlice(out[i : i+8])
		if nq > 1 {
			u1.StoreSlice(out[npos+i : npos+i+8])
		}
		if nq > 2 {
			u2.StoreSlice(out[2*npos+i : 2*npos+i+8])
		}
		if nq > 3 {
			u3.StoreSlice(out[3*npos+i : 3*npos+i+8])
		}
	}
	for ; i+2 <= n; i += 2 {
		v0 := archsimd.LoadInt32x8Slice(l1[4*i : 4*i+8])
		mn, mx = mn.Min(v0), mx.Max(v0)
		a0 := v0.Add(wc)
		se0 := a0.MulEvenWiden(mE).Add(bE).AsUint64x4().ShiftRight(shift).AsInt64x4()
		so0 := a0.PermuteScalarsGrouped(1, 1, 3, 3).MulEvenWiden(mO).Add(bO).AsUint64x4().ShiftRight(shift).AsInt64x4()
		aE0, lE0 := se0.Greater(hiK), loK.Greater(se0)
		aO0, lO0 := so0.Greater(hiK), loK.Greater(so0)
		cHE, cLE = cHE.Sub(aE0.ToInt64x4()), cLE.Sub(lE0.ToInt64x4())
		cHO, cLO = cHO.Sub(aO0.ToInt64x4()), cLO.Sub(lO0.ToInt64x4())
		se0 = loK.Merge(hiK.Merge(se0, aE0), lE0)
		so0 = loK.Merge(hiK.Merge(so0, aO0), lO0)
		r0 := se0.AsInt32x8().Merge(so0.AsInt32x8().PermuteScalarsGrouped(0, 0, 2, 2), even).Sub(k32)
		r0.Store(&tmp)
		for q := range nq {
			out[q*npos+i] = tmp[q]
			out[q*npos+i+1] = tmp[q+4]
		}
	}
	var mnv, mxv [8]int32
	mn.Store(&mnv)
	mx.Store(&mxv)
	var he, ho, le, lo [4]int64
	cHE.Store(&he)
	cHO.Store(&ho)
	cLE.Store(&le)
	cLO.Store(&lo)
	archsimd.ClearAVXUpperBits()
	for q := range 4 {
		a.lmin[q] = min(a.lmin[q], mnv[q], mnv[q+4])
		a.lmax[q] = max(a.lmax[q], mxv[q], mxv[q+4])
	}
	a.nHigh[0] += he[0] + he[2]
	a.nHigh[2] += he[1] + he[3]
	a.nHigh[1] += ho[0] + ho[2]
	a.nHigh[3] += ho[1] + ho[3]
	a.nLow[0] += le[0] + le[2]
	a.nLow[2] += le[1] + le[3]
	a.nLow[1] += lo[0] + lo[2]
	a.nLow[3] += lo[1] + lo[3]
	if i < n {
		rescaleQuadScalar(l1, i, c, rc, out, npos, nq, a) // an odd last pixel
	}
}

// rescaleQuadScalar is rescaleQuad for pixel i alone, in scalar arithmetic
// (the same floor: Go's >> on int64 is arithmetic).
func rescaleQuadScalar(l1 []int32, i int, c *quadConst, rc *rescaleConst, out []int32, npos, nq int, a *quadAcc) {
	lo, hi := rc.loK[0]-int64(1)<<(62-rc.sh[0]), rc.hiK[0]-int64(1)<<(62-rc.sh[0])
	for q := range nq {
		x := l1[4*i+q]
		a.lmin[q], a.lmax[q] = min(a.lmin[q], x), max(a.lmax[q], x)
		v := ((int64(x)+c.wc[q])*c.m[q] + c.b[q]) >> rc.sh[0]
		if v > hi {
			a.nHigh[q]++
		}
		if v < lo {
			a.nLow[q]++
		}
		out[q*npos+i] = int32(min(max(v, lo), hi))
	}
}

// reducePairs returns the totals of four pair accumulators cq (32-bit
// lanes alternating pixel a, pixel b): lane q of sa is the sum of cq's
// even lanes, lane q of sb of its odd lanes. The 32-bit adds wrap, and
// the totals are exact because each is below 2^32. Interleaves bring the
// same lanes of c0 and c1 (and c2 and c3) side by side, so 12 operations
// do what unpacking into 64-bit lanes and two reduce4 took 30 for.
func reducePairs(c0, c1, c2, c3 archsimd.Int32x8) (sa, sb archsimd.Int32x4) {
	// Per 128-bit half: (a0 a1 b0 b1) and (a2 a3 b2 b3), partial sums.
	x01 := c0.InterleaveLoGrouped(c1).Add(c0.InterleaveHiGrouped(c1)).AsInt64x4()
	x23 := c2.InterleaveLoGrouped(c3).Add(c2.InterleaveHiGrouped(c3)).AsInt64x4()
	y := x01.InterleaveLoGrouped(x23).AsInt32x8() // (a0 a1 a2 a3) per half
	z := x01.InterleaveHiGrouped(x23).AsInt32x8() // (b0 b1 b2 b3) per half
	return y.GetLo().Add(y.GetHi()), z.GetLo().Add(z.GetHi())
}

// l1RowDirect computes one output row's L1 sums for one quad of four
// filters, reading the windows in place from an HWC byte map: pixel ow's
// window starts at xr[ow·step], its row ki at xr[ow·step + ki·stride],
// spanning cpr chunks of 32 bytes, the last one ANDed with mask (its lanes
// past the row read the next pixels' codes and must count as 0, against
// zero weights; mask[31] = 0 exactly when some lanes are masked). wq holds
// K·cpr chunks per filter, interleaved [chunk][4][32]. Pixels go in pairs
// (an odd last pixel alone, e.g. a fully connected layer's); each loaded
// 32-byte input vector meets the four filters in registers. VPSADBW
// leaves each 8-byte group's sum in the low 32 bits of a 64-bit lane; the
// second pixel's sums are moved to the high 32 bits (VPSHUFD) and both are
// accumulated in one register per filter with 32-bit adds (no carry
// crosses), which keeps the loop within the 15 vector registers the
// compiler allocates (eight separate accumulators spilled). lq[4·ow + q] receives the sum of pixel
// ow against filter q. Sums stay below 2^32 (rb ≤ 2^24).
func l1RowDirect(xr []uint8, step, OW, stride, K, cpr int, mask *[32]uint8, wq []uint8, lq []int32) {
	n := (K-1)*stride + cpr*32
	rl := cpr * 32
	wq = wq[:4*32*K*cpr]
	lq = lq[:4*OW]
	masked := mask[31] == 0
	for ow := 0; ow+1 < OW; ow += 2 {
		bw := ow + 1
		xa, xb := xr[ow*step:ow*step+n], xr[bw*step:bw*step+n]
		w := wq
		var c0, c1, c2, c3 archsimd.Int32x8
		for ki := 0; ki < K; ki++ {
			ra := xa[ki*stride : ki*stride+rl]
			rb := xb[ki*stride : ki*stride+rl]
			for j := 0; j+32 <= len(ra); j += 32 {
				x0 := archsimd.LoadUint8x32Slice(ra[j : j+32])
				x1 := archsimd.LoadUint8x32Slice(rb[j : j+32])
				if masked && j+32 == len(ra) {
					m := archsimd.LoadUint8x32(mask)
					x0, x1 = x0.And(m), x1.And(m)
				}
				ww := w[:128]
				w = w[128:]
				w0 := archsimd.LoadUint8x32Slice(ww[0:32])
				c0 = c0.Add(x0.SumAbsDiff(w0).AsInt32x8().Add(x1.SumAbsDiff(w0).AsInt32x8().PermuteScalarsGrouped(1, 0, 3, 2)))
				w1 := archsimd.LoadUint8x32Slice(ww[32:64])
				c1 = c1.Add(x0.SumAbsDiff(w1).AsInt32x8().Add(x1.SumAbsDiff(w1).AsInt32x8().PermuteScalarsGrouped(1, 0, 3, 2)))
				w2 := archsimd.LoadUint8x32Slice(ww[64:96])
				c2 = c2.Add(x0.SumAbsDiff(w2).AsInt32x8().Add(x1.SumAbsDiff(w2).AsInt32x8().PermuteScalarsGrouped(1, 0, 3, 2)))
				w3 := archsimd.LoadUint8x32Slice(ww[96:128])
				c3 = c3.Add(x0.SumAbsDiff(w3).AsInt32x8().Add(x1.SumAbsDiff(w3).AsInt32x8().PermuteScalarsGrouped(1, 0, 3, 2)))
			}
		}
		sa, sb := reducePairs(c0, c1, c2, c3)
		sb.StoreSlice(lq[4*bw : 4*bw+4])
		sa.StoreSlice(lq[4*ow : 4*ow+4])
	}
	if OW%2 == 1 {
		// An odd last pixel alone (e.g. a fully connected layer).
		ow := OW - 1
		xa := xr[ow*step : ow*step+n]
		w := wq
		var a0, a1, a2, a3 archsimd.Uint64x4
		for ki := 0; ki < K; ki++ {
			ra := xa[ki*stride : ki*stride+rl]
			for j := 0; j+32 <= len(ra); j += 32 {
				x0 := archsimd.LoadUint8x32Slice(ra[j : j+32])
				if masked && j+32 == len(ra) {
					x0 = x0.And(archsimd.LoadUint8x32(mask))
				}
				ww := w[:128]
				w = w[128:]
				a0 = a0.Add(x0.SumAbsDiff(archsimd.LoadUint8x32Slice(ww[0:32])).AsUint64x4())
				a1 = a1.Add(x0.SumAbsDiff(archsimd.LoadUint8x32Slice(ww[32:64])).AsUint64x4())
				a2 = a2.Add(x0.SumAbsDiff(archsimd.LoadUint8x32Slice(ww[64:96])).AsUint64x4())
				a3 = a3.Add(x0.SumAbsDiff(archsimd.LoadUint8x32Slice(ww[96:128])).AsUint64x4())
			}
		}
		reduce4(a0, a1, a2, a3).AsInt32x4().StoreSlice(lq[4*ow : 4*ow+4])
	}
	archsimd.ClearAVXUpperBits()
}

// halfMask keeps the low 16 bytes of a 32-byte vector.
var halfMask = [32]uint8{
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
}

// l1RowHalf is l1RowDirect for the half layout (bytePlan): window row ki
// is m full chunks from xr[ow·step + ki·stride] and a 16-byte tail after
// them; the tails of rows 2t and 2t+1 are read as the low and high halves
// of one chunk (VINSERTI128), and a last odd row's tail has its high half
// masked to 0 (against zero weights). wq holds K·m + ⌈K/2⌉ chunks per
// filter: the full chunks row by row, then the shared tails.
func l1RowHalf(xr []uint8, step, OW, stride, K, m int, wq []uint8, lq []int32) {
	n := (K-1)*stride + 32*m + 32 // a last odd tail is read as 32 bytes
	nc := K*m + (K+1)/2
	wq = wq[:128*nc]
	lq = lq[:4*OW]
	for ow := 0; ow+1 < OW; ow += 2 {
		bw := ow + 1
		xa, xb := xr[ow*step:ow*step+n], xr[bw*step:bw*step+n]
		w := wq
		var c0, c1, c2, c3 archsimd.Int32x8
		ki, j := 0, 0 // the next full chunk: row ki, chunk j (no division)
		for ch := 0; ch < nc; ch++ {
			var x0, x1 archsimd.Uint8x32
			if t := ch - K*m; t < 0 {
				i := ki*stride + 32*j
				if j++; j == m {
					ki, j = ki+1, 0
				}
				x0 = archsimd.LoadUint8x32Slice(xa[i : i+32])
				x1 = archsimd.LoadUint8x32Slice(xb[i : i+32])
			} else {
				i := 2*t*stride + 32*m
				x0 = archsimd.LoadUint8x32Slice(xa[i : i+32])
				x1 = archsimd.LoadUint8x32Slice(xb[i : i+32])
				if 2*t+1 < K {
					i2 := i + stride
					x0 = x0.SetHi(archsimd.LoadUint8x16Slice(xa[i2 : i2+16]))
					x1 = x1.SetHi(archsimd.LoadUint8x16Slice(xb[i2 : i2+16]))
				} else {
					hm := archsimd.LoadUint8x32(&halfMask)
					x0, x1 = x0.And(hm), x1.And(hm)
				}
			}
			ww := w[:128]
			w = w[128:]
			w0 := archsimd.LoadUint8x32Slice(ww[0:32])
			c0 = c0.Add(x0.SumAbsDiff(w0).AsInt32x8().Add(x1.SumAbsDiff(w0).AsInt32x8().PermuteScalarsGrouped(1, 0, 3, 2)))
			w1 := archsimd.LoadUint8x32Slice(ww[32:64])
			c1 = c1.Add(x0.SumAbsDiff(w1).AsInt32x8().Add(x1.SumAbsDiff(w1).AsInt32x8().PermuteScalarsGrouped(1, 0, 3, 2)))
			w2 := archsimd.LoadUint8x32Slice(ww[64:96])
			c2 = c2.Add(x0.SumAbsDiff(w2).AsInt32x8().Add(x1.SumAbsDiff(w2).AsInt32x8().PermuteScalarsGrouped(1, 0, 3, 2)))
			w3 := archsimd.LoadUint8x32Slice(ww[96:128])
			c3 = c3.Add(x0.SumAbsDiff(w3).AsInt32x8().Add(x1.SumAbsDiff(w3).AsInt32x8().PermuteScalarsGrouped(1, 0, 3, 2)))
		}
		sa, sb := reducePairs(c0, c1, c2, c3)
		sb.StoreSlice(lq[4*bw : 4*bw+4])
		sa.StoreSlice(lq[4*ow : 4*ow+4])
	}
	if OW%2 == 1 {
		// An odd last pixel alone (e.g. a fully connected layer).
		ow := OW - 1
		xa := xr[ow*step : ow*step+n]
		w := wq
		var a0, a1, a2, a3 archsimd.Uint64x4
		ki, j := 0, 0
		for ch := 0; ch < nc; ch++ {
			var x0 archsimd.Uint8x32
			if t := ch - K*m; t < 0 {
				i := ki*stride + 32*j
				if j++; j == m {
					ki, j = ki+1, 0
				}
				x0 = archsimd.LoadUint8x32Slice(xa[i : i+32])
			} else {
				i := 2*t*stride + 32*m
				x0 = archsimd.LoadUint8x32Slice(xa[i : i+32])
				if 2*t+1 < K {
					i2 := i + stride
					x0 = x0.SetHi(archsimd.LoadUint8x16Slice(xa[i2 : i2+16]))
				} else {
					x0 = x0.And(archsimd.LoadUint8x32(&halfMask))
				}
			}
			ww := w[:128]
			w = w[128:]
			a0 = a0.Add(x0.SumAbsDiff(archsimd.LoadUint8x32Slice(ww[0:32])).AsUint64x4())
			a1 = a1.Add(x0.SumAbsDiff(archsimd.LoadUint8x32Slice(ww[32:64])).AsUint64x4())
			a2 = a2.Add(x0.SumAbsDiff(archsimd.LoadUint8x32Slice(ww[64:96])).AsUint64x4())
			a3 = a3.Add(x0.SumAbsDiff(archsimd.LoadUint8x32Slice(ww[96:128])).AsUint64x4())
		}
		reduce4(a0, a1, a2, a3).AsInt32x4().StoreSlice(lq[4*ow : 4*ow+4])
	}
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
	// The correction is set up before any AVX instruction: zeroing an
	// array takes SSE stores, which after 256-bit code cost a transition.
	corr := [4]int32{}
	for q := range corr {
		corr[q] = int32(len(xa)) << 15
	}
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
	c := archsimd.LoadInt32x4(&corr)
	reduce4i32(b0, b1, b2, b3).Add(c).StoreSlice(ob)
	reduce4i32(a0, a1, a2, a3).Add(c).StoreSlice(oa)
	archsimd.ClearAVXUpperBits()
}

// addRows computes out[i] = clamp((xa[i]<<a0 + xb[i]<<a1 + h) >> sh, lo,
// hi) for the first len(out) &^ 7 values, 8 lanes of int32 at a time:
// finish's HalfUp or Floor rounding with saturation, exact when every
// accumulator plus h fits int32 (addVectorPlan). It returns how many
// values it wrote and folds their statistics into a.
func addRows(xa, xb, out []int32, c *addConst, a *addAcc) int {
	n := len(out) &^ 7
	if n == 0 {
		return 0
	}
	xa, xb = xa[:n], xb[:n]
	a0, a1 := archsimd.LoadInt32x8(&c.a0), archsimd.LoadInt32x8(&c.a1)
	h, sh := archsimd.LoadInt32x8(&c.h), archsimd.LoadInt32x8(&c.sh)
	lo, hi := archsimd.LoadInt32x8(&c.lo), archsimd.LoadInt32x8(&c.hi)
	mn, mx := archsimd.LoadInt32x8(&int32Max8), archsimd.LoadInt32x8(&int32Min8)
	var cHigh, cLow archsimd.Int32x8
	for i := 0; i < n; i += 8 {
		acc := archsimd.LoadInt32x8Slice(xa[i : i+8]).ShiftLeft(a0).Add(archsimd.LoadInt32x8Slice(xb[i : i+8]).ShiftLeft(a1))
		mn, mx = mn.Min(acc), mx.Max(acc)
		v := acc.Add(h).ShiftRight(sh)
		cHigh = cHigh.Sub(v.Greater(hi).ToInt32x8())
		cLow = cLow.Sub(lo.Greater(v).ToInt32x8())
		v.Max(lo).Min(hi).StoreSlice(out[i : i+8])
	}
	var mnv, mxv, ch, cl [8]int32
	mn.Store(&mnv)
	mx.Store(&mxv)
	cHigh.Store(&ch)
	cLow.Store(&cl)
	archsimd.ClearAVXUpperBits()
	for k := range 8 {
		a.amin, a.amax = min(a.amin, mnv[k]), max(a.amax, mxv[k])
		a.nHigh += int64(ch[k])
		a.nLow += int64(cl[k])
	}
	return n
}

// Shift counts of packBytes16, loaded from memory.
var (
	shift8  = [8]int32{8, 8, 8, 8, 8, 8, 8, 8}
	shift16 = [8]int32{16, 16, 16, 16, 16, 16, 16, 16}
	shift24 = [8]int32{24, 24, 24, 24, 24, 24, 24, 24}
)

// packBytes16 writes the CHW codes x (C·H·W, C a multiple of 16, W a
// multiple of 8) offset by −off as bytes into the interior of the padded
// HWC map xh (row stride Wp·C, P pixels of padding): byte
// xh[((h+P)·Wp + P + w)·C + c] = uint8(x[(c·H + h)·W + w] − off). Codes
// must lie in [off, off+255]. Eight pixels by sixteen channels at a time:
// four channels are combined into each 32-bit lane by shifts, and a 4×4
// transpose of 32-bit lanes gives each pixel's 16 contiguous bytes.
func packBytes16(x []int32, C, H, W, P, Wp int, off int32, xh []uint8) {
	HW := H * W
	x = x[:C*HW]
	offs := [8]int32{off, off, off, off, off, off, off, off}
	o := archsimd.LoadInt32x8(&offs)
	s8, s16, s24 := archsimd.LoadInt32x8(&shift8), archsimd.LoadInt32x8(&shift16), archsimd.LoadInt32x8(&shift24)
	for h := range H {
		row := xh[((h+P)*Wp+P)*C:]
		row = row[:W*C]
		for w := 0; w < W; w += 8 {
			i := h*W + w
			for c := 0; c < C; c += 16 {
				// Named vectors, not an array: the compiler zeroes an
				// array of vectors with SSE stores (a transition here).
				b := c * HW
				q0 := quad32(x[b+i:], HW, o, s8, s16, s24)
				q1 := quad32(x[b+4*HW+i:], HW, o, s8, s16, s24)
				q2 := quad32(x[b+8*HW+i:], HW, o, s8, s16, s24)
				q3 := quad32(x[b+12*HW+i:], HW, o, s8, s16, s24)
				t0, t1 := q0.InterleaveLoGrouped(q1).AsInt64x4(), q0.InterleaveHiGrouped(q1).AsInt64x4()
				t2, t3 := q2.InterleaveLoGrouped(q3).AsInt64x4(), q2.InterleaveHiGrouped(q3).AsInt64x4()
				u0 := t0.InterleaveLoGrouped(t2).AsUint8x32() // pixels 0 and 4
				u1 := t0.InterleaveHiGrouped(t2).AsUint8x32() // 1 and 5
				u2 := t1.InterleaveLoGrouped(t3).AsUint8x32() // 2 and 6
				u3 := t1.InterleaveHiGrouped(t3).AsUint8x32() // 3 and 7
				d := row[w*C+c:]
				u0.GetLo().StoreSlice(d[0:16])
				u1.GetLo().StoreSlice(d[C : C+16])
				u2.GetLo().StoreSlice(d[2*C : 2*C+16])
				u3.GetLo().StoreSlice(d[3*C : 3*C+16])
				u0.GetHi().StoreSlice(d[4*C : 4*C+16])
				u1.GetHi().StoreSlice(d[5*C : 5*C+16])
				u2.GetHi().StoreSlice(d[6*C : 6*C+16])
				u3.GetHi().StoreSlice(d[7*C : 7*C+16])
			}
		}
	}
	archsimd.ClearAVXUpperBits()
}

// quad32 returns, for eight pixels, the codes of four channels (x[k·HW +
// j] for channel k, pixel j < 8) minus o as one byte each in a 32-bit lane
// (channel k in byte k).
func quad32(x []int32, HW int, o, s8, s16, s24 archsimd.Int32x8) archsimd.Int32x8 {
	x = x[:3*HW+8]
	v0 := archsimd.LoadInt32x8Slice(x[0:8]).Sub(o)
	v1 := archsimd.LoadInt32x8Slice(x[HW : HW+8]).Sub(o).ShiftLeft(s8)
	v2 := archsimd.LoadInt32x8Slice(x[2*HW : 2*HW+8]).Sub(o).ShiftLeft(s16)
	v3 := archsimd.LoadInt32x8Slice(x[3*HW : 3*HW+8]).Sub(o).ShiftLeft(s24)
	return v0.Or(v1).Or(v2.Or(v3))
}

// macRowRows8 computes one output row's dot products for one quad of
// four filters (the rows8 layout, K·C ≤ 8), reading the windows in place
// from an HWC int16 map: pixel ow's window row ki is the 8 lanes from
// xr[ow·step + ki·stride] (its K·C codes and then neighbouring codes,
// which meet zero weights); rows 2j and 2j+1 fill chunk j (a missing last
// odd row repeats row 2j, against zero weights). wq holds (K+1)/2 chunks
// per filter, interleaved [chunk][4][16]. Pixels go in pairs (an odd last
// pixel pairs with itself). Every term is a product of two int16 values
// summed exactly in int32 lanes, as in macQuad2. lq[4·ow + q] receives
// pixel ow's dot product with filter q.
func macRowRows8(xr []int16, step, OW, stride, K int, wq []int16, lq []int32) {
	n := (K-1)*stride + 16
	nc := (K + 1) / 2
	wq = wq[:64*nc]
	lq = lq[:4*OW]
	for ow := 0; ow < OW; ow += 2 {
		bw := min(ow+1, OW-1)
		xa, xb := xr[ow*step:ow*step+n], xr[bw*step:bw*step+n]
		var a0, a1, a2, a3, b0, b1, b2, b3 archsimd.Int32x8
		for j := range nc {
			r0 := 2 * j * stride
			r1 := r0 + stride
			if 2*j+1 >= K {
				r1 = r0
			}
			x0 := archsimd.LoadInt16x16Slice(xa[r0 : r0+16]).SetHi(archsimd.LoadInt16x8Slice(xa[r1 : r1+8]))
			x1 := archsimd.LoadInt16x16Slice(xb[r0 : r0+16]).SetHi(archsimd.LoadInt16x8Slice(xb[r1 : r1+8]))
			w := wq[64*j : 64*j+64]
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
		reduce4i32(b0, b1, b2, b3).StoreSlice(lq[4*bw : 4*bw+4])
		reduce4i32(a0, a1, a2, a3).StoreSlice(lq[4*ow : 4*ow+4])
	}
	archsimd.ClearAVXUpperBits()
}

// convC1Row computes one output row's dot products for one quad of four
// filters of a one-channel, stride-1 conv2d (OW ≥ 16), pixel-vectorized:
// xr is the padded input map (row stride Wp) from the row of the window's
// top; for 16 output pixels at a time and each tap pair (ki, 2j), (ki,
// 2j+1), the two shifted input rows are interleaved into int16 pairs and
// VPMADDWD adds both products to every pixel's int32 lane, for the four
// filters (wq: [ki][pair][q][16], each 32-bit lane the pair's weights;
// a missing odd tap has weight 0 and reads one code past, within the map
// or its 16-lane slack). Sums are exact as in macQuad2 (the plan bounds
// R·max|x|·max|w| below 2^31). The last block overlaps the previous one
// when 16 does not divide OW. lq[4·ow + q] receives pixel ow's dot product
// with filter q.
func convC1Row(xr []int16, Wp, OW, K int, wq []int16, lq []int32) {
	np := (K + 1) / 2
	n := (K-1)*Wp + OW + 2*np - 1 // the last block's last read ends there
	xr = xr[:n]
	wq = wq[:K*np*64]
	lq = lq[:4*OW]
	for ow0 := 0; ow0 < OW; ow0 += 16 {
		ow0 = min(ow0, OW-16)
		var l0, l1, l2, l3, h0, h1, h2, h3 archsimd.Int32x8
		for ki := range K {
			for j := range np {
				c := ki*Wp + ow0 + 2*j
				a := archsimd.LoadInt16x16Slice(xr[c : c+16])
				b := archsimd.LoadInt16x16Slice(xr[c+1 : c+17])
				lo, hi := a.InterleaveLoGrouped(b), a.InterleaveHiGrouped(b)
				w := wq[(ki*np+j)*64 : (ki*np+j)*64+64]
				w0 := archsimd.LoadInt16x16Slice(w[0:16])
				l0 = l0.Add(lo.DotProductPairs(w0))
				h0 = h0.Add(hi.DotProductPairs(w0))
				w1 := archsimd.LoadInt16x16Slice(w[16:32])
				l1 = l1.Add(lo.DotProductPairs(w1))
				h1 = h1.Add(hi.DotProductPairs(w1))
				w2 := archsimd.LoadInt16x16Slice(w[32:48])
				l2 = l2.Add(lo.DotProductPairs(w2))
				h2 = h2.Add(hi.DotProductPairs(w2))
				w3 := archsimd.LoadInt16x16Slice(w[48:64])
				l3 = l3.Add(lo.DotProductPairs(w3))
				h3 = h3.Add(hi.DotProductPairs(w3))
			}
		}
		// lk holds filter k for pixels 0-3 | 8-11, hk for 4-7 | 12-15:
		// transpose to [pixel][filter].
		d := lq[4*ow0 : 4*ow0+64]
		t0, t1 := l0.InterleaveLoGrouped(l1).AsInt64x4(), l0.InterleaveHiGrouped(l1).AsInt64x4()
		t2, t3 := l2.InterleaveLoGrouped(l3).AsInt64x4(), l2.InterleaveHiGrouped(l3).AsInt64x4()
		u0, u1 := t0.InterleaveLoGrouped(t2).AsInt32x8(), t0.InterleaveHiGrouped(t2).AsInt32x8()
		u2, u3 := t1.InterleaveLoGrouped(t3).AsInt32x8(), t1.InterleaveHiGrouped(t3).AsInt32x8()
		u0.GetLo().StoreSlice(d[0:4])
		u1.GetLo().StoreSlice(d[4:8])
		u2.GetLo().StoreSlice(d[8:12])
		u3.GetLo().StoreSlice(d[12:16])
		u0.GetHi().StoreSlice(d[32:36])
		u1.GetHi().StoreSlice(d[36:40])
		u2.GetHi().StoreSlice(d[40:44])
		u3.GetHi().StoreSlice(d[44:48])
		t0, t1 = h0.InterleaveLoGrouped(h1).AsInt64x4(), h0.InterleaveHiGrouped(h1).AsInt64x4()
		t2, t3 = h2.InterleaveLoGrouped(h3).AsInt64x4(), h2.InterleaveHiGrouped(h3).AsInt64x4()
		u0, u1 = t0.InterleaveLoGrouped(t2).AsInt32x8(), t0.InterleaveHiGrouped(t2).AsInt32x8()
		u2, u3 = t1.InterleaveLoGrouped(t3).AsInt32x8(), t1.InterleaveHiGrouped(t3).AsInt32x8()
		u0.GetLo().StoreSlice(d[16:20])
		u1.GetLo().StoreSlice(d[20:24])
		u2.GetLo().StoreSlice(d[24:28])
		u3.GetLo().StoreSlice(d[28:32])
		u0.GetHi().StoreSlice(d[48:52])
		u1.GetHi().StoreSlice(d[52:56])
		u2.GetHi().StoreSlice(d[56:60])
		u3.GetHi().StoreSlice(d[60:64])
	}
	archsimd.ClearAVXUpperBits()
}

// packInt16Row converts a row of int32 codes (each within int16) to int16,
// 16 at a time (VPACKSSDW, then VPERMD to undo its per-128-bit grouping);
// when 16 does not divide the row, the last block overlaps the previous
// one. len(x) = len(dst) ≥ 16.
func packInt16Row(x []int32, dst []int16) {
	n := len(x)
	dst = dst[:n]
	idx := archsimd.LoadUint32x8(&packOrder)
	for i := 0; i < n; i += 16 {
		i = min(i, n-16)
		a := archsimd.LoadInt32x8Slice(x[i : i+8])
		b := archsimd.LoadInt32x8Slice(x[i+8 : i+16])
		a.SaturateToInt16ConcatGrouped(b).AsInt32x8().Permute(idx).AsInt16x16().StoreSlice(dst[i : i+16])
	}
	archsimd.ClearAVXUpperBits()
}

// packOrder restores the order of VPACKSSDW's output, in 32-bit lanes.
var packOrder = [8]uint32{0, 1, 4, 5, 2, 3, 6, 7}

// macRowRows16 is macRowRows8 for the rows16 layout (8 < K·C ≤ 16): window
// row ki of pixel ow is the 16 lanes from xr[ow·step + ki·stride] (its K·C
// codes, then neighbouring codes against zero weights), one chunk per
// row; wq holds K chunks per filter, interleaved [chunk][4][16].
func macRowRows16(xr []int16, step, OW, stride, K int, wq []int16, lq []int32) {
	n := (K-1)*stride + 16
	wq = wq[:64*K]
	lq = lq[:4*OW]
	for ow := 0; ow < OW; ow += 2 {
		bw := min(ow+1, OW-1)
		xa, xb := xr[ow*step:ow*step+n], xr[bw*step:bw*step+n]
		var a0, a1, a2, a3, b0, b1, b2, b3 archsimd.Int32x8
		for j := range K {
			r := j * stride
			x0 := archsimd.LoadInt16x16Slice(xa[r : r+16])
			x1 := archsimd.LoadInt16x16Slice(xb[r : r+16])
			w := wq[64*j : 64*j+64]
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
		reduce4i32(b0, b1, b2, b3).StoreSlice(lq[4*bw : 4*bw+4])
		reduce4i32(a0, a1, a2, a3).StoreSlice(lq[4*ow : 4*ow+4])
	}
	archsimd.ClearAVXUpperBits()
}

// pairIndex gathers lanes 0, 2, 4, 6 into the low half (VPERMD).
var pairIndex = [8]uint32{0, 2, 4, 6, 0, 2, 4, 6}

// maxPool2Row computes one output row of a 2×2, stride-2 max pool:
// o[i] = max(r0[2i], r0[2i+1], r1[2i], r1[2i+1]), 8 outputs at a time
// (the last block overlapping the previous one). len(r0) = len(r1) =
// 2·len(o), len(o) ≥ 8.
func maxPool2Row(r0, r1, o []int32) {
	n := len(o)
	r0, r1 = r0[:2*n], r1[:2*n]
	idx := archsimd.LoadUint32x8(&pairIndex)
	for i := 0; i < n; i += 8 {
		i = min(i, n-8)
		a := archsimd.LoadInt32x8Slice(r0[2*i : 2*i+8]).Max(archsimd.LoadInt32x8Slice(r1[2*i : 2*i+8]))
		b := archsimd.LoadInt32x8Slice(r0[2*i+8 : 2*i+16]).Max(archsimd.LoadInt32x8Slice(r1[2*i+8 : 2*i+16]))
		a = a.Max(a.PermuteScalarsGrouped(1, 0, 3, 2)).Permute(idx)
		b = b.Max(b.PermuteScalarsGrouped(1, 0, 3, 2)).Permute(idx)
		a.SetHi(b.GetLo()).StoreSlice(o[i : i+8])
	}
	archsimd.ClearAVXUpperBits()
}
