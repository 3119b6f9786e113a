package quant

import (
	"fmt"
	"math"
	"slices"

	"github.com/addergen/addergen/dataset"
)

// Encode returns the code of the real value x in format a:
// sat(round-half-even(x / Scale)). This is the float-to-integer boundary
// (the network input); for a power-of-two scale the division is exact.
// NaN is an error.
func (a Act) Encode(x float64) (code int32, saturated bool, err error) {
	if math.IsNaN(x) {
		return 0, false, fmt.Errorf("quant: NaN has no code")
	}
	var v float64
	if e, ok := a.Exp(); ok {
		v = math.Ldexp(x, -e)
	} else {
		v = x / a.Scale
	}
	r := math.RoundToEven(v)
	lo, hi := float64(a.Min()), float64(a.Max())
	switch {
	case r < lo:
		return int32(a.Min()), true, nil
	case r > hi:
		return int32(a.Max()), true, nil
	}
	return int32(r), false, nil
}

// Decode returns the real value of a code: code·Scale (exact in float64
// for a power-of-two scale).
func (a Act) Decode(code int64) float64 {
	if e, ok := a.Exp(); ok {
		return math.Ldexp(float64(code), e)
	}
	return float64(code) * a.Scale
}

// EncodeInput converts a batch of float inputs [N, C, H, W] (values as the
// float net expects them) to input codes, returning the codes in the same
// layout and the number of values that saturated.
func (m *Model) EncodeInput(x dataset.Tensor) ([]int32, int, error) {
	if len(x.Shape) != 4 || !slices.Equal(x.Shape[1:], m.Input.Shape) {
		return nil, 0, fmt.Errorf("quant: input has shape %v, want [N %d %d %d]", x.Shape, m.Input.Shape[0], m.Input.Shape[1], m.Input.Shape[2])
	}
	if len(x.Data) != x.Shape[0]*numel(m.Input.Shape) {
		return nil, 0, fmt.Errorf("quant: input shape %v but %d values", x.Shape, len(x.Data))
	}
	codes := make([]int32, len(x.Data))
	sat := 0
	for i, v := range x.Data {
		c, s, err := m.Input.Encode(v)
		if err != nil {
			return nil, 0, fmt.Errorf("quant: input value %d: %w", i, err)
		}
		codes[i] = c
		if s {
			sat++
		}
	}
	return codes, sat, nil
}
