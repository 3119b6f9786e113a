package fixedpoint_test

// Reference implementations used by the tests. They work on exact rationals
// and arbitrary-precision integers (math/big) and share no code with the
// package under test.

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/addergen/addergen/fixedpoint"
)

var (
	roundings = []fixedpoint.Rounding{fixedpoint.HalfEven, fixedpoint.HalfUp, fixedpoint.Floor, fixedpoint.TowardZero}
	overflows = []fixedpoint.Overflow{fixedpoint.Saturate, fixedpoint.Wrap}
	bigOne    = big.NewInt(1)
)

// refRound rounds the exact rational q to an integer with r.
func refRound(q *big.Rat, r fixedpoint.Rounding) *big.Int {
	num, den := q.Num(), q.Denom() // den > 0
	// Euclidean division: rem >= 0, so fl = floor(q).
	fl, rem := new(big.Int).DivMod(num, den, new(big.Int))
	if rem.Sign() == 0 {
		return fl
	}
	var up bool
	switch r {
	case fixedpoint.Floor:
	case fixedpoint.TowardZero:
		up = num.Sign() < 0
	case fixedpoint.HalfUp, fixedpoint.HalfEven:
		c := new(big.Int).Lsh(rem, 1).Cmp(den) // compare frac(q) with 1/2
		up = c > 0 || c == 0 && (r == fixedpoint.HalfUp || fl.Bit(0) == 1)
	default:
		panic("refRound: bad mode")
	}
	if up {
		fl.Add(fl, bigOne)
	}
	return fl
}

// pow2Rat returns 2^e as a rational.
func pow2Rat(e int) *big.Rat {
	p := new(big.Int).Lsh(bigOne, uint(abs(e)))
	if e >= 0 {
		return new(big.Rat).SetInt(p)
	}
	return new(big.Rat).SetFrac(bigOne, p)
}

func abs(e int) int {
	if e < 0 {
		return -e
	}
	return e
}

// refRange returns the code range of a width.
func refRange(width int, signed bool) (lo, hi *big.Int) {
	if signed {
		h := new(big.Int).Lsh(bigOne, uint(width-1))
		return new(big.Int).Neg(h), h.Sub(h, bigOne)
	}
	h := new(big.Int).Lsh(bigOne, uint(width))
	return new(big.Int), h.Sub(h, bigOne)
}

// refFit applies an overflow mode to v.
func refFit(v *big.Int, width int, signed bool, o fixedpoint.Overflow) (int64, bool) {
	lo, hi := refRange(width, signed)
	if v.Cmp(lo) >= 0 && v.Cmp(hi) <= 0 {
		return v.Int64(), false
	}
	if o == fixedpoint.Saturate {
		if v.Sign() < 0 {
			return lo.Int64(), true
		}
		return hi.Int64(), true
	}
	// Wrap: the member of [lo, hi] congruent to v modulo 2^width.
	m := new(big.Int).Lsh(bigOne, uint(width))
	w := new(big.Int).Sub(v, lo)
	w.Mod(w, m) // Euclidean: 0 <= w < m
	w.Add(w, lo)
	return w.Int64(), true
}

// refScaled returns x·2^frac exactly.
func refScaled(x float64, frac int) *big.Rat {
	q := new(big.Rat).SetFloat64(x)
	return q.Mul(q, pow2Rat(frac))
}

// refFromFloat is the reference for Format.FromFloat on finite x.
func refFromFloat(f fixedpoint.Format, x float64, r fixedpoint.Rounding, o fixedpoint.Overflow) (int64, bool) {
	return refFit(refRound(refScaled(x, f.Frac), r), f.Width, f.Signed, o)
}

// refRoundShiftRight is the reference for RoundShiftRight.
func refRoundShiftRight(x int64, sh uint, r fixedpoint.Rounding) int64 {
	q := new(big.Rat).SetInt64(x)
	q.Mul(q, pow2Rat(-int(sh)))
	v := refRound(q, r)
	if !v.IsInt64() {
		panic("refRoundShiftRight: result does not fit")
	}
	return v.Int64()
}

// smallRange is an int64 version of refRange for widths below 63, computed
// by repeated doubling rather than shifts.
func smallRange(width int, signed bool) (lo, hi int64) {
	p := int64(1)
	for range width {
		p *= 2
	}
	if signed {
		return -p / 2, p/2 - 1
	}
	return 0, p - 1
}

// refFitSmall is refFit for small values and widths below 63.
func refFitSmall(v int64, width int, signed bool, o fixedpoint.Overflow) (int64, bool) {
	lo, hi := smallRange(width, signed)
	if lo <= v && v <= hi {
		return v, false
	}
	if o == fixedpoint.Saturate {
		if v < lo {
			return lo, true
		}
		return hi, true
	}
	m := hi - lo + 1
	return ((v-lo)%m+m)%m + lo, true
}

// mustPanic checks that f panics with a message starting "fixedpoint: "
// and containing want.
func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("no panic; want panic containing %q", want)
			return
		}
		msg := fmt.Sprint(r)
		if !strings.HasPrefix(msg, "fixedpoint: ") || !strings.Contains(msg, want) {
			t.Errorf("panic %q; want prefix %q and %q", msg, "fixedpoint: ", want)
		}
	}()
	f()
}

// Sanity checks of the references themselves against hand-computed values,
// so that a broken reference cannot hide a broken implementation.
func TestReference(t *testing.T) {
	for _, c := range []struct {
		num, den int64
		want     [4]int64 // HalfEven, HalfUp, Floor, TowardZero
	}{
		{5, 2, [4]int64{2, 3, 2, 2}},
		{-5, 2, [4]int64{-2, -2, -3, -2}},
		{3, 2, [4]int64{2, 2, 1, 1}},
		{-3, 2, [4]int64{-2, -1, -2, -1}},
		{1, 2, [4]int64{0, 1, 0, 0}},
		{-1, 2, [4]int64{0, 0, -1, 0}},
		{7, 3, [4]int64{2, 2, 2, 2}},
		{-7, 3, [4]int64{-2, -2, -3, -2}},
		{8, 3, [4]int64{3, 3, 2, 2}},
		{-8, 3, [4]int64{-3, -3, -3, -2}},
		{6, 3, [4]int64{2, 2, 2, 2}},
		{0, 3, [4]int64{0, 0, 0, 0}},
	} {
		for i, r := range roundings {
			got := refRound(big.NewRat(c.num, c.den), r)
			if got.Int64() != c.want[i] {
				t.Errorf("refRound(%d/%d, %v) = %v, want %d", c.num, c.den, r, got, c.want[i])
			}
		}
	}
	for _, c := range []struct {
		v      int64
		width  int
		signed bool
		sat    int64
		wrap   int64
	}{
		{128, 8, true, 127, -128},
		{-129, 8, true, -128, 127},
		{256, 8, false, 255, 0},
		{-1, 8, false, 0, 255},
		{-1, 1, true, -1, -1},
		{1, 1, true, 0, -1},
		{2, 1, false, 1, 0},
	} {
		for _, o := range overflows {
			want := c.sat
			if o == fixedpoint.Wrap {
				want = c.wrap
			}
			if got, _ := refFit(big.NewInt(c.v), c.width, c.signed, o); got != want {
				t.Errorf("refFit(%d, %d, %v, %v) = %d, want %d", c.v, c.width, c.signed, o, got, want)
			}
			if got, _ := refFitSmall(c.v, c.width, c.signed, o); got != want {
				t.Errorf("refFitSmall(%d, %d, %v, %v) = %d, want %d", c.v, c.width, c.signed, o, got, want)
			}
		}
	}
	if got := refRoundShiftRight(math.MinInt64, 64, fixedpoint.HalfUp); got != 0 {
		t.Errorf("refRoundShiftRight(MinInt64, 64, half-up) = %d, want 0", got)
	}
}
