// Package exactsum adds float64 values exactly: the sum it returns is the
// exact real sum of everything added, rounded once to the nearest float64
// (ties to even), whatever the order of the additions and however they
// were grouped. Reports use it for sums over images so that a run split
// into shards and merged gives the same bits as one run.
package exactsum

import "math"

// Sum is an exact accumulator of float64 values (Shewchuk's algorithm, as
// Python's math.fsum): the running sum is held as a short list of
// non-overlapping partials whose exact sum is the exact sum of the values.
// Non-finite values (and an intermediate overflow) are summed apart,
// naively, and decide the result as they would in a plain float sum. The
// zero Sum is an empty sum (0).
type Sum struct {
	partials []float64
	special  float64 // naive sum of non-finite values and overflows
	hasSpec  bool
}

// Add adds x exactly.
func (s *Sum) Add(x float64) {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		s.addSpecial(x)
		return
	}
	i := 0
	for _, y := range s.partials {
		if math.Abs(x) < math.Abs(y) {
			x, y = y, x
		}
		hi := x + y
		if math.IsInf(hi, 0) {
			// Overflow: the exact sum is beyond float64, as a plain sum
			// would be; keep it apart.
			s.addSpecial(hi)
			return
		}
		lo := y - (hi - x)
		if lo != 0 {
			s.partials[i] = lo
			i++
		}
		x = hi
	}
	s.partials = append(s.partials[:i], x)
}

func (s *Sum) addSpecial(x float64) {
	if s.hasSpec {
		s.special += x
	} else {
		s.special, s.hasSpec = x, true
	}
}

// AddSum adds all of o exactly (o is unchanged).
func (s *Sum) AddSum(o *Sum) {
	for _, p := range o.partials {
		s.Add(p)
	}
	if o.hasSpec {
		s.addSpecial(o.special)
	}
}

// Value returns the exact sum rounded to the nearest float64 (ties to
// even); ±Inf or NaN when a non-finite value was added or the sum
// overflowed.
func (s *Sum) Value() float64 {
	if s.hasSpec {
		return s.special
	}
	p := s.partials
	n := len(p)
	if n == 0 {
		return 0
	}
	// CPython's math.fsum rounding: add the partials from the largest down
	// until the sum is inexact, then correct a half-way case.
	n--
	hi := p[n]
	var lo float64
	for n > 0 {
		x := hi
		n--
		y := p[n]
		hi = x + y
		yr := hi - x
		lo = y - yr
		if lo != 0 {
			break
		}
	}
	if n > 0 && (lo < 0 && p[n-1] < 0 || lo > 0 && p[n-1] > 0) {
		y := lo * 2
		x := hi + y
		if yr := x - hi; y == yr {
			hi = x
		}
	}
	return hi
}

// State is a Sum in a form JSON can carry exactly: the partials (finite
// float64s, which encoding/json round-trips bit for bit) and, when a
// non-finite value was added, Special ("+Inf", "-Inf" or "NaN").
type State struct {
	Partials []float64 `json:"partials"`
	Special  string    `json:"special,omitempty"`
}

// State returns s as a State.
func (s *Sum) State() State {
	st := State{Partials: append([]float64{}, s.partials...)}
	if s.hasSpec {
		switch {
		case math.IsNaN(s.special):
			st.Special = "NaN"
		case s.special > 0:
			st.Special = "+Inf"
		default:
			st.Special = "-Inf"
		}
	}
	return st
}

// FromState returns the Sum a State holds. The partials are added, so any
// finite values give a valid Sum; an unknown Special is an error.
func FromState(st State) (Sum, error) {
	var s Sum
	for _, p := range st.Partials {
		s.Add(p)
	}
	switch st.Special {
	case "":
	case "NaN":
		s.addSpecial(math.NaN())
	case "+Inf":
		s.addSpecial(math.Inf(1))
	case "-Inf":
		s.addSpecial(math.Inf(-1))
	default:
		return Sum{}, errSpecial(st.Special)
	}
	return s, nil
}

type errSpecial string

func (e errSpecial) Error() string {
	return "exactsum: special " + string(e) + " unknown: want +Inf, -Inf or NaN"
}
