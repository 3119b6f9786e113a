package fixedpoint

import (
	"fmt"
	"math"
	"math/bits"
)

// RoundShiftRight returns x / 2^sh rounded to an integer with r. The result
// is exact for every x and sh: no intermediate value can overflow. When
// sh == 0 it returns x. Shifts of 64 or more are allowed; then |x/2^sh| <= 1/2
// and the result is 0, or -1 for negative x with Floor.
//
// With r == Floor this is the arithmetic shift x >> sh. With r == HalfUp it
// is (x + 1<<(sh-1)) >> sh evaluated without overflow.
//
// RoundShiftRight panics if r is not a rounding mode.
func RoundShiftRight(x int64, sh uint, r Rounding) int64 {
	r.mustValid()
	if sh == 0 {
		return x
	}
	if sh >= 64 {
		// |x| <= 2^63 <= 2^(sh-1), so x/2^sh lies in [-1/2, 1/2); -1/2 occurs
		// only for x = MinInt64, sh = 64, and rounds to 0 under HalfEven,
		// HalfUp and TowardZero.
		if x < 0 && r == Floor {
			return -1
		}
		return 0
	}
	q := x >> sh // floor(x / 2^sh); q+1 cannot overflow since sh >= 1.
	rem := uint64(x) & (1<<sh - 1)
	if rem == 0 {
		return q
	}
	half := uint64(1) << (sh - 1)
	switch r {
	case HalfUp:
		if rem >= half {
			return q + 1
		}
	case HalfEven:
		if rem > half || rem == half && q&1 != 0 {
			return q + 1
		}
	case TowardZero:
		if x < 0 {
			return q + 1
		}
	}
	return q
}

// Rescale returns (acc·m + b) / 2^sh rounded with r, computed exactly. With
// r == HalfUp and sh > 0 it equals (acc·m + b + 1<<(sh-1)) >> sh.
//
// Rescale panics if acc·m + b overflows an int64, or if r is not a rounding
// mode.
func Rescale(acc, m, b int64, sh uint, r Rounding) int64 {
	r.mustValid()
	p, ok := mul64(acc, m)
	if ok {
		p, ok = add64(p, b)
	}
	if !ok {
		panic(fmt.Sprintf("fixedpoint: rescale overflow: %d*%d%+d exceeds int64", acc, m, b))
	}
	return RoundShiftRight(p, sh, r)
}

// RescaleHalfUp returns (acc·m + b + 1<<(sh-1)) >> sh, the default rescale
// of the quantized model, where >> is an arithmetic shift and sh == 0 means
// no rounding term. The value is exact: the rounding term cannot overflow.
// Saturate the result to the output format with [Format.Fit] or [SaturateTo].
//
// RescaleHalfUp panics if acc·m + b overflows an int64.
func RescaleHalfUp(acc, m, b int64, sh uint) int64 {
	return Rescale(acc, m, b, sh, HalfUp)
}

// intRange returns the range of a width and panics if the width is not
// supported: signed widths are 1..64, unsigned widths 1..63.
func intRange(width int, signed bool) (lo, hi int64) {
	if signed {
		if width < 1 || width > 64 {
			panic(fmt.Sprintf("fixedpoint: signed width %d outside [1, 64]", width))
		}
		if width == 64 {
			return math.MinInt64, math.MaxInt64
		}
		return -1 << (width - 1), 1<<(width-1) - 1
	}
	if width < 1 || width > 63 {
		panic(fmt.Sprintf("fixedpoint: unsigned width %d outside [1, 63]", width))
	}
	return 0, 1<<width - 1
}

// SaturateTo clamps x to the range of a width-bit register, two's complement
// when signed, and reports whether it clamped. Signed widths 1..64 and
// unsigned widths 1..63 are supported; other widths panic.
func SaturateTo(x int64, width int, signed bool) (int64, bool) {
	lo, hi := intRange(width, signed)
	switch {
	case x < lo:
		return lo, true
	case x > hi:
		return hi, true
	}
	return x, false
}

// WrapTo returns the value of the low width bits of x read as a width-bit
// register, two's complement when signed: the unique value in the width's
// range congruent to x modulo 2^width. Signed widths 1..64 and unsigned
// widths 1..63 are supported; other widths panic.
func WrapTo(x int64, width int, signed bool) int64 {
	intRange(width, signed)
	if signed {
		s := uint(64 - width)
		return x << s >> s
	}
	return int64(uint64(x) & (1<<uint(width) - 1))
}

// UnsignedWidth returns the narrowest unsigned width that holds every
// integer in [0, hi]. It returns at least 1 (for hi == 0), and 64 for
// hi >= 2^63.
func UnsignedWidth(hi uint64) int {
	return max(1, bits.Len64(hi))
}

// SignedWidth returns the narrowest two's complement width that holds every
// integer in [lo, hi]. It returns at least 1 ([-1, 0] fits in one signed
// bit) and at most 64. It panics if lo > hi.
func SignedWidth(lo, hi int64) int {
	if lo > hi {
		panic(fmt.Sprintf("fixedpoint: SignedWidth: lo %d > hi %d", lo, hi))
	}
	return max(signedBits(lo), signedBits(hi))
}

// signedBits is the narrowest two's complement width holding v.
func signedBits(v int64) int {
	// v ^ (v >> 63) is v for v >= 0 and -v-1 for v < 0.
	return bits.Len64(uint64(v^(v>>63))) + 1
}

// add64 returns a+b and whether it did not overflow.
func add64(a, b int64) (int64, bool) {
	s := a + b
	return s, (a^s)&(b^s) >= 0
}

// sub64 returns a-b and whether it did not overflow.
func sub64(a, b int64) (int64, bool) {
	s := a - b
	return s, (a^b)&(a^s) >= 0
}

// absU returns |v| as a uint64; absU(MinInt64) is 2^63.
func absU(v int64) uint64 {
	if v < 0 {
		return -uint64(v)
	}
	return uint64(v)
}

// mul64 returns a*b and whether it did not overflow.
func mul64(a, b int64) (int64, bool) {
	hi, lo := bits.Mul64(absU(a), absU(b))
	if hi != 0 {
		return 0, false
	}
	if (a < 0) != (b < 0) {
		if lo > 1<<63 {
			return 0, false
		}
		return int64(-lo), true
	}
	if lo > math.MaxInt64 {
		return 0, false
	}
	return int64(lo), true
}

// shl64 returns v·2^sh and whether it did not overflow.
func shl64(v int64, sh uint) (int64, bool) {
	if v == 0 {
		return 0, true
	}
	if sh >= 64 {
		return 0, false
	}
	r := v << sh
	return r, r>>sh == v
}
