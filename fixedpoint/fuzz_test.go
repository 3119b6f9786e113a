package fixedpoint_test

import (
	"errors"
	"math"
	"testing"

	"github.com/addergen/addergen/fixedpoint"
)

func FuzzRoundShiftRight(f *testing.F) {
	for _, x := range []int64{0, 1, -1, -5, 5, 3, -3, math.MaxInt64, math.MinInt64, 1 << 62, -1 << 62} {
		for _, sh := range []uint8{0, 1, 2, 62, 63, 64, 65} {
			f.Add(x, sh, uint8(0))
		}
	}
	f.Fuzz(func(t *testing.T, x int64, sh, mode uint8) {
		r := roundings[int(mode)%len(roundings)]
		s := uint(sh % 80)
		if got, want := fixedpoint.RoundShiftRight(x, s, r), refRoundShiftRight(x, s, r); got != want {
			t.Fatalf("RoundShiftRight(%d, %d, %v) = %d, want %d", x, s, r, got, want)
		}
	})
}

func FuzzFromFloat(f *testing.F) {
	for _, x := range []float64{0, 0.5, -0.5, 1.5, -2.5, 127.5, -128.5, 1e300, -1e-300, 0x1p62, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		f.Add(math.Float64bits(x), uint8(8), int16(0), true, uint8(0), uint8(0))
		f.Add(math.Float64bits(x), uint8(62), int16(-960), false, uint8(1), uint8(1))
		f.Add(math.Float64bits(x), uint8(1), int16(960), true, uint8(2), uint8(1))
	}
	f.Fuzz(func(t *testing.T, xbits uint64, width uint8, frac int16, signed bool, mode, ovf uint8) {
		x := math.Float64frombits(xbits)
		fm := fixedpoint.Format{
			Width:  1 + int(width)%fixedpoint.MaxWidth,
			Frac:   int(frac) % (fixedpoint.MaxFrac + 1),
			Signed: signed,
		}
		r := roundings[int(mode)%len(roundings)]
		o := overflows[int(ovf)%len(overflows)]
		code, overflowed, err := fm.FromFloat(x, r, o)
		switch {
		case math.IsNaN(x):
			if !errors.Is(err, fixedpoint.ErrNaN) {
				t.Fatalf("%v.FromFloat(NaN) err = %v", fm, err)
			}
			return
		case math.IsInf(x, 0) && o == fixedpoint.Wrap:
			if !errors.Is(err, fixedpoint.ErrInfWrap) {
				t.Fatalf("%v.FromFloat(%v, wrap) err = %v", fm, x, err)
			}
			return
		case math.IsInf(x, 0):
			want := fm.Max()
			if x < 0 {
				want = fm.Min()
			}
			if code != want || !overflowed || err != nil {
				t.Fatalf("%v.FromFloat(%v) = %d, %v, %v", fm, x, code, overflowed, err)
			}
			return
		}
		want, wantOvf := refFromFloat(fm, x, r, o)
		if err != nil || code != want || overflowed != wantOvf {
			t.Fatalf("%v.FromFloat(%v, %v, %v) = %d, %v, %v; want %d, %v, nil", fm, x, r, o, code, overflowed, err, want, wantOvf)
		}
	})
}
