package sim

import (
	"math/rand/v2"
	"testing"
)

func naiveL1(x, w []int32) uint64 {
	var s uint64
	for i := range x {
		d := int64(x[i]) - int64(w[i])
		if d < 0 {
			d = -d
		}
		s += uint64(d)
	}
	return s
}

func TestL1(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 9, 150, 4096} {
		for _, w := range []int{2, 8, 16} {
			for trial := 0; trial < 50; trial++ {
				x, wv := make([]int32, k), make([]int32, k)
				for i := range x {
					x[i] = int32(rng.IntN(1<<w)) - 1<<(w-1)
					wv[i] = int32(rng.IntN(1<<w)) - 1<<(w-1)
				}
				if got, want := L1(x, wv), naiveL1(x, wv); got != want {
					t.Fatalf("K=%d W=%d: L1 = %d, want %d", k, w, got, want)
				}
			}
		}
	}
	// The extreme: 4096 lanes of |-32768 - 32767|.
	x, w := make([]int32, 4096), make([]int32, 4096)
	for i := range x {
		x[i], w[i] = -32768, 32767
	}
	if got, want := L1(x, w), uint64(4096*65535); got != want {
		t.Fatalf("extreme L1 = %d, want %d", got, want)
	}
}

func TestPELatencyAndValid(t *testing.T) {
	in := func(rst, valid bool, v int32) PEIn {
		return PEIn{Rst: rst, Valid: valid, X: []int32{v, 0}, W: []int32{0, -v}}
	}
	t.Run("combinational", func(t *testing.T) {
		p := NewPE(PEConfig{Lanes: 2, Width: 8, Signed: true})
		if o := p.Step(in(false, true, 3)); o.Valid != High || o.Sum != 6 || o.Tag != 0 {
			t.Errorf("latency 0 output %+v, want the same cycle's sum 6", o)
		}
		if o := p.Step(in(true, false, 3)); o.Valid != Low {
			t.Errorf("latency 0 idle output %+v", o)
		}
	})
	t.Run("pipelined", func(t *testing.T) {
		p := NewPE(PEConfig{Lanes: 2, Width: 8, Signed: true, Latency: 3})
		seq := []struct {
			in   PEIn
			want Tri
			sum  uint64
		}{
			{in(false, true, 1), X, 0}, // before any reset: unknown
			{in(true, false, 0), X, 0},
			{in(false, false, 0), Low, 0}, // the reset edge cleared every stage
			{in(false, true, 5), Low, 0},
			{in(false, true, 7), Low, 0},
			{in(false, false, 0), Low, 0},
			{in(false, false, 0), High, 10},
			{in(true, true, 9), High, 14}, // the reset drops the input and everything in flight
			{in(false, false, 0), Low, 0},
			{in(false, false, 0), Low, 0},
			{in(false, false, 0), Low, 0},
		}
		for i, s := range seq {
			o := p.Step(s.in)
			if o.Valid != s.want || (s.want == High && o.Sum != s.sum) {
				t.Errorf("cycle %d: out %+v, want valid %v sum %d", i, o, s.want, s.sum)
			}
		}
	})
}

func BenchmarkL1(b *testing.B) {
	for _, k := range []int{9, 150, 4096} {
		b.Run(map[int]string{9: "K9", 150: "K150", 4096: "K4096"}[k], func(b *testing.B) {
			x, w := make([]int32, k), make([]int32, k)
			for i := range x {
				x[i], w[i] = int32(i*37%256), int32(i*91%256)
			}
			var sink uint64
			b.ResetTimer()
			for b.Loop() {
				sink += L1(x, w)
			}
			b.ReportMetric(float64(b.N)*float64(k)/b.Elapsed().Seconds(), "lane-ops/s")
			_ = sink
		})
	}
}

func BenchmarkPEStep(b *testing.B) {
	p := NewPE(PEConfig{Lanes: 16, Width: 8, Latency: 4})
	x, w := make([]int32, 16), make([]int32, 16)
	in := PEIn{Valid: true, X: x, W: w}
	for b.Loop() {
		p.Step(in)
	}
	b.ReportMetric(float64(b.N)*16/b.Elapsed().Seconds(), "lane-ops/s")
}
