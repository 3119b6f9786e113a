package rtl

import "testing"

// TestCSD checks the digits of every 12-bit value: they sum to the value,
// no two are adjacent, and there are never more than plain binary has.
func TestCSD(t *testing.T) {
	for v := int64(-4096); v <= 4096; v++ {
		ts := CSD(v)
		var sum int64
		for i, d := range ts {
			if d.Neg {
				sum -= 1 << d.Shift
			} else {
				sum += 1 << d.Shift
			}
			if i > 0 && d.Shift <= ts[i-1].Shift+1 {
				t.Fatalf("CSD(%d) = %v: adjacent or unordered digits", v, ts)
			}
		}
		if sum != v {
			t.Fatalf("CSD(%d) = %v sums to %d", v, ts, sum)
		}
		a := v
		if a < 0 {
			a = -a
		}
		ones := 0
		for ; a != 0; a &= a - 1 {
			ones++
		}
		if len(ts) > ones {
			t.Fatalf("CSD(%d) has %d digits, binary %d", v, len(ts), ones)
		}
	}
	if got := CSD(-(1 << 40) + 1); len(got) != 2 {
		t.Errorf("CSD(-(2^40-1)) = %v, want two digits", got)
	}
}

func TestCheckRounding(t *testing.T) {
	for _, m := range roundingModes {
		if err := checkRounding(m); err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
	if err := checkRounding("stochastic"); err == nil {
		t.Error("an unknown rounding mode was accepted")
	}
}
