package testbench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/sim"
)

// sweepCases is the PE co-simulation sweep of the foundation issue:
// K in {1,2,3,5,9,16,25,27,64,150} x W in {2,4,8,12,16} x signed/unsigned x
// pipeline {0, 1, auto}: 300 PEs, all simulated in one testbench per
// simulator so that Verilator compiles once.
func sweepCases(vectors int) []PECase {
	var cases []PECase
	seed := uint64(1)
	for _, k := range []int{1, 2, 3, 5, 9, 16, 25, 27, 64, 150} {
		for _, w := range []int{2, 4, 8, 12, 16} {
			for _, signed := range []bool{false, true} {
				for _, p := range []int{0, 1, rtl.PipelineAuto} {
					ps := fmt.Sprint(p)
					if p == rtl.PipelineAuto {
						ps = "auto"
					}
					name := fmt.Sprintf("pe_k%d_w%d_%s_p%s", k, w, map[bool]string{true: "s", false: "u"}[signed], ps)
					cases = append(cases, PECase{
						Config:  rtl.PEConfig{Name: name, Lanes: k, Width: w, Signed: signed, Pipeline: p},
						Vectors: vectors,
						Seed:    seed,
					})
					seed++
				}
			}
		}
	}
	return cases
}

func TestPESweep(t *testing.T) {
	vectors := 40
	if testing.Short() {
		vectors = 8
	}
	suite, err := NewPESuite(sweepCases(vectors))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(suite.PEs()); got != 300 {
		t.Fatalf("sweep has %d PEs, want 300", got)
	}
	runSuiteInBoth(t, suite, 300*(vectors+len(EdgeVectors(sim.PEConfig{Lanes: 1, Width: 2}))-64))
}

// speedSweepCases is the sweep of the iCE40 speed schedule (family ice40,
// --pipeline auto: registers after the subtractors, the leaves and every
// level, wide adders split): K in {1,2,3,5,9,16,27,64} x W in
// {2,4,8,12,16} x signed/unsigned, plus K=406 W=2, whose level 8 holds a
// split and an unsplit adder: 82 PEs in one testbench per simulator.
func speedSweepCases(vectors int) []PECase {
	var cases []PECase
	seed := uint64(1001)
	add := func(k, w int, signed bool) {
		name := fmt.Sprintf("pe_k%d_w%d_%s_ice40", k, w, map[bool]string{true: "s", false: "u"}[signed])
		cases = append(cases, PECase{
			Config:  rtl.PEConfig{Name: name, Lanes: k, Width: w, Signed: signed, Pipeline: rtl.PipelineAuto, Family: rtl.FamilyICE40},
			Vectors: vectors,
			Seed:    seed,
		})
		seed++
	}
	for _, k := range []int{1, 2, 3, 5, 9, 16, 27, 64} {
		for _, w := range []int{2, 4, 8, 12, 16} {
			for _, signed := range []bool{false, true} {
				add(k, w, signed)
			}
		}
	}
	add(406, 2, false)
	add(406, 2, true)
	return cases
}

// TestPESweepICE40 co-simulates the speed-schedule sweep in Icarus and
// Verilator against the cycle-true model (latency from the plan), and
// checks the schedule is the deep one; every PE of it lints clean under
// verilator -Wall.
func TestPESweepICE40(t *testing.T) {
	vectors := 40
	if testing.Short() {
		vectors = 8
	}
	cases := speedSweepCases(vectors)
	suite, err := NewPESuite(cases)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range suite.PEs() {
		if want := 2 + p.Levels; p.Schedule != rtl.FamilyICE40 || p.Latency < want {
			t.Fatalf("%s: schedule %q latency %d, want ice40 and at least %d", p.Module, p.Schedule, p.Latency, want)
		}
	}
	t.Run("lint", func(t *testing.T) {
		t.Parallel()
		testutil.RequireTools(t, "verilator")
		files, err := suite.Files()
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := WriteFiles(dir, files); err != nil {
			t.Fatal(err)
		}
		args := []string{"--lint-only", "-Wall", "-Wno-MULTITOP"}
		for _, p := range suite.PEs() {
			args = append(args, filepath.Join(dir, p.Module+".v"))
		}
		out, err := exec.Command("verilator", args...).CombinedOutput()
		if err != nil || strings.Contains(string(out), "%Warning") {
			t.Fatalf("verilator -Wall on the sweep's PEs: %v\n%s", err, out)
		}
	})
	runSuiteInBoth(t, suite, len(cases)*(vectors+len(EdgeVectors(sim.PEConfig{Lanes: 1, Width: 2}))-64))
}

// TestPEMismatchDetected proves the bench can fail: a corrupted expectation
// (one sum off by one) and a wrong valid must each be reported with the
// right vector, inputs and values, and a VCD must be written.
func TestPEMismatchDetected(t *testing.T) {
	for _, s := range Simulators {
		t.Run(s, func(t *testing.T) {
			testutil.RequireTools(t, map[string][]string{Icarus: {"iverilog", "vvp"}, Verilator: {"verilator"}}[s]...)
			suite, err := NewPESuite([]PECase{{Config: rtl.PEConfig{Name: "pe_bad", Lanes: 5, Width: 4, Signed: true, Pipeline: 2}, Vectors: 20, Seed: 7}})
			if err != nil {
				t.Fatal(err)
			}
			c := suite.cases[0]
			// Corrupt the 10th valid output's expected sum.
			var cyc int
			for i, e := range c.Expected {
				if e.Valid == sim.High && e.Tag == 9 {
					cyc = i
					break
				}
			}
			want := c.Expected[cyc]
			c.Expected[cyc].Sum++
			// And expect a valid output in an idle cycle after the stream.
			last := len(c.Expected) - 1
			c.Expected[last] = sim.PEOut{Valid: sim.High, Sum: 3, Tag: -1}

			dir := t.TempDir()
			res, err := suite.Run(context.Background(), s, dir, false)
			if err != nil {
				t.Fatal(err)
			}
			if res.Mismatches != 2 {
				t.Fatalf("mismatches = %d, want 2", res.Mismatches)
			}
			in := nthValid(c.Inputs, 9)
			wantMM := &Mismatch{
				Module: "pe_bad", Index: 9, Cycle: cyc, X: in.X, W: in.W,
				ExpectedValid: "1", GotValid: "1",
				Expected: fmt.Sprint(want.Sum + 1), Got: fmt.Sprint(want.Sum),
			}
			if diff := cmp.Diff(wantMM, res.FirstMismatch); diff != "" {
				t.Errorf("first mismatch (-want +got):\n%s", diff)
			}
			if res.VCD == "" {
				t.Fatal("no VCD written on failure")
			}
			if st, err := os.Stat(res.VCD); err != nil || st.Size() == 0 {
				t.Fatalf("VCD %s missing or empty: %v", res.VCD, err)
			}
		})
	}
}

func nthValid(in []sim.PEIn, n int) sim.PEIn {
	for _, x := range in {
		if x.Valid {
			if n == 0 {
				return x
			}
			n--
		}
	}
	panic("not enough valid inputs")
}

func TestStimulus(t *testing.T) {
	c := sim.PEConfig{Lanes: 3, Width: 4, Signed: true, Latency: 2}
	in := Stimulus(c, 50, 1)
	if !in[0].Rst || !in[1].Rst {
		t.Error("stimulus does not start with two reset cycles")
	}
	valid, gaps, resets := 0, 0, 0
	for i, x := range in[2:] {
		if x.Valid {
			valid++
		} else if i < len(in)-2-c.Latency-2 {
			gaps++
		}
		if x.Rst {
			resets++
		}
		for k := range x.X {
			if x.X[k] < -8 || x.X[k] > 7 || x.W[k] < -8 || x.W[k] > 7 {
				t.Fatalf("cycle %d lane %d out of range: %d %d", i, k, x.X[k], x.W[k])
			}
		}
	}
	if want := 50 + len(EdgeVectors(c)); valid != want {
		t.Errorf("valid inputs = %d, want %d", valid, want)
	}
	if gaps == 0 || resets != 1 {
		t.Errorf("gaps = %d (want > 0), mid-stream resets = %d (want 1)", gaps, resets)
	}
	if diff := cmp.Diff(in, Stimulus(c, 50, 1)); diff != "" {
		t.Errorf("stimulus not deterministic for a seed:\n%s", diff)
	}
	if cmp.Equal(in, Stimulus(c, 50, 2)) {
		t.Error("different seeds gave the same stimulus")
	}
}

func TestEdgeVectors(t *testing.T) {
	c := sim.PEConfig{Lanes: 4, Width: 8, Signed: false}
	ev := EdgeVectors(c)
	// x = min with w = max reaches the largest sum, K*(2^W-1).
	if got, want := sim.L1(ev[2][0], ev[2][1]), uint64(4*255); got != want {
		t.Errorf("min/max edge sum = %d, want %d", got, want)
	}
	cs := sim.PEConfig{Lanes: 2, Width: 4, Signed: true}
	evs := EdgeVectors(cs)
	if diff := cmp.Diff([]int32{-8, -8}, evs[0][0]); diff != "" {
		t.Errorf("signed min lanes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int32{5, 5}, evs[6][0]); diff != "" {
		t.Errorf("0101 pattern (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int32{-6, -6}, evs[6][1]); diff != "" {
		t.Errorf("1010 pattern (-want +got):\n%s", diff)
	}
}

func TestPackLanes(t *testing.T) {
	tests := []struct {
		v    []int32
		w    int
		want string
	}{
		{[]int32{1, 2}, 4, "21"},
		{[]int32{-1, 0}, 4, "0f"},
		{[]int32{-8, 7}, 4, "78"},
		{[]int32{3}, 2, "3"},
		{[]int32{1, 1, 1}, 2, "15"},
		{[]int32{-1, 1}, 3, "0f"},
		{[]int32{0xffff, 0x8000}, 16, "8000ffff"},
	}
	for _, tt := range tests {
		if got := packLanes(tt.v, tt.w); got != tt.want {
			t.Errorf("packLanes(%v, %d) = %q, want %q", tt.v, tt.w, got, tt.want)
		}
	}
}

func TestParseOutcome(t *testing.T) {
	out := strings.Join([]string{
		"VCD info: dumpfile waves.vcd opened",
		"MISMATCH pe_a cycle=12 valid=1 sum=01f",
		"MISMATCH pe_a cycle=13 valid=x sum=xxx",
		"DONE pe_a cycles=40 mismatches=2 checked=30",
		"DONE pe_b cycles=41 mismatches=0 checked=31",
		"- tb.v:10: Verilog $finish",
	}, "\n")
	got := parseOutcome(out)
	want := simOutcome{
		Mismatches: []simMismatch{{"pe_a", 12, "1", "01f"}, {"pe_a", 13, "x", "xxx"}},
		Done:       map[string][3]int{"pe_a": {40, 2, 30}, "pe_b": {41, 0, 31}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseOutcome (-want +got):\n%s", diff)
	}
	if !parseOutcome("TIMEOUT\n").Timeout {
		t.Error("TIMEOUT not parsed")
	}
}

func TestJudgeIncomplete(t *testing.T) {
	suite, err := NewPESuite([]PECase{{Config: rtl.PEConfig{Name: "pe_x", Lanes: 2, Width: 2, Pipeline: 0}, Vectors: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := suite.judge(Icarus, "TIMEOUT\n"); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("judge of a timed-out run: err = %v", err)
	}
	if _, err := suite.judge(Icarus, "DONE pe_x cycles=1 mismatches=0 checked=0\n"); err == nil {
		t.Error("judge accepted a run with the wrong cycle count")
	}
	c := suite.cases[0]
	line := fmt.Sprintf("DONE pe_x cycles=%d mismatches=0 checked=%d\n", len(c.Inputs), c.Outputs-1)
	if _, err := suite.judge(Icarus, line); err == nil || !strings.Contains(err.Error(), "compared") {
		t.Errorf("judge accepted a run that compared fewer outputs than expected: %v", err)
	}
	if _, err := NewPESuite([]PECase{{Config: rtl.PEConfig{Name: "tb_case_0", Lanes: 1, Width: 2}}}); err == nil {
		t.Error("a PE named like a bench module was accepted")
	}
}

func TestSuiteFilesCompileOrder(t *testing.T) {
	suite, err := NewPESuite([]PECase{
		{Config: rtl.PEConfig{Name: "pe_a", Lanes: 2, Width: 2}, Vectors: 1},
		{Config: rtl.PEConfig{Name: "pe_b", Lanes: 3, Width: 4}, Vectors: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	files, err := suite.Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range suite.Sources() {
		if _, ok := files[src]; !ok {
			t.Errorf("source %s not among the files", src)
		}
	}
	if got := filepath.Ext(suite.Sources()[2]); got != ".v" {
		t.Errorf("top source %q", suite.Sources()[2])
	}
	if _, err := NewPESuite([]PECase{{Config: rtl.PEConfig{Name: "x", Lanes: 1, Width: 2}}, {Config: rtl.PEConfig{Name: "x", Lanes: 1, Width: 2}}}); err == nil {
		t.Error("duplicate module names accepted")
	}
}

// runSuiteInBoth runs a PE suite in Icarus and Verilator (in parallel):
// zero mismatches, and at least minOut outputs compared (every valid input
// but those dropped by the mid-stream reset) and no more than the vectors.
func runSuiteInBoth(t *testing.T, suite *PESuite, minOut int) {
	t.Helper()
	for _, s := range Simulators {
		t.Run(s, func(t *testing.T) {
			t.Parallel()
			testutil.RequireTools(t, map[string][]string{Icarus: {"iverilog", "vvp"}, Verilator: {"verilator"}}[s]...)
			res, err := suite.Run(context.Background(), s, t.TempDir(), false)
			if err != nil {
				t.Fatal(err)
			}
			if res.Mismatches != 0 {
				t.Fatalf("%d mismatches; first: %s", res.Mismatches, res.FirstMismatch)
			}
			if res.Checked < minOut || res.Checked > res.Vectors {
				t.Fatalf("the benches compared %d outputs of %d vectors, want at least %d", res.Checked, res.Vectors, minOut)
			}
			t.Logf("%s: %d PEs, %d vectors, 0 mismatches, %.0f vectors/s", s, len(suite.PEs()), res.Vectors, res.VectorsPerSecond)
		})
	}
}
