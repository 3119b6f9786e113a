// Package fixedpoint is the numeric foundation of addergen: exact integer
// and fixed-point arithmetic shared by the quantizer, the bit-accurate
// simulator and the RTL generator. Every function is exact: results are the
// mathematically defined value, or a panic, never a silently wrong number.
//
// # Numeric conventions
//
// Hardware arithmetic is integer. A fixed-point number is an integer code q
// held in a register of Width bits (two's complement when signed); its real
// value is
//
//	value = q · 2^-Frac
//
// as described by [Format]. Frac may be negative (coarse steps, value =
// q·2^|Frac|) or larger than Width (every representable value is below 1 in
// magnitude).
//
// Every place where bits are dropped is explicit and named. Dropping
// low-order bits is a rounding, selected by a [Rounding] mode; dropping
// high-order bits is an overflow, handled by an [Overflow] mode. Rounding
// mode and overflow mode are part of the quantized model: they are stored
// with it, and the simulator and the generated RTL must apply the same modes
// bit for bit. No function in this package rounds, saturates or wraps unless
// it is given the mode to use.
//
// The default rescale from an accumulator to an output code is
//
//	y = sat((acc·M + B + (1<<(sh-1))) >> sh)
//
// where >> is an arithmetic (sign-propagating, flooring) shift and sat
// saturates to the output format. Adding half an output step before the
// flooring shift rounds to nearest with ties toward +∞ ([HalfUp]): -2.5
// becomes -2, unlike [math.Round]. When sh == 0 there is no rounding term.
// [RescaleHalfUp] computes the bracketed expression exactly, [Rescale] does
// the same for any rounding mode, and [Format.Fit] or [SaturateTo] applies
// sat.
//
// Activations after ReLU are unsigned codes. An adder layer's input and its
// weights share one scale s, so that |x−w| = s·|qx−qw|: the L1 distance is
// computed exactly on integer codes and the scale is applied once, in the
// rescale.
//
// Accumulators are sized by interval arithmetic so they never overflow. An
// [Interval] is an exact closed range of integers; [Interval.Width] and
// [SumWidth] give the narrowest register that holds every value the
// computation can produce. Interval operations panic on int64 overflow
// instead of wrapping.
//
// # Rounding
//
// The rounding modes act on the exact rational value x:
//
//	HalfEven    nearest integer, ties to the even neighbour
//	HalfUp      floor(x + 1/2): nearest, ties toward +∞
//	Floor       floor(x): toward -∞ (what an arithmetic right shift does)
//	TowardZero  truncation toward zero
//
// For example, [RoundShiftRight](-5, 1, r), the rounding of -2.5, is -2 for
// HalfEven, -2 for HalfUp, -3 for Floor and -2 for TowardZero.
//
// # Widths
//
// A signed width w holds [-2^(w-1), 2^(w-1)-1]; an unsigned width w holds
// [0, 2^w-1]. The integer helpers ([SaturateTo], [WrapTo]) accept signed
// widths 1..64 and unsigned widths 1..63, so that every range fits in an
// int64. A [Format] is narrower, Width 1..[MaxWidth], so that the sum or
// difference of two codes never overflows an int64. A signed width of 1 is
// legal and holds -1 and 0. Width inference ([UnsignedWidth], [SignedWidth],
// [Interval.Width], [SumWidth]) returns at least 1.
//
// # Errors and panics
//
// Bad input data returns an error: NaN passed to [Format.FromFloat],
// infinities that are to be wrapped, and malformed text passed to the Parse
// functions. Programmer errors panic with a message prefixed "fixedpoint: ":
// an invalid Format (see [Format.Validate]), an unknown Rounding or Overflow
// value, a width out of range, an Interval with Lo > Hi, a code outside its
// format, and any int64 overflow in interval or rescale arithmetic.
package fixedpoint
