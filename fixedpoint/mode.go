package fixedpoint

import (
	"fmt"
	"strconv"
)

// Rounding selects how low-order bits are dropped. The zero value is
// HalfEven.
type Rounding int

const (
	// HalfEven rounds to the nearest integer, ties to the even one.
	HalfEven Rounding = iota
	// HalfUp rounds to the nearest integer, ties toward +∞: floor(x+1/2).
	// This is the rounding of add-half-then-arithmetic-shift hardware.
	HalfUp
	// Floor rounds toward -∞, like an arithmetic right shift.
	Floor
	// TowardZero truncates toward zero.
	TowardZero
)

var roundingNames = [...]string{
	HalfEven:   "half-even",
	HalfUp:     "half-up",
	Floor:      "floor",
	TowardZero: "toward-zero",
}

func (r Rounding) valid() bool { return r >= 0 && int(r) < len(roundingNames) }

func (r Rounding) mustValid() {
	if !r.valid() {
		panic("fixedpoint: invalid rounding mode " + r.String())
	}
}

// String returns "half-even", "half-up", "floor" or "toward-zero", or
// "Rounding(n)" for a value that is not a rounding mode.
func (r Rounding) String() string {
	if r.valid() {
		return roundingNames[r]
	}
	return "Rounding(" + strconv.Itoa(int(r)) + ")"
}

// ParseRounding returns the rounding mode named s, which must be exactly one
// of the strings returned by [Rounding.String].
func ParseRounding(s string) (Rounding, error) {
	for i, name := range roundingNames {
		if s == name {
			return Rounding(i), nil
		}
	}
	return 0, fmt.Errorf("fixedpoint: unknown rounding mode %q (want half-even, half-up, floor or toward-zero)", s)
}

// MarshalText implements [encoding.TextMarshaler].
func (r Rounding) MarshalText() ([]byte, error) {
	if !r.valid() {
		return nil, fmt.Errorf("fixedpoint: cannot marshal invalid rounding mode %v", r)
	}
	return []byte(r.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] using [ParseRounding].
func (r *Rounding) UnmarshalText(text []byte) error {
	v, err := ParseRounding(string(text))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Overflow selects how high-order bits are dropped when a value does not fit
// its register. The zero value is Saturate.
type Overflow int

const (
	// Saturate clamps to the nearest representable code.
	Saturate Overflow = iota
	// Wrap keeps the low-order bits (two's complement wrap-around), which is
	// what a register that is too narrow does.
	Wrap
)

var overflowNames = [...]string{
	Saturate: "saturate",
	Wrap:     "wrap",
}

func (o Overflow) valid() bool { return o >= 0 && int(o) < len(overflowNames) }

func (o Overflow) mustValid() {
	if !o.valid() {
		panic("fixedpoint: invalid overflow mode " + o.String())
	}
}

// String returns "saturate" or "wrap", or "Overflow(n)" for a value that is
// not an overflow mode.
func (o Overflow) String() string {
	if o.valid() {
		return overflowNames[o]
	}
	return "Overflow(" + strconv.Itoa(int(o)) + ")"
}

// ParseOverflow returns the overflow mode named s, which must be exactly
// "saturate" or "wrap".
func ParseOverflow(s string) (Overflow, error) {
	for i, name := range overflowNames {
		if s == name {
			return Overflow(i), nil
		}
	}
	return 0, fmt.Errorf("fixedpoint: unknown overflow mode %q (want saturate or wrap)", s)
}

// MarshalText implements [encoding.TextMarshaler].
func (o Overflow) MarshalText() ([]byte, error) {
	if !o.valid() {
		return nil, fmt.Errorf("fixedpoint: cannot marshal invalid overflow mode %v", o)
	}
	return []byte(o.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] using [ParseOverflow].
func (o *Overflow) UnmarshalText(text []byte) error {
	v, err := ParseOverflow(string(text))
	if err != nil {
		return err
	}
	*o = v
	return nil
}
