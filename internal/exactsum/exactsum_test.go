package exactsum

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// exact returns the correctly rounded sum of xs through math/big.
func exact(xs []float64) float64 {
	acc := new(big.Float).SetPrec(4096)
	for _, x := range xs {
		acc.Add(acc, new(big.Float).SetPrec(4096).SetFloat64(x))
	}
	f, _ := acc.Float64()
	return f
}

func TestSumIsExactAndOrderFree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n := 1 + rng.IntN(200)
		xs := make([]float64, n)
		for i := range xs {
			// Wide exponents and cancellation: a plain sum gets these wrong.
			xs[i] = (rng.Float64() - 0.5) * math.Pow(2, float64(rng.IntN(120)-60))
			if rng.IntN(4) == 0 && i > 0 {
				xs[i] = -xs[rng.IntN(i)]
			}
		}
		want := exact(xs)
		var s Sum
		for _, x := range xs {
			s.Add(x)
		}
		if got := s.Value(); got != want {
			t.Fatalf("trial %d: sum %v, exact %v", trial, got, want)
		}
		// Any split into groups, summed apart and merged, gives the same bits.
		cut := rng.IntN(n + 1)
		var a, b Sum
		for i := n - 1; i >= 0; i-- { // reversed order too
			if i < cut {
				a.Add(xs[i])
			} else {
				b.Add(xs[i])
			}
		}
		st, err := FromState(b.State())
		if err != nil {
			t.Fatal(err)
		}
		a.AddSum(&st)
		if got := a.Value(); got != want {
			t.Fatalf("trial %d: split at %d merged %v, exact %v", trial, cut, got, want)
		}
	}
}

func TestSumPlainCasesAndSpecials(t *testing.T) {
	var s Sum
	if s.Value() != 0 {
		t.Fatalf("empty sum %v", s.Value())
	}
	for _, x := range []float64{1e100, 1, -1e100} {
		s.Add(x)
	}
	if s.Value() != 1 {
		t.Fatalf("1e100 + 1 - 1e100 = %v, want 1", s.Value())
	}
	var o Sum
	o.Add(math.MaxFloat64)
	o.Add(math.MaxFloat64)
	if !math.IsInf(o.Value(), 1) {
		t.Fatalf("overflow gave %v, want +Inf", o.Value())
	}
	st := o.State()
	if st.Special != "+Inf" {
		t.Fatalf("state special %q", st.Special)
	}
	back, err := FromState(st)
	if err != nil || !math.IsInf(back.Value(), 1) {
		t.Fatalf("round trip %v, %v", back.Value(), err)
	}
	var n Sum
	n.Add(math.Inf(1))
	n.Add(math.Inf(-1))
	if !math.IsNaN(n.Value()) {
		t.Fatalf("+Inf + -Inf = %v, want NaN", n.Value())
	}
	if _, err := FromState(State{Special: "huge"}); err == nil {
		t.Fatal("unknown special accepted")
	}
}
