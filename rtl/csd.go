package rtl

// csdTerm is one nonzero digit of a canonical signed-digit number: the
// value contributes -2^Shift when Neg, else +2^Shift.
type csdTerm struct {
	Shift int
	Neg   bool
}

// csd returns the canonical signed-digit (non-adjacent form) digits of v,
// lowest first: v = sum of ±2^Shift over the terms, with no two adjacent
// nonzero digits, so at most ceil((bits+1)/2) terms (Reitwiesner, 1960).
// A constant multiply x*v then costs one adder per term after the first,
// and no multiplier.
func csd(v int64) []csdTerm {
	var out []csdTerm
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	for s := 0; u != 0; s++ {
		if u&1 == 1 {
			// Digit +1 when u = 1 mod 4, -1 when u = 3 mod 4.
			if u&3 == 3 {
				out = append(out, csdTerm{Shift: s, Neg: !neg})
				u++
			} else {
				out = append(out, csdTerm{Shift: s, Neg: neg})
				u--
			}
		}
		u >>= 1
	}
	return out
}
