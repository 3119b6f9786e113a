// Package quant is post-training quantization of a float AdderNet
// (model.Net) to addergen's integer IR (Model), the single source of truth
// for the bit-exact simulator (sim) and the RTL generator (rtl).
//
// [Quantize] fuses each conv2d/adder2d/linear with a following batchnorm2d
// and relu, calibrates activation scales on data ([MethodMax],
// [MethodPercentile], [MethodSearch]), and turns every layer into integer
// operations with explicit rounding and overflow modes:
//
//   - adder2d: input codes and weights share one scale (a power of two
//     unless Config.NonPow2Scales), so
//     |x − w| is exact on codes; weights outside the input code range are
//     clamped with an exact per-output-channel constant
//     ([ClampAdderWeight]); zero padding is code 0 and its term |0 − w| is
//     computed like any other.
//   - conv2d, linear: signed weight codes with a per-output-channel scale.
//   - the bias, batchnorm and ReLU fold into one rescale per output channel,
//     y = sat((acc·M + B + (1 << (sh−1))) >> sh) for half-up rounding: one
//     multiply per output value, none per term (with Config.NoMultipliers,
//     M is 0, ±2^p or ±(2^p ± 2^q)).
//   - add aligns both branches onto the finer of their scales (which differ
//     by an exact power of two) with exact left shifts, then rounds once onto the output scale; maxpool works on
//     codes; avgpool is a window sum and a rescale.
//
// Every accumulator's exact range is derived by interval arithmetic
// (fixedpoint.Interval) and stored with its register width; [Model.Validate]
// re-derives and checks them, so a loaded model cannot overflow its
// declared registers. The file format, with the integer formula of every
// op, is documented in FORMAT.md; [Load], [Parse], [IsQuantized],
// [Model.Save] and [Model.MarshalFile] read and write it.
//
// Low-bit options (Config.NonPow2Scales, Config.OutputClip,
// Config.BiasCorrection; lowbit.go) choose other scales and rescale
// constants for 4-6-bit operands without changing any integer formula.
// [DefaultConfig] has them off; `addergen quantize` turns them on, keeps
// the first conv, the classifier and the input at [EdgeBits]
// ([WithEdgeBits]) and runs the simulator-based steps of package
// quant/refine (sequential bias correction, per-layer bit allocation).
// Config.GroupScales (group-wise shared scales, opt-in) is the one that
// changes the formula: adder layers then read wider activations through
// per-group views ([Layer.Operand], [ViewCode]; format version 3).
//
// The float/integer boundaries are [Model.EncodeInput] (float inputs to
// codes) and [Act.Decode] (codes to real values, exact for power-of-two
// scales); sim.Infer combines them with the simulator.
package quant
