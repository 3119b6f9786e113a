package testbench

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/sim"
)

// engineCases are small networks that put every engine through unusual
// shapes: non-square maps, stride 2 with and without padding, 2x2 windows,
// overlapping max pooling, streaming max pooling in floor mode, average
// pooling, signed inputs, a residual add
// with an identity shortcut, groups that do not divide the channels.
var engineCases = []struct {
	name   string
	signed bool // signed network input
	spec   string
	pre    *model.Preprocess // folded into the first conv: raw pixels in
}{
	{"adder_s2p1_pool_s1", false, `{"name": "e1", "input": [3, 9, 9], "layers": [
		{"name": "a1", "op": "adder2d", "in": 3, "out": 5, "kernel": 3, "stride": 2, "padding": 1},
		{"name": "bn1", "op": "batchnorm2d", "channels": 5},
		{"name": "r1", "op": "relu"},
		{"name": "p1", "op": "maxpool2d", "kernel": 2, "stride": 1},
		{"name": "c2", "op": "conv2d", "in": 5, "out": 4, "kernel": 4},
		{"name": "bn2", "op": "batchnorm2d", "channels": 4},
		{"name": "f", "op": "flatten"}]}`, nil},
	{"conv_signed_adder_k2s2_avg", true, `{"name": "e2", "input": [2, 6, 6], "layers": [
		{"name": "c1", "op": "conv2d", "in": 2, "out": 3, "kernel": 3, "padding": 1},
		{"name": "bn1", "op": "batchnorm2d", "channels": 3},
		{"name": "r1", "op": "relu"},
		{"name": "a2", "op": "adder2d", "in": 3, "out": 7, "kernel": 2, "stride": 2},
		{"name": "bn2", "op": "batchnorm2d", "channels": 7},
		{"name": "r2", "op": "relu"},
		{"name": "avg", "op": "avgpool2d", "kernel": 3},
		{"name": "f", "op": "flatten"}]}`, nil},
	// Every template branch at once (the rtl package's golden network):
	// constant-weight conv, SIMD folding, one-row rescales, a residual add,
	// streaming and overlapping max pooling, average pooling, a linear
	// classifier.
	{"golden_all_kinds", false, `{"name": "e4", "input": [2, 6, 6], "layers": [
		{"name": "c1", "op": "conv2d", "in": 2, "out": 4, "kernel": 3, "padding": 1},
		{"name": "bn1", "op": "batchnorm2d", "channels": 4},
		{"name": "r1", "op": "relu"},
		{"name": "a2", "op": "adder2d", "in": 4, "out": 4, "kernel": 3, "padding": 1},
		{"name": "bn2", "op": "batchnorm2d", "channels": 4},
		{"name": "add", "op": "add", "inputs": ["bn2", "r1"]},
		{"name": "r2", "op": "relu"},
		{"name": "p2", "op": "maxpool2d", "kernel": 2},
		{"name": "a3", "op": "adder2d", "in": 4, "out": 6, "kernel": 3, "padding": 1},
		{"name": "bn3", "op": "batchnorm2d", "channels": 6},
		{"name": "p3", "op": "maxpool2d", "kernel": 2, "stride": 1},
		{"name": "avg", "op": "avgpool2d", "kernel": 2},
		{"name": "f", "op": "flatten"},
		{"name": "fc", "op": "linear", "in": 6, "out": 3}]}`, nil},
	// Streaming max pools (stride = kernel) over signed codes, with rows
	// and columns past the last whole window (floor mode): 3x3 on 8x7
	// drops two rows and a column; then 2x2 on 4x4, and 2x2 on 2x2 (one
	// output column).
	{"pool_stream_floor_signed", true, `{"name": "e5", "input": [3, 8, 7], "layers": [
		{"name": "p1", "op": "maxpool2d", "kernel": 3},
		{"name": "c2", "op": "conv2d", "in": 3, "out": 4, "kernel": 3, "padding": 2},
		{"name": "bn2", "op": "batchnorm2d", "channels": 4},
		{"name": "r2", "op": "relu"},
		{"name": "p2", "op": "maxpool2d", "kernel": 2},
		{"name": "p3", "op": "maxpool2d", "kernel": 2},
		{"name": "a4", "op": "adder2d", "in": 4, "out": 3, "kernel": 1},
		{"name": "bn4", "op": "batchnorm2d", "channels": 3},
		{"name": "f", "op": "flatten"}]}`, nil},
	// Raw pixels: a normalising preprocessing folded into c1, whose
	// padding reads the mean pixel's code per channel (three channels:
	// SIMD 1 folds them with a pad code per fold), then a stride-2
	// adder with padding 2 on ordinary codes.
	{"raw_pixels_pad_codes", false, `{"name": "e6", "input": [3, 7, 6], "layers": [
		{"name": "c1", "op": "conv2d", "in": 3, "out": 4, "kernel": 3, "padding": 1},
		{"name": "bn1", "op": "batchnorm2d", "channels": 4},
		{"name": "r1", "op": "relu"},
		{"name": "a2", "op": "adder2d", "in": 4, "out": 5, "kernel": 3, "stride": 2, "padding": 2},
		{"name": "bn2", "op": "batchnorm2d", "channels": 5},
		{"name": "avg", "op": "avgpool2d", "kernel": 4},
		{"name": "f", "op": "flatten"}]}`, &model.Preprocess{Scale: 255, Mean: []float64{0.49, 0.48, 0.45}, Std: []float64{0.25, 0.24, 0.26}}},
	{"residual_identity", false, `{"name": "e3", "input": [4, 5, 5], "layers": [
		{"name": "c1", "op": "conv2d", "in": 4, "out": 4, "kernel": 3, "padding": 1},
		{"name": "bn1", "op": "batchnorm2d", "channels": 4},
		{"name": "r1", "op": "relu"},
		{"name": "a2", "op": "adder2d", "in": 4, "out": 4, "kernel": 3, "padding": 1},
		{"name": "bn2", "op": "batchnorm2d", "channels": 4},
		{"name": "add", "op": "add", "inputs": ["bn2", "r1"]},
		{"name": "r2", "op": "relu"},
		{"name": "a3", "op": "adder2d", "in": 4, "out": 6, "kernel": 5},
		{"name": "bn3", "op": "batchnorm2d", "channels": 6},
		{"name": "f", "op": "flatten"}]}`, nil},
}

// engineNet builds a case with random weights and random BN statistics and
// quantizes it at the given bits.
func engineNet(t *testing.T, spec string, signed bool, bits int, seed uint64, noMult ...bool) (*quant.Model, sim.Codes) {
	return engineNetPre(t, spec, signed, nil, bits, seed, noMult...)
}

// engineNetPre is engineNet with the preprocessing pre (nil: none) folded
// into the first conv: the inputs are raw pixels 0..255.
func engineNetPre(t *testing.T, spec string, signed bool, pre *model.Preprocess, bits int, seed uint64, noMult ...bool) (*quant.Model, sim.Codes) {
	t.Helper()
	return engineNetCfg(t, spec, signed, pre, bits, seed, func(c *quant.Config) {
		c.NoMultipliers = len(noMult) > 0 && noMult[0]
	})
}

// engineNetCfg is engineNetPre with the quantizer's config changed by mod
// (after Bits is set).
func engineNetCfg(t *testing.T, spec string, signed bool, pre *model.Preprocess, bits int, seed uint64, mod func(*quant.Config)) (*quant.Model, sim.Codes) {
	t.Helper()
	s, err := model.ParseSpec([]byte(spec), "engine case")
	if err != nil {
		t.Fatal(err)
	}
	s.Preprocess = pre
	rng := rand.New(rand.NewPCG(seed, 9))
	net, err := model.New(s, rng)
	if err != nil {
		t.Fatal(err)
	}
	if pre != nil {
		if net, err = net.FoldPreprocess(); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range net.Layers {
		if l.Op == model.OpBatchNorm2d {
			for i := range l.Mean.Value.Data {
				l.Mean.Value.Data[i] = rng.NormFloat64()
				l.Var.Value.Data[i] = 0.5 + rng.Float64()
				l.W.Value.Data[i] = 0.5 + rng.Float64()
				l.B.Value.Data[i] = rng.NormFloat64() * 0.3
			}
		}
	}
	// Centre each BN on its layer's actual statistics so activations are
	// spread over the codes rather than all clipped.
	sample := func(n int) dataset.Tensor {
		c, h, w := s.Input[0], s.Input[1], s.Input[2]
		x := dataset.Tensor{Shape: []int{n, c, h, w}, Data: make([]float64, n*c*h*w)}
		for i := range x.Data {
			if pre != nil {
				x.Data[i] = float64(rng.IntN(256))
			} else if signed {
				x.Data[i] = rng.NormFloat64()
			} else {
				x.Data[i] = rng.Float64()
			}
		}
		return x
	}
	calib := sample(32)
	outs, err := net.ForwardAll(calib)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range net.Layers {
		if l.Op != model.OpBatchNorm2d {
			continue
		}
		in := outs[l.InputIndex()[0]]
		C := l.OutC
		per := len(in.Data) / in.Shape[0] / C
		for c := 0; c < C; c++ {
			var sum, sq float64
			n := 0
			for b := 0; b < in.Shape[0]; b++ {
				for k := 0; k < per; k++ {
					v := in.Data[(b*C+c)*per+k]
					sum += v
					sq += v * v
					n++
				}
			}
			mean := sum / float64(n)
			l.Mean.Value.Data[c] = mean
			l.Var.Value.Data[c] = max(sq/float64(n)-mean*mean, 0.01*mean*mean+0.01)
		}
	}
	cfg := quant.DefaultConfig()
	cfg.Bits = bits
	mod(&cfg)
	q, err := quant.Quantize(net, calib, cfg, "engine case")
	if err != nil {
		t.Fatal(err)
	}
	if pre != nil && q.Layers[0].PadCode == nil {
		t.Fatal("the folded first conv has no pad codes")
	}
	x := sample(2)
	codes, _, err := q.EncodeInput(x)
	if err != nil {
		t.Fatal(err)
	}
	return q, sim.Codes{Shape: append([]int{2}, q.Input.Shape...), Data: codes}
}

// TestEngineSweep runs every engine case at several widths and degrees of
// parallelism through the RTL and compares every layer with the simulator.
func TestEngineSweep(t *testing.T) {
	for _, s := range Simulators {
		t.Run(s, func(t *testing.T) {
			testutil.RequireTools(t, map[string][]string{Icarus: {"iverilog", "vvp"}, Verilator: {"verilator"}}[s]...)
			for ci, c := range engineCases {
				// lanes: 0 is one window position per cycle; 2 folds the input
				// channels (SIMD 2 or 1); 7 rounds down to 1..3 positions by the
				// layer's channels (windows of 4, 9 and 25 positions folded in
				// uneven steps) or folds channels above 7; 4096 is the whole
				// window (balanced: constant-weight convs, one-row rescales).
				for _, v := range []struct{ bits, par, lanes int }{{4, 1, 0}, {5, 2, 2}, {6, 3, 7}, {8, 8, 4096}} {
					if s == Verilator && v.par != 3 { // one Verilator build per case keeps the suite short
						continue
					}
					t.Run(fmt.Sprintf("%s/bits%d/par%d/lanes%d", c.name, v.bits, v.par, v.lanes), func(t *testing.T) {
						// The lanes-2 point is quantized without multipliers: its
						// rescales are two-term shift-adds.
						q, in := engineNetPre(t, c.spec, c.signed, c.pre, v.bits, uint64(ci*10+v.bits), v.lanes == 2)
						// The whole-window case is balanced too (engines off the
						// critical pair get fewer PEs and positions).
						hw := rtl.NetConfig{Parallel: v.par, Lanes: v.lanes, Balance: v.lanes == 4096}
						res := runNetCase(t, s, q, in, hw, NetRunOptions{Idle: 0.3, Stall: 0.3, Seed: uint64(v.par)})
						if res.Values == 0 {
							t.Fatal("nothing compared")
						}
					})
				}
			}
		})
	}
}

// TestNetRuntimeWeights: with runtime weights the memories start empty and
// are loaded over s_axis_w (the stream rtl.Net.WeightStream packs, sent
// with idle cycles while images already wait); every layer must then
// equal the simulator, bit for bit, as with ROM weights, in both
// simulators. The case has every memory kind (weight ROMs, constants, m
// and b, a constant-weight conv made a memory) and words of 1 to 3 beats.
func TestNetRuntimeWeights(t *testing.T) {
	c := engineCases[2] // golden_all_kinds
	for _, s := range Simulators {
		t.Run(s, func(t *testing.T) {
			testutil.RequireTools(t, map[string][]string{Icarus: {"iverilog", "vvp"}, Verilator: {"verilator"}}[s]...)
			// The second point first abandons a load after 5 beats (tlast
			// early): the loader must drop it and take the next load whole.
			for _, v := range []struct{ bits, par, lanes, abort int }{{8, 2, 2, 0}, {6, 4, 36, 5}} {
				t.Run(fmt.Sprintf("bits%d/par%d/lanes%d/abort%d", v.bits, v.par, v.lanes, v.abort), func(t *testing.T) {
					q, in := engineNet(t, c.spec, c.signed, v.bits, uint64(v.bits))
					hw := rtl.NetConfig{Parallel: v.par, Lanes: v.lanes, WeightsMode: rtl.WeightsRuntime}
					res := runNetCase(t, s, q, in, hw, NetRunOptions{Idle: 0.3, Stall: 0.3, Seed: uint64(v.par), WeightAbort: v.abort})
					if res.Values == 0 {
						t.Fatal("nothing compared")
					}
				})
			}
			// Runtime weights beside the pad codes of a folded preprocessing.
			raw := engineCases[4]
			if raw.pre == nil {
				t.Fatalf("engine case %s has no preprocessing", raw.name)
			}
			t.Run(raw.name, func(t *testing.T) {
				q, in := engineNetPre(t, raw.spec, raw.signed, raw.pre, 8, 3)
				hw := rtl.NetConfig{Parallel: 3, Lanes: 7, WeightsMode: rtl.WeightsRuntime}
				if res := runNetCase(t, s, q, in, hw, NetRunOptions{Idle: 0.2, Stall: 0.2, Seed: 5, WeightAbort: 2}); res.Values == 0 {
					t.Fatal("nothing compared")
				}
			})
		})
	}
}

// TestEngineGroupScales: adder layers with group-wise shared scales read
// 6-bit codes and compute on 4-bit views, one per group (rounded by the
// group's shift and saturated); every layer must equal the simulator bit
// for bit, in both simulators, with the views folded by SIMD, unrolled
// over window positions, and loaded at run time.
func TestEngineGroupScales(t *testing.T) {
	for _, s := range Simulators {
		t.Run(s, func(t *testing.T) {
			testutil.RequireTools(t, map[string][]string{Icarus: {"iverilog", "vvp"}, Verilator: {"verilator"}}[s]...)
			for _, ci := range []int{2, 5} { // golden_all_kinds, residual_identity
				c := engineCases[ci]
				for _, v := range []struct {
					par, lanes int
					runtime    bool
				}{{1, 0, false}, {3, 2, false}, {2, 9, true}} {
					if s == Verilator && v.par != 3 {
						continue
					}
					t.Run(fmt.Sprintf("%s/par%d/lanes%d/runtime%v", c.name, v.par, v.lanes, v.runtime), func(t *testing.T) {
						q, in := engineNetCfg(t, c.spec, c.signed, c.pre, 4, uint64(ci+40), func(cfg *quant.Config) {
							cfg.GroupScales, cfg.OutputClip, cfg.BiasCorrection = 3, true, true
						})
						// Three groups per adder layer, whatever the search
						// chose, so that every view and the select run.
						grouped := 0
						for _, l := range q.Layers {
							if l.OperandBits != 4 || l.GroupShift == nil {
								continue
							}
							for o := range l.GroupShift {
								l.GroupShift[o] = (o + ci) % 3
							}
							if err := q.AdjustB(l.Name, make([]int64, len(l.GroupShift))); err != nil {
								t.Fatal(err)
							}
							grouped++
						}
						if grouped == 0 {
							t.Fatal("no adder layer has 4-bit operand views")
						}
						hw := rtl.NetConfig{Parallel: v.par, Lanes: v.lanes}
						if v.runtime {
							hw.WeightsMode = rtl.WeightsRuntime
						}
						res := runNetCase(t, s, q, in, hw, NetRunOptions{Idle: 0.3, Stall: 0.3, Seed: uint64(v.par)})
						if res.Values == 0 {
							t.Fatal("nothing compared")
						}
					})
				}
			}
		})
	}
}
