package fixedpoint

import (
	"fmt"
	"math"
)

// Interval is the closed integer range [Lo, Hi], with Lo <= Hi. Intervals
// bound the values a hardware signal can take, so that registers can be
// sized never to overflow.
//
// Every operation returns an interval that contains every result of the
// operation on members of its operands, and is tight for all operations
// here: its bounds are attained. Operations panic with a message starting
// "fixedpoint: interval overflow" when a bound does not fit in an int64,
// and with "fixedpoint: invalid interval" when an operand has Lo > Hi.
type Interval struct {
	Lo, Hi int64
}

// Point returns the interval [v, v].
func Point(v int64) Interval { return Interval{v, v} }

func (a Interval) mustValid() {
	if a.Lo > a.Hi {
		panic(fmt.Sprintf("fixedpoint: invalid interval %v: Lo > Hi", a))
	}
}

func overflow(op string, a, b Interval) {
	panic(fmt.Sprintf("fixedpoint: interval overflow: %v %s %v exceeds int64", a, op, b))
}

// String returns "[Lo, Hi]".
func (a Interval) String() string {
	return fmt.Sprintf("[%d, %d]", a.Lo, a.Hi)
}

// Contains reports whether Lo <= v <= Hi.
func (a Interval) Contains(v int64) bool {
	a.mustValid()
	return a.Lo <= v && v <= a.Hi
}

// Add returns the range of x+y for x in a, y in b.
func (a Interval) Add(b Interval) Interval {
	a.mustValid()
	b.mustValid()
	lo, ok1 := add64(a.Lo, b.Lo)
	hi, ok2 := add64(a.Hi, b.Hi)
	if !ok1 || !ok2 {
		overflow("+", a, b)
	}
	return Interval{lo, hi}
}

// Sub returns the range of x-y for x in a, y in b.
func (a Interval) Sub(b Interval) Interval {
	a.mustValid()
	b.mustValid()
	lo, ok1 := sub64(a.Lo, b.Hi)
	hi, ok2 := sub64(a.Hi, b.Lo)
	if !ok1 || !ok2 {
		overflow("-", a, b)
	}
	return Interval{lo, hi}
}

// Neg returns the range of -x for x in a.
func (a Interval) Neg() Interval {
	a.mustValid()
	if a.Lo == math.MinInt64 {
		panic(fmt.Sprintf("fixedpoint: interval overflow: -%v exceeds int64", a))
	}
	return Interval{-a.Hi, -a.Lo}
}

// Abs returns the range of |x| for x in a.
func (a Interval) Abs() Interval {
	a.mustValid()
	switch {
	case a.Lo >= 0:
		return a
	case a.Hi <= 0:
		return a.Neg()
	}
	if a.Lo == math.MinInt64 {
		panic(fmt.Sprintf("fixedpoint: interval overflow: |%v| exceeds int64", a))
	}
	return Interval{0, max(-a.Lo, a.Hi)}
}

// Mul returns the range of x·y for x in a, y in b.
func (a Interval) Mul(b Interval) Interval {
	a.mustValid()
	b.mustValid()
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, x := range [2]int64{a.Lo, a.Hi} {
		for _, y := range [2]int64{b.Lo, b.Hi} {
			p, ok := mul64(x, y)
			if !ok {
				overflow("*", a, b)
			}
			lo, hi = min(lo, p), max(hi, p)
		}
	}
	return Interval{lo, hi}
}

// MulConst returns the range of x·c for x in a.
func (a Interval) MulConst(c int64) Interval {
	return a.Mul(Point(c))
}

// Shl returns the range of x·2^sh for x in a.
func (a Interval) Shl(sh uint) Interval {
	a.mustValid()
	lo, ok1 := shl64(a.Lo, sh)
	hi, ok2 := shl64(a.Hi, sh)
	if !ok1 || !ok2 {
		panic(fmt.Sprintf("fixedpoint: interval overflow: %v << %d exceeds int64", a, sh))
	}
	return Interval{lo, hi}
}

// Shr returns the range of RoundShiftRight(x, sh, r) for x in a. Every
// rounding mode is monotone, so the bounds are the shifted bounds.
func (a Interval) Shr(sh uint, r Rounding) Interval {
	a.mustValid()
	return Interval{RoundShiftRight(a.Lo, sh, r), RoundShiftRight(a.Hi, sh, r)}
}

// Union returns the smallest interval containing a and b (their hull).
func (a Interval) Union(b Interval) Interval {
	a.mustValid()
	b.mustValid()
	return Interval{min(a.Lo, b.Lo), max(a.Hi, b.Hi)}
}

// Width returns the narrowest register that holds every value of a:
// unsigned if Lo >= 0, otherwise signed two's complement. Width is at
// least 1.
func (a Interval) Width() (width int, signed bool) {
	a.mustValid()
	if a.Lo >= 0 {
		return UnsignedWidth(uint64(a.Hi)), false
	}
	return SignedWidth(a.Lo, a.Hi), true
}

// SumInterval returns the range of a sum of k terms, each anywhere in term.
// SumInterval(0, term) is [0, 0]. It panics if k < 0.
func SumInterval(k int, term Interval) Interval {
	if k < 0 {
		panic(fmt.Sprintf("fixedpoint: SumInterval: negative term count %d", k))
	}
	term.mustValid()
	lo, ok1 := mul64(int64(k), term.Lo)
	hi, ok2 := mul64(int64(k), term.Hi)
	if !ok1 || !ok2 {
		panic(fmt.Sprintf("fixedpoint: interval overflow: sum of %d terms in %v exceeds int64", k, term))
	}
	return Interval{lo, hi}
}

// Term is Count values, each anywhere in Range.
type Term struct {
	Count int
	Range Interval
}

// SumRange returns the range of the sum of all the values of terms. With no
// terms it is [0, 0].
func SumRange(terms ...Term) Interval {
	var s Interval
	for _, t := range terms {
		s = s.Add(SumInterval(t.Count, t.Range))
	}
	return s
}

// SumWidth returns the narrowest register, as [Interval.Width], that holds
// the sum of all the values of terms: for example the accumulator of a dot
// product or of an L1 distance.
func SumWidth(terms ...Term) (width int, signed bool) {
	return SumRange(terms...).Width()
}
