package quant

import "testing"

// TestPercentile: the p-th percentile is the smallest sampled magnitude
// whose cumulative share reaches p (ceil(p/100*n)-th smallest).
func TestPercentile(t *testing.T) {
	s := &calibStats{}
	for i := 100; i >= 1; i-- { // magnitudes 1..100, both signs, unsorted
		v := float64(i)
		if i%2 == 0 {
			v = -v
		}
		s.sample = append(s.sample, v)
	}
	for _, c := range []struct{ p, want float64 }{
		{100, 100}, {99.99, 100}, {99, 99}, {50, 50}, {50.5, 51}, {1, 1}, {0.5, 1}, {0, 1},
	} {
		if got := s.percentile(c.p); got != c.want {
			t.Errorf("percentile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := (&calibStats{}).percentile(99); got != 0 {
		t.Errorf("empty sample: %v, want 0", got)
	}
}
