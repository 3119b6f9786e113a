package testbench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/sim"
)

// axisSpec is a small network whose input pixel (3 channels of 4 bits,
// 12 bits) is not whole bytes, so s_axis_tdata carries 4 padding bits.
const axisSpec = `{"name": "axis", "input": [3, 6, 6], "layers": [
	{"name": "a1", "op": "adder2d", "in": 3, "out": 4, "kernel": 3},
	{"name": "bn1", "op": "batchnorm2d", "channels": 4},
	{"name": "p1", "op": "avgpool2d", "kernel": 4},
	{"name": "f", "op": "flatten"},
	{"name": "fc", "op": "linear", "in": 4, "out": 5}]}`

// axisModel quantizes axisSpec at 4 bits and returns it with the input
// codes of n random images.
func axisModel(t *testing.T, n int) (*quant.Model, sim.Codes) {
	t.Helper()
	s, err := model.ParseSpec([]byte(axisSpec), "axis")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	net, err := model.New(s, rng)
	if err != nil {
		t.Fatal(err)
	}
	rand01 := func(k int) dataset.Tensor {
		x := dataset.Tensor{Shape: []int{k, 3, 6, 6}, Data: make([]float64, k*3*6*6)}
		for i := range x.Data {
			x.Data[i] = rng.Float64()
		}
		return x
	}
	cfg := quant.DefaultConfig()
	cfg.Bits = 4
	q, err := quant.Quantize(net, rand01(16), cfg, "axis")
	if err != nil {
		t.Fatal(err)
	}
	codes, _, err := q.EncodeInput(rand01(n))
	if err != nil {
		t.Fatal(err)
	}
	return q, sim.Codes{Shape: append([]int{n}, q.Input.Shape...), Data: codes}
}

// axisFrames cuts one frame per image, of lens[i] beats: the image's
// pixels in raster order, then (past its last pixel) the next image's.
func axisFrames(q *quant.Model, in sim.Codes, lens []int) []AXISFrame {
	C, H, W := q.Input.Shape[0], q.Input.Shape[1], q.Input.Shape[2]
	pix := H * W
	n := in.Shape[0]
	pixel := func(img, p int) []int32 {
		img %= n
		b := make([]int32, C)
		for c := 0; c < C; c++ {
			b[c] = in.Data[(img*C+c)*pix+p]
		}
		return b
	}
	frames := make([]AXISFrame, len(lens))
	for f, l := range lens {
		for i := 0; i < l; i++ {
			frames[f].Beats = append(frames[f].Beats, pixel(f+i/pix, i%pix))
		}
	}
	return frames
}

// TestAXISProtocol drives the network top through AXI-Stream and
// AXI4-Lite protocol checkers with random TVALID/TREADY in both
// simulators, with short and long frames among good ones: no assertion
// fires, every image out (the faulty frames' too, as the framing completes
// or cuts them) equals the simulator's, the sticky error flags rise after
// each faulty frame and clear on a write of 1, and the counters count.
// The top has aresetn in one run and rst_i in the other.
func TestAXISProtocol(t *testing.T) {
	q, in := axisModel(t, 12)
	pix := q.Input.Shape[1] * q.Input.Shape[2]
	// good, good, short, good, long, good, short of 1 beat, long by more
	// than an image, good, short by 1, good, good.
	lens := []int{pix, pix, pix / 2, pix, pix + 3, pix, 1, 2*pix + 4, pix, pix - 1, pix, pix}
	frames := axisFrames(q, in, lens)
	// The check needs logits that tell frames apart, the faulty ones most.
	want, err := sim.RunNet(q, FrameImages(q, frames), sim.NetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	k := want.Output.Shape[1]
	distinct := map[string]bool{}
	for f := range frames {
		distinct[fmt.Sprint(want.Output.Data[f*k:(f+1)*k])] = true
	}
	if len(distinct) < 5 {
		t.Fatalf("only %d distinct logit vectors over %d frames: the model cannot show a misframed image", len(distinct), len(frames))
	}
	// The last run has runtime weights: an abandoned load of 3 beats,
	// then the stream; WEIGHTS must read one load, one abandoned.
	for _, tc := range []struct {
		sim     string
		resetN  bool
		runtime bool
	}{{Icarus, false, false}, {Verilator, true, false}, {Icarus, true, false}, {Icarus, false, true}} {
		name := tc.sim + map[bool]string{false: "_rst_i", true: "_aresetn"}[tc.resetN] + map[bool]string{false: "", true: "_runtime_weights"}[tc.runtime]
		t.Run(name, func(t *testing.T) {
			testutil.RequireTools(t, map[string][]string{Icarus: {"iverilog", "vvp"}, Verilator: {"verilator"}}[tc.sim]...)
			mode, abort := "", 0
			if tc.runtime {
				mode, abort = rtl.WeightsRuntime, 3
			}
			files, n, err := rtl.EmitNet(q, rtl.NetConfig{Parallel: 2, AResetN: tc.resetN, WeightsMode: mode})
			if err != nil {
				t.Fatal(err)
			}
			if n.InTData() != 16 || n.InBits != 12 {
				t.Fatalf("s_axis_tdata %d bits for a %d-bit pixel, want 16 for 12", n.InTData(), n.InBits)
			}
			dir := t.TempDir()
			if err := WriteFiles(dir, files); err != nil {
				t.Fatal(err)
			}
			res, err := RunAXIS(context.Background(), tc.sim, dir, n, NetSources(files), frames, AXISOptions{Idle: 0.3, Stall: 0.3, Seed: 7, WeightAbort: abort})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range res.Problems {
				t.Error(p)
			}
			if res.Outputs != len(frames)*n.OutCount || res.ErrorReads < 40 || res.ErrorSeen == 0 || res.ErrorSeen == res.ErrorReads {
				t.Errorf("compared %d outputs (want %d), %d ERROR reads of which %d saw a flag: the run did not exercise the checks",
					res.Outputs, len(frames)*n.OutCount, res.ErrorReads, res.ErrorSeen)
			}
			t.Logf("%s: %d frames, %d outputs exact, %d register reads (%d of ERROR, %d with a flag set), %d cycles",
				name, res.Frames, res.Outputs, res.Reads, res.ErrorReads, res.ErrorSeen, res.Cycles)
		})
	}
}

// TestAXISCheckerFires proves the checker can fail: the bench's source
// changes TDATA once while TVALID is high and TREADY low.
func TestAXISCheckerFires(t *testing.T) {
	testutil.RequireTools(t, "iverilog", "vvp")
	q, in := axisModel(t, 3)
	pix := q.Input.Shape[1] * q.Input.Shape[2]
	frames := axisFrames(q, in, []int{pix, pix, pix})
	files, n, err := rtl.EmitNet(q, rtl.NetConfig{Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	res, err := RunAXIS(context.Background(), Icarus, dir, n, NetSources(files), frames, AXISOptions{Idle: 0.2, Stall: 0.6, Seed: 3, Inject: true})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range res.Problems {
		if strings.Contains(p, "s_axis TDATA or TLAST changed") {
			found = true
		}
	}
	if !found {
		t.Fatalf("the injected TDATA change was not caught; problems: %v", res.Problems)
	}
}

// TestNetWeightsDir runs the network bench from a folder other than the
// design's: the top's WEIGHTS_DIR points at the design, and every layer
// is still exact (without it the ROMs would read as X).
func TestNetWeightsDir(t *testing.T) {
	testutil.RequireTools(t, "iverilog", "vvp")
	q, in := axisModel(t, 2)
	files, n, err := rtl.EmitNet(q, rtl.NetConfig{Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !n.HasROMs() {
		t.Fatal("the design reads no ROM files: nothing to test")
	}
	want, err := sim.RunNet(q, in, sim.NetOptions{KeepAll: true})
	if err != nil {
		t.Fatal(err)
	}
	design, err := filepath.Abs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFiles(design, files); err != nil {
		t.Fatal(err)
	}
	run := t.TempDir()
	res, err := RunNet(context.Background(), Icarus, run, n, NetSources(files), in, want, NetRunOptions{Idle: 0.2, Stall: 0.2, Seed: 5, DesignDir: design})
	if err != nil {
		t.Fatal(err)
	}
	if res.Mismatches != 0 {
		t.Fatalf("%d mismatches; first: %s", res.Mismatches, res.FirstMismatch)
	}
	if res.Values == 0 {
		t.Fatal("no values compared")
	}
}
