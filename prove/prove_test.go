package prove

import (
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/addergen/addergen/fixedpoint"
	"github.com/addergen/addergen/internal/nettest"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
)

// full runs the whole sweep and the LeNet and ResNet-20 designs (tens of
// minutes on 2 cores; the times are in the README, "What is proven").
var full = flag.Bool("prove.full", false, "prove every PE configuration of the 300-PE sweep, not only those up to the size bounds (slow)")

// Size bounds of the default run: combinational sweep PEs with K*W up to
// combBound, pipelined ones up to pipeBound (about 2 minutes on 2 cores).
const (
	combBound = 48
	pipeBound = 24
)

func requireProvers(t testing.TB) {
	t.Helper()
	testutil.RequireTools(t, "yosys", "yosys-abc", "iverilog", "vvp")
}

// sweepConfigs are the configurations of testbench's 300-PE sweep
// (TestPESweep): K x W x sign x pipeline {0, 1, auto}.
func sweepConfigs() []rtl.PEConfig {
	var out []rtl.PEConfig
	for _, k := range []int{1, 2, 3, 5, 9, 16, 25, 27, 64, 150} {
		for _, w := range []int{2, 4, 8, 12, 16} {
			for _, signed := range []bool{false, true} {
				for _, p := range []int{0, 1, rtl.PipelineAuto} {
					out = append(out, rtl.PEConfig{Lanes: k, Width: w, Signed: signed, Pipeline: p})
				}
			}
		}
	}
	return out
}

func peName(c rtl.PEConfig) string {
	return fmt.Sprintf("K%d_W%d_%s_p%s_%s", c.Lanes, c.Width, map[bool]string{true: "s", false: "u"}[c.Signed], pipelineString(c.Pipeline), familyString(c.Family))
}

// mustProve proves c and fails the test unless the result is PROVEN.
func mustProve(t *testing.T, c rtl.PEConfig, timeout time.Duration) *PEResult {
	t.Helper()
	r, err := PE(context.Background(), c, Options{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s in %.1f s (%s) %s", peName(c), r.Result, r.Seconds, r.Engine, r.Reason)
	if r.Result != Proven {
		t.Errorf("%s: %s, want PROVEN (%s; counterexample %v)", peName(c), r.Result, r.Reason, r.Counterexample)
	}
	return r
}

// TestProvePESweep proves the sweep's combinational PEs up to K*W =
// combBound and its pipelined ones up to pipeBound (all of them with
// -prove.full).
func TestProvePESweep(t *testing.T) {
	requireProvers(t)
	n := 0
	for _, c := range sweepConfigs() {
		bound := pipeBound
		if c.Pipeline == 0 {
			bound = combBound
		}
		if !*full && c.Lanes*c.Width > bound {
			continue
		}
		n++
		mustProve(t, c, 30*time.Minute)
	}
	if want := map[bool]int{false: 102, true: 300}[*full]; n != want {
		t.Fatalf("%d sweep configurations proved, want %d", n, want)
	}
}

// TestProvePEFamilies proves the iCE40 speed schedule (split adders) and
// the xilinx area schedule on small PEs.
func TestProvePEFamilies(t *testing.T) {
	requireProvers(t)
	for _, c := range []rtl.PEConfig{
		{Lanes: 3, Width: 8, Signed: true, Pipeline: rtl.PipelineAuto, Family: rtl.FamilyICE40},
		{Lanes: 2, Width: 12, Signed: false, Pipeline: rtl.PipelineAuto, Family: rtl.FamilyICE40},
		{Lanes: 4, Width: 4, Signed: true, Pipeline: rtl.PipelineAuto, Family: rtl.FamilyXilinx},
		{Lanes: 5, Width: 4, Signed: false, Pipeline: 7},
	} {
		r := mustProve(t, c, 10*time.Minute)
		if c.Family == rtl.FamilyICE40 && r.Latency < 3 {
			t.Errorf("%s: latency %d: not the speed schedule", peName(c), r.Latency)
		}
	}
}

// mutatePE renders c and applies the regular expression re -> repl once;
// it fails the test when the pattern is absent (the mutation must bite).
func mutatePE(t *testing.T, c rtl.PEConfig, re, repl string) []byte {
	t.Helper()
	c.Name = "dut_pe"
	files, _, err := rtl.EmitPE(c)
	if err != nil {
		t.Fatal(err)
	}
	return mutate(t, files["dut_pe.v"], re, repl)
}

// mutate replaces the first match of re in src by repl; it fails the test
// when the pattern is absent (the mutation must bite).
func mutate(t *testing.T, src []byte, re, repl string) []byte {
	t.Helper()
	rx := regexp.MustCompile(re)
	loc := rx.FindIndex(src)
	if loc == nil {
		t.Fatalf("mutation %q matches nothing in\n%s", re, src)
	}
	out := append([]byte(nil), src[:loc[0]]...)
	out = append(out, rx.ReplaceAll(src[loc[0]:loc[1]], []byte(repl))...)
	return append(out, src[loc[1]:]...)
}

// TestProvePEMutations plants bugs in rendered PEs: each must be FAILED
// with a counterexample whose expected sum is sum |x - w| of its lanes and
// whose re-simulated output differs (in value or in valid_o timing).
func TestProvePEMutations(t *testing.T) {
	requireProvers(t)
	cases := []struct {
		name    string
		c       rtl.PEConfig
		re, rep string
		timing  bool // the bug is in valid_o timing
	}{
		{"carry-in dropped (off by one)", rtl.PEConfig{Lanes: 4, Width: 4, Signed: true}, `\+ \{\d+'d0, s_0\}`, "+ 1'b0", false},
		{"carry-in forced (off by one)", rtl.PEConfig{Lanes: 3, Width: 8, Signed: false}, `\+ \{\d+'d0, s_0\}`, "+ 1'b1", false},
		{"last lane's +1 dropped", rtl.PEConfig{Lanes: 9, Width: 8, Signed: true}, ` \+ \{7'd0, s_8\}`, "", false},
		{"sign extension dropped", rtl.PEConfig{Lanes: 5, Width: 6, Signed: true}, `\{x_i\[11\], x_i\[6 \+: 6\]\}`, "{1'b0, x_i[6 +: 6]}", false},
		{"absolute value dropped", rtl.PEConfig{Lanes: 2, Width: 4, Signed: false}, `d_0\[3:0\] \^ \{4\{s_0\}\}`, "d_0[3:0]", false},
		{"pipelined: carry-in dropped", rtl.PEConfig{Lanes: 4, Width: 4, Signed: true, Pipeline: rtl.PipelineAuto}, `\+ \{\d+'d0, s_0\}`, "+ 1'b0", false},
		{"pipelined: valid_o a cycle early", rtl.PEConfig{Lanes: 4, Width: 4, Signed: true, Pipeline: 3}, `assign valid_o = valid_q3`, "assign valid_o = valid_q2", true},
		{"pipelined: reset ignored", rtl.PEConfig{Lanes: 3, Width: 4, Signed: false, Pipeline: 2}, `valid_q1 <= 1'b0`, "valid_q1 <= valid_i", true},
		{"ice40: split adder carry lost", rtl.PEConfig{Lanes: 2, Width: 12, Signed: false, Pipeline: rtl.PipelineAuto, Family: rtl.FamilyICE40}, `(n1_0_p1 = [^;]*) \+ \{[^;]*\};`, "$1;", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dut := mutatePE(t, tc.c, tc.re, tc.rep)
			tc.c.Name = "dut_pe"
			r, err := PEVerilog(context.Background(), tc.c, dut, Options{Timeout: 5 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if r.Result != Failed || r.Counterexample == nil {
				t.Fatalf("%s: %s (%s), want FAILED with a counterexample", tc.name, r.Result, r.Reason)
			}
			cx := r.Counterexample
			t.Logf("%s: FAILED in %.2f s: %s", tc.name, r.Seconds, cx)
			if len(cx.X) != tc.c.Lanes || len(cx.W) != tc.c.Lanes {
				t.Fatalf("counterexample has %d/%d lanes, want %d", len(cx.X), len(cx.W), tc.c.Lanes)
			}
			var want int64
			for k := range cx.X {
				lo, hi := int64(0), int64(1)<<tc.c.Width-1
				if tc.c.Signed {
					lo, hi = -(int64(1) << (tc.c.Width - 1)), int64(1)<<(tc.c.Width-1)-1
				}
				if cx.X[k] < lo || cx.X[k] > hi || cx.W[k] < lo || cx.W[k] > hi {
					t.Fatalf("lane %d: x %d w %d outside [%d, %d]", k, cx.X[k], cx.W[k], lo, hi)
				}
				want += max(cx.X[k]-cx.W[k], cx.W[k]-cx.X[k])
			}
			if cx.ExpectedValid && cx.Expected != want {
				t.Errorf("counterexample expects %d, sum |x - w| is %d", cx.Expected, want)
			}
			differs := cx.ExpectedValid != cx.GotValid || cx.Got == nil || *cx.Got != want
			if !differs {
				t.Errorf("the re-simulated PE gives the right answer: %s", cx)
			}
			if tc.timing && cx.ExpectedValid == cx.GotValid {
				t.Errorf("a valid_o timing bug reported without a valid_o difference: %s", cx)
			}
		})
	}
}

// TestProvePETimeout: a proof cut short is UNKNOWN with the reason, never
// PROVEN.
func TestProvePETimeout(t *testing.T) {
	requireProvers(t)
	r, err := PE(context.Background(), rtl.PEConfig{Lanes: 27, Width: 8, Signed: true}, Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Result != Unknown || !strings.Contains(r.Reason, "timeout") {
		t.Fatalf("%s (%s), want UNKNOWN with a timeout", r.Result, r.Reason)
	}
}

var modes = []string{"half-up", "half-even", "floor", "toward-zero"}

// TestProveRound proves the rounding step in every mode at the edges of
// its shift range, and catches planted rounding bugs.
func TestProveRound(t *testing.T) {
	requireProvers(t)
	for _, m := range modes {
		for _, ws := range [][2]int{{8, 0}, {8, 1}, {8, 6}, {24, 11}, {40, 25}, {64, 62}} {
			r, err := Round(context.Background(), ws[0], ws[1], m, Options{Timeout: 5 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if r.Result != Proven {
				t.Errorf("round %s width %d shift %d: %s (%s, %v)", m, ws[0], ws[1], r.Result, r.Reason, r.Counterexample)
			}
		}
	}
	mutants := []struct {
		mode, re, rep string
	}{
		{"half-even", `&& fl\[0\]`, "&& 1'b1"},   // ties always up
		{"half-up", `\(prod \+ [^)]*\)`, "prod"}, // floor instead
		{"toward-zero", `\(prod < 0\) && `, ""},  // negative exact values move
		{"floor", `>>> 5`, ">> 5"},               // logical shift
	}
	for _, mu := range mutants {
		u, err := rtl.PlanRound("dut_round", 16, 5, mu.mode)
		if err != nil {
			t.Fatal(err)
		}
		src, err := u.Verilog()
		if err != nil {
			t.Fatal(err)
		}
		r, err := roundWith(context.Background(), 16, 5, mu.mode, mutate(t, src, mu.re, mu.rep), Options{Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if r.Result != Failed || r.Counterexample == nil {
			t.Fatalf("%s mutant: %s (%s), want FAILED", mu.mode, r.Result, r.Reason)
		}
		cx := r.Counterexample
		mode, _ := fixedpoint.ParseRounding(mu.mode)
		if want := fixedpoint.RoundShiftRight(cx.Input, 5, mode); cx.Expected != want || cx.Got == nil || *cx.Got == want {
			t.Errorf("%s mutant: counterexample %s does not show a difference from %d", mu.mode, cx, want)
		}
		t.Logf("%s mutant: %s", mu.mode, cx)
	}
}

// loadModel reads a quantized model, gzip-compressed or not.
func loadModel(t testing.TB, path string) *quant.Model {
	t.Helper()
	if !strings.HasSuffix(path, ".gz") {
		q, err := quant.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	q, err := quant.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// twoDigit replaces every m by a value of one or two signed digits of the
// same sign and magnitude class, so the engines use the shift-add rescale.
func twoDigit(q *quant.Model) {
	for _, l := range q.Layers {
		if l.Rescale == nil {
			continue
		}
		for c, m := range l.Rescale.M {
			s, a := int64(1), m
			if m < 0 {
				s, a = -1, -m
			}
			top := int64(1)
			for top*2 <= a {
				top *= 2
			}
			if c%2 == 1 && top >= 4 {
				top -= top / 4 // 2^k - 2^(k-2): the second digit negative (an inverted term)
			}
			l.Rescale.M[c] = s * top
		}
	}
}

// TestProveRescale proves the rescale units (DSP multiply and shift-add) in
// every rounding mode on the mini LeNet, and catches planted bugs.
func TestProveRescale(t *testing.T) {
	requireProvers(t)
	for _, shiftAdd := range []bool{false, true} {
		for _, m := range modes {
			q := loadModel(t, "../synth/testdata/nets/minilenet_q8.json")
			mode, err := fixedpoint.ParseRounding(m)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range q.Layers {
				if l.Rescale != nil {
					l.Rescale.Rounding = mode
				}
			}
			if shiftAdd {
				twoDigit(q)
			}
			n, items, err := Collect(q, rtl.NetConfig{Parallel: 2})
			if err != nil {
				t.Fatal(err)
			}
			proved := 0
			for _, it := range items {
				// One layer per variant keeps the test short: c1 (a conv:
				// the DSP multiply, or shift-add) and a2 (an adder).
				if it.Kind != "rescale" || (it.Layers[0] != "c1" && it.Layers[0] != "a2") {
					continue
				}
				if got := strings.Contains(it.Config, "shift-add"); it.Layers[0] == "c1" && got != shiftAdd {
					t.Fatalf("%s: shift-add %v, want %v", it.Config, got, shiftAdd)
				}
				r, err := ProveItem(context.Background(), n, it, Options{Timeout: 5 * time.Minute})
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: %s in %.1f s", it.Config, r.Result, r.Seconds)
				if r.Result != Proven {
					t.Errorf("%s: %s (%s; %s)", it.Config, r.Result, r.Reason, r.Counterexample)
				}
				proved++
			}
			if proved != 2 {
				t.Fatalf("%d rescales proved, want 2", proved)
			}
		}
	}
}

// TestProveRescaleMutations plants bugs in the rendered rescale unit of the
// mini LeNet's c1 (its output is not constant over its accumulator range,
// unlike a2's whose m < 0 and b = 0 make every output 0): each
// must be FAILED with a counterexample that re-simulates to a value other
// than the formula's.
func TestProveRescaleMutations(t *testing.T) {
	requireProvers(t)
	for _, mu := range []struct {
		name     string
		shiftAdd bool
		re, rep  string
	}{
		{"b off by one output step", false, `mul \+ bx;`, "mul + bx + 33554432;"}, // + 2^25, shift 25 (b + 1 alone is unobservable here: no acc in range reaches a rounding boundary)
		{"clamp bound off by one", false, `\(q > (\d+)'sd255\) \? \d+'sd255`, "(q > ${1}'sd254) ? ${1}'sd254"},
		{"rounding term dropped", false, `\(prod \+ [^)]*\) >>>`, "prod >>>"},
		{"shift-add: negative digit's inversion dropped", true, `~\(totx <<< sh1\)`, "(totx <<< sh1)"}, // the +1 of ~x = -x-1 alone is unobservable here (as b + 1)
		{"shift-add: second term ignored", true, `wire signed \[(\d+):0\] mul = t1 \+ t2;`, "wire signed [$1:0] mul = t1;"},
	} {
		t.Run(mu.name, func(t *testing.T) {
			q := loadModel(t, "../synth/testdata/nets/minilenet_q8.json")
			if mu.shiftAdd {
				twoDigit(q)
			}
			n, err := rtl.PlanNet(q, rtl.NetConfig{Parallel: 2})
			if err != nil {
				t.Fatal(err)
			}
			var e *rtl.Engine
			for _, x := range n.Engines {
				if x.Layer == "c1" {
					e = x
				}
			}
			if e == nil || e.ShiftM != mu.shiftAdd {
				t.Fatalf("layer c1: no engine, or shift-add is not %v", mu.shiftAdd)
			}
			u, err := e.RescaleUnit("dut_rescale")
			if err != nil {
				t.Fatal(err)
			}
			src, err := u.Verilog()
			if err != nil {
				t.Fatal(err)
			}
			l := q.Layers[e.Index]
			r, err := rescaleWith(context.Background(), l, u, mutate(t, src, mu.re, mu.rep), Options{Timeout: 5 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if r.Result != Failed || r.Counterexample == nil {
				t.Fatalf("%s: %s (%s), want FAILED", mu.name, r.Result, r.Reason)
			}
			cx := r.Counterexample
			if cx.Input < l.Ranges.Acc.Lo || cx.Input > l.Ranges.Acc.Hi {
				t.Errorf("counterexample acc %d outside the layer's range [%d, %d]", cx.Input, l.Ranges.Acc.Lo, l.Ranges.Acc.Hi)
			}
			want := fixedpoint.RoundShiftRight(cx.Input*cx.M+cx.B, uint(l.Rescale.Shift), l.Rescale.Rounding)
			want = min(max(want, l.Out.Min()), l.Out.Max())
			if cx.Expected != want || cx.Got == nil || *cx.Got == want {
				t.Errorf("counterexample %s does not show a difference from %d", cx, want)
			}
			t.Logf("%s: FAILED in %.2f s: %s", mu.name, r.Seconds, cx)
		})
	}
}

// proveDesign proves every item Collect finds for q under c and fails
// unless all are PROVEN; it logs each time.
func proveDesign(t testing.TB, q *quant.Model, c rtl.NetConfig, wantPEs int) {
	t.Helper()
	n, items, err := Collect(q, c)
	if err != nil {
		t.Fatal(err)
	}
	pes := 0
	for _, it := range items {
		if it.Kind == "pe" {
			pes++
		}
		r, err := ProveItem(context.Background(), n, it, Options{Timeout: 2 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-7s %-8s %7.1f s  %s (%s)", it.Kind, r.Result, r.Seconds, it.Config, strings.Join(it.Layers, ","))
		if r.Result != Proven {
			t.Errorf("%s: %s (%s; %s)", it.Config, r.Result, r.Reason, r.Counterexample)
		}
	}
	if wantPEs >= 0 && pes != wantPEs {
		t.Errorf("%d distinct PE configurations, want %d", pes, wantPEs)
	}
}

// BenchmarkProveLeNetDesign proves every PE configuration and rescale of
// the LeNet demo design (8 bits, --parallel 16 --lanes 150 --balance) and
// fails unless all are PROVEN. Slow (times in the README), so a benchmark
// run on request, never a skipped test: go test ./prove -run '^$'
// -bench ProveLeNetDesign -benchtime 1x -timeout 0.
func BenchmarkProveLeNetDesign(t *testing.B) {
	requireProvers(t)
	q := loadModel(t, "../synth/testdata/nets/lenet5_q8.json.gz")
	proveDesign(t, q, rtl.NetConfig{Parallel: 16, Lanes: 150, Balance: true}, 3)
}

// BenchmarkProveResNet20Design proves every PE configuration and rescale
// of the official ResNet-20 at --target-cycles 20000 and fails unless all
// are PROVEN. Slow: a benchmark run on request (go test ./prove -run '^$'
// -bench ProveResNet20Design -benchtime 1x -timeout 0).
func BenchmarkProveResNet20Design(t *testing.B) {
	requireProvers(t)
	q, _ := nettest.ResNet20(t, 1)
	proveDesign(t, q, rtl.NetConfig{TargetCycles: 20000}, -1)
}
