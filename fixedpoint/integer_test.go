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

func TestRoundShiftRightTable(t *testing.T) {
	// want is indexed like roundings: HalfEven, HalfUp, Floor, TowardZero.
	for _, c := range []struct {
		x    int64
		sh   uint
		want [4]int64
	}{
		{-5, 1, [4]int64{-2, -2, -3, -2}}, // -2.5
		{5, 1, [4]int64{2, 3, 2, 2}},      // 2.5
		{-3, 1, [4]int64{-2, -1, -2, -1}}, // -1.5
		{3, 1, [4]int64{2, 2, 1, 1}},      // 1.5
		{-1, 1, [4]int64{0, 0, -1, 0}},    // -0.5
		{1, 1, [4]int64{0, 1, 0, 0}},      // 0.5
		{0, 5, [4]int64{0, 0, 0, 0}},
		{7, 0, [4]int64{7, 7, 7, 7}},
		{-7, 0, [4]int64{-7, -7, -7, -7}},
		{-6, 2, [4]int64{-2, -1, -2, -1}}, // -1.5
		{-7, 2, [4]int64{-2, -2, -2, -1}}, // -1.75
		{-5, 2, [4]int64{-1, -1, -2, -1}}, // -1.25
		{6, 2, [4]int64{2, 2, 1, 1}},      // 1.5
		{math.MaxInt64, 1, [4]int64{1 << 62, 1 << 62, 1<<62 - 1, 1<<62 - 1}},
		{math.MinInt64, 1, [4]int64{-1 << 62, -1 << 62, -1 << 62, -1 << 62}},
		{math.MinInt64 + 1, 1, [4]int64{-1 << 62, -1<<62 + 1, -1 << 62, -1<<62 + 1}},
		{math.MaxInt64, 63, [4]int64{1, 1, 0, 0}},
		{math.MinInt64, 63, [4]int64{-1, -1, -1, -1}},
		{math.MinInt64 + 1, 63, [4]int64{-1, -1, -1, 0}},
		{-1 << 62, 63, [4]int64{0, 0, -1, 0}},      // -0.5
		{1 << 62, 63, [4]int64{0, 1, 0, 0}},        // 0.5
		{math.MinInt64, 64, [4]int64{0, 0, -1, 0}}, // -0.5
		{math.MaxInt64, 64, [4]int64{0, 0, 0, 0}},  // just below 0.5
		{-1, 64, [4]int64{0, 0, -1, 0}},
		{math.MinInt64, 200, [4]int64{0, 0, -1, 0}},
		{math.MaxInt64, 200, [4]int64{0, 0, 0, 0}},
		{0, 200, [4]int64{0, 0, 0, 0}},
	} {
		var got [4]int64
		for i, r := range roundings {
			got[i] = fixedpoint.RoundShiftRight(c.x, c.sh, r)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("RoundShiftRight(%d, %d, [he hu fl tz]) mismatch (-want +got):\n%s", c.x, c.sh, diff)
		}
	}
}

func TestRoundShiftRightExhaustive(t *testing.T) {
	for x := int64(-2048); x <= 2047; x++ {
		for sh := uint(0); sh <= 12; sh++ {
			for _, r := range roundings {
				got := fixedpoint.RoundShiftRight(x, sh, r)
				if want := refRoundShiftRight(x, sh, r); got != want {
					t.Fatalf("RoundShiftRight(%d, %d, %v) = %d, want %d", x, sh, r, got, want)
				}
			}
		}
	}
}

// extremes returns int64 values near powers of two and the int64 limits.
func extremes() []int64 {
	xs := []int64{0, 1, -1, 2, -2, 3, -3, math.MaxInt64, math.MaxInt64 - 1, math.MinInt64, math.MinInt64 + 1}
	for k := range 63 {
		p := int64(1) << k
		xs = append(xs, p, p-1, p+1, -p, -p-1, -p+1, p+p/2, -p-p/2)
	}
	return xs
}

func TestRoundShiftRightExtremes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	xs := extremes()
	for range 300 {
		xs = append(xs, int64(rng.Uint64()), int64(rng.Uint64())>>rng.IntN(64))
	}
	for _, x := range xs {
		for sh := uint(0); sh <= 70; sh++ {
			for _, r := range roundings {
				got := fixedpoint.RoundShiftRight(x, sh, r)
				if want := refRoundShiftRight(x, sh, r); got != want {
					t.Fatalf("RoundShiftRight(%d, %d, %v) = %d, want %d", x, sh, r, got, want)
				}
			}
		}
	}
}

func TestRoundShiftRightFloorIsArithmeticShift(t *testing.T) {
	for _, x := range extremes() {
		for sh := uint(0); sh < 64; sh++ {
			if got, want := fixedpoint.RoundShiftRight(x, sh, fixedpoint.Floor), x>>sh; got != want {
				t.Fatalf("RoundShiftRight(%d, %d, floor) = %d, want %d", x, sh, got, want)
			}
		}
	}
}

func TestRescale(t *testing.T) {
	for _, c := range []struct {
		acc, m, b int64
		sh        uint
		want      int64
	}{
		{100, 3, 0, 0, 300},
		{100, 3, 7, 0, 307},
		{5, 1, 0, 1, 3},        // 2.5 -> 3
		{-5, 1, 0, 1, -2},      // -2.5 -> -2
		{-7, 1, 0, 1, -3},      // -3.5 -> -3
		{-9, 1, 0, 2, -2},      // -2.25 -> -2
		{-10, 1, 0, 2, -2},     // -2.5 -> -2
		{-11, 1, 0, 2, -3},     // -2.75 -> -3
		{1000, 77, -3, 8, 301}, // 76997/256 = 300.77 -> 301
		{-1000, 77, 0, 8, -301},
		{math.MaxInt64, 1, 0, 1, 1 << 62}, // rounding term alone would overflow an int64
		{math.MaxInt64, 1, 0, 63, 1},
		{math.MinInt64, 1, 0, 63, -1},
		{math.MinInt64 / 2, 2, 0, 64, 0},
		{1 << 31, 1 << 31, -1, 62, 1}, // (2^62-1)/2^62 -> 1
	} {
		got := fixedpoint.RescaleHalfUp(c.acc, c.m, c.b, c.sh)
		if got != c.want {
			t.Errorf("RescaleHalfUp(%d, %d, %d, %d) = %d, want %d", c.acc, c.m, c.b, c.sh, got, c.want)
		}
		if g := fixedpoint.Rescale(c.acc, c.m, c.b, c.sh, fixedpoint.HalfUp); g != got {
			t.Errorf("Rescale(half-up) = %d, RescaleHalfUp = %d", g, got)
		}
	}
	// The documented formula, where it does not overflow.
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		acc := rng.Int64N(1<<40) - 1<<39
		m := rng.Int64N(1<<20) - 1<<19
		b := rng.Int64N(1<<50) - 1<<49
		sh := uint(rng.IntN(40))
		want := acc*m + b
		if sh > 0 {
			want = (want + 1<<(sh-1)) >> sh
		}
		if got := fixedpoint.RescaleHalfUp(acc, m, b, sh); got != want {
			t.Fatalf("RescaleHalfUp(%d, %d, %d, %d) = %d, want %d", acc, m, b, sh, got, want)
		}
		for _, r := range roundings {
			want := refRoundShiftRight(acc*m+b, sh, r)
			if got := fixedpoint.Rescale(acc, m, b, sh, r); got != want {
				t.Fatalf("Rescale(%d, %d, %d, %d, %v) = %d, want %d", acc, m, b, sh, r, got, want)
			}
		}
	}
	mustPanic(t, "rescale overflow", func() { fixedpoint.RescaleHalfUp(1<<32, 1<<31, 0, 8) })
	mustPanic(t, "rescale overflow", func() { fixedpoint.RescaleHalfUp(math.MinInt64, -1, 0, 8) })
	mustPanic(t, "rescale overflow", func() { fixedpoint.RescaleHalfUp(math.MaxInt64, 1, 1, 8) })
	mustPanic(t, "rescale overflow", func() { fixedpoint.RescaleHalfUp(math.MinInt64, 1, -1, 8) })
	// Boundaries that just fit.
	if got := fixedpoint.RescaleHalfUp(-1<<32, 1<<31, 0, 0); got != math.MinInt64 {
		t.Errorf("RescaleHalfUp(-2^32, 2^31, 0, 0) = %d, want MinInt64", got)
	}
	if got := fixedpoint.RescaleHalfUp(math.MinInt64, 1, math.MaxInt64, 0); got != -1 {
		t.Errorf("RescaleHalfUp(MinInt64, 1, MaxInt64, 0) = %d, want -1", got)
	}
}

func TestSaturateWrapExhaustive(t *testing.T) {
	for width := 1; width <= 12; width++ {
		for _, signed := range []bool{false, true} {
			for x := int64(-5000); x <= 5000; x++ {
				for _, o := range overflows {
					want, wantClamped := refFit(big.NewInt(x), width, signed, o)
					var got int64
					var clamped bool
					if o == fixedpoint.Saturate {
						got, clamped = fixedpoint.SaturateTo(x, width, signed)
					} else {
						got = fixedpoint.WrapTo(x, width, signed)
						clamped = got != x
					}
					if got != want || clamped != wantClamped {
						t.Fatalf("%v(%d, %d, signed=%v) = %d, %v; want %d, %v", o, x, width, signed, got, clamped, want, wantClamped)
					}
				}
			}
		}
	}
}

func TestSaturateWrapExtremes(t *testing.T) {
	for _, x := range extremes() {
		for _, signed := range []bool{false, true} {
			maxW := 63
			if signed {
				maxW = 64
			}
			for width := 1; width <= maxW; width++ {
				want, wantClamped := refFit(big.NewInt(x), width, signed, fixedpoint.Saturate)
				got, clamped := fixedpoint.SaturateTo(x, width, signed)
				if got != want || clamped != wantClamped {
					t.Fatalf("SaturateTo(%d, %d, %v) = %d, %v; want %d, %v", x, width, signed, got, clamped, want, wantClamped)
				}
				want, _ = refFit(big.NewInt(x), width, signed, fixedpoint.Wrap)
				if got := fixedpoint.WrapTo(x, width, signed); got != want {
					t.Fatalf("WrapTo(%d, %d, %v) = %d, want %d", x, width, signed, got, want)
				}
			}
		}
	}
}

func TestWidthPanics(t *testing.T) {
	mustPanic(t, "signed width 0", func() { fixedpoint.SaturateTo(0, 0, true) })
	mustPanic(t, "signed width 65", func() { fixedpoint.SaturateTo(0, 65, true) })
	mustPanic(t, "unsigned width 0", func() { fixedpoint.SaturateTo(0, 0, false) })
	mustPanic(t, "unsigned width 64", func() { fixedpoint.SaturateTo(0, 64, false) })
	mustPanic(t, "signed width -1", func() { fixedpoint.WrapTo(0, -1, true) })
	mustPanic(t, "unsigned width 64", func() { fixedpoint.WrapTo(0, 64, false) })
	mustPanic(t, "lo 1 > hi 0", func() { fixedpoint.SignedWidth(1, 0) })
}

func TestUnsignedWidth(t *testing.T) {
	for _, c := range []struct {
		hi   uint64
		want int
	}{
		{0, 1}, {1, 1}, {2, 2}, {3, 2}, {4, 3}, {255, 8}, {256, 9},
		{1<<62 - 1, 62}, {1 << 62, 63}, {1<<63 - 1, 63}, {1 << 63, 64}, {math.MaxUint64, 64},
	} {
		if got := fixedpoint.UnsignedWidth(c.hi); got != c.want {
			t.Errorf("UnsignedWidth(%d) = %d, want %d", c.hi, got, c.want)
		}
	}
	// Brute force: the smallest w >= 1 with hi < 2^w.
	w := 1
	for hi := uint64(0); hi <= 1<<17; hi++ {
		for hi >= 1<<w {
			w++
		}
		if got := fixedpoint.UnsignedWidth(hi); got != w {
			t.Fatalf("UnsignedWidth(%d) = %d, want %d", hi, got, w)
		}
	}
}

// signedRanges[w] is the range of signed width w, from the reference.
var signedRanges = func() (rs [65][2]int64) {
	for w := 1; w <= 64; w++ {
		l, h := refRange(w, true)
		rs[w] = [2]int64{l.Int64(), h.Int64()}
	}
	return rs
}()

// bruteSignedWidth is the smallest w >= 1 whose signed range holds [lo, hi].
func bruteSignedWidth(lo, hi int64) int {
	for w := 1; ; w++ {
		if signedRanges[w][0] <= lo && hi <= signedRanges[w][1] {
			return w
		}
	}
}

func TestSignedWidth(t *testing.T) {
	for _, c := range []struct {
		lo, hi int64
		want   int
	}{
		{0, 0, 1}, {-1, 0, 1}, {-1, -1, 1}, {0, 1, 2}, {-2, 1, 2}, {-3, 0, 3},
		{-128, 127, 8}, {-129, 0, 9}, {0, 128, 9}, {-128, 128, 9},
		{math.MinInt64, 0, 64}, {0, math.MaxInt64, 64}, {math.MinInt64, math.MaxInt64, 64},
		{-1 << 62, 1<<62 - 1, 63}, {-1<<62 - 1, 0, 64},
	} {
		if got := fixedpoint.SignedWidth(c.lo, c.hi); got != c.want {
			t.Errorf("SignedWidth(%d, %d) = %d, want %d", c.lo, c.hi, got, c.want)
		}
	}
	for lo := int64(-300); lo <= 300; lo++ {
		for hi := lo; hi <= 300; hi++ {
			if got, want := fixedpoint.SignedWidth(lo, hi), bruteSignedWidth(lo, hi); got != want {
				t.Fatalf("SignedWidth(%d, %d) = %d, want %d", lo, hi, got, want)
			}
		}
	}
	xs := extremes()
	for _, a := range xs {
		for _, b := range xs {
			lo, hi := min(a, b), max(a, b)
			if got, want := fixedpoint.SignedWidth(lo, hi), bruteSignedWidth(lo, hi); got != want {
				t.Fatalf("SignedWidth(%d, %d) = %d, want %d", lo, hi, got, want)
			}
		}
	}
}

// TestWidthsHoldRange checks that the inferred widths really hold the
// range, using SaturateTo: nothing in range is clamped, and the next
// narrower width clamps something.
func TestWidthsHoldRange(t *testing.T) {
	for _, x := range extremes() {
		if x >= 0 {
			w := fixedpoint.UnsignedWidth(uint64(x))
			if w <= 63 {
				if _, c := fixedpoint.SaturateTo(x, w, false); c {
					t.Errorf("UnsignedWidth(%d) = %d does not hold it", x, w)
				}
			}
			if w > 1 {
				if _, c := fixedpoint.SaturateTo(x, w-1, false); !c {
					t.Errorf("UnsignedWidth(%d) = %d is not the narrowest", x, w)
				}
			}
			if w != max(1, bits.Len64(uint64(x))) {
				t.Errorf("UnsignedWidth(%d) = %d", x, w)
			}
		}
		w := fixedpoint.SignedWidth(x, x)
		if _, c := fixedpoint.SaturateTo(x, w, true); c {
			t.Errorf("SignedWidth(%d, %d) = %d does not hold it", x, x, w)
		}
		if w > 1 {
			if _, c := fixedpoint.SaturateTo(x, w-1, true); !c {
				t.Errorf("SignedWidth(%d, %d) = %d is not the narrowest", x, x, w)
			}
		}
	}
}
