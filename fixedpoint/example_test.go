package fixedpoint_test

import (
	"fmt"
	"math"

	"github.com/addergen/addergen/fixedpoint"
)

func ExampleRoundShiftRight() {
	// -5 / 2^1 = -2.5 under each rounding mode.
	for _, r := range []fixedpoint.Rounding{fixedpoint.HalfEven, fixedpoint.HalfUp, fixedpoint.Floor, fixedpoint.TowardZero} {
		fmt.Printf("%-11v %d\n", r, fixedpoint.RoundShiftRight(-5, 1, r))
	}
	// Output:
	// half-even   -2
	// half-up     -2
	// floor       -3
	// toward-zero -2
}

func ExampleFormat_FromFloat() {
	f := fixedpoint.Format{Width: 8, Frac: 4, Signed: true} // steps of 1/16, range [-8, 7.9375]
	for _, x := range []float64{1.03125, -1.03125, 100, math.Inf(-1), math.NaN()} {
		code, overflowed, err := f.FromFloat(x, fixedpoint.HalfEven, fixedpoint.Saturate)
		if err != nil {
			fmt.Printf("%v: %v\n", x, err)
			continue
		}
		fmt.Printf("%v -> code %d = %v, overflowed %v\n", x, code, f.ToFloat(code), overflowed)
	}
	// A register without saturation keeps the low 8 bits: 1600 mod 256 = 64.
	code, overflowed, _ := f.FromFloat(100, fixedpoint.HalfEven, fixedpoint.Wrap)
	fmt.Printf("100 wrapped -> code %d, overflowed %v\n", code, overflowed)
	// Output:
	// 1.03125 -> code 16 = 1, overflowed false
	// -1.03125 -> code -16 = -1, overflowed false
	// 100 -> code 127 = 7.9375, overflowed true
	// -Inf -> code -128 = -8, overflowed true
	// NaN: fixedpoint: NaN has no fixed-point code
	// 100 wrapped -> code 64, overflowed true
}

func ExampleParseFormat() {
	for _, s := range []string{"s8.4", "u8.0", "s6.-2", "s8"} {
		f, err := fixedpoint.ParseFormat(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%v: codes [%d, %d], step %v\n", f, f.Min(), f.Max(), f.Scale())
	}
	// Output:
	// s8.4: codes [-128, 127], step 0.0625
	// u8.0: codes [0, 255], step 1
	// s6.-2: codes [-32, 31], step 4
	// fixedpoint: bad format "s8": missing '.' (want e.g. s8.4 or u8.0)
}

func ExampleFormat_Convert() {
	acc := fixedpoint.Format{Width: 16, Frac: 8, Signed: true}
	out := fixedpoint.Format{Width: 8, Frac: 4, Signed: true}
	// Code 392 of s16.8 is 1.53125, exactly halfway between two s8.4 codes.
	for _, r := range []fixedpoint.Rounding{fixedpoint.HalfEven, fixedpoint.HalfUp} {
		code, _ := out.Convert(392, acc, r, fixedpoint.Saturate)
		fmt.Printf("%v: code %d = %v\n", r, code, out.ToFloat(code))
	}
	// Output:
	// half-even: code 24 = 1.5
	// half-up: code 25 = 1.5625
}

func ExampleRescaleHalfUp() {
	// Requantize accumulators by M/2^sh = 77/256 ≈ 0.3 into unsigned 8-bit
	// activations: y = sat((acc·77 + 128) >> 8).
	out := fixedpoint.Format{Width: 8, Frac: 0, Signed: false}
	for _, acc := range []int64{500, -1000, 5000} {
		y := fixedpoint.RescaleHalfUp(acc, 77, 0, 8)
		code, saturated := out.Fit(y, fixedpoint.Saturate)
		fmt.Printf("acc %d -> %d -> code %d, saturated %v\n", acc, y, code, saturated)
	}
	// Output:
	// acc 500 -> 150 -> code 150, saturated false
	// acc -1000 -> -301 -> code 0, saturated true
	// acc 5000 -> 1504 -> code 255, saturated true
}

func ExampleSaturateTo() {
	fmt.Println(fixedpoint.SaturateTo(300, 8, true))
	fmt.Println(fixedpoint.SaturateTo(-300, 8, false))
	fmt.Println(fixedpoint.WrapTo(300, 8, true))
	fmt.Println(fixedpoint.WrapTo(-1, 8, false))
	// Output:
	// 127 true
	// 0 true
	// 44
	// 255
}

func ExampleSignedWidth() {
	fmt.Println(fixedpoint.SignedWidth(-128, 127), fixedpoint.SignedWidth(-128, 128), fixedpoint.SignedWidth(-1, 0))
	fmt.Println(fixedpoint.UnsignedWidth(255), fixedpoint.UnsignedWidth(256), fixedpoint.UnsignedWidth(0))
	// Output:
	// 8 9 1
	// 8 9 1
}

// An adder layer computes -Σ|x−w| over a 3×3 kernel and 64 input channels.
// Interval arithmetic sizes its accumulator.
func ExampleSumWidth() {
	x := fixedpoint.Format{Width: 8, Signed: false}.Interval() // activations after ReLU
	w := fixedpoint.Format{Width: 8, Signed: true}.Interval()  // weights, same scale
	d := x.Sub(w).Abs()                                        // |qx − qw|
	fmt.Println("|x-w| in", d)

	acc := fixedpoint.SumInterval(3*3*64, d).Neg()
	width, signed := acc.Width()
	fmt.Println("-sum in", acc, "width", width, "signed", signed)

	// The same with SumWidth, for 16 unsigned bytes.
	width, signed = fixedpoint.SumWidth(fixedpoint.Term{Count: 16, Range: fixedpoint.Interval{Lo: 0, Hi: 255}})
	fmt.Println("16 bytes: width", width, "signed", signed)
	// Output:
	// |x-w| in [0, 383]
	// -sum in [-220608, 0] width 19 signed true
	// 16 bytes: width 12 signed false
}
