//go:build !(goexperiment.simd && amd64)

package sim

// Without GOEXPERIMENT=simd on amd64 there is no byte kernel; the portable
// SWAR kernel (net_kernel.go) runs instead, with identical results.

func simdAvailable() bool { return false }

// Kernel names the adder kernel this binary runs: here always the portable
// one (SWAR words for codes of at most 15 bits, int32 otherwise).
func Kernel() string {
	return "portable (this build has no AVX2 kernel: it needs GOEXPERIMENT=simd on amd64)"
}

func l1Quad2(xa, xb, wq []uint8, oa, ob []int32) { panic("sim: l1Quad2 without simd support") }

func l1Quad1(xa, wq []uint8, oa []int32) { panic("sim: l1Quad1 without simd support") }

func rescaleQuad(l1 []int32, n int, c *quadConst, rc *rescaleConst, out []int32, npos, nq int, a *quadAcc) {
	panic("sim: rescaleQuad without simd support")
}

func l1RowDirect(xr []uint8, step, OW, stride, K, cpr int, mask *[32]uint8, wq []uint8, lq []int32) {
	panic("sim: l1RowDirect without simd support")
}

func macQuad2(xa, xb, wq []int16, oa, ob []int32) { panic("sim: macQuad2 without simd support") }

func l1Quad2W(xa, xb, wq []int16, oa, ob []int32) { panic("sim: l1Quad2W without simd support") }

func addRows(xa, xb, out []int32, c *addConst, a *addAcc) int {
	panic("sim: addRows without simd support")
}

func packBytes16(x []int32, C, H, W, P, Wp int, off int32, xh []uint8) {
	panic("sim: packBytes16 without simd support")
}

func macRowRows8(xr []int16, step, OW, stride, K int, wq []int16, lq []int32) {
	panic("sim: macRowRows8 without simd support")
}

func convC1Row(xr []int16, Wp, OW, K int, wq []int16, lq []int32) {
	panic("sim: convC1Row without simd support")
}

func packInt16Row(x []int32, dst []int16) { panic("sim: packInt16Row without simd support") }

func l1RowHalf(xr []uint8, step, OW, stride, K, m int, wq []uint8, lq []int32) {
	panic("sim: l1RowHalf without simd support")
}

func macRowRows16(xr []int16, step, OW, stride, K int, wq []int16, lq []int32) {
	panic("sim: macRowRows16 without simd support")
}

func maxPool2Row(r0, r1, o []int32) { panic("sim: maxPool2Row without simd support") }
