package fixedpoint_test

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/addergen/addergen/fixedpoint"
)

func TestFormatValidate(t *testing.T) {
	for _, c := range []struct {
		f    fixedpoint.Format
		want string // substring of the error, "" for valid
	}{
		{fixedpoint.Format{Width: 8, Frac: 4, Signed: true}, ""},
		{fixedpoint.Format{Width: 1, Frac: 0, Signed: false}, ""},
		{fixedpoint.Format{Width: 1, Frac: 0, Signed: true}, ""},
		{fixedpoint.Format{Width: 62, Frac: 0, Signed: true}, ""},
		{fixedpoint.Format{Width: 62, Frac: 0, Signed: false}, ""},
		{fixedpoint.Format{Width: 4, Frac: -7, Signed: true}, ""},
		{fixedpoint.Format{Width: 4, Frac: 20, Signed: false}, ""},
		{fixedpoint.Format{Width: 8, Frac: fixedpoint.MinFrac}, ""},
		{fixedpoint.Format{Width: 8, Frac: fixedpoint.MaxFrac}, ""},
		{fixedpoint.Format{}, "width 0 outside [1, 62]"},
		{fixedpoint.Format{Width: -3}, "width -3"},
		{fixedpoint.Format{Width: 63, Signed: true}, "width 63"},
		{fixedpoint.Format{Width: 64}, "width 64"},
		{fixedpoint.Format{Width: 8, Frac: fixedpoint.MinFrac - 1}, "frac -961 outside [-960, 960]"},
		{fixedpoint.Format{Width: 8, Frac: fixedpoint.MaxFrac + 1}, "frac 961"},
	} {
		err := c.f.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v.Validate() = %v, want nil", c.f, err)
		case c.want != "" && err == nil:
			t.Errorf("%v.Validate() = nil, want error containing %q", c.f, c.want)
		case c.want != "" && (!strings.HasPrefix(err.Error(), "fixedpoint: ") || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v.Validate() = %q, want error containing %q", c.f, err, c.want)
		}
	}
}

func TestInvalidFormatPanics(t *testing.T) {
	bad := fixedpoint.Format{Width: 0, Frac: 0}
	good := fixedpoint.Format{Width: 8, Frac: 0}
	mustPanic(t, "invalid format u0.0", func() { bad.Min() })
	mustPanic(t, "invalid format", func() { bad.Max() })
	mustPanic(t, "invalid format", func() { bad.Scale() })
	mustPanic(t, "invalid format", func() { bad.Interval() })
	mustPanic(t, "invalid format", func() { bad.Contains(0) })
	mustPanic(t, "invalid format", func() { bad.ToFloat(0) })
	mustPanic(t, "invalid format", func() { bad.FromFloat(0, fixedpoint.HalfEven, fixedpoint.Saturate) })
	mustPanic(t, "invalid format", func() { bad.Fit(0, fixedpoint.Saturate) })
	mustPanic(t, "invalid format", func() { bad.Convert(0, good, fixedpoint.HalfEven, fixedpoint.Saturate) })
	mustPanic(t, "invalid format", func() { good.Convert(0, bad, fixedpoint.HalfEven, fixedpoint.Saturate) })
	mustPanic(t, "code 256 outside format u8.0 range [0, 255]", func() { good.ToFloat(256) })
	mustPanic(t, "code -1 outside format u8.0", func() { good.ToFloat(-1) })
	mustPanic(t, "code 256 outside format u8.0", func() {
		good.Convert(256, good, fixedpoint.HalfEven, fixedpoint.Saturate)
	})
}

func TestFormatStringParse(t *testing.T) {
	for _, c := range []struct {
		f fixedpoint.Format
		s string
	}{
		{fixedpoint.Format{Width: 8, Frac: 4, Signed: true}, "s8.4"},
		{fixedpoint.Format{Width: 8, Frac: 0, Signed: false}, "u8.0"},
		{fixedpoint.Format{Width: 6, Frac: -2, Signed: true}, "s6.-2"},
		{fixedpoint.Format{Width: 1, Frac: 12, Signed: false}, "u1.12"},
		{fixedpoint.Format{Width: 62, Frac: -960, Signed: true}, "s62.-960"},
	} {
		if got := c.f.String(); got != c.s {
			t.Errorf("%#v.String() = %q, want %q", c.f, got, c.s)
		}
		got, err := fixedpoint.ParseFormat(c.s)
		if err != nil || got != c.f {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", c.s, got, err, c.f)
		}
	}
	if got := (fixedpoint.Format{Width: 0, Frac: 3}).String(); got != "u0.3" {
		t.Errorf("String of invalid format = %q, want u0.3", got)
	}
	if got, err := fixedpoint.ParseFormat("s08.004"); err != nil || got != (fixedpoint.Format{Width: 8, Frac: 4, Signed: true}) {
		t.Errorf("ParseFormat(s08.004) = %v, %v", got, err)
	}
	for _, s := range []string{
		"", "s", "s8", "8.4", "S8.4", "x8.4", "s8.", "s.4", "s8.4.1", "s+8.4", "s8.+4", "s-8.4",
		"s8.--4", "s 8.4", "s8.4 ", "s0.0", "u63.0", "s8.961", "s8.-961", "s99999999999999999999.0",
		"s8.99999999999999999999",
	} {
		_, err := fixedpoint.ParseFormat(s)
		if err == nil {
			t.Errorf("ParseFormat(%q): no error", s)
		} else if !strings.HasPrefix(err.Error(), "fixedpoint: ") {
			t.Errorf("ParseFormat(%q) error %q lacks prefix", s, err)
		}
	}
}

func TestFormatRange(t *testing.T) {
	for _, c := range []struct {
		f        fixedpoint.Format
		min, max int64
		scale    float64
	}{
		{fixedpoint.Format{Width: 8, Frac: 4, Signed: true}, -128, 127, 0.0625},
		{fixedpoint.Format{Width: 8, Frac: 0, Signed: false}, 0, 255, 1},
		{fixedpoint.Format{Width: 1, Frac: 0, Signed: true}, -1, 0, 1},
		{fixedpoint.Format{Width: 1, Frac: 1, Signed: false}, 0, 1, 0.5},
		{fixedpoint.Format{Width: 3, Frac: -2, Signed: true}, -4, 3, 4},
		{fixedpoint.Format{Width: 62, Frac: 0, Signed: true}, -1 << 61, 1<<61 - 1, 1},
		{fixedpoint.Format{Width: 62, Frac: 0, Signed: false}, 0, 1<<62 - 1, 1},
		{fixedpoint.Format{Width: 8, Frac: 960}, 0, 255, math.Ldexp(1, -960)},
		{fixedpoint.Format{Width: 8, Frac: -960}, 0, 255, math.Ldexp(1, 960)},
	} {
		if c.f.Min() != c.min || c.f.Max() != c.max {
			t.Errorf("%v: Min, Max = %d, %d; want %d, %d", c.f, c.f.Min(), c.f.Max(), c.min, c.max)
		}
		if got := c.f.Interval(); got != (fixedpoint.Interval{Lo: c.min, Hi: c.max}) {
			t.Errorf("%v.Interval() = %v", c.f, got)
		}
		if got := c.f.Scale(); got != c.scale {
			t.Errorf("%v.Scale() = %g, want %g", c.f, got, c.scale)
		}
		if !c.f.Contains(c.min) || !c.f.Contains(c.max) || c.f.Contains(c.min-1) || c.f.Contains(c.max+1) {
			t.Errorf("%v.Contains wrong at the range ends", c.f)
		}
		// The extreme values are finite and exact.
		for _, code := range []int64{c.min, c.max, 1} {
			if !c.f.Contains(code) {
				continue
			}
			v := c.f.ToFloat(code)
			if math.IsInf(v, 0) || v != 0 && math.Abs(v) < 0x1p-1022 {
				t.Errorf("%v.ToFloat(%d) = %g is not finite normal", c.f, code, v)
			}
		}
	}
}

// fromFloatCase is one row of the FromFloat edge-case table.
type fromFloatCase struct {
	x    float64
	want [4]int64 // HalfEven, HalfUp, Floor, TowardZero
	ovf  [4]bool
}

func TestFromFloatTable(t *testing.T) {
	s80 := fixedpoint.Format{Width: 8, Frac: 0, Signed: true}
	u80 := fixedpoint.Format{Width: 8, Frac: 0, Signed: false}
	s84 := fixedpoint.Format{Width: 8, Frac: 4, Signed: true}
	s16 := fixedpoint.Format{Width: 16, Frac: 0, Signed: true}
	s164 := fixedpoint.Format{Width: 16, Frac: 4, Signed: true}
	no := [4]bool{}
	all := [4]bool{true, true, true, true}
	tiny := math.SmallestNonzeroFloat64
	for _, c := range []struct {
		f     fixedpoint.Format
		o     fixedpoint.Overflow
		cases []fromFloatCase
	}{
		{s80, fixedpoint.Saturate, []fromFloatCase{
			{0, [4]int64{0, 0, 0, 0}, no},
			{math.Copysign(0, -1), [4]int64{0, 0, 0, 0}, no},
			{0.5, [4]int64{0, 1, 0, 0}, no},
			{-0.5, [4]int64{0, 0, -1, 0}, no},
			{1.5, [4]int64{2, 2, 1, 1}, no},
			{-1.5, [4]int64{-2, -1, -2, -1}, no},
			{2.5, [4]int64{2, 3, 2, 2}, no},
			{-2.5, [4]int64{-2, -2, -3, -2}, no},
			{0.49999999999999994, [4]int64{0, 0, 0, 0}, no}, // largest double below 0.5
			{-0.49999999999999994, [4]int64{0, 0, -1, 0}, no},
			{2.5000000000000004, [4]int64{3, 3, 2, 2}, no},
			{tiny, [4]int64{0, 0, 0, 0}, no},
			{-tiny, [4]int64{0, 0, -1, 0}, no},
			{127, [4]int64{127, 127, 127, 127}, no},
			{-128, [4]int64{-128, -128, -128, -128}, no},
			{127.5, [4]int64{127, 127, 127, 127}, [4]bool{true, true, false, false}},
			{127.25, [4]int64{127, 127, 127, 127}, no},
			{-128.5, [4]int64{-128, -128, -128, -128}, [4]bool{false, false, true, false}},
			{-128.75, [4]int64{-128, -128, -128, -128}, [4]bool{true, true, true, false}},
			{128, [4]int64{127, 127, 127, 127}, all},
			{-129, [4]int64{-128, -128, -128, -128}, all},
			{1e300, [4]int64{127, 127, 127, 127}, all},
			{-1e300, [4]int64{-128, -128, -128, -128}, all},
			{0x1p62, [4]int64{127, 127, 127, 127}, all},
			{math.MaxFloat64, [4]int64{127, 127, 127, 127}, all},
			{math.Inf(1), [4]int64{127, 127, 127, 127}, all},
			{math.Inf(-1), [4]int64{-128, -128, -128, -128}, all},
		}},
		{s80, fixedpoint.Wrap, []fromFloatCase{
			{127.5, [4]int64{-128, -128, 127, 127}, [4]bool{true, true, false, false}},
			{-128.5, [4]int64{-128, -128, 127, -128}, [4]bool{false, false, true, false}},
			{128, [4]int64{-128, -128, -128, -128}, all},
			{-129, [4]int64{127, 127, 127, 127}, all},
			{300.5, [4]int64{44, 45, 44, 44}, all}, // 300 = 256 + 44
			{-300.5, [4]int64{-44, -44, -45, -44}, all},
			{1e300, [4]int64{0, 0, 0, 0}, all}, // a multiple of 2^8
			{-1e300, [4]int64{0, 0, 0, 0}, all},
			// |x| >= 2^62 has at most 53 significant bits, so its low 9
			// bits are zero.
			{0x1p62 + 3*0x1p10, [4]int64{0, 0, 0, 0}, all},
		}},
		{s16, fixedpoint.Wrap, []fromFloatCase{
			{0x1p62 + 3*0x1p10, [4]int64{3072, 3072, 3072, 3072}, all},
			{-(0x1p63 + 0x1p11 + 0x1p12), [4]int64{-6144, -6144, -6144, -6144}, all},
			{0x1p63 + 0x1p15, [4]int64{-32768, -32768, -32768, -32768}, all},
			{0x1p70 + 0x1p20, [4]int64{0, 0, 0, 0}, all},
			{0x1p64 + 0x1p12, [4]int64{4096, 4096, 4096, 4096}, all}, // beyond 64 bits
		}},
		{s164, fixedpoint.Wrap, []fromFloatCase{
			{0x1p58 + 3*0x1p6, [4]int64{3072, 3072, 3072, 3072}, all},             // scaled: 2^62 + 3·2^10
			{-(0x1p40 + 264 + 0x1p-5), [4]int64{-4224, -4224, -4225, -4224}, all}, // scaled: -(2^44 + 4224.5)
		}},
		{u80, fixedpoint.Saturate, []fromFloatCase{
			{-0.5, [4]int64{0, 0, 0, 0}, [4]bool{false, false, true, false}},
			{-tiny, [4]int64{0, 0, 0, 0}, [4]bool{false, false, true, false}},
			{math.Copysign(0, -1), [4]int64{0, 0, 0, 0}, no},
			{255.5, [4]int64{255, 255, 255, 255}, [4]bool{true, true, false, false}},
			{254.5, [4]int64{254, 255, 254, 254}, no},
			{-1, [4]int64{0, 0, 0, 0}, all},
			{math.Inf(-1), [4]int64{0, 0, 0, 0}, all},
		}},
		{u80, fixedpoint.Wrap, []fromFloatCase{
			{-0.5, [4]int64{0, 0, 255, 0}, [4]bool{false, false, true, false}},
			{-1, [4]int64{255, 255, 255, 255}, all},
			{256.5, [4]int64{0, 1, 0, 0}, all},
			{-256, [4]int64{0, 0, 0, 0}, all},
		}},
		{s84, fixedpoint.Saturate, []fromFloatCase{
			{1.03125, [4]int64{16, 17, 16, 16}, no}, // 16.5/16
			{-1.03125, [4]int64{-16, -16, -17, -16}, no},
			{0.09375, [4]int64{2, 2, 1, 1}, no}, // 1.5/16
			{-0.09375, [4]int64{-2, -1, -2, -1}, no},
			{7.9375, [4]int64{127, 127, 127, 127}, no},
			{7.96875, [4]int64{127, 127, 127, 127}, [4]bool{true, true, false, false}},
			{-8, [4]int64{-128, -128, -128, -128}, no},
			{0.1, [4]int64{2, 2, 1, 1}, no}, // 1.6000000000000000888/16
		}},
	} {
		for _, cs := range c.cases {
			for i, r := range roundings {
				got, ovf, err := c.f.FromFloat(cs.x, r, c.o)
				if err != nil || got != cs.want[i] || ovf != cs.ovf[i] {
					t.Errorf("%v.FromFloat(%v, %v, %v) = %d, %v, %v; want %d, %v, nil",
						c.f, cs.x, r, c.o, got, ovf, err, cs.want[i], cs.ovf[i])
				}
			}
		}
	}
}

func TestFromFloatErrors(t *testing.T) {
	f := fixedpoint.Format{Width: 8, Frac: 2, Signed: true}
	for _, c := range []struct {
		x    float64
		o    fixedpoint.Overflow
		want error
	}{
		{math.NaN(), fixedpoint.Saturate, fixedpoint.ErrNaN},
		{math.NaN(), fixedpoint.Wrap, fixedpoint.ErrNaN},
		{-math.NaN(), fixedpoint.Saturate, fixedpoint.ErrNaN},
		{math.Float64frombits(0x7ff0000000000001), fixedpoint.Wrap, fixedpoint.ErrNaN},
		{math.Inf(1), fixedpoint.Wrap, fixedpoint.ErrInfWrap},
		{math.Inf(-1), fixedpoint.Wrap, fixedpoint.ErrInfWrap},
	} {
		for _, r := range roundings {
			code, ovf, err := f.FromFloat(c.x, r, c.o)
			if !errors.Is(err, c.want) || code != 0 || ovf {
				t.Errorf("FromFloat(%v, %v, %v) = %d, %v, %v; want 0, false, %v", c.x, r, c.o, code, ovf, err, c.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "fixedpoint: ") {
				t.Errorf("error %q lacks prefix", err)
			}
		}
	}
}

// smallFormats returns every format with Width 1..10, both signednesses.
func smallFormats(frac int) []fixedpoint.Format {
	var fs []fixedpoint.Format
	for w := 1; w <= 10; w++ {
		for _, s := range []bool{false, true} {
			fs = append(fs, fixedpoint.Format{Width: w, Frac: frac, Signed: s})
		}
	}
	return fs
}

// TestFromFloatExhaustive feeds every format of width 1..10 a grid of
// quarter steps spanning its range and 3 steps beyond (every code, every
// tie, every quarter point), plus the neighbouring doubles of each grid
// point, and compares with the big.Rat reference in every mode.
func TestFromFloatExhaustive(t *testing.T) {
	const pad = 3
	fracs := []int{-5, -1, 0, 1, 3, 10, 13, 40, -700, 900}
	if testing.Short() {
		fracs = []int{-1, 0, 3, 13}
	}
	for _, frac := range fracs {
		// Grid index k stands for the value k/4 steps = k·2^-(frac+2); the
		// union of all ranges is [-512-pad, 1023+pad] steps.
		kLo, kHi := int64(4*(-512-pad)), int64(4*(1023+pad))
		type point struct {
			x       float64
			rounded [4]int64 // reference rounding of x·2^frac
		}
		grid := make([][3]point, kHi-kLo+1)
		for k := kLo; k <= kHi; k++ {
			v := math.Ldexp(float64(k), -frac-2)
			xs := [3]float64{math.Nextafter(v, math.Inf(-1)), v, math.Nextafter(v, math.Inf(1))}
			for j, x := range xs {
				p := point{x: x}
				q := refScaled(x, frac)
				for i, r := range roundings {
					p.rounded[i] = refRound(q, r).Int64()
				}
				grid[k-kLo][j] = p
			}
		}
		for _, f := range smallFormats(frac) {
			lo, hi := smallRange(f.Width, f.Signed)
			for k := 4 * (lo - pad); k <= 4*(hi+pad); k++ {
				for _, p := range grid[k-kLo] {
					for i, r := range roundings {
						for _, o := range overflows {
							want, wantOvf := refFitSmall(p.rounded[i], f.Width, f.Signed, o)
							got, ovf, err := f.FromFloat(p.x, r, o)
							if err != nil || got != want || ovf != wantOvf {
								t.Fatalf("%v.FromFloat(%v, %v, %v) = %d, %v, %v; want %d, %v, nil",
									f, p.x, r, o, got, ovf, err, want, wantOvf)
							}
						}
					}
				}
			}
		}
	}
}

// randomFloat returns a finite float64 from a mix of distributions:
// arbitrary bit patterns, values near the range of f, and exact ties of f.
func randomFloat(rng *rand.Rand, f fixedpoint.Format) float64 {
	for {
		if x := randomFloat1(rng, f); !math.IsNaN(x) && !math.IsInf(x, 0) {
			return x
		}
	}
}

func randomFloat1(rng *rand.Rand, f fixedpoint.Format) float64 {
	switch rng.IntN(4) {
	case 0:
		return math.Float64frombits(rng.Uint64())
	case 1: // within a few ranges of f
		span := math.Ldexp(1, f.Width+1-f.Frac)
		return (rng.Float64()*2 - 1) * span * float64(1+rng.IntN(3))
	case 2: // an exact tie or quarter point near a random code
		code := rng.Int64N(1<<f.Width) - 1<<(f.Width-1)
		return math.Ldexp(float64(code)+float64(rng.IntN(4))/4, -f.Frac)
	default: // a random magnitude near the scale of f
		return math.Ldexp(rng.NormFloat64(), rng.IntN(2*f.Width+40)-f.Width-20-f.Frac)
	}
}

func randomFormat(rng *rand.Rand) fixedpoint.Format {
	f := fixedpoint.Format{Width: 1 + rng.IntN(fixedpoint.MaxWidth), Signed: rng.IntN(2) == 0}
	switch rng.IntN(4) {
	case 0:
		f.Frac = rng.IntN(fixedpoint.MaxFrac-fixedpoint.MinFrac+1) + fixedpoint.MinFrac
	case 1:
		f.Frac = []int{fixedpoint.MinFrac, fixedpoint.MaxFrac}[rng.IntN(2)]
	default:
		f.Frac = rng.IntN(129) - 64
	}
	return f
}

func TestFromFloatRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n := 100000
	if testing.Short() {
		n = 20000
	}
	for range n {
		f := randomFormat(rng)
		x := randomFloat(rng, f)
		r := roundings[rng.IntN(len(roundings))]
		o := overflows[rng.IntN(len(overflows))]
		want, wantOvf := refFromFloat(f, x, r, o)
		got, ovf, err := f.FromFloat(x, r, o)
		if err != nil || got != want || ovf != wantOvf {
			t.Fatalf("%v.FromFloat(%v, %v, %v) = %d, %v, %v; want %d, %v, nil", f, x, r, o, got, ovf, err, want, wantOvf)
		}
	}
}

func TestToFloatExact(t *testing.T) {
	for _, frac := range []int{-960, -9, -1, 0, 1, 7, 30, 960} {
		for _, f := range smallFormats(frac) {
			for code := f.Min(); code <= f.Max(); code++ {
				v := f.ToFloat(code)
				want := new(big.Rat).Mul(new(big.Rat).SetInt64(code), pow2Rat(-frac))
				if got := new(big.Rat).SetFloat64(v); got == nil || got.Cmp(want) != 0 {
					t.Fatalf("%v.ToFloat(%d) = %v, want %v", f, code, v, want.FloatString(10))
				}
				// Round trip: an exact value is its own code in every mode.
				for _, r := range roundings {
					for _, o := range overflows {
						if got, ovf, err := f.FromFloat(v, r, o); got != code || ovf || err != nil {
							t.Fatalf("%v.FromFloat(ToFloat(%d), %v, %v) = %d, %v, %v", f, code, r, o, got, ovf, err)
						}
					}
				}
			}
		}
	}
}

// TestToFloatWide checks codes wider than a float64 mantissa: ToFloat rounds
// to nearest, ties to even, once.
func TestToFloatWide(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	codes := extremes()
	for range 20000 {
		codes = append(codes, int64(rng.Uint64())>>rng.IntN(12))
	}
	for _, code := range codes {
		for _, frac := range []int{fixedpoint.MinFrac, -3, 0, 17, fixedpoint.MaxFrac} {
			f := fixedpoint.Format{Width: 62, Frac: frac, Signed: code < 0}
			if !f.Contains(code) {
				continue
			}
			want, _ := new(big.Float).SetMantExp(new(big.Float).SetPrec(53).SetMode(big.ToNearestEven).SetInt64(code), -frac).Float64()
			if got := f.ToFloat(code); got != want {
				t.Fatalf("%v.ToFloat(%d) = %v, want %v", f, code, got, want)
			}
		}
	}
}

func TestFit(t *testing.T) {
	f := fixedpoint.Format{Width: 4, Frac: 3, Signed: true}
	type res struct {
		Code int64
		Ovf  bool
	}
	var got, want []res
	for x := int64(-40); x <= 40; x++ {
		for _, o := range overflows {
			c, ovf := f.Fit(x, o)
			got = append(got, res{c, ovf})
			c, ovf = refFitSmall(x, 4, true, o)
			want = append(want, res{c, ovf})
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Fit mismatch (-want +got):\n%s", diff)
	}
	g := fixedpoint.Format{Width: 62, Frac: 0, Signed: false}
	for _, x := range extremes() {
		for _, o := range overflows {
			c, ovf := g.Fit(x, o)
			wc, wovf := refFit(big.NewInt(x), 62, false, o)
			if c != wc || ovf != wovf {
				t.Fatalf("%v.Fit(%d, %v) = %d, %v; want %d, %v", g, x, o, c, ovf, wc, wovf)
			}
		}
	}
}

// refConvert is the reference for Format.Convert.
func refConvert(to fixedpoint.Format, code int64, from fixedpoint.Format, r fixedpoint.Rounding, o fixedpoint.Overflow) (int64, bool) {
	q := new(big.Rat).Mul(new(big.Rat).SetInt64(code), pow2Rat(to.Frac-from.Frac))
	return refFit(refRound(q, r), to.Width, to.Signed, o)
}

func TestConvertExhaustive(t *testing.T) {
	toFracs := []int{-3, -1, 0, 2, 5}
	for w := 1; w <= 8; w++ {
		for _, s := range []bool{false, true} {
			for _, frac := range []int{-2, 0, 3} {
				from := fixedpoint.Format{Width: w, Frac: frac, Signed: s}
				for code := from.Min(); code <= from.Max(); code++ {
					for _, toFrac := range toFracs {
						q := new(big.Rat).Mul(new(big.Rat).SetInt64(code), pow2Rat(toFrac-frac))
						for _, r := range roundings {
							rounded := refRound(q, r).Int64()
							for _, to := range smallFormats(toFrac)[:16] { // widths 1..8
								for _, o := range overflows {
									want, wantOvf := refFitSmall(rounded, to.Width, to.Signed, o)
									got, ovf := to.Convert(code, from, r, o)
									if got != want || ovf != wantOvf {
										t.Fatalf("%v.Convert(%d, %v, %v, %v) = %d, %v; want %d, %v",
											to, code, from, r, o, got, ovf, want, wantOvf)
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

func TestConvertRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 50000 {
		from, to := randomFormat(rng), randomFormat(rng)
		code := from.Min() + rng.Int64N(from.Max()-from.Min()+1)
		if rng.IntN(4) == 0 {
			code = []int64{from.Min(), from.Max(), 0}[rng.IntN(3)]
		}
		if rng.IntN(2) == 0 { // nearby fractions, where the interesting cases are
			to.Frac = max(fixedpoint.MinFrac, min(fixedpoint.MaxFrac, from.Frac+rng.IntN(141)-70))
		}
		r := roundings[rng.IntN(len(roundings))]
		o := overflows[rng.IntN(len(overflows))]
		want, wantOvf := refConvert(to, code, from, r, o)
		got, ovf := to.Convert(code, from, r, o)
		if got != want || ovf != wantOvf {
			t.Fatalf("%v.Convert(%d, %v, %v, %v) = %d, %v; want %d, %v", to, code, from, r, o, got, ovf, want, wantOvf)
		}
	}
}

// TestFromFloatMatchesConvert ties the two conversions together: a float
// that is exactly a code of a fine format converts like that code.
func TestFromFloatMatchesConvert(t *testing.T) {
	fine := fixedpoint.Format{Width: 12, Frac: 8, Signed: true}
	for _, to := range smallFormats(2) {
		for code := fine.Min(); code <= fine.Max(); code += 3 {
			x := fine.ToFloat(code)
			for _, r := range roundings {
				for _, o := range overflows {
					a, aovf, err := to.FromFloat(x, r, o)
					b, bovf := to.Convert(code, fine, r, o)
					if err != nil || a != b || aovf != bovf {
						t.Fatalf("%v: FromFloat(%v) = %d, %v, %v; Convert(%d) = %d, %v", to, x, a, aovf, err, code, b, bovf)
					}
				}
			}
		}
	}
}
