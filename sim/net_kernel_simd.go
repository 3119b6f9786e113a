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
