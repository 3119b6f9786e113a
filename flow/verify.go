package flow

import (
	"context"
	"fmt"
	"math"
	"os"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/report"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/sim"
	"github.com/addergen/addergen/testbench"
)

// VerifyOptions are the bench settings of Verify.
type VerifyOptions struct {
	// Simulator is testbench.Icarus or testbench.Verilator.
	Simulator string
	// Dir is the work folder (bench, vectors, build), created by the
	// caller and always kept; "" means a new temporary folder named
	// TempPrefix* ("addergen-verify-net-" when empty), removed by Close
	// when the RTL matches.
	Dir        string
	TempPrefix string
	// Idle and Stall are the probabilities (0..0.9) of an idle input cycle
	// and of output backpressure in a cycle; Seed seeds both patterns.
	Idle, Stall float64
	Seed        uint64
	// VCD dumps a waveform of the whole run (VerifyRun.Result.VCD, in the
	// work folder).
	VCD bool
}

// VerifyRun is the outcome of Verify.
type VerifyRun struct {
	Simulator string
	Design    *rtl.Net
	// Result is the RTL run: counts, the first mismatch, measured cycles
	// and the RTL's logits codes [N, classes].
	Result *testbench.NetResult
	// Want is the bit-exact simulator's run of the same images, every
	// layer kept.
	Want *sim.NetResult
	// Dir is the work folder. A temporary one is removed by Close unless
	// the RTL mismatched.
	Dir string
	// MismatchVCD is a waveform around the first mismatch (Icarus), when
	// there is a mismatch and no whole-run VCD; DumpErr says why it could
	// not be written.
	MismatchVCD string
	DumpErr     error
	temp        bool
}

// SimRunError is a failure to build or run the bench in a simulator (not
// a mismatch). The work folder Dir is kept for inspection.
type SimRunError struct {
	Simulator, Dir string
	Err            error
}

func (e *SimRunError) Error() string {
	return fmt.Sprintf("verify in %s: %v (work directory %s)", e.Simulator, e.Err, e.Dir)
}

func (e *SimRunError) Unwrap() error { return e.Err }

// EncodeInput encodes x ([N, C, H, W] floats in the model's input scale)
// as q's input codes [N, C, H, W]. Errors: a shape that is not q's input.
func EncodeInput(q *quant.Model, x dataset.Tensor) (sim.Codes, error) {
	codes, _, err := q.EncodeInput(x)
	if err != nil {
		return sim.Codes{}, err
	}
	return sim.Codes{Shape: append([]int{x.Shape[0]}, q.Input.Shape...), Data: codes}, nil
}

// Verify streams the images in (input codes [N, C, H, W] of design.Model)
// through the design's RTL (files: the emitted folder, name → contents)
// in o.Simulator, with random idle input cycles and output backpressure,
// and compares every layer's output stream value by value with the
// bit-exact simulator. A mismatch is a result (Result.Mismatches), not an
// error. Errors: the simulator model of the images, the work folder, and
// *SimRunError when the bench cannot be built or run. Call Close when
// done with the work folder's files.
func Verify(ctx context.Context, design *rtl.Net, files map[string][]byte, in sim.Codes, o VerifyOptions) (*VerifyRun, error) {
	want, err := sim.RunNet(design.Model, in, sim.NetOptions{KeepAll: true})
	if err != nil {
		return nil, err
	}
	r := &VerifyRun{Simulator: o.Simulator, Design: design, Want: want, Dir: o.Dir}
	if r.Dir == "" {
		prefix := o.TempPrefix
		if prefix == "" {
			prefix = "addergen-verify-net-"
		}
		if r.Dir, err = os.MkdirTemp("", prefix); err != nil {
			return nil, err
		}
		r.temp = true
	}
	if err := testbench.WriteFiles(r.Dir, files); err != nil {
		if r.temp {
			os.RemoveAll(r.Dir)
		}
		return nil, err
	}
	srcs := testbench.NetSources(files)
	res, err := testbench.RunNet(ctx, o.Simulator, r.Dir, design, srcs, in, want,
		testbench.NetRunOptions{Idle: o.Idle, Stall: o.Stall, Seed: o.Seed, VCD: o.VCD})
	if err != nil {
		return nil, &SimRunError{Simulator: o.Simulator, Dir: r.Dir, Err: err}
	}
	r.Result = res
	if res.Mismatches > 0 && !o.VCD {
		r.MismatchVCD, r.DumpErr = testbench.DumpAround(ctx, r.Dir, srcs, res.FirstMismatch.Cycle)
	}
	return r, nil
}

// Close removes a temporary work folder when the RTL matched; a folder
// given in VerifyOptions.Dir, or one with a mismatch, is kept.
func (r *VerifyRun) Close() {
	if r.temp && r.Result != nil && r.Result.Mismatches == 0 {
		os.RemoveAll(r.Dir)
	}
}

// RTLTop1 and SimTop1 are the top-1 classes per image of the RTL and of
// the simulator.
func (r *VerifyRun) RTLTop1() []int { return testbench.Top1(r.Result.Logits) }
func (r *VerifyRun) SimTop1() []int { return testbench.Top1(r.Want.Output) }

// Report is addergen verify's report of the run; labels (one per image,
// nil when unknown) give the top-1 accuracies as fractions (0..1).
func (r *VerifyRun) Report(labels []int) *VerifyReport {
	res := r.Result
	rep := &VerifyReport{Images: r.Want.Output.Shape[0], Mismatches: res.Mismatches, FirstMismatch: res.FirstMismatch,
		CyclesPerImage: res.CyclesPerImage, PredictedCyclesPerImage: r.Design.PredictedCyclesPerImage,
		LatencyCycles: res.LatencyCycles, Simulator: r.Simulator, Values: res.Values, ImagesPerSecond: res.ImagesPerSec}
	if labels != nil {
		a, s := Accuracy(r.RTLTop1(), labels), Accuracy(r.SimTop1(), labels)
		rep.RTLTop1, rep.SimTop1 = &a, &s
	}
	return rep
}

// State is what a shard's verify report carries for addergen merge: the
// correct counts (with labels), the measured cycle span and the run time.
func (r *VerifyRun) State(labels []int) *VerifyState {
	res := r.Result
	n := r.Want.Output.Shape[0]
	st := &VerifyState{Seconds: res.Seconds}
	if n > 1 && res.CyclesPerImage.Finite() {
		st.CycleGaps = n - 1
		st.CycleSpan = int(math.Round(float64(res.CyclesPerImage) * float64(n-1)))
	}
	if labels != nil {
		a, s := CountEqual(r.RTLTop1(), labels), CountEqual(r.SimTop1(), labels)
		st.RTLCorrect, st.SimCorrect = &a, &s
	}
	return st
}

// CountEqual counts the positions where a and b (of a's length) agree.
func CountEqual(a, b []int) int {
	ok := 0
	for i, p := range a {
		if p == b[i] {
			ok++
		}
	}
	return ok
}

// Accuracy is the fraction (0..1) of pred that equals labels; not
// measured (null) for no predictions.
func Accuracy(pred, labels []int) report.Num {
	return report.Ratio(float64(CountEqual(pred, labels)), float64(len(pred)))
}

// PercentEqual is the percentage (0..100) of positions where a and b
// agree; not measured (null) for empty slices.
func PercentEqual(a, b []int) report.Num {
	return report.Ratio(100*float64(CountEqual(a, b)), float64(len(a)))
}
