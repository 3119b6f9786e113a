package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/fixedpoint"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/quant/quanttest"
)

// refRun is a naive interpreter of the integer IR written directly from
// quant/FORMAT.md, independent of the simulator's kernels: int64
// everywhere, fixedpoint for rounding and saturation.
func refRun(q *quant.Model, x []int64) [][]int64 {
	outs := make([][]int64, len(q.Layers))
	get := func(l *quant.Layer, k int) []int64 {
		j := l.InputIndex()[k]
		if j < 0 {
			return x
		}
		return outs[j]
	}
	for li, l := range q.Layers {
		in := get(l, 0)
		inShape := q.InShape(l, 0)
		out := make([]int64, numelRef(l.OutShape))
		sat := func(v int64) int64 {
			c, _ := l.Out.Interval().Width()
			_ = c
			if l.Rescale.Overflow == fixedpoint.Wrap {
				return fixedpoint.WrapTo(v, l.Out.Bits, l.Out.Signed)
			}
			r, _ := fixedpoint.SaturateTo(v, l.Out.Bits, l.Out.Signed)
			return r
		}
		rescale := func(acc int64, c int) int64 {
			rs := l.Rescale
			return sat(fixedpoint.Rescale(acc, rs.M[c], rs.B[c], uint(rs.Shift), rs.Rounding))
		}
		switch l.Op {
		case quant.OpConv2d, quant.OpAdder2d:
			C, H, W := inShape[0], inShape[1], inShape[2]
			O, OH, OW := l.OutShape[0], l.OutShape[1], l.OutShape[2]
			K, S, P := l.Kernel, l.Stride, l.Padding
			for o := range O {
				for oh := range OH {
					for ow := range OW {
						var acc int64
						for c := range C {
							for i := range K {
								for j := range K {
									ih, iw := oh*S-P+i, ow*S-P+j
									var xv int64
									if l.PadCode != nil {
										xv = l.PadCode[c]
									}
									if ih >= 0 && ih < H && iw >= 0 && iw < W {
										xv = in[(c*H+ih)*W+iw]
									}
									w := l.Weight.Data[((o*C+c)*K+i)*K+j]
									if l.Op == quant.OpAdder2d {
										if l.Grouped() {
											xv = quant.ViewCode(xv, l.Shift(o), l.Operand(q.InAct(l, 0), o))
										}
										acc += max(xv-w, w-xv)
									} else {
										acc += xv * w
									}
								}
							}
						}
						if l.Op == quant.OpAdder2d {
							acc += l.WeightConst[o]
						}
						out[(o*OH+oh)*OW+ow] = rescale(acc, o)
					}
				}
			}
		case quant.OpLinear:
			I := inShape[0]
			for o := range l.OutShape[0] {
				var acc int64
				for i := range I {
					acc += in[i] * l.Weight.Data[o*I+i]
				}
				out[o] = rescale(acc, o)
			}
		case quant.OpBatchNorm2d:
			hw := len(in) / inShape[0]
			for i, v := range in {
				out[i] = rescale(v, i/hw)
			}
		case quant.OpAdd:
			b := get(l, 1)
			for i := range out {
				acc := in[i]<<l.Align[0] + b[i]<<l.Align[1]
				out[i] = sat(fixedpoint.RoundShiftRight(acc, uint(l.Rescale.Shift), l.Rescale.Rounding))
			}
		case quant.OpReLU:
			for i, v := range in {
				out[i] = max(v, 0)
			}
		case quant.OpFlatten:
			copy(out, in)
		case quant.OpMaxPool2d, quant.OpAvgPool2d:
			C, H, W := inShape[0], inShape[1], inShape[2]
			OH, OW := l.OutShape[1], l.OutShape[2]
			K, S := l.Kernel, l.Stride
			for c := range C {
				for oh := range OH {
					for ow := range OW {
						var acc int64
						first := true
						for i := range K {
							for j := range K {
								v := in[(c*H+oh*S+i)*W+ow*S+j]
								if l.Op == quant.OpAvgPool2d {
									acc += v
								} else if first || v > acc {
									acc, first = v, false
								}
							}
						}
						if l.Op == quant.OpAvgPool2d {
							acc = rescale(acc, c)
						}
						out[(c*OH+oh)*OW+ow] = acc
					}
				}
			}
		default:
			panic(fmt.Sprintf("layer %d: op %s", li, l.Op))
		}
		outs[li] = out
	}
	return outs
}

func numelRef(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// testModel is a quantized model built for tests.
type testModel struct {
	name string
	net  *model.Net
	q    *quant.Model
	x    dataset.Tensor // calibration / evaluation data
}

var (
	modelsOnce sync.Once
	models     []testModel
	modelsErr  error
)

// testModels quantizes small random nets under a spread of configurations.
func testModels(t testing.TB) []testModel {
	t.Helper()
	modelsOnce.Do(func() {
		modelsErr = func() error {
			tinySpec, err := model.LoadSpec("../model/testdata/tiny.json")
			if err != nil {
				return err
			}
			lenetSpec, err := model.BuiltinSpec("lenet5-adder")
			if err != nil {
				return err
			}
			tinyX := quanttest.Uniform(tinySpec.Input, 48, -1, 1, 1)
			lenetX := quanttest.Digits(48, 2)
			tiny, err := quanttest.RandomNet(tinySpec, tinyX, 1.5, 3)
			if err != nil {
				return err
			}
			lenet, err := quanttest.RandomNet(lenetSpec, lenetX, 0.8, 4)
			if err != nil {
				return err
			}
			cfgs := []struct {
				name string
				mod  func(*quant.Config)
			}{
				{"8b", func(c *quant.Config) {}},
				{"4b-nomult-halfeven", func(c *quant.Config) {
					c.Bits, c.NoMultipliers, c.Rounding = 4, true, fixedpoint.HalfEven
				}},
				{"mixed-floor-max", func(c *quant.Config) {
					c.Bits, c.Rounding, c.Calibration = 3, fixedpoint.Floor, quant.MethodMax
					c.LayerBits = map[string]int{"conv2": 5, "block.bn2": 6, "input": 7}
				}},
				{"16b-towardzero-pct", func(c *quant.Config) {
					c.Bits, c.Rounding, c.Calibration, c.OutputBits = 16, fixedpoint.TowardZero, quant.MethodPercentile, 24
				}},
			}
			for _, nt := range []struct {
				name string
				net  *model.Net
				x    dataset.Tensor
			}{{"tiny", tiny, tinyX}, {"lenet", lenet, lenetX}} {
				for _, c := range cfgs {
					cfg := quant.DefaultConfig()
					c.mod(&cfg)
					// Keep only the overrides that name layers of this net.
					for k := range cfg.LayerBits {
						if k != quant.InputName && nt.net.Layer(k) == nil {
							delete(cfg.LayerBits, k)
						}
					}
					q, err := quant.Quantize(nt.net, nt.x, cfg, "test")
					if err != nil {
						return fmt.Errorf("%s %s: %w", nt.name, c.name, err)
					}
					models = append(models, testModel{nt.name + "/" + c.name, nt.net, q, nt.x})
				}
			}
			// The tiny net behind a normalising preprocessing, folded into
			// conv1 (padding 1): raw pixels in, conv1 pads with the mean
			// pixel's code.
			spec := *tiny.Spec
			spec.Preprocess = &model.Preprocess{Scale: 255, Mean: []float64{0.4, 0.5, 0.6}, Std: []float64{0.2, 0.25, 0.3}}
			norm := *tiny
			norm.Spec = &spec
			raw, err := norm.FoldPreprocess()
			if err != nil {
				return err
			}
			rawX := quanttest.Uniform(tinySpec.Input, 48, 0, 256, 5)
			for i, v := range rawX.Data {
				rawX.Data[i] = math.Floor(v)
			}
			q, err := quant.Quantize(raw, rawX, quant.DefaultConfig(), "test")
			if err != nil {
				return fmt.Errorf("tiny raw: %w", err)
			}
			if q.Layer("conv1").PadCode == nil || q.Version != 2 {
				return fmt.Errorf("tiny raw: conv1 pad code %v, version %d", q.Layer("conv1").PadCode, q.Version)
			}
			models = append(models, testModel{"tiny/raw-pixels", raw, q, rawX})
			// Group-wise shared scales at 4 bits, on nets whose adder
			// channels' weight ranges differ by up to 8×.
			for _, nt := range []struct {
				name string
				spec *model.Spec
				x    dataset.Tensor
				std  float64
			}{{"tiny", tinySpec, tinyX, 1.5}, {"lenet", lenetSpec, lenetX, 0.8}} {
				net, err := quanttest.SpreadNet(nt.spec, nt.x, nt.std, 6)
				if err != nil {
					return err
				}
				cfg := quant.DefaultConfig()
				cfg.Bits, cfg.GroupScales = 4, 4
				cfg.OutputClip, cfg.BiasCorrection = true, true
				q, err := quant.Quantize(net, nt.x, cfg, "test")
				if err != nil {
					return fmt.Errorf("%s groups: %w", nt.name, err)
				}
				// The search gives every channel the same shift on
				// these nets; give the channels of each adder layer three
				// different shifts (still a valid model: the weights lie
				// in the operand range, AdjustB re-derives the ranges) so
				// that every view is exercised.
				grouped := 0
				for _, l := range q.Layers {
					if l.OperandBits != 4 || l.GroupShift == nil {
						continue
					}
					for o := range l.GroupShift {
						l.GroupShift[o] = o % 3
					}
					if err := q.AdjustB(l.Name, make([]int64, len(l.GroupShift))); err != nil {
						return fmt.Errorf("%s groups: %w", nt.name, err)
					}
					grouped++
				}
				if grouped == 0 || q.Version != 3 {
					return fmt.Errorf("%s groups: no adder layer with 4-bit operand views (version %d)", nt.name, q.Version)
				}
				models = append(models, testModel{nt.name + "/4b-groups", net, q, nt.x})
			}
			return nil
		}()
	})
	if modelsErr != nil {
		t.Fatal(modelsErr)
	}
	return models
}

// randomCodes returns n samples of input codes: uniform, plus all-min and
// all-max samples first.
func randomCodes(q *quant.Model, n int, seed uint64) Codes {
	rng := rand.New(rand.NewPCG(seed, 5))
	size := numel(q.Input.Shape)
	c := Codes{Shape: append([]int{n}, q.Input.Shape...), Data: make([]int32, n*size)}
	lo, hi := q.Input.Min(), q.Input.Max()
	for i := range c.Data {
		switch i / size {
		case 0:
			c.Data[i] = int32(lo)
		case 1:
			c.Data[i] = int32(hi)
		default:
			c.Data[i] = int32(lo + rng.Int64N(hi-lo+1))
		}
	}
	return c
}

func TestRunNetMatchesReference(t *testing.T) {
	for _, tm := range testModels(t) {
		t.Run(tm.name, func(t *testing.T) {
			in := randomCodes(tm.q, 6, 9)
			res, err := RunNet(tm.q, in, NetOptions{KeepAll: true})
			if err != nil {
				t.Fatal(err)
			}
			for img := range in.Shape[0] {
				x := make([]int64, numel(in.Shape[1:]))
				for i, v := range in.Sample(img) {
					x[i] = int64(v)
				}
				want := refRun(tm.q, x)
				for li, l := range tm.q.Layers {
					got := res.Layers[li].Sample(img)
					for i := range got {
						if int64(got[i]) != want[li][i] {
							t.Fatalf("image %d layer %s (%s) value %d: sim %d, reference %d", img, l.Name, l.Op, i, got[i], want[li][i])
						}
					}
				}
			}
			if !slices.Equal(res.Output.Data, res.Layers[len(res.Layers)-1].Data) {
				t.Error("Output differs from the last layer")
			}
		})
	}
}

func TestRunNetDeterministic(t *testing.T) {
	tm := testModels(t)[4]
	in := randomCodes(tm.q, 9, 3)
	a, err := RunNet(tm.q, in, NetOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := RunNet(tm.q, in, NetOptions{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Output.Data, b.Output.Data) || !reflect.DeepEqual(a.Stats, b.Stats) {
		t.Error("results depend on the number of workers")
	}
}

func TestRunNetBadInput(t *testing.T) {
	q := testModels(t)[0].q
	in := randomCodes(q, 1, 1)
	in.Data[3] = int32(q.Input.Max() + 1)
	if _, err := RunNet(q, in, NetOptions{}); err == nil {
		t.Error("code outside the input format accepted")
	}
	if _, err := RunNet(q, Codes{Shape: []int{1, 2, 3, 4}, Data: make([]int32, 24)}, NetOptions{}); err == nil {
		t.Error("wrong shape accepted")
	}
}

// within fails the test unless every observed intermediate lies inside the
// declared range (and so in its declared register width).
func within(t *testing.T, what string, obs Observed, r *quant.Range) {
	t.Helper()
	if !obs.Seen {
		return
	}
	if r == nil {
		t.Errorf("%s: observed [%d, %d] but no declared range", what, obs.Lo, obs.Hi)
		return
	}
	lo, hi := r.Lo, r.Hi
	if obs.Lo < lo || obs.Hi > hi {
		t.Errorf("%s: observed [%d, %d] outside declared [%d, %d]", what, obs.Lo, obs.Hi, lo, hi)
	}
	if w, s := (fixedpoint.Interval{Lo: obs.Lo, Hi: obs.Hi}).Width(); w > r.Width || (s && !r.Signed) {
		t.Errorf("%s: observed values need %d bits (signed %v), declared %d (signed %v)", what, w, s, r.Width, r.Signed)
	}
	if fw, fs := r.Interval().Width(); fw != r.Width || fs != r.Signed {
		t.Errorf("%s: declared width %d/%v, but [%d, %d] needs %d/%v", what, r.Width, r.Signed, lo, hi, fw, fs)
	}
}

func checkStats(t *testing.T, l *quant.Layer, st LayerStats) {
	t.Helper()
	within(t, l.Name+" l1", st.L1, l.Ranges.L1)
	within(t, l.Name+" acc", st.Acc, l.Ranges.Acc)
	within(t, l.Name+" product", st.Product, l.Ranges.Product)
	within(t, l.Name+" shifted", st.Shifted, l.Ranges.Shifted)
}

// extremeInputs returns, for a layer, inputs that drive its accumulator to
// the ends of its declared range: all-min and all-max codes, and for conv
// and adder layers, for each output channel, the input that maximises and
// the one that minimises that channel's sum at an interior output position.
// interior reports whether such a position exists (then the declared
// bounds must be attained exactly).
func extremeInputs(q *quant.Model, l *quant.Layer) (ins [][][]int32, interior bool) {
	fill := func(k int, v int64) []int32 {
		s := make([]int32, numel(q.InShape(l, k)))
		for i := range s {
			s[i] = int32(v)
		}
		return s
	}
	for _, pick := range []func(quant.Act) int64{quant.Act.Min, quant.Act.Max} {
		var in [][]int32
		for k := range l.Inputs {
			in = append(in, fill(k, pick(q.InAct(l, k))))
		}
		ins = append(ins, in)
	}
	if l.Op == quant.OpAdd {
		a, b := q.InAct(l, 0), q.InAct(l, 1)
		ins = append(ins, [][]int32{fill(0, a.Min()), fill(1, b.Max())}, [][]int32{fill(0, a.Max()), fill(1, b.Min())})
	}
	if l.Op != quant.OpConv2d && l.Op != quant.OpAdder2d && l.Op != quant.OpLinear {
		return ins, true
	}
	a := q.InAct(l, 0)
	shape := q.InShape(l, 0)
	var C, H, W, K, S, P int
	if l.Op == quant.OpLinear {
		C, H, W, K, S = shape[0], 1, 1, 1, 1
	} else {
		C, H, W, K, S, P = shape[0], shape[1], shape[2], l.Kernel, l.Stride, l.Padding
	}
	// First output position whose window has no padded tap.
	oh, ow := -1, -1
	for y := 0; y*S-P+K <= H && oh < 0; y++ {
		if y*S-P >= 0 {
			oh = y
		}
	}
	for x := 0; x*S-P+K <= W && ow < 0; x++ {
		if x*S-P >= 0 {
			ow = x
		}
	}
	if oh < 0 || ow < 0 {
		return ins, false
	}
	O := l.Weight.Shape[0]
	R := C * K * K
	for o := range O {
		for _, maximise := range []bool{true, false} {
			x := fill(0, 0)
			for c := range C {
				for i := range K {
					for j := range K {
						w := l.Weight.Data[o*R+(c*K+i)*K+j]
						var v int64
						if l.Op == quant.OpAdder2d {
							// |v − w| is largest at the far end of the
							// view's range, 0 at v = w (input w << k:
							// its view is w).
							k := l.Shift(o)
							vlo, vhi := quant.ViewRange(a, k, l.Operand(a, o))
							switch {
							case !maximise:
								v = w << k
							case w-vlo >= vhi-w:
								v = a.Min()
							default:
								v = a.Max()
							}
						} else if (w >= 0) == maximise {
							v = a.Max()
						} else {
							v = a.Min()
						}
						x[(c*H+oh*S-P+i)*W+ow*S-P+j] = int32(v)
					}
				}
			}
			ins = append(ins, [][]int32{x})
		}
	}
	return ins, true
}

// TestAccumulatorWidths is the overflow proof: every layer of every test
// model is driven with extreme inputs (all-min, all-max, and per output
// channel the inputs that maximise and minimise its accumulator), and every
// intermediate must stay inside its declared range and width; the extremes
// of the declared accumulator range must be attained (the widths are
// tight). Whole networks are then run on all-min, all-max and random codes
// with the same check at every layer.
func TestAccumulatorWidths(t *testing.T) {
	for _, tm := range testModels(t) {
		t.Run(tm.name, func(t *testing.T) {
			n, err := Prepare(tm.q)
			if err != nil {
				t.Fatal(err)
			}
			for i, l := range tm.q.Layers {
				ins, interior := extremeInputs(tm.q, l)
				var total LayerStats
				for _, in := range ins {
					_, st, err := n.RunLayer(i, in...)
					if err != nil {
						t.Fatal(err)
					}
					checkStats(t, l, st)
					total.merge(&st)
				}
				if r := l.Ranges.Acc; r != nil && interior && (total.Acc.Lo != r.Lo || total.Acc.Hi != r.Hi) {
					t.Errorf("layer %s: extreme inputs reach acc [%d, %d], declared [%d, %d] (not tight)", l.Name, total.Acc.Lo, total.Acc.Hi, r.Lo, r.Hi)
				}
			}
			res, err := n.Run(randomCodes(tm.q, 8, 21), NetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for i, l := range tm.q.Layers {
				checkStats(t, l, res.Stats[i])
			}
		})
	}
}

// resnetCheckpoint is the official ResNet-20 AdderNet, beside the repo.
func resnetCheckpoint(t testing.TB) string {
	t.Helper()
	return testutil.SharedFile(t, "models/ResNet20-AdderNet.pth")
}

// TestResNet20Widths quantizes the official ResNet-20 (adder weights up to
// ±70, far outside the activation range, so the clamp constants are large)
// and checks its declared widths on extreme inputs.
func TestResNet20Widths(t *testing.T) {
	net, err := model.Load("resnet20-adder", resnetCheckpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	x := quanttest.Uniform(net.Input, 4, -2, 2, 5)
	q, err := quant.Quantize(net, x, quant.DefaultConfig(), "uniform")
	if err != nil {
		t.Fatal(err)
	}
	var maxConst int64
	for _, l := range q.Layers {
		if l.Op == quant.OpAdder2d {
			maxConst = max(maxConst, slices.Max(l.WeightConst))
		}
	}
	if maxConst == 0 {
		t.Error("no adder weight outside the activation range: the clamp is not exercised")
	}
	n, err := Prepare(q)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range q.Layers {
		ins, _ := extremeInputs(q, l)
		for _, in := range ins[:2] { // all-min, all-max
			_, st, err := n.RunLayer(i, in...)
			if err != nil {
				t.Fatal(err)
			}
			checkStats(t, l, st)
		}
	}
	res, err := n.Run(randomCodes(q, 3, 8), NetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range q.Layers {
		checkStats(t, l, res.Stats[i])
	}
}

func TestInferAndResolver(t *testing.T) {
	tm := testModels(t)[4] // lenet 8-bit
	y, err := Infer(tm.q, tm.x)
	if err != nil {
		t.Fatal(err)
	}
	codes, _, err := tm.q.EncodeInput(tm.x)
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunNet(tm.q, Codes{Shape: tm.x.Shape, Data: codes}, NetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := tm.q.Output().Out
	for i, c := range res.Output.Data {
		if y.Data[i] != float64(c)*out.Scale {
			t.Fatalf("logit %d = %v, want code %d × scale %v", i, y.Data[i], c, out.Scale)
		}
	}
	if !slices.Equal(y.Shape, []int{tm.x.Shape[0], 10}) {
		t.Errorf("shape %v", y.Shape)
	}

	path := filepath.Join(t.TempDir(), "q.json")
	if err := tm.q.Save(path); err != nil {
		t.Fatal(err)
	}
	r, err := model.Resolve(path, "")
	if err != nil {
		t.Fatal(err)
	}
	y2, err := r.Forward(tm.x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(y.Data, y2.Data) {
		t.Error("resolved runner differs from Infer")
	}
	if !slices.Equal(r.InputShape(), []int{1, 28, 28}) {
		t.Errorf("InputShape %v", r.InputShape())
	}
	if _, ok := r.(model.Preprocessor); !ok {
		t.Error("runner does not preprocess")
	}
	if _, err := model.Resolve(path, "w.pth"); err == nil {
		t.Error("weights with a quantized model accepted")
	}
	// Float models still resolve to the float net.
	if r, err := model.Resolve("lenet5-adder", "../model/testdata/lenet5_zip.pth"); err != nil {
		t.Error(err)
	} else if _, ok := r.(*model.Net); !ok {
		t.Errorf("float model resolved to %T", r)
	}
}

func TestL1SumMAC(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for n := range 40 {
		x, w := make([]int32, n), make([]int32, n)
		var l1, d int64
		for i := range n {
			x[i] = int32(rng.IntN(1<<17) - 1<<16)
			w[i] = int32(rng.IntN(1<<17) - 1<<16)
			l1 += max(int64(x[i])-int64(w[i]), int64(w[i])-int64(x[i]))
			d += int64(x[i]) * int64(w[i])
		}
		if got := l1Sum(x, w); got != l1 {
			t.Errorf("n=%d: l1Sum %d, want %d", n, got, l1)
		}
		acc := []int64{0}
		if macAll(acc, x, w); acc[0] != d {
			t.Errorf("n=%d: macAll %d, want %d", n, acc[0], d)
		}
	}
}

// TestL1SWAR checks the packed kernel against l1Sum for every code width
// it accepts, random and extreme codes, and lengths around the packing and
// flush boundaries.
func TestL1SWAR(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for bits := 1; bits <= swarMaxBits; bits++ {
		for _, signed := range []bool{false, true} {
			lo, hi := int32(0), int32(1)<<bits-1
			if signed {
				lo, hi = -(1 << (bits - 1)), 1<<(bits-1)-1
			}
			flush := swarFlush(int64(hi - lo))
			for _, n := range []int{0, 1, 3, 4, 5, 7, 8, 9, 150, 4*flush - 1, 4 * flush, 4*flush + 1, 8*flush + 3, 1000} {
				for trial := range 4 {
					x, w := make([]int32, n), make([]int32, n)
					for i := range n {
						switch trial {
						case 0: // largest differences
							x[i], w[i] = lo, hi
						case 1:
							x[i], w[i] = hi, lo
						default:
							x[i], w[i] = lo+rng.Int32N(hi-lo+1), lo+rng.Int32N(hi-lo+1)
						}
					}
					words := (n + 3) / 4
					xp, wp := make([]uint64, words), make([]uint64, words)
					packLanes(xp, x, lo, swarBias)
					packLanes(wp, w, lo, 0)
					if got, want := l1SWAR(xp, wp, flush), l1Sum(x, w); got != want {
						t.Fatalf("bits %d signed %v n %d trial %d: SWAR %d, want %d", bits, signed, n, trial, got, want)
					}
				}
			}
		}
	}
}

// TestKernelsIdentical runs every test model with each adder kernel (SIMD
// bytes where built and supported, SWAR words, int32): outputs and
// statistics must be identical.
func TestKernelsIdentical(t *testing.T) {
	defer func() { noSWAR, noSIMD = false, false }()
	for _, tm := range testModels(t) {
		in := randomCodes(tm.q, 4, 17)
		var ref *NetResult
		for _, k := range []struct{ swar, simd bool }{{true, true}, {true, false}, {false, false}} {
			noSWAR, noSIMD = !k.swar, !k.simd
			r, err := RunNet(tm.q, in, NetOptions{KeepAll: true})
			if err != nil {
				t.Fatal(err)
			}
			if ref == nil {
				ref = r
				continue
			}
			for i := range r.Layers {
				if !slices.Equal(r.Layers[i].Data, ref.Layers[i].Data) {
					t.Errorf("%s layer %s: kernels %+v differ from the default", tm.name, tm.q.Layers[i].Name, k)
				}
			}
			if !reflect.DeepEqual(r.Stats, ref.Stats) {
				t.Errorf("%s: statistics differ with kernels %+v", tm.name, k)
			}
		}
	}
}

// TestKernelName: Kernel names the vector kernel exactly when it runs.
func TestKernelName(t *testing.T) {
	k := Kernel()
	if simdAvailable() != strings.HasPrefix(k, "avx2") || simdAvailable() == strings.HasPrefix(k, "portable") {
		t.Errorf("Kernel() = %q with the vector kernel available = %v", k, simdAvailable())
	}
}
