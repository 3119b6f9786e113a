//go:build goexperiment.simd && amd64

package model

import (
	"math"

	"simd/archsimd"
)

// The float reference's AVX2 kernels, built with GOEXPERIMENT=simd on
// amd64 and used when the CPU has AVX2: one unfolded window of each of
// two output positions against four output channels' weights, 4 float64
// lanes at a time, so each loaded input vector meets four filters in
// registers (8 accumulators, 6 loads per 8 lane-groups of work). Sums are
// float64 throughout; they differ from the portable kernels only in the
// order of the additions (relative differences near 1e-16).

// simdFloat reports whether the AVX2 kernels run.
var simdFloat = archsimd.X86.AVX2()

// FloatKernel names the float reference's kernel on this CPU.
func FloatKernel() string {
	if simdFloat {
		return "avx2 (GOEXPERIMENT=simd)"
	}
	return "portable (GOEXPERIMENT=simd build, but this CPU lacks AVX2)"
}

// hsum8 stores the eight accumulators, clears the upper AVX state (so
// that the scalar code after it pays no AVX-to-SSE transition) and
// returns each one's lane sum (v0 + v1) + (v2 + v3).
func hsum8(a0, b0, a1, b1, a2, b2, a3, b3 archsimd.Float64x4) (o [8]float64) {
	var t [8][4]float64
	a0.Store(&t[0])
	b0.Store(&t[1])
	a1.Store(&t[2])
	b1.Store(&t[3])
	a2.Store(&t[4])
	b2.Store(&t[5])
	a3.Store(&t[6])
	b3.Store(&t[7])
	archsimd.ClearAVXUpperBits()
	for i := range o {
		o[i] = (t[i][0] + t[i][1]) + (t[i][2] + t[i][3])
	}
	return o
}

// absDiff2x4 returns o[2·j+i] = −Σ_r |x_i[r] − w_j[r]| for positions x0,
// x1 and channels w0..w3 (all of one length).
func absDiff2x4(x0, x1, w0, w1, w2, w3 []float64) (o [8]float64) {
	n := len(x0)
	x1, w0, w1, w2, w3 = x1[:n], w0[:n], w1[:n], w2[:n], w3[:n]
	sign := archsimd.BroadcastUint64x4(1 << 63)
	var a0, a1, a2, a3, b0, b1, b2, b3 archsimd.Float64x4
	r := 0
	for ; r+4 <= n; r += 4 {
		xa := archsimd.LoadFloat64x4Slice(x0[r : r+4])
		xb := archsimd.LoadFloat64x4Slice(x1[r : r+4])
		v := archsimd.LoadFloat64x4Slice(w0[r : r+4])
		a0 = a0.Add(xa.Sub(v).AsUint64x4().AndNot(sign).AsFloat64x4())
		b0 = b0.Add(xb.Sub(v).AsUint64x4().AndNot(sign).AsFloat64x4())
		v = archsimd.LoadFloat64x4Slice(w1[r : r+4])
		a1 = a1.Add(xa.Sub(v).AsUint64x4().AndNot(sign).AsFloat64x4())
		b1 = b1.Add(xb.Sub(v).AsUint64x4().AndNot(sign).AsFloat64x4())
		v = archsimd.LoadFloat64x4Slice(w2[r : r+4])
		a2 = a2.Add(xa.Sub(v).AsUint64x4().AndNot(sign).AsFloat64x4())
		b2 = b2.Add(xb.Sub(v).AsUint64x4().AndNot(sign).AsFloat64x4())
		v = archsimd.LoadFloat64x4Slice(w3[r : r+4])
		a3 = a3.Add(xa.Sub(v).AsUint64x4().AndNot(sign).AsFloat64x4())
		b3 = b3.Add(xb.Sub(v).AsUint64x4().AndNot(sign).AsFloat64x4())
	}
	o = hsum8(a0, b0, a1, b1, a2, b2, a3, b3)
	for ; r < n; r++ {
		a, b := x0[r], x1[r]
		o[0], o[1] = o[0]+math.Abs(a-w0[r]), o[1]+math.Abs(b-w0[r])
		o[2], o[3] = o[2]+math.Abs(a-w1[r]), o[3]+math.Abs(b-w1[r])
		o[4], o[5] = o[4]+math.Abs(a-w2[r]), o[5]+math.Abs(b-w2[r])
		o[6], o[7] = o[6]+math.Abs(a-w3[r]), o[7]+math.Abs(b-w3[r])
	}
	for i := range o {
		o[i] = -o[i]
	}
	return o
}

// dot2x4 is absDiff2x4 for products: o[2·j+i] = Σ_r x_i[r]·w_j[r].
func dot2x4(x0, x1, w0, w1, w2, w3 []float64) (o [8]float64) {
	n := len(x0)
	x1, w0, w1, w2, w3 = x1[:n], w0[:n], w1[:n], w2[:n], w3[:n]
	var a0, a1, a2, a3, b0, b1, b2, b3 archsimd.Float64x4
	r := 0
	for ; r+4 <= n; r += 4 {
		xa := archsimd.LoadFloat64x4Slice(x0[r : r+4])
		xb := archsimd.LoadFloat64x4Slice(x1[r : r+4])
		v := archsimd.LoadFloat64x4Slice(w0[r : r+4])
		a0 = a0.Add(xa.Mul(v))
		b0 = b0.Add(xb.Mul(v))
		v = archsimd.LoadFloat64x4Slice(w1[r : r+4])
		a1 = a1.Add(xa.Mul(v))
		b1 = b1.Add(xb.Mul(v))
		v = archsimd.LoadFloat64x4Slice(w2[r : r+4])
		a2 = a2.Add(xa.Mul(v))
		b2 = b2.Add(xb.Mul(v))
		v = archsimd.LoadFloat64x4Slice(w3[r : r+4])
		a3 = a3.Add(xa.Mul(v))
		b3 = b3.Add(xb.Mul(v))
	}
	o = hsum8(a0, b0, a1, b1, a2, b2, a3, b3)
	for ; r < n; r++ {
		a, b := x0[r], x1[r]
		o[0], o[1] = o[0]+a*w0[r], o[1]+b*w0[r]
		o[2], o[3] = o[2]+a*w1[r], o[3]+b*w1[r]
		o[4], o[5] = o[4]+a*w2[r], o[5]+b*w2[r]
		o[6], o[7] = o[6]+a*w3[r], o[7]+b*w3[r]
	}
	return o
}
