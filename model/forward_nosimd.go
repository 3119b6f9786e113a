//go:build !(goexperiment.simd && amd64)

package model

// simdFloat is false: this build has no vector kernels (they need
// GOEXPERIMENT=simd on amd64).
const simdFloat = false

// FloatKernel names the float reference's kernel: portable in this build.
func FloatKernel() string { return "portable" }

// absDiff2x4 and dot2x4 are never called in this build (simdFloat is
// false); they exist so that convLike compiles in both.
func absDiff2x4(x0, x1, w0, w1, w2, w3 []float64) (o [8]float64) {
	panic("model: no vector kernels in this build")
}
func dot2x4(x0, x1, w0, w1, w2, w3 []float64) (o [8]float64) {
	panic("model: no vector kernels in this build")
}
