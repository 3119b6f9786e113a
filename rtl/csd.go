package rtl

// CSDTerm is one nonzero digit of a canonical signed-digit number: the
// value contributes -2^Shift when Neg, else +2^Shift.
type CSDTerm struct {
	Shift int
	Neg   bool
}

// CSD returns the canonical signed-digit (non-adjacent form) digits of v,
// lowest first: v = sum of ±2^Shift over the terms, with no two adjacent
// nonzero digits, so at most ceil((bits+1)/2) terms (Reitwiesner, 1960).
// A constant multiply x*v then costs one adder per term after the first,
// and no multiplier.
func CSD(v int64) []CSDTerm {
	var out []CSDTerm
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	for s := 0; u != 0; s++ {
		if u&1 == 1 {
			// Digit +1 when u = 1 mod 4, -1 when u = 3 mod 4.
			if u&3 == 3 {
				out = append(out, CSDTerm{Shift: s, Neg: !neg})
				u++
			} else {
				out = append(out, CSDTerm{Shift: s, Neg: neg})
				u--
			}
		}
		u >>= 1
	}
	return out
}

// ShiftTerms returns a shift-add rescale's m ROM fields as the engine
// template reads them, two [en, neg, shift] terms per output channel (en
// at bit 0, neg at bit 1, the shift above), and the b values with the +1
// of every inverted term folded in. Every M must have at most two CSD
// digits (Engine.ShiftM).
func ShiftTerms(m, b []int64) (terms, bvals []int64) {
	terms = make([]int64, 2*len(m))
	bvals = append([]int64(nil), b...)
	for o, v := range m {
		for k, t := range CSD(v) {
			f := int64(1) | int64(t.Shift)<<2
			if t.Neg {
				f |= 2
				bvals[o]++
			}
			terms[2*o+k] = f
		}
	}
	return terms, bvals
}
