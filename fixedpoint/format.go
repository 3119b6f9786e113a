package fixedpoint

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
)

// Limits of a valid [Format].
//
// MaxWidth keeps the sum or difference of any two codes inside an int64.
// MinFrac and MaxFrac keep [Format.Scale] and every value returned by
// [Format.ToFloat] a finite normal float64, so ToFloat is exact whenever
// |code| <= 2^53.
const (
	MaxWidth = 62
	MinFrac  = -960
	MaxFrac  = 960
)

// Errors returned by [Format.FromFloat].
var (
	ErrNaN     = errors.New("fixedpoint: NaN has no fixed-point code")
	ErrInfWrap = errors.New("fixedpoint: an infinity cannot be wrapped")
)

// Format is a fixed-point number format: value = code · 2^-Frac, with the
// integer code held in a register of Width bits, two's complement when
// Signed.
//
// Width must be in [1, MaxWidth] and Frac in [MinFrac, MaxFrac]; Frac may be
// negative or exceed Width. A signed Width of 1 holds the codes -1 and 0.
// Methods other than String and Validate panic on an invalid Format.
type Format struct {
	Width  int  // register width in bits
	Frac   int  // number of fractional bits: the code's unit is 2^-Frac
	Signed bool // two's complement if true, unsigned otherwise
}

// Validate returns an error describing why f is not a valid format, or nil.
func (f Format) Validate() error {
	if f.Width < 1 || f.Width > MaxWidth {
		return fmt.Errorf("fixedpoint: invalid format %v: width %d outside [1, %d]", f, f.Width, MaxWidth)
	}
	if f.Frac < MinFrac || f.Frac > MaxFrac {
		return fmt.Errorf("fixedpoint: invalid format %v: frac %d outside [%d, %d]", f, f.Frac, MinFrac, MaxFrac)
	}
	return nil
}

func (f Format) mustValid() {
	if err := f.Validate(); err != nil {
		panic(err.Error())
	}
}

func (f Format) mustContain(code int64) {
	if !f.Contains(code) {
		panic(fmt.Sprintf("fixedpoint: code %d outside format %v range [%d, %d]", code, f, f.Min(), f.Max()))
	}
}

// String returns f as "s" (signed) or "u" (unsigned), then Width, ".", Frac.
// For example "s8.4" is a signed 8-bit code with 4 fractional bits (values
// -8 to 7.9375 in steps of 1/16), "u8.0" an unsigned byte and "s6.-2" a
// signed 6-bit code counting in steps of 4. [ParseFormat] reverses it.
// String does not validate f.
func (f Format) String() string {
	c := "u"
	if f.Signed {
		c = "s"
	}
	return c + strconv.Itoa(f.Width) + "." + strconv.Itoa(f.Frac)
}

// ParseFormat parses the notation of [Format.String]: "s" or "u", decimal
// Width, ".", decimal Frac with an optional leading "-". The result is
// validated.
func ParseFormat(s string) (Format, error) {
	bad := func(why string) (Format, error) {
		return Format{}, fmt.Errorf("fixedpoint: bad format %q: %s (want e.g. s8.4 or u8.0)", s, why)
	}
	if len(s) == 0 {
		return bad("empty")
	}
	var f Format
	switch s[0] {
	case 's':
		f.Signed = true
	case 'u':
	default:
		return bad("must start with s or u")
	}
	rest := s[1:]
	dot := -1
	for i := 0; i < len(rest); i++ {
		if rest[i] == '.' {
			dot = i
			break
		}
	}
	if dot < 0 {
		return bad("missing '.'")
	}
	ws, fs := rest[:dot], rest[dot+1:]
	neg := len(fs) > 0 && fs[0] == '-'
	if neg {
		fs = fs[1:]
	}
	if !isDigits(ws) {
		return bad("width is not a decimal number")
	}
	if !isDigits(fs) {
		return bad("frac is not a decimal number")
	}
	var err error
	if f.Width, err = strconv.Atoi(ws); err != nil {
		return bad("width out of range")
	}
	if f.Frac, err = strconv.Atoi(fs); err != nil {
		return bad("frac out of range")
	}
	if neg {
		f.Frac = -f.Frac
	}
	if err := f.Validate(); err != nil {
		return Format{}, err
	}
	return f, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Min returns the smallest code of f: -2^(Width-1) if signed, else 0.
func (f Format) Min() int64 {
	f.mustValid()
	lo, _ := intRange(f.Width, f.Signed)
	return lo
}

// Max returns the largest code of f: 2^(Width-1)-1 if signed, else
// 2^Width-1.
func (f Format) Max() int64 {
	f.mustValid()
	_, hi := intRange(f.Width, f.Signed)
	return hi
}

// Interval returns the code range [f.Min(), f.Max()].
func (f Format) Interval() Interval {
	return Interval{f.Min(), f.Max()}
}

// Contains reports whether code is a code of f.
func (f Format) Contains(code int64) bool {
	return f.Min() <= code && code <= f.Max()
}

// Scale returns 2^-Frac, the value of code 1.
func (f Format) Scale() float64 {
	f.mustValid()
	return math.Ldexp(1, -f.Frac)
}

// ToFloat returns the value code · 2^-Frac. It is exact when |code| <= 2^53
// (always when Width <= 53); wider codes are rounded to the nearest float64,
// ties to even. ToFloat panics if code is outside f's range.
func (f Format) ToFloat(code int64) float64 {
	f.mustValid()
	f.mustContain(code)
	return math.Ldexp(float64(code), -f.Frac)
}

// FromFloat converts x to a code of f: it scales x by 2^Frac, rounds the
// exact product to an integer with r, and then, if that integer is outside
// f's range, saturates or wraps it according to o. overflowed reports
// whether the rounded value was out of range. The computation is exact:
// there is a single rounding and no intermediate precision loss, whatever
// the magnitude of x.
//
// An infinity saturates to Min or Max with overflowed true. FromFloat
// returns ErrNaN for NaN and ErrInfWrap for an infinity with o == Wrap; code
// and overflowed are then zero. -0 converts to 0.
//
// FromFloat panics if f, r or o is invalid.
func (f Format) FromFloat(x float64, r Rounding, o Overflow) (code int64, overflowed bool, err error) {
	f.mustValid()
	r.mustValid()
	o.mustValid()
	switch {
	case math.IsNaN(x):
		return 0, false, ErrNaN
	case math.IsInf(x, 1):
		if o == Wrap {
			return 0, false, ErrInfWrap
		}
		return f.Max(), true, nil
	case math.IsInf(x, -1):
		if o == Wrap {
			return 0, false, ErrInfWrap
		}
		return f.Min(), true, nil
	}
	// x = mant · 2^(exp-53) exactly, with |mant| < 2^53.
	frac, exp := math.Frexp(x)
	mant := int64(math.Ldexp(frac, 53))
	code, overflowed = f.fitScaled(mant, exp-53+f.Frac, r, o)
	return code, overflowed, nil
}

// Convert returns the code of f for the value of code in format from,
// rounding with r if f has fewer fractional bits and handling overflow with
// o. overflowed reports whether the rounded value was outside f's range. The
// computation is exact. Convert panics if code is outside from's range or
// if f, from, r or o is invalid.
func (f Format) Convert(code int64, from Format, r Rounding, o Overflow) (int64, bool) {
	f.mustValid()
	from.mustValid()
	r.mustValid()
	o.mustValid()
	from.mustContain(code)
	return f.fitScaled(code, f.Frac-from.Frac, r, o)
}

// Fit applies the overflow mode o to the integer x, returning a code of f
// and whether x was outside f's range.
func (f Format) Fit(x int64, o Overflow) (code int64, overflowed bool) {
	f.mustValid()
	o.mustValid()
	if o == Wrap {
		w := WrapTo(x, f.Width, f.Signed)
		return w, w != x
	}
	return SaturateTo(x, f.Width, f.Signed)
}

// fitScaled rounds the exact value mant·2^exp2 with r and fits it to f with
// o. f, r and o must be valid.
func (f Format) fitScaled(mant int64, exp2 int, r Rounding, o Overflow) (int64, bool) {
	if exp2 <= 0 || mant == 0 {
		// -exp2 may exceed 63; RoundShiftRight handles any shift.
		return f.Fit(RoundShiftRight(mant, uint(-min(exp2, 0)), r), o)
	}
	if bits.Len64(absU(mant))+exp2 <= 62 {
		return f.Fit(mant<<uint(exp2), o)
	}
	// |mant·2^exp2| >= 2^62, outside the range of every valid format.
	if o == Saturate {
		if mant > 0 {
			return f.Max(), true
		}
		return f.Min(), true
	}
	// Wrapping keeps the low Width <= 62 bits, which the low 64 bits of
	// mant·2^exp2 determine.
	var low uint64
	if exp2 < 64 {
		low = uint64(mant) << uint(exp2)
	}
	return WrapTo(int64(low), f.Width, f.Signed), true
}
