package fixedpoint_test

import (
	"math"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/addergen/addergen/fixedpoint"
)

type iv = fixedpoint.Interval

func TestIntervalOps(t *testing.T) {
	for _, c := range []struct {
		name string
		got  iv
		want iv
	}{
		{"add", iv{1, 2}.Add(iv{-5, 10}), iv{-4, 12}},
		{"add max", iv{math.MaxInt64 - 1, math.MaxInt64 - 1}.Add(iv{0, 1}), iv{math.MaxInt64 - 1, math.MaxInt64}},
		{"sub", iv{0, 255}.Sub(iv{-128, 127}), iv{-127, 383}},
		{"sub min", iv{math.MinInt64 + 1, 0}.Sub(iv{0, 1}), iv{math.MinInt64, 0}},
		{"neg", iv{-3, 7}.Neg(), iv{-7, 3}},
		{"neg max", iv{math.MinInt64 + 1, math.MaxInt64}.Neg(), iv{math.MinInt64 + 1, math.MaxInt64}},
		{"abs pos", iv{3, 7}.Abs(), iv{3, 7}},
		{"abs neg", iv{-7, -3}.Abs(), iv{3, 7}},
		{"abs straddle", iv{-127, 383}.Abs(), iv{0, 383}},
		{"abs straddle neg", iv{-500, 3}.Abs(), iv{0, 500}},
		{"abs zero", iv{0, 0}.Abs(), iv{0, 0}},
		{"mul pos", iv{2, 3}.Mul(iv{4, 5}), iv{8, 15}},
		{"mul mixed", iv{-2, 3}.Mul(iv{-7, 5}), iv{-21, 15}},
		{"mul neg", iv{-3, -2}.Mul(iv{-5, -4}), iv{8, 15}},
		{"mul straddle", iv{-2, 3}.Mul(iv{-1, 1}), iv{-3, 3}},
		{"mul to min", iv{-1 << 32, 0}.Mul(iv{0, 1 << 31}), iv{math.MinInt64, 0}},
		{"mul min by 1", iv{math.MinInt64, 0}.Mul(iv{0, 1}), iv{math.MinInt64, 0}},
		{"mulconst", iv{-3, 10}.MulConst(-4), iv{-40, 12}},
		{"mulconst 0", iv{math.MinInt64, math.MaxInt64}.MulConst(0), iv{0, 0}},
		{"shl", iv{-3, 5}.Shl(4), iv{-48, 80}},
		{"shl 63", iv{-1, 0}.Shl(63), iv{math.MinInt64, 0}},
		{"shl 0", iv{-3, 5}.Shl(0), iv{-3, 5}},
		{"shl zero 200", iv{0, 0}.Shl(200), iv{0, 0}},
		{"shr floor", iv{-5, 5}.Shr(1, fixedpoint.Floor), iv{-3, 2}},
		{"shr half-up", iv{-5, 5}.Shr(1, fixedpoint.HalfUp), iv{-2, 3}},
		{"shr half-even", iv{-5, 5}.Shr(1, fixedpoint.HalfEven), iv{-2, 2}},
		{"shr toward-zero", iv{-5, 5}.Shr(1, fixedpoint.TowardZero), iv{-2, 2}},
		{"union", iv{-5, 1}.Union(iv{3, 9}), iv{-5, 9}},
		{"union inside", iv{-5, 10}.Union(iv{3, 9}), iv{-5, 10}},
		{"point", fixedpoint.Point(-7), iv{-7, -7}},
		{"sum", fixedpoint.SumInterval(16, iv{0, 255}), iv{0, 4080}},
		{"sum signed", fixedpoint.SumInterval(9, iv{-128, 127}), iv{-1152, 1143}},
		{"sum 0", fixedpoint.SumInterval(0, iv{-128, 127}), iv{0, 0}},
		{"sum range", fixedpoint.SumRange(fixedpoint.Term{Count: 3, Range: iv{0, 10}}, fixedpoint.Term{Count: 1, Range: iv{-100, 100}}), iv{-100, 130}},
		{"sum range empty", fixedpoint.SumRange(), iv{0, 0}},
	} {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", c.name, diff)
		}
	}
	if s := (iv{-3, 4}).String(); s != "[-3, 4]" {
		t.Errorf("String = %q", s)
	}
	if !(iv{-3, 4}).Contains(-3) || !(iv{-3, 4}).Contains(4) || (iv{-3, 4}).Contains(5) || (iv{-3, 4}).Contains(-4) {
		t.Error("Contains wrong at the ends")
	}
}

func TestIntervalOverflowPanics(t *testing.T) {
	const msg = "interval overflow"
	for name, f := range map[string]func(){
		"add hi":        func() { iv{0, math.MaxInt64}.Add(iv{0, 1}) },
		"add lo":        func() { iv{math.MinInt64, 0}.Add(iv{-1, 0}) },
		"sub hi":        func() { iv{0, math.MaxInt64}.Sub(iv{-1, 0}) },
		"sub lo":        func() { iv{math.MinInt64, 0}.Sub(iv{0, 1}) },
		"sub lo by max": func() { iv{-2, 0}.Sub(iv{0, math.MaxInt64}) },
		"neg":           func() { iv{math.MinInt64, 0}.Neg() },
		"abs":           func() { iv{math.MinInt64, 0}.Abs() },
		"abs straddle":  func() { iv{math.MinInt64, 5}.Abs() },
		"mul 2^63":      func() { iv{1 << 32, 1 << 32}.Mul(iv{1 << 31, 1 << 31}) },
		"mul -2^63*-1":  func() { iv{math.MinInt64, 0}.Mul(iv{-1, 0}) },
		"mul big":       func() { iv{-3, 1 << 40}.Mul(iv{-(1 << 30), 1 << 10}) },
		"mulconst":      func() { iv{0, math.MaxInt64/3 + 1}.MulConst(3) },
		"shl":           func() { iv{0, 1}.Shl(63) },
		"shl neg":       func() { iv{-2, 0}.Shl(63) },
		"shl 64":        func() { iv{-1, 0}.Shl(64) },
		"sum":           func() { fixedpoint.SumInterval(1<<33, iv{0, 1 << 30}) },
		"sum neg":       func() { fixedpoint.SumInterval(3, iv{math.MinInt64 / 2, 0}) },
		"sumwidth": func() {
			fixedpoint.SumWidth(fixedpoint.Term{Count: 2, Range: iv{0, 1 << 62}}, fixedpoint.Term{Count: 1, Range: iv{0, 1 << 62}})
		},
	} {
		t.Run(name, func(t *testing.T) { mustPanic(t, msg, f) })
	}
}

func TestInvalidIntervalPanics(t *testing.T) {
	bad := iv{3, 2}
	good := iv{0, 1}
	for name, f := range map[string]func(){
		"add":       func() { bad.Add(good) },
		"add arg":   func() { good.Add(bad) },
		"sub":       func() { good.Sub(bad) },
		"neg":       func() { bad.Neg() },
		"abs":       func() { bad.Abs() },
		"mul":       func() { good.Mul(bad) },
		"mulconst":  func() { bad.MulConst(2) },
		"shl":       func() { bad.Shl(1) },
		"shr":       func() { bad.Shr(1, fixedpoint.Floor) },
		"union":     func() { good.Union(bad) },
		"width":     func() { bad.Width() },
		"contains":  func() { bad.Contains(2) },
		"sum":       func() { fixedpoint.SumInterval(2, bad) },
		"sumwidth":  func() { fixedpoint.SumWidth(fixedpoint.Term{Count: 1, Range: bad}) },
		"sum count": func() { fixedpoint.SumInterval(-1, good) },
	} {
		want := "invalid interval [3, 2]"
		if name == "sum count" {
			want = "negative term count -1"
		}
		t.Run(name, func(t *testing.T) { mustPanic(t, want, f) })
	}
}

// TestIntervalTight checks every operation against brute force over all
// members of small intervals: the result contains every value and its
// bounds are attained.
func TestIntervalTight(t *testing.T) {
	var ivs []iv
	for lo := int64(-6); lo <= 6; lo++ {
		for hi := lo; hi <= 6; hi++ {
			ivs = append(ivs, iv{lo, hi})
		}
	}
	hull := func(a iv, f func(x int64) int64) iv {
		r := iv{math.MaxInt64, math.MinInt64}
		for x := a.Lo; x <= a.Hi; x++ {
			v := f(x)
			r.Lo, r.Hi = min(r.Lo, v), max(r.Hi, v)
		}
		return r
	}
	hull2 := func(a, b iv, f func(x, y int64) int64) iv {
		r := iv{math.MaxInt64, math.MinInt64}
		for x := a.Lo; x <= a.Hi; x++ {
			for y := b.Lo; y <= b.Hi; y++ {
				v := f(x, y)
				r.Lo, r.Hi = min(r.Lo, v), max(r.Hi, v)
			}
		}
		return r
	}
	check := func(what string, a iv, got, want iv) {
		t.Helper()
		if got != want {
			t.Fatalf("%s %v = %v, want %v", what, a, got, want)
		}
	}
	for _, a := range ivs {
		check("neg", a, a.Neg(), hull(a, func(x int64) int64 { return -x }))
		check("abs", a, a.Abs(), hull(a, func(x int64) int64 { return max(x, -x) }))
		for sh := uint(0); sh <= 4; sh++ {
			check("shl", a, a.Shl(sh), hull(a, func(x int64) int64 { return x << sh }))
			for _, r := range roundings {
				check("shr", a, a.Shr(sh, r), hull(a, func(x int64) int64 { return refRoundShiftRight(x, sh, r) }))
			}
		}
		sums := iv{0, 0} // hull of all sums of k members of a, by enumeration
		for k := 0; k <= 4; k++ {
			check("sum", a, fixedpoint.SumInterval(k, a), sums)
			sums = hull2(sums, a, func(x, y int64) int64 { return x + y })
		}
		for _, b := range ivs {
			check("add", a, a.Add(b), hull2(a, b, func(x, y int64) int64 { return x + y }))
			check("sub", a, a.Sub(b), hull2(a, b, func(x, y int64) int64 { return x - y }))
			check("mul", a, a.Mul(b), hull2(a, b, func(x, y int64) int64 { return x * y }))
			u := a.Union(b)
			if !u.Contains(a.Lo) || !u.Contains(a.Hi) || !u.Contains(b.Lo) || !u.Contains(b.Hi) ||
				u.Lo != a.Lo && u.Lo != b.Lo || u.Hi != a.Hi && u.Hi != b.Hi {
				t.Fatalf("%v.Union(%v) = %v", a, b, u)
			}
		}
	}
}

// bigIv is an interval with big.Int bounds, for the overflow reference.
type bigIv struct{ lo, hi *big.Int }

func toBig(a iv) bigIv { return bigIv{big.NewInt(a.Lo), big.NewInt(a.Hi)} }

func bigHull(vs ...*big.Int) bigIv {
	r := bigIv{vs[0], vs[0]}
	for _, v := range vs[1:] {
		if v.Cmp(r.lo) < 0 {
			r.lo = v
		}
		if v.Cmp(r.hi) > 0 {
			r.hi = v
		}
	}
	return r
}

// fits returns the int64 interval of b and whether it fits.
func (b bigIv) fits() (iv, bool) {
	if !b.lo.IsInt64() || !b.hi.IsInt64() {
		return iv{}, false
	}
	return iv{b.lo.Int64(), b.hi.Int64()}, true
}

// randomInterval mixes small, large and extreme bounds.
func randomInterval(rng *rand.Rand) iv {
	v := func() int64 {
		switch rng.IntN(4) {
		case 0:
			return rng.Int64N(201) - 100
		case 1:
			return int64(rng.Uint64()) >> rng.IntN(64)
		case 2:
			return []int64{math.MinInt64, math.MaxInt64, math.MinInt64 + 1, math.MaxInt64 - 1, 0, -1}[rng.IntN(6)]
		default:
			s := int64(1) << rng.IntN(63)
			return s * int64(1-2*rng.IntN(2))
		}
	}
	a, b := v(), v()
	return iv{min(a, b), max(a, b)}
}

// TestIntervalOverflowRandom compares every operation with a math/big
// computation: the result is exact when it fits in int64, and the
// operation panics exactly when it does not.
func TestIntervalOverflowRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	add := func(x, y *big.Int) *big.Int { return new(big.Int).Add(x, y) }
	sub := func(x, y *big.Int) *big.Int { return new(big.Int).Sub(x, y) }
	mul := func(x, y *big.Int) *big.Int { return new(big.Int).Mul(x, y) }
	neg := func(x *big.Int) *big.Int { return new(big.Int).Neg(x) }
	for range 20000 {
		a, b := randomInterval(rng), randomInterval(rng)
		A, B := toBig(a), toBig(b)
		sh := uint(rng.IntN(66))
		k := rng.IntN(1 << rng.IntN(31))
		cases := []struct {
			name string
			op   func() iv
			want bigIv
		}{
			{"add", func() iv { return a.Add(b) }, bigIv{add(A.lo, B.lo), add(A.hi, B.hi)}},
			{"sub", func() iv { return a.Sub(b) }, bigIv{sub(A.lo, B.hi), sub(A.hi, B.lo)}},
			{"mul", func() iv { return a.Mul(b) }, bigHull(mul(A.lo, B.lo), mul(A.lo, B.hi), mul(A.hi, B.lo), mul(A.hi, B.hi))},
			{"neg", func() iv { return a.Neg() }, bigIv{neg(A.hi), neg(A.lo)}},
			{"abs", func() iv { return a.Abs() }, func() bigIv {
				switch {
				case a.Lo >= 0:
					return A
				case a.Hi <= 0:
					return bigIv{neg(A.hi), neg(A.lo)}
				}
				return bigHull(big.NewInt(0), neg(A.lo), A.hi)
			}()},
			{"shl", func() iv { return a.Shl(sh) }, bigIv{new(big.Int).Lsh(A.lo, sh), new(big.Int).Lsh(A.hi, sh)}},
			{"sum", func() iv { return fixedpoint.SumInterval(k, a) }, bigIv{mul(big.NewInt(int64(k)), A.lo), mul(big.NewInt(int64(k)), A.hi)}},
		}
		for _, c := range cases {
			want, ok := c.want.fits()
			var got iv
			panicked := func() (p bool) {
				defer func() { p = recover() != nil }()
				got = c.op()
				return false
			}()
			switch {
			case ok && panicked:
				t.Fatalf("%s %v %v (sh %d, k %d) panicked; want %v", c.name, a, b, sh, k, want)
			case !ok && !panicked:
				t.Fatalf("%s %v %v (sh %d, k %d) = %v; want overflow panic", c.name, a, b, sh, k, got)
			case ok && got != want:
				t.Fatalf("%s %v %v (sh %d, k %d) = %v; want %v", c.name, a, b, sh, k, got, want)
			}
		}
	}
}

func TestIntervalWidth(t *testing.T) {
	for _, c := range []struct {
		a      iv
		width  int
		signed bool
	}{
		{iv{0, 0}, 1, false},
		{iv{0, 1}, 1, false},
		{iv{0, 255}, 8, false},
		{iv{5, 256}, 9, false},
		{iv{-1, 0}, 1, true},
		{iv{-1, 1}, 2, true},
		{iv{-128, 127}, 8, true},
		{iv{-127, 383}, 10, true},
		{iv{-129, 0}, 9, true},
		{iv{-5, -3}, 4, true},
		{iv{0, math.MaxInt64}, 63, false},
		{iv{math.MinInt64, math.MaxInt64}, 64, true},
		{iv{math.MinInt64, -1}, 64, true},
	} {
		w, s := c.a.Width()
		if w != c.width || s != c.signed {
			t.Errorf("%v.Width() = %d, %v; want %d, %v", c.a, w, s, c.width, c.signed)
		}
	}
	// Every format's own interval has exactly its width.
	for w := 1; w <= fixedpoint.MaxWidth; w++ {
		for _, s := range []bool{false, true} {
			f := fixedpoint.Format{Width: w, Signed: s}
			gw, gs := f.Interval().Width()
			if gw != w || gs != s {
				t.Errorf("%v.Interval().Width() = %d, %v; want %d, %v", f, gw, gs, w, s)
			}
		}
	}
}

func TestSumWidth(t *testing.T) {
	if w, s := fixedpoint.SumWidth(fixedpoint.Term{Count: 16, Range: iv{0, 255}}); w != 12 || s {
		t.Errorf("SumWidth(16 x [0,255]) = %d, %v; want 12, false", w, s)
	}
	if w, s := fixedpoint.SumWidth(); w != 1 || s {
		t.Errorf("SumWidth() = %d, %v; want 1, false", w, s)
	}
	// An adder layer: -sum of 3·3·64 terms |x-w|, x in u8, w in s8.
	x := fixedpoint.Format{Width: 8, Signed: false}.Interval()
	wt := fixedpoint.Format{Width: 8, Signed: true}.Interval()
	d := x.Sub(wt).Abs()
	acc := fixedpoint.SumInterval(3*3*64, d).Neg()
	if got, want := acc, (iv{-576 * 383, 0}); got != want {
		t.Errorf("adder accumulator = %v, want %v", got, want)
	}
	if w, s := fixedpoint.SumWidth(fixedpoint.Term{Count: 576, Range: d.Neg()}); w != 19 || !s {
		t.Errorf("adder accumulator width = %d, %v; want 19, true", w, s)
	}
	// Mixed terms: bias plus products.
	if w, s := fixedpoint.SumWidth(
		fixedpoint.Term{Count: 1, Range: iv{-1000, 1000}},
		fixedpoint.Term{Count: 100, Range: iv{-128 * 127, 128 * 128}},
	); w != 22 || !s { // [-1626600, 1639400]; 2^21 = 2097152
		t.Errorf("mixed SumWidth = %d, %v; want 22, true", w, s)
	}
	for k := 1; k <= 4096; k++ {
		for w := 2; w <= 16; w++ {
			hi := uint64(k) * (1<<w - 1)
			want := bits.Len64(hi)
			if got := fixedpoint.UnsignedWidth(hi); got != want {
				t.Fatalf("UnsignedWidth(%d·(2^%d-1)) = %d, want %d", k, w, got, want)
			}
			got, signed := fixedpoint.SumWidth(fixedpoint.Term{Count: k, Range: iv{0, 1<<w - 1}})
			if got != want || signed {
				t.Fatalf("SumWidth(%d x [0, 2^%d-1]) = %d, %v; want %d, false", k, w, got, signed, want)
			}
			// The width really holds the sum and is the narrowest.
			if hi >= 1<<got || hi < 1<<(got-1) {
				t.Fatalf("SumWidth(%d x [0, 2^%d-1]) = %d does not fit %d tightly", k, w, got, hi)
			}
			// Symmetric signed terms need one more bit than their magnitude.
			lo := -int64(k) << (w - 1)
			sgot, ssigned := fixedpoint.SumWidth(fixedpoint.Term{Count: k, Range: iv{-1 << (w - 1), 1<<(w-1) - 1}})
			if swant := bruteSignedWidth(lo, int64(k)*(1<<(w-1)-1)); sgot != swant || !ssigned {
				t.Fatalf("SumWidth(%d x s%d) = %d, %v; want %d, true", k, w, sgot, ssigned, swant)
			}
		}
	}
}
