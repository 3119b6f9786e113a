//go:build goexperiment.simd && amd64

package sim

import (
	"math/rand/v2"
	"testing"
)

func TestL1Bytes(t *testing.T) {
	if !simdAvailable() {
		t.Skip("this CPU has no AVX2 (a property of the machine, not a missing CI tool); the portable kernel is tested everywhere")
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{0, 32, 64, 96, 160, 1024, 4096} {
		for trial := range 4 {
			x, w := make([]uint8, n), make([]uint8, n)
			xi, wi := make([]int32, n), make([]int32, n)
			for i := range n {
				switch trial {
				case 0:
					x[i], w[i] = 0, 255
				case 1:
					x[i], w[i] = 255, 0
				default:
					x[i], w[i] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
				}
				xi[i], wi[i] = int32(x[i]), int32(w[i])
			}
			if got, want := l1Bytes(x, w), l1Sum(xi, wi); got != want {
				t.Fatalf("n %d trial %d: %d, want %d", n, trial, got, want)
			}
		}
	}
}
