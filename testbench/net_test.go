package testbench

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/addergen/addergen/internal/nettest"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/sim"
)

func runNetCase(t *testing.T, s string, q *quant.Model, in sim.Codes, hw rtl.NetConfig, o NetRunOptions) *NetResult {
	t.Helper()
	files, n, err := rtl.EmitNet(q, hw)
	if err != nil {
		t.Fatal(err)
	}
	want, err := sim.RunNet(q, in, sim.NetOptions{KeepAll: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	res, err := RunNet(context.Background(), s, dir, n, NetSources(files), in, want, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mismatches != 0 {
		t.Fatalf("%d mismatches; first: %s", res.Mismatches, res.FirstMismatch)
	}
	for i, v := range want.Output.Data {
		if res.Logits.Data[i] != v {
			t.Fatalf("logit %d: RTL %d, simulator %d", i, res.Logits.Data[i], v)
		}
	}
	return res
}

func TestNetLeNet(t *testing.T) {
	q, in, _ := nettest.LeNet(t, 8, 3)
	for _, s := range Simulators {
		t.Run(s, func(t *testing.T) {
			testutil.RequireTools(t, map[string][]string{Icarus: {"iverilog", "vvp"}, Verilator: {"verilator"}}[s]...)
			res := runNetCase(t, s, q, in, rtl.NetConfig{Parallel: 3}, NetRunOptions{Idle: 0.3, Stall: 0.3, Seed: 1})
			if res.Values < 3*(6*28*28+6*14*14+16*10*10+16*5*5+120+84+10) {
				t.Fatalf("compared only %d values", res.Values)
			}
			t.Logf("%s: %d values, 0 mismatches, %.0f cycles/image, %.1f images/s", s, res.Values, res.CyclesPerImage, res.ImagesPerSec)
		})
	}
}

// TestNetMismatchReported proves the per-layer comparison can fail and
// names the first divergence: one simulator value is corrupted, and the
// report must point at exactly that layer, image, channel and position.
func TestNetMismatchReported(t *testing.T) {
	testutil.RequireTools(t, "iverilog", "vvp")
	q, in, _ := nettest.LeNet(t, 6, 2)
	files, n, err := rtl.EmitNet(q, rtl.NetConfig{Parallel: 8})
	if err != nil {
		t.Fatal(err)
	}
	want, err := sim.RunNet(q, in, sim.NetOptions{KeepAll: true})
	if err != nil {
		t.Fatal(err)
	}
	// Layer 2 (conv2, the first adder layer), image 1, channel 5, row 3, col 4.
	l := q.Layers[2]
	oh, ow := l.OutShape[1], l.OutShape[2]
	per := l.OutShape[0] * oh * ow
	want.Layers[2].Data[per+(5*oh+3)*ow+4]++
	dir := t.TempDir()
	if err := WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	res, err := RunNet(context.Background(), Icarus, dir, n, NetSources(files), in, want, NetRunOptions{Idle: 0.1, Stall: 0.1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Mismatches != 1 {
		t.Fatalf("mismatches = %d, want 1", res.Mismatches)
	}
	m := res.FirstMismatch
	if m.Layer != l.Name || m.Image != 1 || m.Channel != 5 || m.Row != 3 || m.Col != 4 || m.Got != strings.TrimSpace(m.Got) {
		t.Errorf("first mismatch %+v, want layer %s image 1 channel 5 at (3,4)", m, l.Name)
	}
	vcd, err := DumpAround(context.Background(), dir, NetSources(files), m.Cycle)
	if err != nil {
		t.Fatal(err)
	}
	if !fileNonEmpty(vcd) {
		t.Errorf("no VCD around the mismatch at %s", vcd)
	}
}

func fileNonEmpty(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Size() > 0
}

// TestNetCycleModel checks the cycle model against cycles measured in RTL
// simulation (no idle input, no backpressure), FINN-style: within 5%.
func TestNetCycleModel(t *testing.T) {
	testutil.RequireTools(t, "verilator")
	q, in, _ := nettest.LeNet(t, 8, 4)
	for _, hw := range []rtl.NetConfig{{Parallel: 2}, {Parallel: 8, Lanes: 25}} {
		n, err := rtl.PlanNet(q, hw)
		if err != nil {
			t.Fatal(err)
		}
		res := runNetCase(t, Verilator, q, in, hw, NetRunOptions{Seed: 1})
		pred := float64(n.PredictedCyclesPerImage)
		if d := (float64(res.CyclesPerImage) - pred) / pred; !(d <= 0.05) || d < -0.05 {
			t.Errorf("parallel %d lanes %d: measured %.0f cycles per image, predicted %.0f (%.1f%% off)", hw.Parallel, hw.Lanes, res.CyclesPerImage, pred, 100*d)
		}
		t.Logf("parallel %d lanes %d: measured %.0f, predicted %.0f cycles per image", hw.Parallel, hw.Lanes, res.CyclesPerImage, pred)
	}
}

// TestNetResNet20 runs one image through the RTL of the official
// ResNet-20 AdderNet, quantized to 8 bits, in Verilator: forks, identity
// and downsample shortcuts, residual adds, the average pool and the
// classifier, bit-exact at every layer.
func TestNetResNet20(t *testing.T) {
	testutil.RequireTools(t, "verilator")
	q, in := nettest.ResNet20(t, 1)
	res := runNetCase(t, Verilator, q, in, rtl.NetConfig{Parallel: 8}, NetRunOptions{Idle: 0.1, Stall: 0.1, Seed: 2})
	if res.Values < 280000 {
		t.Fatalf("compared only %d values", res.Values)
	}
	t.Logf("ResNet-20: %d values, 0 mismatches, latency %d cycles", res.Values, res.LatencyCycles)
}

// TestNetResNet20Throughput streams three images through a wide, balanced
// ResNet-20 without stalls: bit-exact at every layer, and the cycles
// between images within 5% of the cycle model (residual blocks, forks and
// both kinds of shortcut in steady state).
func TestNetResNet20Throughput(t *testing.T) {
	testutil.RequireTools(t, "verilator")
	q, in := nettest.ResNet20(t, 3)
	hw := rtl.NetConfig{Parallel: 16, Lanes: 144, Balance: true}
	n, err := rtl.PlanNet(q, hw)
	if err != nil {
		t.Fatal(err)
	}
	res := runNetCase(t, Verilator, q, in, hw, NetRunOptions{Seed: 3})
	pred := float64(n.PredictedCyclesPerImage)
	if d := (float64(res.CyclesPerImage) - pred) / pred; !(d <= 0.05) || d < -0.05 {
		t.Errorf("measured %.0f cycles per image, predicted %.0f (%.1f%% off)", res.CyclesPerImage, pred, 100*d)
	}
	t.Logf("ResNet-20 P=16 lanes 144 balanced: %d values, measured %.0f, predicted %.0f cycles per image", res.Values, res.CyclesPerImage, pred)
}

// TestNetResNet20Target streams two images through ResNet-20 folded for
// --target-cycles 20000 without stalls: bit-exact at every layer, the
// measured cycles between images at or below the target and within 5% of
// the cycle model.
func TestNetResNet20Target(t *testing.T) {
	testutil.RequireTools(t, "verilator")
	q, in := nettest.ResNet20(t, 2)
	hw := rtl.NetConfig{TargetCycles: 20000}
	n, err := rtl.PlanNet(q, hw)
	if err != nil {
		t.Fatal(err)
	}
	res := runNetCase(t, Verilator, q, in, hw, NetRunOptions{Seed: 4})
	pred := float64(n.PredictedCyclesPerImage)
	got := float64(res.CyclesPerImage)
	if !res.CyclesPerImage.Finite() || got > 20000 {
		t.Errorf("measured %.0f cycles per image, above the 20,000 target", got)
	}
	if d := (got - pred) / pred; !(d <= 0.05) || d < -0.05 {
		t.Errorf("measured %.0f cycles per image, predicted %.0f (%.1f%% off)", got, pred, 100*d)
	}
	t.Logf("ResNet-20 --target-cycles 20000: %d values, measured %.0f, predicted %.0f cycles per image, lane utilisation %.1f%%",
		res.Values, got, pred, 100*n.LaneUtilization())
}
