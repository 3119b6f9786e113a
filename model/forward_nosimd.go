//go:build !(goexperiment.simd && amd64)

package model

// simdFloat is false: this build has no vector kernels (they need
// GOEXPERIMENT=simd on amd64).
const simdFloat = false

// FloatKernel names the float reference's kernel: portable in this build.
func FloatKernel() string { return "portable" }

// The vector kernels are never called in this build (simdFloat is false);
// they exist so that convFast compiles in both.
func minSum4x8(src []float64, base int, off []int32, wp []float64, sx *[8]float64, sw *[4]float64, dst *[4]*[8]float64) {
	panic("model: no vector kernels in this build")
}
func dot4x8(src []float64, base int, off []int32, wp []float64, dst *[4]*[8]float64) {
	panic("model: no vector kernels in this build")
}
func minSum3x8(src []float64, base int, off []int32, wp []float64, sx *[8]float64, sw *[4]float64, dst *[4]*[8]float64) {
	panic("model: no vector kernels in this build")
}
func minSum2x8(src []float64, base int, off []int32, wp []float64, sx *[8]float64, sw *[4]float64, dst *[4]*[8]float64) {
	panic("model: no vector kernels in this build")
}
func dot3x8(src []float64, base int, off []int32, wp []float64, dst *[4]*[8]float64) {
	panic("model: no vector kernels in this build")
}
func dot2x8(src []float64, base int, off []int32, wp []float64, dst *[4]*[8]float64) {
	panic("model: no vector kernels in this build")
}
func minSum1x32(src []float64, seg *[4]int, off []int32, w []float64, sx *[4][8]float64, c *float64, dst *[4]*[8]float64) {
	panic("model: no vector kernels in this build")
}
func sumWin8(src []float64, base int, off []int32, sx *[8]float64) {
	panic("model: no vector kernels in this build")
}
func minSumRow(x, wp []float64, nb int, sx float64, sw []float64, res *[16]float64) {
	panic("model: no vector kernels in this build")
}
func dotRow(x, wp []float64, nb int, res *[16]float64) {
	panic("model: no vector kernels in this build")
}

// addTo adds b to a element-wise (len(b) ≥ len(a)).
func addTo(a, b []float64) {
	b = b[:len(a)]
	for i := range a {
		a[i] += b[i]
	}
}

// bnRow sets o[j] = (x[j] − m)·inv·g + b, in that order.
func bnRow(x, o []float64, m, inv, g, b float64) {
	o = o[:len(x)]
	for j, v := range x {
		o[j] = (v-m)*inv*g + b
	}
}

// postRow sets o[j] = e applied to x[j] for channel oc (len(o) ≥ len(x);
// o may be x).
func postRow(x, o []float64, e *epilogue, oc int) {
	o = o[:len(x)]
	for j, v := range x {
		o[j] = e.one(v, oc)
	}
}

// addRow sets o[j] = a[j] + b[j], then max(·, 0) if relu (len(a), len(b)
// ≥ len(o); o may be a or b).
func addRow(a, b, o []float64, relu bool) {
	a, b = a[:len(o)], b[:len(o)]
	for j := range o {
		v := a[j] + b[j]
		if relu {
			v = max(v, 0)
		}
		o[j] = v
	}
}
