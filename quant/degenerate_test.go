package quant_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/sim"
)

// degenerateCase is a small net with an adder layer (a1) whose input has a
// degenerate calibration range, and its calibration data.
type degenerateCase struct {
	name string
	spec string // the layers before a1, as spec JSON (may be empty)
	inC  int    // a1's input channels
	// prep sets the layers before a1 (weights of a1 are random).
	prep func(net *model.Net)
	x    dataset.Tensor
	// warn tells whether the quantizer must warn (the range is zero).
	warn bool
}

func degenerateCases(t *testing.T) []degenerateCase {
	const n = 6
	zeros := dataset.Tensor{Shape: []int{n, 2, 5, 5}, Data: make([]float64, n*2*25)}
	constant := dataset.Tensor{Shape: []int{n, 2, 5, 5}, Data: make([]float64, n*2*25)}
	for i := range constant.Data {
		constant.Data[i] = 0.37
	}
	rng := rand.New(rand.NewPCG(5, 6))
	uniform := dataset.Tensor{Shape: []int{n, 2, 5, 5}, Data: make([]float64, n*2*25)}
	for i := range uniform.Data {
		uniform.Data[i] = rng.Float64()
	}
	conv := `{"name": "c1", "op": "conv2d", "in": 2, "out": 3, "kernel": 1, "bias": true},`
	return []degenerateCase{
		{name: "zero input", inC: 2, x: zeros, warn: true},
		{name: "constant input", inC: 2, x: constant},
		{name: "dead relu", inC: 3, x: uniform, warn: true,
			spec: conv + `{"name": "relu1", "op": "relu"},`,
			prep: func(net *model.Net) {
				c := net.Layer("c1")
				for i := range c.W.Value.Data {
					c.W.Value.Data[i] = -0.5 // inputs are >= 0: the output is <= bias < 0
				}
				for i := range c.B.Value.Data {
					c.B.Value.Data[i] = -0.1
				}
			}},
		{name: "all-zero filter", inC: 3, x: uniform, warn: true,
			spec: conv,
			prep: func(net *model.Net) {
				c := net.Layer("c1")
				clear(c.W.Value.Data)
				clear(c.B.Value.Data)
			}},
		{name: "all-zero filter with bias (constant)", inC: 3, x: uniform,
			spec: conv,
			prep: func(net *model.Net) {
				c := net.Layer("c1")
				clear(c.W.Value.Data)
				for i := range c.B.Value.Data {
					c.B.Value.Data[i] = 0.2 * float64(i+1)
				}
			}},
	}
}

func (c degenerateCase) net(t *testing.T) *model.Net {
	t.Helper()
	spec := fmt.Sprintf(`{"name": "degenerate", "input": [2, 5, 5], "layers": [%s
		{"name": "a1", "op": "adder2d", "in": %d, "out": 8, "kernel": 3, "padding": 1},
		{"name": "flatten", "op": "flatten"}]}`, c.spec, c.inC)
	s, err := model.ParseSpec([]byte(spec), c.name)
	if err != nil {
		t.Fatal(err)
	}
	net, err := model.New(s, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	a := net.Layer("a1")
	wr := rand.New(rand.NewPCG(3, 4))
	for i := range a.W.Value.Data {
		a.W.Value.Data[i] = wr.NormFloat64() * 0.7
	}
	if c.prep != nil {
		c.prep(net)
	}
	return net
}

// TestDegenerateRangeErrorShrinksWithBits pins the rule for degenerate
// calibration ranges (zero input, constant input, a dead ReLU, an all-zero
// filter), with every calibration method: the error of the adder layer's
// output never grows as the operand width grows (4, 6, 8, 12, 16 bits),
// and at 16 bits it is far below that at 4 bits. A zero range gets a
// warning that names the layer. The same holds with every low-bit option
// on (non-power-of-two scales, output clipping, bias correction).
func TestDegenerateRangeErrorShrinksWithBits(t *testing.T) {
	bits := []int{4, 6, 8, 12, 16}
	for _, c := range degenerateCases(t) {
		net := c.net(t)
		for _, method := range []quant.Method{quant.MethodMax, quant.MethodPercentile, quant.MethodSearch, "lowbit"} {
			t.Run(c.name+"/"+string(method), func(t *testing.T) {
				errs := make([]float64, len(bits))
				for i, b := range bits {
					cfg := quant.DefaultConfig()
					cfg.Bits, cfg.OutputBits, cfg.Calibration = b, 20, method
					if method == "lowbit" {
						cfg.Calibration = quant.MethodSearch
						cfg.NonPow2Scales, cfg.OutputClip, cfg.BiasCorrection = true, true, true
					}
					q, err := quant.Quantize(net, c.x, cfg, c.name)
					if err != nil {
						t.Fatalf("%d bits: %v", b, err)
					}
					warned := false
					for _, w := range q.Calibration.Warnings {
						warned = warned || strings.Contains(w, "layer a1")
					}
					if warned != c.warn {
						t.Errorf("%d bits: warning naming a1 %v, want %v (warnings %q)", b, warned, c.warn, q.Calibration.Warnings)
					}
					cmp, err := sim.Compare(net, q, c.x, nil)
					if err != nil {
						t.Fatal(err)
					}
					for _, l := range cmp.Layers {
						if l.Name == "a1" {
							errs[i] = float64(l.RMSErr)
						}
					}
				}
				t.Logf("RMS error of a1 at bits %v: %.3g", bits, errs)
				for i := 1; i < len(bits); i++ {
					if errs[i] > errs[i-1] {
						t.Errorf("error grows from %d to %d bits: %.4g -> %.4g", bits[i-1], bits[i], errs[i-1], errs[i])
					}
				}
				// With bias correction a constant (zero) input's error is
				// cancelled exactly at any width: only the 20-bit output's
				// rounding (≈1e-5 here) is left, already at 4 bits.
				exact := method == "lowbit" && errs[0] < 1e-4
				if last := errs[len(errs)-1]; !(last < errs[0]/64 || last < 1e-6 || exact) {
					t.Errorf("error at 16 bits %.4g is not far below that at 4 bits %.4g", last, errs[0])
				}
			})
		}
	}
}

// TestDegenerateRangeFallbacks pins the two other fallbacks: a tensor read
// by no adder layer that is zero on every calibration sample covers
// magnitude 1 (not scale 1), and a percentile of zero on a sparse tensor
// that is not all zero falls back to its largest magnitude; both warn,
// naming the layer.
func TestDegenerateRangeFallbacks(t *testing.T) {
	t.Run("unit", func(t *testing.T) {
		c := degenerateCase{name: "dead output", x: degenerateCases(t)[2].x}
		s, err := model.ParseSpec([]byte(`{"name": "dead", "input": [2, 5, 5], "layers": [
			{"name": "c1", "op": "conv2d", "in": 2, "out": 3, "kernel": 1, "bias": true},
			{"name": "relu1", "op": "relu"}, {"name": "flatten", "op": "flatten"}]}`), c.name)
		if err != nil {
			t.Fatal(err)
		}
		net, err := model.New(s, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		cl := net.Layer("c1")
		for i := range cl.W.Value.Data {
			cl.W.Value.Data[i] = -0.5
		}
		for i := range cl.B.Value.Data {
			cl.B.Value.Data[i] = -0.1
		}
		for _, bits := range []int{8, 16} {
			cfg := quant.DefaultConfig()
			cfg.OutputBits = bits
			q, err := quant.Quantize(net, c.x, cfg, c.name)
			if err != nil {
				t.Fatal(err)
			}
			out := q.Output().Out
			if top := out.Decode(out.Max()); top < 1 || top >= 2 {
				t.Errorf("%d bits: a dead output covers [0, %v], want [0, 1] rounded up to a power-of-two scale", bits, top)
			}
			if len(q.Calibration.Warnings) != 1 || !strings.Contains(q.Calibration.Warnings[0], "layer c1") {
				t.Errorf("%d bits: warnings %q, want one naming layer c1", bits, q.Calibration.Warnings)
			}
		}
	})
	t.Run("sparse percentile", func(t *testing.T) {
		x := dataset.Tensor{Shape: []int{1000, 2, 5, 5}, Data: make([]float64, 1000*50)}
		x.Data[777] = 0.8
		net := degenerateCases(t)[0].net(t)
		cfg := quant.DefaultConfig()
		cfg.Calibration, cfg.Percentile = quant.MethodPercentile, 99.99
		q, err := quant.Quantize(net, x, cfg, "sparse")
		if err != nil {
			t.Fatal(err)
		}
		in := q.Input.Act
		if top := in.Decode(in.Max()); top < 0.8 || top >= 1.6 {
			t.Errorf("the input covers [0, %v], want the largest magnitude 0.8 rounded up to a power-of-two scale", top)
		}
		if len(q.Calibration.Warnings) != 1 || !strings.Contains(q.Calibration.Warnings[0], "layer a1") {
			t.Errorf("warnings %q, want one naming layer a1", q.Calibration.Warnings)
		}
	})
}
