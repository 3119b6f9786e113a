//go:build goexperiment.simd && amd64

package sim

import "simd/archsimd"

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

// l1Bytes returns Σ|x[i] − w[i]| over byte codes; len(x) == len(w) is a
// multiple of 32.
func l1Bytes(x, w []uint8) int64 {
	w = w[:len(x)]
	var acc0, acc1 archsimd.Uint64x4
	i := 0
	for ; i+64 <= len(x); i += 64 {
		acc0 = acc0.Add(archsimd.LoadUint8x32Slice(x[i : i+32]).SumAbsDiff(archsimd.LoadUint8x32Slice(w[i : i+32])).AsUint64x4())
		acc1 = acc1.Add(archsimd.LoadUint8x32Slice(x[i+32 : i+64]).SumAbsDiff(archsimd.LoadUint8x32Slice(w[i+32 : i+64])).AsUint64x4())
	}
	for ; i+32 <= len(x); i += 32 {
		acc0 = acc0.Add(archsimd.LoadUint8x32Slice(x[i : i+32]).SumAbsDiff(archsimd.LoadUint8x32Slice(w[i : i+32])).AsUint64x4())
	}
	var out [4]uint64
	acc0.Add(acc1).Store(&out)
	return int64(out[0] + out[1] + out[2] + out[3])
}

// l1Quad2 computes, for two byte patches xa and xb (len rb, a multiple of
// 32) against one quad of four output channels' weights wq (len 4·rb,
// interleaved [rb/32][4][32]), the sums Σ|x − w| of the 8 pairs: oa[q]
// for xa and ob[q] for xb, channel q of the quad. Each loaded 32-byte input
// vector meets the four filters in registers (8 VPSADBW per 6 loads).
// Sums must stay below 2^32 (rb ≤ 2^24 guarantees it).
func l1Quad2(xa, xb, wq []uint8, oa, ob []uint32) {
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
	reduce4(a0, a1, a2, a3).AsUint32x4().StoreSlice(oa)
	reduce4(b0, b1, b2, b3).AsUint32x4().StoreSlice(ob)
}

// l1Quad1 is l1Quad2 for one patch.
func l1Quad1(xa, wq []uint8, oa []uint32) {
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
	reduce4(a0, a1, a2, a3).AsUint32x4().StoreSlice(oa)
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
