//go:build goexperiment.simd && amd64

package model

import (
	"simd/archsimd"
)

// The float reference's AVX2 kernels, built with GOEXPERIMENT=simd on
// amd64 and used when the CPU has AVX2 (convFast in forward.go drives
// them). Sums are float64 throughout.
//
// The adder kernels use |x − w| = x + w − 2·min(x, w), so that
//
//	−Σ_r |x_r − w_r| = −(Σ_r x_r + Σ_r w_r − 2·Σ_r min(x_r, w_r)).
//
// The inner loop is then one VMINPD and one VADDPD per 4 lanes instead of
// VSUBPD, VANDNPD and VADDPD; on AMD Zen 3 (the 2-core EPYC VM this was
// measured on, 2026-11-30) min and add issue on different FP pipe pairs,
// while sub and add share one pair. Σx is computed once per output
// position and Σw once per channel. Rounding differs from the direct sum
// by a few ulps of Σ|x| + Σ|w| (relative differences near 1e-15 at these
// layer sizes); an infinite input or weight gives NaN instead of −Inf.
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

// minSum4x8 computes one tile of 4 output channels × 8 output positions
// of an adder layer. Position q's window element r is
// src[base + off[r] + q] (the 8 positions of a tile are contiguous in
// src for every r). wp holds the 4 channels' weights interleaved,
// wp[4·r + j], sx[q] is Σ_r of position q's window and sw[j] is Σ_r of
// channel j's weights. res[j][q] = −Σ_r |x − w|.
func minSum4x8(src []float64, base int, off []int32, wp []float64, sx *[8]float64, sw *[4]float64, res *[4][8]float64) {
	wp = wp[:4*len(off)]
	var a0, a1, a2, a3, b0, b1, b2, b3 archsimd.Float64x4
	for r, o := range off {
		i := base + int(o)
		xs := src[i : i+8]
		xa := archsimd.LoadFloat64x4Slice(xs[0:4])
		xb := archsimd.LoadFloat64x4Slice(xs[4:8])
		w := wp[4*r : 4*r+4]
		v := archsimd.BroadcastFloat64x4(w[0])
		a0 = a0.Add(xa.Min(v))
		b0 = b0.Add(xb.Min(v))
		v = archsimd.BroadcastFloat64x4(w[1])
		a1 = a1.Add(xa.Min(v))
		b1 = b1.Add(xb.Min(v))
		v = archsimd.BroadcastFloat64x4(w[2])
		a2 = a2.Add(xa.Min(v))
		b2 = b2.Add(xb.Min(v))
		v = archsimd.BroadcastFloat64x4(w[3])
		a3 = a3.Add(xa.Min(v))
		b3 = b3.Add(xb.Min(v))
	}
	// res = 2·Σmin − (Σx + Σw)
	sa := archsimd.LoadFloat64x4Slice(sx[0:4])
	sb := archsimd.LoadFloat64x4Slice(sx[4:8])
	fin := func(a, b archsimd.Float64x4, w float64, o *[8]float64) {
		v := archsimd.BroadcastFloat64x4(w)
		a.Add(a).Sub(sa.Add(v)).StoreSlice(o[0:4])
		b.Add(b).Sub(sb.Add(v)).StoreSlice(o[4:8])
	}
	fin(a0, b0, sw[0], &res[0])
	fin(a1, b1, sw[1], &res[1])
	fin(a2, b2, sw[2], &res[2])
	fin(a3, b3, sw[3], &res[3])
	archsimd.ClearAVXUpperBits()
}

// dot4x8 is minSum4x8 for products: res[j][q] = Σ_r x·w (sx, sw unused).
func dot4x8(src []float64, base int, off []int32, wp []float64, res *[4][8]float64) {
	wp = wp[:4*len(off)]
	var a0, a1, a2, a3, b0, b1, b2, b3 archsimd.Float64x4
	for r, o := range off {
		i := base + int(o)
		xs := src[i : i+8]
		xa := archsimd.LoadFloat64x4Slice(xs[0:4])
		xb := archsimd.LoadFloat64x4Slice(xs[4:8])
		w := wp[4*r : 4*r+4]
		v := archsimd.BroadcastFloat64x4(w[0])
		a0 = xa.MulAdd(v, a0)
		b0 = xb.MulAdd(v, b0)
		v = archsimd.BroadcastFloat64x4(w[1])
		a1 = xa.MulAdd(v, a1)
		b1 = xb.MulAdd(v, b1)
		v = archsimd.BroadcastFloat64x4(w[2])
		a2 = xa.MulAdd(v, a2)
		b2 = xb.MulAdd(v, b2)
		v = archsimd.BroadcastFloat64x4(w[3])
		a3 = xa.MulAdd(v, a3)
		b3 = xb.MulAdd(v, b3)
	}
	a0.StoreSlice(res[0][0:4])
	b0.StoreSlice(res[0][4:8])
	a1.StoreSlice(res[1][0:4])
	b1.StoreSlice(res[1][4:8])
	a2.StoreSlice(res[2][0:4])
	b2.StoreSlice(res[2][4:8])
	a3.StoreSlice(res[3][0:4])
	b3.StoreSlice(res[3][4:8])
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
// (length R), block k's weights are wp[k·4R:][:4R] interleaved as in
// minSum4x8, sx = Σ x and sw[4k+j] = Σ_r w. res[4k+j] = −Σ_r |x − w|.
func minSumRow(x, wp []float64, nb int, sx float64, sw []float64, res *[16]float64) {
	R := len(x)
	var a [4]archsimd.Float64x4
	switch nb {
	case 4:
		w0, w1, w2, w3 := wp[:4*R], wp[4*R:8*R], wp[8*R:12*R], wp[12*R:16*R]
		var c0, c1, c2, c3 archsimd.Float64x4
		r := 0
		for ; r+2 <= R; r += 2 {
			v := archsimd.BroadcastFloat64x4(x[r])
			u := archsimd.BroadcastFloat64x4(x[r+1])
			a[0] = a[0].Add(v.Min(archsimd.LoadFloat64x4Slice(w0[4*r : 4*r+4])))
			a[1] = a[1].Add(v.Min(archsimd.LoadFloat64x4Slice(w1[4*r : 4*r+4])))
			a[2] = a[2].Add(v.Min(archsimd.LoadFloat64x4Slice(w2[4*r : 4*r+4])))
			a[3] = a[3].Add(v.Min(archsimd.LoadFloat64x4Slice(w3[4*r : 4*r+4])))
			c0 = c0.Add(u.Min(archsimd.LoadFloat64x4Slice(w0[4*r+4 : 4*r+8])))
			c1 = c1.Add(u.Min(archsimd.LoadFloat64x4Slice(w1[4*r+4 : 4*r+8])))
			c2 = c2.Add(u.Min(archsimd.LoadFloat64x4Slice(w2[4*r+4 : 4*r+8])))
			c3 = c3.Add(u.Min(archsimd.LoadFloat64x4Slice(w3[4*r+4 : 4*r+8])))
		}
		if r < R {
			v := archsimd.BroadcastFloat64x4(x[r])
			a[0] = a[0].Add(v.Min(archsimd.LoadFloat64x4Slice(w0[4*r : 4*r+4])))
			a[1] = a[1].Add(v.Min(archsimd.LoadFloat64x4Slice(w1[4*r : 4*r+4])))
			a[2] = a[2].Add(v.Min(archsimd.LoadFloat64x4Slice(w2[4*r : 4*r+4])))
			a[3] = a[3].Add(v.Min(archsimd.LoadFloat64x4Slice(w3[4*r : 4*r+4])))
		}
		a[0], a[1], a[2], a[3] = a[0].Add(c0), a[1].Add(c1), a[2].Add(c2), a[3].Add(c3)
	default:
		for k := range nb {
			w := wp[4*R*k : 4*R*(k+1)]
			var c0, c1, c2, c3 archsimd.Float64x4
			r := 0
			for ; r+4 <= R; r += 4 {
				ws := w[4*r : 4*r+16]
				c0 = c0.Add(archsimd.BroadcastFloat64x4(x[r]).Min(archsimd.LoadFloat64x4Slice(ws[0:4])))
				c1 = c1.Add(archsimd.BroadcastFloat64x4(x[r+1]).Min(archsimd.LoadFloat64x4Slice(ws[4:8])))
				c2 = c2.Add(archsimd.BroadcastFloat64x4(x[r+2]).Min(archsimd.LoadFloat64x4Slice(ws[8:12])))
				c3 = c3.Add(archsimd.BroadcastFloat64x4(x[r+3]).Min(archsimd.LoadFloat64x4Slice(ws[12:16])))
			}
			for ; r < R; r++ {
				c0 = c0.Add(archsimd.BroadcastFloat64x4(x[r]).Min(archsimd.LoadFloat64x4Slice(w[4*r : 4*r+4])))
			}
			a[k] = c0.Add(c1).Add(c2.Add(c3))
		}
	}
	s := archsimd.BroadcastFloat64x4(sx)
	for k := range nb {
		a[k].Add(a[k]).Sub(s.Add(archsimd.LoadFloat64x4Slice(sw[4*k : 4*k+4]))).StoreSlice(res[4*k : 4*k+4])
	}
	archsimd.ClearAVXUpperBits()
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
