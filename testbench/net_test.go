package testbench

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/sim"
)

// lenetFixture quantizes a randomly initialised lenet5-adder (calibrated on
// MNIST) and returns it with input codes for the first n test images.
func lenetFixture(t testing.TB, bits, n int) (*quant.Model, sim.Codes) {
	t.Helper()
	spec, err := model.BuiltinSpec("lenet5-adder")
	if err != nil {
		t.Fatal(err)
	}
	net, err := model.New(spec, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := dataset.MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	set, err := dataset.Load(dir, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	cfg := quant.DefaultConfig()
	cfg.Bits = bits
	calib := set.Limit(64)
	q, err := quant.Quantize(net, calib.X, cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	x := set.Limit(n).X
	codes, _, err := q.EncodeInput(x)
	if err != nil {
		t.Fatal(err)
	}
	return q, sim.Codes{Shape: append([]int{n}, q.Input.Shape...), Data: codes}
}

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
	q, in := lenetFixture(t, 8, 3)
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
