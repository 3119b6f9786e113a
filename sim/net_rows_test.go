package sim

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/addergen/addergen/fixedpoint"
)

// TestFinishRowMatchesFinish: the row-wise rescale and finish (rescaleL1,
// finishRow) give the same outputs and the same statistics as rescale and
// finish applied value by value, for every rounding mode, saturation and
// wrap, fused ReLU or not, shifts from 0 to 40, and rows that saturate on
// both sides.
func TestFinishRowMatchesFinish(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	modes := []fixedpoint.Rounding{fixedpoint.HalfEven, fixedpoint.HalfUp, fixedpoint.Floor, fixedpoint.TowardZero}
	for trial := range 400 {
		bits := 2 + rng.IntN(15)
		signed := rng.IntN(2) == 0
		p := &layerPlan{
			sh: uint(rng.IntN(41)), rnd: modes[trial%4], wrap: rng.IntN(3) == 0,
			outBits: bits, outSigned: signed, relu: !signed && rng.IntN(2) == 0,
		}
		p.lo, p.hi = 0, int64(1)<<bits-1
		if signed {
			p.lo, p.hi = -(int64(1) << (bits - 1)), int64(1)<<(bits-1)-1
		}
		const O = 3
		p.m, p.b, p.wconst = make([]int64, O), make([]int64, O), make([]int64, O)
		for o := range O {
			p.m[o] = rng.Int64N(1<<20) - 1<<19
			p.b[o] = rng.Int64N(1<<40) - 1<<39
			p.wconst[o] = rng.Int64N(1<<16) - 1<<15
		}
		n := 1 + rng.IntN(70)
		stride := 1 + rng.IntN(5)
		l1 := make([]int32, n*stride)
		for i := range l1 {
			l1[i] = int32(rng.IntN(1 << 18))
			if rng.IntN(8) == 0 {
				l1[i] = 0
			}
		}
		o := rng.IntN(O)
		got, want := make([]int32, n), make([]int32, n)
		sg, sw := newRawStats(), newRawStats()
		var s scratch
		p.rescaleL1(l1, stride, got, o, &sg, &s)
		for i := range want {
			x := int64(l1[i*stride])
			sw.l1.add(x)
			want[i] = p.rescale(x+p.wconst[o], o, &sw)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d (%+v): rescaleL1 %v, want %v", trial, *p, got, want)
		}
		if !reflect.DeepEqual(sg.stats(), sw.stats()) {
			t.Fatalf("trial %d: rescaleL1 stats %+v, want %+v", trial, sg.stats(), sw.stats())
		}
		// finishRow alone, on values spread over the whole int62 range
		// and near the saturation bounds.
		v := make([]int64, n)
		for i := range v {
			switch rng.IntN(3) {
			case 0:
				v[i] = rng.Int64N(1<<62) - 1<<61
			default:
				v[i] = (p.lo + rng.Int64N(p.hi-p.lo+1) + rng.Int64N(5) - 2) << p.sh
			}
		}
		sg, sw = newRawStats(), newRawStats()
		for i, x := range v {
			want[i] = p.finish(x, &sw)
		}
		p.finishRow(slices.Clone(v), got, &sg)
		if !slices.Equal(got, want) || !reflect.DeepEqual(sg.stats(), sw.stats()) {
			t.Fatalf("trial %d: finishRow %v %+v, want %v %+v", trial, got, sg.stats(), want, sw.stats())
		}
	}
}
