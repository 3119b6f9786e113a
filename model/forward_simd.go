//go:build goexperiment.simd && amd64

package model

import (
	"simd/archsimd"
	"unsafe"
)

// The float reference's AVX2 kernels, built with GOEXPERIMENT=simd on
// amd64 and used when the CPU has AVX2 (convFast in forward_fast.go drives
// them). Sums are float64 throughout.
//
// The adder kernels use |x − w| = x + w − 2·min(x, w), so that
//
//	−Σ_r |x_r − w_r| = −(Σ_r x_r + Σ_r w_r − 2·Σ_r min(x_r, w_r)).
//
// The inner loop is then one VMINPD and one VADDPD per 4 lanes instead of
// VSUBPD, VANDNPD and VADDPD: one instruction fewer, but the same two
// ops on the FP add pipes. On the 2-core AMD EPYC VM this was measured on
// (2026-11-30, one core, CPU time), VMINPD and VADDPD each issue at 2 per
// cycle and share those pipes, so 8 lanes take 2 cycles: about 12.8 G
// lane-ops/s per core at the VM's 3.2 GHz, and minSum3x8 runs at 12.3 G.
// Σx is computed once per output position and Σw once per channel.
// Rounding differs from the direct sum by a few ulps of Σ|x| + Σ|w|
// (relative differences near 1e-15 at these layer sizes); an infinite
// input or weight gives NaN instead of −Inf.
//
// Tried and not kept (2026-11-30): float32 lanes (8 per vector) for
// minSum, on inputs and weights rounded to float32 with Σx and Σw of the
// rounded values. The rounding of the inputs alone costs little
// (resnet20 fixture: logits 5.1e-8 relative, limit 1e-6), but any float32
// accumulation does not: Σmin summed in float32 over chunks of 2, 4, 8
// or 16 taps, the chunks in float64, gave logit errors of 4.2e-6,
// 8.5e-6, 1.6e-5 and 1.3e-5 (batch norm then subtracts a mean close to
// the sum, which amplifies its relative error), and summing
// min(x − w, 0) instead did no better (2.7e-5 at 16).
//
// Every function that touches 256-bit vectors ends with
// archsimd.ClearAVXUpperBits (VZEROUPPER), as sim/net_kernel_simd.go
// does: SSE code after dirty upper halves is expensive on this VM.

// simdFloat reports whether the AVX2 kernels run.
var simdFloat = archsimd.X86.AVX2()

// FloatKernel names the float reference's kernel on this CPU.
func FloatKernel() string {
	if simdFloat {
		return "avx2 (GOEXPERIMENT=simd)"
	}
	return "portable (GOEXPERIMENT=simd build, but this CPU lacks AVX2)"
}

// tapPointers checks that every tap of a tile is inside src and that wp
// holds w weights per tap, and returns the base pointers the kernels read
// through. The kernels check each offset against lim as they go (one
// compare per tap), so no read leaves src even if off is wrong.
func tapPointers(src []float64, base int, off []int32, wp []float64, w int) (sp, wpp unsafe.Pointer, lim uint) {
	if base < 0 || base+8 > len(src) || len(wp) < w*len(off) {
		panic("model: convFast tile out of range")
	}
	return unsafe.Pointer(unsafe.SliceData(src[base:])), unsafe.Pointer(unsafe.SliceData(wp)), uint(len(src) - base - 8)
}

// minSum4x8 is minSum3x8 for 4 channels (wp[4·r + j]); it stores dst[0]
// to dst[3].
//
// Its 8 accumulators fit in the 15 vector registers Go allocates only if
// the 4 broadcasts are not all hoisted to the top of the loop body, which
// Go's scheduler does within a block (it places the accumulator updates,
// used only by the loop's phis, last). The next tap's offset is therefore
// loaded and checked between channels 1 and 2: the branch splits the
// body in two blocks. So written, one core (2026-11-30, R = 576) runs it
// in 1.26 times minSum3x8's time for 4/3 the channels; without the split
// it spilled two accumulators and took 2.1 times.
func minSum4x8(src []float64, base int, off []int32, wp []float64, sx *[8]float64, sw *[4]float64, dst *[4]*[8]float64) {
	sp, wpp, lim := tapPointers(src, base, off, wp, 4)
	var a0, a1, a2, a3, b0, b1, b2, b3 archsimd.Float64x4
	n := len(off)
	var o int32
	if n > 0 {
		o = off[0]
	}
	if uint(o) > lim {
		panic("model: convFast tap out of range")
	}
	for r := 0; r < n; r++ {
		xs := unsafe.Add(sp, uintptr(o)*8)
		xa := archsimd.LoadFloat64x4((*[4]float64)(xs))
		xb := archsimd.LoadFloat64x4((*[4]float64)(unsafe.Add(xs, 32)))
		w := (*[4]float64)(unsafe.Add(wpp, 32*r)) // never past wp's end
		v := archsimd.BroadcastFloat64x4(w[0])
		a0 = a0.Add(xa.Min(v))
		b0 = b0.Add(xb.Min(v))
		v = archsimd.BroadcastFloat64x4(w[1])
		a1 = a1.Add(xa.Min(v))
		b1 = b1.Add(xb.Min(v))
		if r+1 < n { // the next tap's offset; splits the block
			o = off[r+1]
			if uint(o) > lim {
				panic("model: convFast tap out of range")
			}
		}
		v = archsimd.BroadcastFloat64x4(w[2])
		a2 = a2.Add(xa.Min(v))
		b2 = b2.Add(xb.Min(v))
		v = archsimd.BroadcastFloat64x4(w[3])
		a3 = a3.Add(xa.Min(v))
		b3 = b3.Add(xb.Min(v))
	}
	// res = 2·Σmin − (Σx + Σw)
	sa := archsimd.LoadFloat64x4((*[4]float64)(sx[0:4]))
	sb := archsimd.LoadFloat64x4((*[4]float64)(sx[4:8]))
	v := archsimd.BroadcastFloat64x4(sw[0])
	a0.Add(a0).Sub(sa.Add(v)).Store((*[4]float64)(dst[0][0:4]))
	b0.Add(b0).Sub(sb.Add(v)).Store((*[4]float64)(dst[0][4:8]))
	v = archsimd.BroadcastFloat64x4(sw[1])
	a1.Add(a1).Sub(sa.Add(v)).Store((*[4]float64)(dst[1][0:4]))
	b1.Add(b1).Sub(sb.Add(v)).Store((*[4]float64)(dst[1][4:8]))
	v = archsimd.BroadcastFloat64x4(sw[2])
	a2.Add(a2).Sub(sa.Add(v)).Store((*[4]float64)(dst[2][0:4]))
	b2.Add(b2).Sub(sb.Add(v)).Store((*[4]float64)(dst[2][4:8]))
	v = archsimd.BroadcastFloat64x4(sw[3])
	a3.Add(a3).Sub(sa.Add(v)).Store((*[4]float64)(dst[3][0:4]))
	b3.Add(b3).Sub(sb.Add(v)).Store((*[4]float64)(dst[3][4:8]))
	archsimd.ClearAVXUpperBits()
}

// minSum1x32 computes 4 segments of 8 output positions of one output
// channel of an adder layer from the taps in off/w only: segment k's
// position q reads tap r at src[seg[k] + off[r] + q]. It stores
// dst[k][q] = 2·Σ_r min(x, w[r]) − (sx[k][q] + c). convFast uses it on
// non-negative inputs with the channel's positive weights only (see
// skipPrep).
func minSum1x32(src []float64, seg *[4]int, off []int32, w []float64, sx *[4][8]float64, c *float64, dst *[4]*[8]float64) {
	lo := min(seg[0], seg[1], seg[2], seg[3])
	hi := max(seg[0], seg[1], seg[2], seg[3])
	if lo < 0 || hi+8 > len(src) || len(w) < len(off) {
		panic("model: convFast tile out of range")
	}
	lim := uint(len(src) - hi - 8)
	sp := unsafe.Pointer(unsafe.SliceData(src))
	p0, p1 := unsafe.Add(sp, 8*seg[0]), unsafe.Add(sp, 8*seg[1])
	p2, p3 := unsafe.Add(sp, 8*seg[2]), unsafe.Add(sp, 8*seg[3])
	wq := unsafe.Pointer(unsafe.SliceData(w))
	var a0, a1, a2, a3, b0, b1, b2, b3 archsimd.Float64x4
	n := len(off)
	var o int32
	if n > 0 {
		o = off[0]
	}
	if uint(o) > lim {
		panic("model: convFast tap out of range")
	}
	// As in minSum4x8, the next tap's offset is loaded and checked
	// halfway through the body, which splits it in two blocks so that
	// Go's scheduler does not hoist all 8 loads above the accumulator
	// updates (which spilled two accumulators).
	for r := 0; r < n; r++ {
		v := archsimd.BroadcastFloat64x4(*(*float64)(wq))
		wq = unsafe.Add(wq, 8)
		d := uintptr(o) * 8
		x := (*[8]float64)(unsafe.Add(p0, d))
		a0 = a0.Add(archsimd.LoadFloat64x4((*[4]float64)(x[0:4])).Min(v))
		b0 = b0.Add(archsimd.LoadFloat64x4((*[4]float64)(x[4:8])).Min(v))
		x = (*[8]float64)(unsafe.Add(p1, d))
		a1 = a1.Add(archsimd.LoadFloat64x4((*[4]float64)(x[0:4])).Min(v))
		b1 = b1.Add(archsimd.LoadFloat64x4((*[4]float64)(x[4:8])).Min(v))
		if r+1 < n {
			o = off[r+1]
			if uint(o) > lim {
				panic("model: convFast tap out of range")
			}
		}
		x = (*[8]float64)(unsafe.Add(p2, d))
		a2 = a2.Add(archsimd.LoadFloat64x4((*[4]float64)(x[0:4])).Min(v))
		b2 = b2.Add(archsimd.LoadFloat64x4((*[4]float64)(x[4:8])).Min(v))
		x = (*[8]float64)(unsafe.Add(p3, d))
		a3 = a3.Add(archsimd.LoadFloat64x4((*[4]float64)(x[0:4])).Min(v))
		b3 = b3.Add(archsimd.LoadFloat64x4((*[4]float64)(x[4:8])).Min(v))
	}
	vc := archsimd.BroadcastFloat64x4(*c)
	a0.Add(a0).Sub(archsimd.LoadFloat64x4((*[4]float64)(sx[0][0:4])).Add(vc)).Store((*[4]float64)(dst[0][0:4]))
	b0.Add(b0).Sub(archsimd.LoadFloat64x4((*[4]float64)(sx[0][4:8])).Add(vc)).Store((*[4]float64)(dst[0][4:8]))
	a1.Add(a1).Sub(archsimd.LoadFloat64x4((*[4]float64)(sx[1][0:4])).Add(vc)).Store((*[4]float64)(dst[1][0:4]))
	b1.Add(b1).Sub(archsimd.LoadFloat64x4((*[4]float64)(sx[1][4:8])).Add(vc)).Store((*[4]float64)(dst[1][4:8]))
	a2.Add(a2).Sub(archsimd.LoadFloat64x4((*[4]float64)(sx[2][0:4])).Add(vc)).Store((*[4]float64)(dst[2][0:4]))
	b2.Add(b2).Sub(archsimd.LoadFloat64x4((*[4]float64)(sx[2][4:8])).Add(vc)).Store((*[4]float64)(dst[2][4:8]))
	a3.Add(a3).Sub(archsimd.LoadFloat64x4((*[4]float64)(sx[3][0:4])).Add(vc)).Store((*[4]float64)(dst[3][0:4]))
	b3.Add(b3).Sub(archsimd.LoadFloat64x4((*[4]float64)(sx[3][4:8])).Add(vc)).Store((*[4]float64)(dst[3][4:8]))
	archsimd.ClearAVXUpperBits()
}

// dot4x8 is minSum4x8 for products: dst[j][q] = Σ_r x·w.
func dot4x8(src []float64, base int, off []int32, wp []float64, dst *[4]*[8]float64) {
	sp, wpp, lim := tapPointers(src, base, off, wp, 4)
	var a0, a1, a2, a3, b0, b1, b2, b3 archsimd.Float64x4
	n := len(off)
	var o int32
	if n > 0 {
		o = off[0]
	}
	if uint(o) > lim {
		panic("model: convFast tap out of range")
	}
	for r := 0; r < n; r++ {
		xs := unsafe.Add(sp, uintptr(o)*8)
		xa := archsimd.LoadFloat64x4((*[4]float64)(xs))
		xb := archsimd.LoadFloat64x4((*[4]float64)(unsafe.Add(xs, 32)))
		w := (*[4]float64)(unsafe.Add(wpp, 32*r)) // never past wp's end
		v := archsimd.BroadcastFloat64x4(w[0])
		a0 = xa.MulAdd(v, a0)
		b0 = xb.MulAdd(v, b0)
		v = archsimd.BroadcastFloat64x4(w[1])
		a1 = xa.MulAdd(v, a1)
		b1 = xb.MulAdd(v, b1)
		if r+1 < n { // the next tap's offset; splits the block
			o = off[r+1]
			if uint(o) > lim {
				panic("model: convFast tap out of range")
			}
		}
		v = archsimd.BroadcastFloat64x4(w[2])
		a2 = xa.MulAdd(v, a2)
		b2 = xb.MulAdd(v, b2)
		v = archsimd.BroadcastFloat64x4(w[3])
		a3 = xa.MulAdd(v, a3)
		b3 = xb.MulAdd(v, b3)
	}
	a0.Store((*[4]float64)(dst[0][0:4]))
	b0.Store((*[4]float64)(dst[0][4:8]))
	a1.Store((*[4]float64)(dst[1][0:4]))
	b1.Store((*[4]float64)(dst[1][4:8]))
	a2.Store((*[4]float64)(dst[2][0:4]))
	b2.Store((*[4]float64)(dst[2][4:8]))
	a3.Store((*[4]float64)(dst[3][0:4]))
	b3.Store((*[4]float64)(dst[3][4:8]))
	archsimd.ClearAVXUpperBits()
}

// minSum3x8 computes one tile of 3 output channels × 8 output positions
// of an adder layer. Position q's tap r is src[base + off[r] + q] (the 8
// positions of a tile are contiguous in src for every tap). wp holds the 3
// channels' weights interleaved, wp[3·r + j]; sx[q] is Σ_r of position q's
// window and sw[j] is Σ_r of channel j's weights. It stores
// dst[j][q] = −Σ_r |x − w| (dst[j] may point into the layer's output:
// no copy through the stack).
//
// A plain 4×8 version, with 8 accumulators, 2 input vectors and the 4
// weight broadcasts the compiler hoists, spills two accumulators to the
// stack and ran at half the speed (6.7 vs 12.4 G lane-ops/s on one core,
// measured 2026-11-30 on this machine); minSum4x8 avoids that by
// splitting its loop body (see there). The loads go through
// unsafe pointers: with slice bounds checks in the loop the kernel ran
// at 7.3 G lane-ops/s. Tried and not kept (same measurements): weights
// stored pre-broadcast and some accumulators summed by fused multiply-add
// by 1 on the multiply pipes reached 14.3 G lane-ops/s alone, but were
// slower in the forward pass (4× the weight bytes, from L2).
func minSum3x8(src []float64, base int, off []int32, wp []float64, sx *[8]float64, sw *[4]float64, dst *[4]*[8]float64) {
	sp, wpp, lim := tapPointers(src, base, off, wp, 3)
	var a0, a1, a2, b0, b1, b2 archsimd.Float64x4
	for r, o := range off {
		if uint(o) > lim {
			panic("model: convFast tap out of range")
		}
		xs := unsafe.Add(sp, uintptr(o)*8)
		xa := archsimd.LoadFloat64x4((*[4]float64)(xs))
		xb := archsimd.LoadFloat64x4((*[4]float64)(unsafe.Add(xs, 32)))
		w := (*[3]float64)(unsafe.Add(wpp, 24*r)) // never past wp's end
		v := archsimd.BroadcastFloat64x4(w[0])
		a0 = a0.Add(xa.Min(v))
		b0 = b0.Add(xb.Min(v))
		v = archsimd.BroadcastFloat64x4(w[1])
		a1 = a1.Add(xa.Min(v))
		b1 = b1.Add(xb.Min(v))
		v = archsimd.BroadcastFloat64x4(w[2])
		a2 = a2.Add(xa.Min(v))
		b2 = b2.Add(xb.Min(v))
	}
	// res = 2·Σmin − (Σx + Σw)
	sa := archsimd.LoadFloat64x4((*[4]float64)(sx[0:4]))
	sb := archsimd.LoadFloat64x4((*[4]float64)(sx[4:8]))
	v := archsimd.BroadcastFloat64x4(sw[0])
	a0.Add(a0).Sub(sa.Add(v)).Store((*[4]float64)(dst[0][0:4]))
	b0.Add(b0).Sub(sb.Add(v)).Store((*[4]float64)(dst[0][4:8]))
	v = archsimd.BroadcastFloat64x4(sw[1])
	a1.Add(a1).Sub(sa.Add(v)).Store((*[4]float64)(dst[1][0:4]))
	b1.Add(b1).Sub(sb.Add(v)).Store((*[4]float64)(dst[1][4:8]))
	v = archsimd.BroadcastFloat64x4(sw[2])
	a2.Add(a2).Sub(sa.Add(v)).Store((*[4]float64)(dst[2][0:4]))
	b2.Add(b2).Sub(sb.Add(v)).Store((*[4]float64)(dst[2][4:8]))
	archsimd.ClearAVXUpperBits()
}

// minSum2x8 is minSum3x8 for 2 channels (wp[2·r + j]); it stores
// dst[0] and dst[1] only.
func minSum2x8(src []float64, base int, off []int32, wp []float64, sx *[8]float64, sw *[4]float64, dst *[4]*[8]float64) {
	sp, wpp, lim := tapPointers(src, base, off, wp, 2)
	var a0, a1, b0, b1 archsimd.Float64x4
	for r, o := range off {
		if uint(o) > lim {
			panic("model: convFast tap out of range")
		}
		xs := unsafe.Add(sp, uintptr(o)*8)
		xa := archsimd.LoadFloat64x4((*[4]float64)(xs))
		xb := archsimd.LoadFloat64x4((*[4]float64)(unsafe.Add(xs, 32)))
		w := (*[2]float64)(unsafe.Add(wpp, 16*r))
		v := archsimd.BroadcastFloat64x4(w[0])
		a0 = a0.Add(xa.Min(v))
		b0 = b0.Add(xb.Min(v))
		v = archsimd.BroadcastFloat64x4(w[1])
		a1 = a1.Add(xa.Min(v))
		b1 = b1.Add(xb.Min(v))
	}
	sa := archsimd.LoadFloat64x4((*[4]float64)(sx[0:4]))
	sb := archsimd.LoadFloat64x4((*[4]float64)(sx[4:8]))
	v := archsimd.BroadcastFloat64x4(sw[0])
	a0.Add(a0).Sub(sa.Add(v)).Store((*[4]float64)(dst[0][0:4]))
	b0.Add(b0).Sub(sb.Add(v)).Store((*[4]float64)(dst[0][4:8]))
	v = archsimd.BroadcastFloat64x4(sw[1])
	a1.Add(a1).Sub(sa.Add(v)).Store((*[4]float64)(dst[1][0:4]))
	b1.Add(b1).Sub(sb.Add(v)).Store((*[4]float64)(dst[1][4:8]))
	archsimd.ClearAVXUpperBits()
}

// dot3x8 is minSum3x8 for products: dst[j][q] = Σ_r x·w.
func dot3x8(src []float64, base int, off []int32, wp []float64, dst *[4]*[8]float64) {
	sp, wpp, lim := tapPointers(src, base, off, wp, 3)
	var a0, a1, a2, b0, b1, b2 archsimd.Float64x4
	for r, o := range off {
		if uint(o) > lim {
			panic("model: convFast tap out of range")
		}
		xs := unsafe.Add(sp, uintptr(o)*8)
		xa := archsimd.LoadFloat64x4((*[4]float64)(xs))
		xb := archsimd.LoadFloat64x4((*[4]float64)(unsafe.Add(xs, 32)))
		w := (*[3]float64)(unsafe.Add(wpp, 24*r)) // never past wp's end
		v := archsimd.BroadcastFloat64x4(w[0])
		a0 = xa.MulAdd(v, a0)
		b0 = xb.MulAdd(v, b0)
		v = archsimd.BroadcastFloat64x4(w[1])
		a1 = xa.MulAdd(v, a1)
		b1 = xb.MulAdd(v, b1)
		v = archsimd.BroadcastFloat64x4(w[2])
		a2 = xa.MulAdd(v, a2)
		b2 = xb.MulAdd(v, b2)
	}
	a0.Store((*[4]float64)(dst[0][0:4]))
	b0.Store((*[4]float64)(dst[0][4:8]))
	a1.Store((*[4]float64)(dst[1][0:4]))
	b1.Store((*[4]float64)(dst[1][4:8]))
	a2.Store((*[4]float64)(dst[2][0:4]))
	b2.Store((*[4]float64)(dst[2][4:8]))
	archsimd.ClearAVXUpperBits()
}

// dot2x8 is dot3x8 for 2 channels (wp[2·r + j]).
func dot2x8(src []float64, base int, off []int32, wp []float64, dst *[4]*[8]float64) {
	sp, wpp, lim := tapPointers(src, base, off, wp, 2)
	var a0, a1, b0, b1 archsimd.Float64x4
	for r, o := range off {
		if uint(o) > lim {
			panic("model: convFast tap out of range")
		}
		xs := unsafe.Add(sp, uintptr(o)*8)
		xa := archsimd.LoadFloat64x4((*[4]float64)(xs))
		xb := archsimd.LoadFloat64x4((*[4]float64)(unsafe.Add(xs, 32)))
		w := (*[2]float64)(unsafe.Add(wpp, 16*r))
		v := archsimd.BroadcastFloat64x4(w[0])
		a0 = xa.MulAdd(v, a0)
		b0 = xb.MulAdd(v, b0)
		v = archsimd.BroadcastFloat64x4(w[1])
		a1 = xa.MulAdd(v, a1)
		b1 = xb.MulAdd(v, b1)
	}
	a0.Store((*[4]float64)(dst[0][0:4]))
	b0.Store((*[4]float64)(dst[0][4:8]))
	a1.Store((*[4]float64)(dst[1][0:4]))
	b1.Store((*[4]float64)(dst[1][4:8]))
	archsimd.ClearAVXUpperBits()
}

// sumWin8 returns sx[q] = Σ_r src[base + off[r] + q] for q < 8: the
// window sums minSum4x8 needs.
func sumWin8(src []float64, base int, off []int32, sx *[8]float64) {
	var a0, a1, b0, b1 archsimd.Float64x4
	r := 0
	for ; r+2 <= len(off); r += 2 {
		i, k := base+int(off[r]), base+int(off[r+1])
		xs, ys := src[i:i+8], src[k:k+8]
		a0 = a0.Add(archsimd.LoadFloat64x4Slice(xs[0:4]))
		b0 = b0.Add(archsimd.LoadFloat64x4Slice(xs[4:8]))
		a1 = a1.Add(archsimd.LoadFloat64x4Slice(ys[0:4]))
		b1 = b1.Add(archsimd.LoadFloat64x4Slice(ys[4:8]))
	}
	if r < len(off) {
		i := base + int(off[r])
		xs := src[i : i+8]
		a0 = a0.Add(archsimd.LoadFloat64x4Slice(xs[0:4]))
		b0 = b0.Add(archsimd.LoadFloat64x4Slice(xs[4:8]))
	}
	a0.Add(a1).StoreSlice(sx[0:4])
	b0.Add(b1).StoreSlice(sx[4:8])
	archsimd.ClearAVXUpperBits()
}

// minSumRow computes one output position of an adder layer against nb
// (1 to 4) consecutive blocks of 4 channels: x is the position's window
// (length R), block k's weights are wp[k·4R:][:4R] interleaved,
// wp[k·4R + 4r + j], sx = Σ x and sw[4k+j] = Σ_r w. It stores
// res[4k+j] = −Σ_r |x − w|.
func minSumRow(x, wp []float64, nb int, sx float64, sw []float64, res *[16]float64) {
	R := len(x)
	s := archsimd.BroadcastFloat64x4(sx)
	k := 0
	for ; k+2 <= nb; k += 2 {
		a, b := minSumRow2(x, wp[4*R*k:4*R*(k+1)], wp[4*R*(k+1):4*R*(k+2)])
		a.Add(a).Sub(s.Add(archsimd.LoadFloat64x4((*[4]float64)(sw[4*k : 4*k+4])))).Store((*[4]float64)(res[4*k : 4*k+4]))
		b.Add(b).Sub(s.Add(archsimd.LoadFloat64x4((*[4]float64)(sw[4*k+4 : 4*k+8])))).Store((*[4]float64)(res[4*k+4 : 4*k+8]))
	}
	if k < nb {
		w := wp[4*R*k : 4*R*(k+1)]
		var c0, c1, c2, c3 archsimd.Float64x4
		r := 0
		for ; r+4 <= R; r += 4 {
			ws := (*[16]float64)(w[4*r:])
			xs := (*[4]float64)(x[r:])
			c0 = c0.Add(archsimd.BroadcastFloat64x4(xs[0]).Min(archsimd.LoadFloat64x4((*[4]float64)(ws[0:4]))))
			c1 = c1.Add(archsimd.BroadcastFloat64x4(xs[1]).Min(archsimd.LoadFloat64x4((*[4]float64)(ws[4:8]))))
			c2 = c2.Add(archsimd.BroadcastFloat64x4(xs[2]).Min(archsimd.LoadFloat64x4((*[4]float64)(ws[8:12]))))
			c3 = c3.Add(archsimd.BroadcastFloat64x4(xs[3]).Min(archsimd.LoadFloat64x4((*[4]float64)(ws[12:16]))))
		}
		for ; r < R; r++ {
			c0 = c0.Add(archsimd.BroadcastFloat64x4(x[r]).Min(archsimd.LoadFloat64x4((*[4]float64)(w[4*r : 4*r+4]))))
		}
		a := c0.Add(c1).Add(c2.Add(c3))
		a.Add(a).Sub(s.Add(archsimd.LoadFloat64x4((*[4]float64)(sw[4*k : 4*k+4])))).Store((*[4]float64)(res[4*k : 4*k+4]))
	}
	archsimd.ClearAVXUpperBits()
}

// minSumRow2 returns Σ_r min(x[r], w[4r + j]) for two 4-channel blocks
// w0 and w1 (lanes j), two taps per step into separate accumulators.
func minSumRow2(x, w0, w1 []float64) (a, b archsimd.Float64x4) {
	R := len(x)
	w0, w1 = w0[:4*R], w1[:4*R]
	var a1, b1 archsimd.Float64x4
	r := 0
	for ; r+2 <= R; r += 2 {
		u := (*[8]float64)(w0[4*r:])
		v := (*[8]float64)(w1[4*r:])
		xs := (*[2]float64)(x[r:])
		x0 := archsimd.BroadcastFloat64x4(xs[0])
		x1 := archsimd.BroadcastFloat64x4(xs[1])
		a = a.Add(x0.Min(archsimd.LoadFloat64x4((*[4]float64)(u[0:4]))))
		b = b.Add(x0.Min(archsimd.LoadFloat64x4((*[4]float64)(v[0:4]))))
		a1 = a1.Add(x1.Min(archsimd.LoadFloat64x4((*[4]float64)(u[4:8]))))
		b1 = b1.Add(x1.Min(archsimd.LoadFloat64x4((*[4]float64)(v[4:8]))))
	}
	if r < R {
		x0 := archsimd.BroadcastFloat64x4(x[r])
		a = a.Add(x0.Min(archsimd.LoadFloat64x4((*[4]float64)(w0[4*r : 4*r+4]))))
		b = b.Add(x0.Min(archsimd.LoadFloat64x4((*[4]float64)(w1[4*r : 4*r+4]))))
	}
	return a.Add(a1), b.Add(b1)
}

// dotRow is minSumRow for products: res[4k+j] = Σ_r x·w.
func dotRow(x, wp []float64, nb int, res *[16]float64) {
	R := len(x)
	for k := range nb {
		w := wp[4*R*k : 4*R*(k+1)]
		var c0, c1, c2, c3 archsimd.Float64x4
		r := 0
		for ; r+4 <= R; r += 4 {
			ws := w[4*r : 4*r+16]
			c0 = archsimd.BroadcastFloat64x4(x[r]).MulAdd(archsimd.LoadFloat64x4Slice(ws[0:4]), c0)
			c1 = archsimd.BroadcastFloat64x4(x[r+1]).MulAdd(archsimd.LoadFloat64x4Slice(ws[4:8]), c1)
			c2 = archsimd.BroadcastFloat64x4(x[r+2]).MulAdd(archsimd.LoadFloat64x4Slice(ws[8:12]), c2)
			c3 = archsimd.BroadcastFloat64x4(x[r+3]).MulAdd(archsimd.LoadFloat64x4Slice(ws[12:16]), c3)
		}
		for ; r < R; r++ {
			c0 = archsimd.BroadcastFloat64x4(x[r]).MulAdd(archsimd.LoadFloat64x4Slice(w[4*r:4*r+4]), c0)
		}
		c0.Add(c1).Add(c2.Add(c3)).StoreSlice(res[4*k : 4*k+4])
	}
	archsimd.ClearAVXUpperBits()
}

// addTo adds b to a element-wise (len(b) ≥ len(a)).
func addTo(a, b []float64) {
	b = b[:len(a)]
	i := 0
	for ; i+4 <= len(a); i += 4 {
		va := archsimd.LoadFloat64x4((*[4]float64)(a[i : i+4]))
		va.Add(archsimd.LoadFloat64x4((*[4]float64)(b[i : i+4]))).Store((*[4]float64)(a[i : i+4]))
	}
	archsimd.ClearAVXUpperBits()
	for ; i < len(a); i++ {
		a[i] += b[i]
	}
}

// bnRow sets o[j] = (x[j] − m)·inv·g + b, in that order (no fused
// multiply-add, so lanes round exactly as the scalar formula does).
func bnRow(x, o []float64, m, inv, g, b float64) {
	o = o[:len(x)]
	vm, vi := archsimd.BroadcastFloat64x4(m), archsimd.BroadcastFloat64x4(inv)
	vg, vb := archsimd.BroadcastFloat64x4(g), archsimd.BroadcastFloat64x4(b)
	j := 0
	for ; j+4 <= len(x); j += 4 {
		v := archsimd.LoadFloat64x4((*[4]float64)(x[j : j+4]))
		v.Sub(vm).Mul(vi).Mul(vg).Add(vb).Store((*[4]float64)(o[j : j+4]))
	}
	archsimd.ClearAVXUpperBits()
	for ; j < len(x); j++ {
		o[j] = (x[j]-m)*inv*g + b
	}
}

// relu4 is Go's max(v, 0) on each lane: NaN stays NaN and −0 becomes +0
// (VMAXPD alone would return 0 for NaN and may keep −0).
func relu4(v, zero archsimd.Float64x4) archsimd.Float64x4 {
	return v.Merge(v.Max(zero).Add(zero), v.IsNaN())
}

// postRow sets o[j] = e applied to x[j] for channel oc (len(o) ≥ len(x);
// o may be x), with the operations and rounding of epilogue.one.
func postRow(x, o []float64, e *epilogue, oc int) {
	o = o[:len(x)]
	var vbias, vm, vi, vg, vb archsimd.Float64x4
	bias, bn := e.bias != nil, e.inv != nil
	if bias {
		vbias = archsimd.BroadcastFloat64x4(e.bias[oc])
	}
	if bn {
		vm, vi = archsimd.BroadcastFloat64x4(e.mean[oc]), archsimd.BroadcastFloat64x4(e.inv[oc])
		vg, vb = archsimd.BroadcastFloat64x4(e.g[oc]), archsimd.BroadcastFloat64x4(e.b[oc])
	}
	var zero archsimd.Float64x4
	j := 0
	for ; j+4 <= len(x); j += 4 {
		v := archsimd.LoadFloat64x4((*[4]float64)(x[j : j+4]))
		if bias {
			v = v.Add(vbias)
		}
		if bn {
			v = v.Sub(vm).Mul(vi).Mul(vg).Add(vb)
		}
		if e.relu {
			v = relu4(v, zero)
		}
		v.Store((*[4]float64)(o[j : j+4]))
	}
	archsimd.ClearAVXUpperBits()
	for ; j < len(x); j++ {
		o[j] = e.one(x[j], oc)
	}
}

// addRow sets o[j] = a[j] + b[j], then max(·, 0) if relu (len(a), len(b)
// ≥ len(o); o may be a or b).
func addRow(a, b, o []float64, relu bool) {
	a, b = a[:len(o)], b[:len(o)]
	var zero archsimd.Float64x4
	j := 0
	for ; j+4 <= len(o); j += 4 {
		v := archsimd.LoadFloat64x4((*[4]float64)(a[j : j+4])).Add(archsimd.LoadFloat64x4((*[4]float64)(b[j : j+4])))
		if relu {
			v = relu4(v, zero)
		}
		v.Store((*[4]float64)(o[j : j+4]))
	}
	archsimd.ClearAVXUpperBits()
	for ; j < len(o); j++ {
		v := a[j] + b[j]
		if relu {
			v = max(v, 0)
		}
		o[j] = v
	}
}
