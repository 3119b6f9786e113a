package prove

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/addergen/addergen/rtl"
)

//go:embed ref/pe_ref.v
var peRef []byte

// PEResult is the outcome of proving one L1 PE configuration.
type PEResult struct {
	Lanes    int     `json:"lanes"`
	Width    int     `json:"width"`
	Signed   bool    `json:"signed"`
	Pipeline string  `json:"pipeline"` // "auto" or the stage count asked for
	Family   string  `json:"family"`
	Latency  int     `json:"latency"` // cycles from valid_i to valid_o, from the plan
	Result   Status  `json:"result"`
	Seconds  float64 `json:"seconds"` // wall time of miter building and proving
	Engine   string  `json:"engine"`
	Reason   string  `json:"reason,omitempty"` // UNKNOWN: why
	// Counterexample is set when Result is FAILED.
	Counterexample *PECounterexample `json:"counterexample,omitempty"`
}

// PECounterexample is one input on which the generated PE and the
// reference disagree, as re-simulated by Icarus Verilog.
type PECounterexample struct {
	X []int64 `json:"x"` // lane values of the failing sample (signed when the PE is)
	W []int64 `json:"w"`
	// Expected is sum |x_k - w_k|; Got is the PE's sum_o at Cycle (nil when
	// it was undefined, x or z, in simulation).
	Expected int64  `json:"expected"`
	Got      *int64 `json:"got"`
	// Cycle is the clock cycle (0 = the first of the trace) where the PE's
	// outputs first differ from the reference's; the sample was presented
	// latency cycles earlier. ExpectedValid and GotValid are valid_o there.
	Cycle         int  `json:"cycle"`
	ExpectedValid bool `json:"expected_valid"`
	GotValid      bool `json:"got_valid"`
}

// String is one line: the lanes, the expected sum and the sum got.
func (c *PECounterexample) String() string {
	got := "x"
	if c.Got != nil {
		got = strconv.FormatInt(*c.Got, 10)
	}
	s := fmt.Sprintf("x=%v w=%v expected %d got %s", c.X, c.W, c.Expected, got)
	if c.ExpectedValid != c.GotValid {
		s += fmt.Sprintf(" (cycle %d: valid_o %v, expected %v)", c.Cycle, c.GotValid, c.ExpectedValid)
	}
	return s
}

// PE proves that the PE rendered by rtl.EmitPE for c computes, for every
// input, sum over k of |x_k - w_k| with valid_o exactly latency cycles
// after valid_i (after a reset), against the hand-written reference
// ref/pe_ref.v. It needs yosys, yosys-abc and, for a counterexample,
// iverilog and vvp on PATH. Errors are configuration or tool failures; a
// disproof is a FAILED result, not an error.
func PE(ctx context.Context, c rtl.PEConfig, o Options) (*PEResult, error) {
	c.Name = "dut_pe"
	files, _, err := rtl.EmitPE(c)
	if err != nil {
		return nil, err
	}
	return PEVerilog(ctx, c, files["dut_pe.v"], o)
}

// PEVerilog proves the Verilog dut (a module named c.Name, or "adder_pe",
// with the PE contract's ports) against the reference for configuration c:
// the mutation tests pass a deliberately broken rendering here.
func PEVerilog(ctx context.Context, c rtl.PEConfig, dut []byte, o Options) (*PEResult, error) {
	plan, err := rtl.PlanPE(c)
	if err != nil {
		return nil, err
	}
	res := &PEResult{Lanes: c.Lanes, Width: c.Width, Signed: c.Signed, Pipeline: pipelineString(c.Pipeline),
		Family: familyString(c.Family), Latency: plan.Latency}
	dir, cleanup, err := o.workDir()
	if err != nil {
		return nil, err
	}
	defer cleanup()
	start := time.Now()
	if plan.Latency > 0 {
		// A balanced pipeline: the sums as a combinational miter, valid_o
		// alone as a sequential one (see balance.go). Anything else, a
		// failure included (its counterexample is a trace), goes to the
		// whole sequential miter below.
		if r, ok, err := provePipelined(ctx, dir, plan, dut, o); err != nil {
			return nil, err
		} else if ok {
			res.Engine, res.Result, res.Reason = r.engine, r.status, r.reason
			res.Seconds = time.Since(start).Seconds()
			return res, nil
		}
	}
	files := map[string][]byte{
		"dut.v":   dut,
		"ref.v":   peRef,
		"miter.v": []byte(peMiter(plan, false)),
	}
	if err := buildAIG(ctx, dir, files, "prove_miter", ""); err != nil {
		return nil, err
	}
	lat := -1
	if plan.Latency > 0 {
		lat = plan.Latency
	}
	run, err := runABC(ctx, dir, lat, o.timeout())
	if err != nil {
		return nil, err
	}
	res.Engine, res.Result, res.Reason = run.engine, run.status, run.reason
	if run.status == Failed {
		cex, err := replayPE(ctx, dir, plan, dut, run)
		if err != nil {
			return nil, err
		}
		res.Counterexample = cex
		if cex == nil {
			res.Result, res.Reason = Unknown, unreproduced(dir)
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

func pipelineString(p int) string {
	if p == rtl.PipelineAuto {
		return "auto"
	}
	return strconv.Itoa(p)
}

func familyString(f string) string {
	if f == "" {
		return rtl.FamilyGeneric
	}
	return f
}

// provePipelined proves a pipelined PE as a balanced pipeline (see
// balance.go). ok is false when the PE is not one, or when either proof
// did not end PROVEN: the caller then proves the whole sequential miter,
// which finds and replays any counterexample.
func provePipelined(ctx context.Context, dir string, plan *rtl.PE, dut []byte, o Options) (engineRun, bool, error) {
	if err := balancedPE(ctx, dir, plan.Module, dut, plan.Latency); err != nil {
		return engineRun{}, false, nil
	}
	if err := os.WriteFile(filepath.Join(dir, "dffwire.v"), []byte(dffWireMap), 0o644); err != nil {
		return engineRun{}, false, fmt.Errorf("prove: %w", err)
	}
	files := map[string][]byte{"dut.v": dut, "ref.v": peRef, "miter.v": []byte(peMiterComb(plan))}
	if err := buildAIG(ctx, dir, files, "prove_miter", "techmap -map dffwire.v"); err != nil {
		return engineRun{}, false, err
	}
	sum, err := runABC(ctx, dir, -1, o.timeout())
	if err != nil || sum.status != Proven {
		return engineRun{}, false, err
	}
	files["miter.v"] = []byte(peMiter(plan, true))
	if err := buildAIG(ctx, dir, files, "prove_miter", ""); err != nil {
		return engineRun{}, false, err
	}
	// yosys may merge the two valid chains and leave no register (the
	// trigger then a constant): a combinational miter, for iprove.
	seq := plan.Latency
	if n, err := aigLatches(dir); err != nil {
		return engineRun{}, false, err
	} else if n == 0 {
		seq = -1
	}
	valid, err := runABC(ctx, dir, seq, o.timeout())
	if err != nil || valid.status != Proven {
		return engineRun{}, false, err
	}
	return engineRun{status: Proven, engine: fmt.Sprintf("balanced pipeline (%d registers on every path): sum_o by %s with registers as wires; valid_o by %s", plan.Latency, sum.engine, valid.engine)}, true, nil
}

// aigLatches is the latch count in dir/miter.aig's header ("aig M I L O A").
func aigLatches(dir string) (int, error) {
	f, err := os.Open(filepath.Join(dir, "miter.aig"))
	if err != nil {
		return 0, fmt.Errorf("prove: %w", err)
	}
	defer f.Close()
	var m, i, l int
	if _, err := fmt.Fscanf(f, "aig %d %d %d", &m, &i, &l); err != nil {
		return 0, fmt.Errorf("prove: %s: no AIGER header: %w", filepath.Join(dir, "miter.aig"), err)
	}
	return l, nil
}

// peMiterComb is the combinational miter of a balanced pipeline's sums:
// the PE (its registers made wires by the caller) and the reference with
// no delay; trigger is 1 when the sums differ.
func peMiterComb(p *rtl.PE) string {
	var b strings.Builder
	fmt.Fprintf(&b, "`default_nettype none\nmodule prove_miter (\n    input wire [%d:0] x_i,\n    input wire [%d:0] w_i,\n    output wire trigger\n);\n", p.LaneMsb, p.LaneMsb)
	fmt.Fprintf(&b, "    wire v_dut, v_ref;\n    wire [%d:0] s_dut;\n    wire [31:0] s_ref;\n", p.SumMsb)
	fmt.Fprintf(&b, "    %s u_dut (.clk_i(1'b0), .rst_i(1'b0), .valid_i(1'b0), .x_i(x_i), .w_i(w_i), .valid_o(v_dut), .sum_o(s_dut));\n", p.Module)
	fmt.Fprintf(&b, "    pe_ref #(.K(%d), .W(%d), .SIGNED(%d), .LAT(0)) u_ref (.clk_i(1'b0), .rst_i(1'b0), .valid_i(1'b0), .x_i(x_i), .w_i(w_i), .valid_o(v_ref), .sum_o(s_ref));\n",
		p.Lanes, p.Width, b2i(p.Signed))
	fmt.Fprintf(&b, "    assign trigger = {%d'd0, s_dut} != s_ref;\n", 32-p.SumWidth)
	b.WriteString("endmodule\n`default_nettype wire\n")
	return b.String()
}

// peMiter is the miter module: the PE and the reference on the same
// inputs; trigger is 1 when valid_o differs, or (unless validOnly) when
// the reference's valid_o is high and the sums differ (sum_o is
// meaningful only then). A pipelined miter resets both in its first cycle.
func peMiter(p *rtl.PE, validOnly bool) string {
	var b strings.Builder
	seq := p.Latency > 0
	fmt.Fprintf(&b, "`default_nettype none\nmodule prove_miter (\n    input wire clk_i,\n    input wire rst_i,\n    input wire valid_i,\n")
	fmt.Fprintf(&b, "    input wire [%d:0] x_i,\n    input wire [%d:0] w_i,\n    output wire trigger\n);\n", p.LaneMsb, p.LaneMsb)
	started := "1'b1"
	if seq {
		b.WriteString("    reg started = 1'b0;\n    always @(posedge clk_i) started <= 1'b1;\n")
		started = "started"
	}
	fmt.Fprintf(&b, "    wire rst = rst_i || !%s;\n", started)
	fmt.Fprintf(&b, "    wire v_dut, v_ref;\n    wire [%d:0] s_dut;\n    wire [31:0] s_ref;\n", p.SumMsb)
	fmt.Fprintf(&b, "    %s u_dut (.clk_i(clk_i), .rst_i(rst), .valid_i(valid_i), .x_i(x_i), .w_i(w_i), .valid_o(v_dut), .sum_o(s_dut));\n", p.Module)
	signed := 0
	if p.Signed {
		signed = 1
	}
	fmt.Fprintf(&b, "    pe_ref #(.K(%d), .W(%d), .SIGNED(%d), .LAT(%d)) u_ref (.clk_i(clk_i), .rst_i(rst), .valid_i(valid_i), .x_i(x_i), .w_i(w_i), .valid_o(v_ref), .sum_o(s_ref));\n",
		p.Lanes, p.Width, signed, p.Latency)
	if validOnly {
		fmt.Fprintf(&b, "    wire unused_sums = ^{s_dut, s_ref};\n    assign trigger = %s && (v_dut != v_ref);\n", started)
	} else {
		fmt.Fprintf(&b, "    assign trigger = %s && ((v_dut != v_ref) || (v_ref && ({%d'd0, s_dut} != s_ref)));\n", started, 32-p.SumWidth)
	}
	b.WriteString("endmodule\n`default_nettype wire\n")
	return b.String()
}

// replayPE re-simulates the prover's input trace on dut with Icarus
// Verilog and compares every cycle with the PE contract computed in Go. It
// returns the first difference, or nil when the trace shows none.
func replayPE(ctx context.Context, dir string, p *rtl.PE, dut []byte, run engineRun) (*PECounterexample, error) {
	frames := run.frame + 1
	at := func(name string, f int) frameBits {
		if fr := run.cex[name]; f < len(fr) {
			return fr[f]
		}
		return nil
	}
	seq := p.Latency > 0
	var tb strings.Builder
	fmt.Fprintf(&tb, "`timescale 1ns/1ps\nmodule tb;\n    reg clk = 0, rst = 0, valid = 0;\n    reg [%d:0] x = 0, w = 0;\n    wire v;\n    wire [%d:0] s;\n", p.LaneMsb, p.SumMsb)
	fmt.Fprintf(&tb, "    %s u_dut (.clk_i(clk), .rst_i(rst), .valid_i(valid), .x_i(x), .w_i(w), .valid_o(v), .sum_o(s));\n    initial begin\n", p.Module)
	rst := make([]bool, frames)
	valid := make([]bool, frames)
	for f := 0; f < frames; f++ {
		rst[f] = at("rst_i", f).uint(0, 1) == 1 || (seq && f == 0)
		valid[f] = at("valid_i", f).uint(0, 1) == 1
		fmt.Fprintf(&tb, "        rst = %d; valid = %d; x = %d'h%s; w = %d'h%s; #1;\n", b2i(rst[f]), b2i(valid[f]),
			p.LaneBits, hexBits(at("x_i", f), p.LaneBits), p.LaneBits, hexBits(at("w_i", f), p.LaneBits))
		fmt.Fprintf(&tb, "        $display(\"F %d %%b %%0d\", v, s); clk = 1; #1; clk = 0; #1;\n", f)
	}
	tb.WriteString("        $finish;\n    end\nendmodule\n")
	if err := os.WriteFile(filepath.Join(dir, "replay_tb.v"), []byte(tb.String()), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "replay_dut.v"), dut, 0o644); err != nil {
		return nil, err
	}
	lines, err := runIverilog(ctx, dir, "replay_tb.v", "replay_dut.v")
	if err != nil {
		return nil, err
	}
	lanes := func(b frameBits) []int64 {
		out := make([]int64, p.Lanes)
		for k := range out {
			u := int64(b.uint(k*p.Width, p.Width))
			if p.Signed && u >= 1<<(p.Width-1) {
				u -= 1 << p.Width
			}
			out[k] = u
		}
		return out
	}
	first := 0
	if seq {
		first = 1 // the miter's first cycle is its reset: nothing is compared there
	}
	for f := first; f < frames && f < len(lines); f++ {
		fs := strings.Fields(lines[f])
		if len(fs) != 4 || fs[0] != "F" {
			return nil, fmt.Errorf("prove: unexpected simulator line %q", lines[f])
		}
		expValid := false
		sample := f - p.Latency
		if sample >= 0 {
			expValid = valid[sample]
			for j := sample; j < f; j++ {
				expValid = expValid && !rst[j]
			}
		}
		gotValid := fs[2] == "1"
		var got *int64
		if g, err := strconv.ParseInt(fs[3], 10, 64); err == nil {
			got = &g
		}
		var x, w []int64
		var exp int64
		if sample >= 0 {
			x, w = lanes(at("x_i", sample)), lanes(at("w_i", sample))
			for k := range x {
				d := x[k] - w[k]
				exp += max(d, -d)
			}
		}
		if gotValid != expValid || fs[2] != "0" && fs[2] != "1" || (expValid && (got == nil || *got != exp)) {
			if sample < 0 { // valid_o rose before any sample could arrive
				x, w = lanes(at("x_i", 0)), lanes(at("w_i", 0))
			}
			return &PECounterexample{X: x, W: w, Expected: exp, Got: got, Cycle: f, ExpectedValid: expValid, GotValid: gotValid}, nil
		}
	}
	return nil, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// hexBits prints n bits of b (LSB first) as hexadecimal digits.
func hexBits(b frameBits, n int) string {
	var s []byte
	for lo := 0; lo < n; lo += 4 {
		s = append(s, "0123456789abcdef"[b.uint(lo, min(4, n-lo))])
	}
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
	return string(s)
}

// runIverilog compiles the files in dir with iverilog and runs them with
// vvp, returning the output lines.
func runIverilog(ctx context.Context, dir string, files ...string) ([]string, error) {
	args := append([]string{"-g2005", "-o", "replay.vvp"}, files...)
	cmd := exec.CommandContext(ctx, "iverilog", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("prove: iverilog (replaying a counterexample in %s): %v: %s", dir, err, firstLine(out))
	}
	cmd = exec.CommandContext(ctx, "vvp", "-n", "replay.vvp")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("prove: vvp (replaying a counterexample in %s): %w", dir, err)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "F ") || strings.HasPrefix(l, "R ") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return lines, nil
}
