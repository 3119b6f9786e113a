package prove

import (
	"context"
	_ "embed"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/addergen/addergen/fixedpoint"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
)

//go:embed ref/rescale_ref.v
var rescaleRef []byte

// refModes numbers the rounding modes as ref/rescale_ref.v's MODE.
var refModes = map[string]int{"half-up": 0, "floor": 1, "half-even": 2, "toward-zero": 3}

// UnitResult is the outcome of proving a rescale or rounding unit.
type UnitResult struct {
	// What was proven: "rescale LAYER" or "round".
	Unit     string `json:"unit"`
	Rounding string `json:"rounding"`
	Shift    int    `json:"shift"`
	ShiftAdd bool   `json:"shift_add,omitempty"` // the --no-multipliers shift-add rescale
	// Channels is the number of distinct (m, b) pairs proven (rescale).
	Channels int `json:"channels,omitempty"`
	// InLo and InHi bound the input over which the unit is proven: the
	// layer's accumulator range from the quantized model (rescale), or
	// every (width-1)-bit value (round).
	InLo    int64   `json:"in_lo"`
	InHi    int64   `json:"in_hi"`
	Width   int     `json:"width"` // RW: the unit's arithmetic width
	Result  Status  `json:"result"`
	Seconds float64 `json:"seconds"`
	Engine  string  `json:"engine"`
	Reason  string  `json:"reason,omitempty"`
	// Counterexample is set when Result is FAILED.
	Counterexample *UnitCounterexample `json:"counterexample,omitempty"`
}

// UnitCounterexample is an input on which the unit and the formula of
// quant/FORMAT.md disagree, re-simulated by Icarus Verilog.
type UnitCounterexample struct {
	Input    int64  `json:"input"` // acc (rescale) or prod (round)
	Channel  int    `json:"channel"`
	M        int64  `json:"m"`
	B        int64  `json:"b"`
	Expected int64  `json:"expected"` // computed in Go with fixedpoint.RoundShiftRight and the clamp
	Got      *int64 `json:"got"`      // the unit's output in simulation (nil when undefined)
}

func (c *UnitCounterexample) String() string {
	got := "x"
	if c.Got != nil {
		got = strconv.FormatInt(*c.Got, 10)
	}
	return fmt.Sprintf("input %d (channel %d, m %d, b %d): expected %d got %s", c.Input, c.Channel, c.M, c.B, c.Expected, got)
}

// lit prints v as a sized signed Verilog literal of w bits.
func lit(w int, v int64) string {
	if v < 0 {
		return fmt.Sprintf("-%d'sd%d", w, uint64(-v))
	}
	return fmt.Sprintf("%d'sd%d", w, v)
}

// refWidth is the width the reference needs to compute acc*m + b, its
// magnitude, floor, remainder and rounding term exactly for every acc in
// [accLo, accHi] (the extremes of a linear function are at the ends), and
// to hold the clamp bounds: the widest signed width of those values plus
// one spare bit. It fails above the reference's 128 bits.
func refWidth(accLo, accHi, m, b int64, sh int, outLo, outHi int64) (int, error) {
	bm, bb := big.NewInt(m), big.NewInt(b)
	p1 := new(big.Int).Add(new(big.Int).Mul(big.NewInt(accLo), bm), bb)
	p2 := new(big.Int).Add(new(big.Int).Mul(big.NewInt(accHi), bm), bb)
	w := 0
	for _, v := range []*big.Int{p1, p2, big.NewInt(outLo), big.NewInt(outHi), new(big.Int).Lsh(big.NewInt(1), uint(sh))} {
		// |v| + 2^sh covers v, -v, v + half and the remainder.
		mag := new(big.Int).Add(new(big.Int).Abs(v), new(big.Int).Lsh(big.NewInt(1), uint(sh)))
		w = max(w, mag.BitLen()+1)
	}
	w++
	if w > 128 {
		return 0, fmt.Errorf("the reference needs %d bits (more than 128)", w)
	}
	return w, nil
}

// channel is one (m, b) pair of a rescale, with the DUT's port values.
type channel struct {
	index      int   // the first output channel with this pair
	m, b       int64 // the quantized model's values (the reference's)
	mPort      string
	bPort      string
	shiftTerms bool
}

// Rescale proves the rescale of engine e of the planned network n: for
// every accumulator value in the layer's range (quant ranges.acc) and
// every output channel's m and b, the unit rtl.Engine.RescaleUnit renders
// equals sat(round_r(acc*m + b, sh)) of quant/FORMAT.md, written as
// ref/rescale_ref.v. The engine's +c (adder constant) stage is not part
// of the unit. Errors are configuration or tool failures.
func Rescale(ctx context.Context, n *rtl.Net, e *rtl.Engine, o Options) (*UnitResult, error) {
	if e.Index < 0 || e.Index >= len(n.Model.Layers) {
		return nil, fmt.Errorf("prove: engine %s: layer index %d out of range", e.Module, e.Index)
	}
	l := n.Model.Layers[e.Index]
	if l.Rescale == nil || len(l.Rescale.M) == 0 || l.Ranges.Acc == nil {
		return nil, fmt.Errorf("prove: layer %s has no multiply-and-add rescale", l.Name)
	}
	u, err := e.RescaleUnit("dut_rescale")
	if err != nil {
		return nil, err
	}
	dut, err := u.Verilog()
	if err != nil {
		return nil, err
	}
	return rescaleWith(ctx, n.Model.Layers[e.Index], u, dut, o)
}

// rescaleWith proves dut (a module dut_rescale with u's ports) against the
// formula for layer l; the mutation tests pass a broken rendering.
func rescaleWith(ctx context.Context, l *quant.Layer, u *rtl.RescaleUnit, dut []byte, o Options) (*UnitResult, error) {
	rs := l.Rescale
	var chans []channel
	seen := map[[2]int64]bool{}
	terms, bvals := []int64(nil), rs.B
	if u.ShiftM {
		terms, bvals = rtl.ShiftTerms(rs.M, rs.B)
	}
	for c := range rs.M {
		key := [2]int64{rs.M[c], rs.B[c]}
		if seen[key] {
			continue
		}
		seen[key] = true
		ch := channel{index: c, m: rs.M[c], b: rs.B[c], shiftTerms: u.ShiftM,
			bPort: fmt.Sprintf("%d'h%x", u.BW, uint64(bvals[c])&(1<<u.BW-1))}
		if u.ShiftM {
			mt := uint64(terms[2*c]) | uint64(terms[2*c+1])<<u.MTW
			ch.mPort = fmt.Sprintf("%d'h%x", 2*u.MTW, mt)
		} else {
			ch.mPort = fmt.Sprintf("%d'h%x", u.MW, uint64(rs.M[c])&(1<<u.MW-1))
		}
		chans = append(chans, ch)
	}
	lo, hi := l.Out.Min(), l.Out.Max()
	res := &UnitResult{Unit: "rescale " + l.Name, Rounding: u.Rounding, Shift: u.Shift, ShiftAdd: u.ShiftM,
		Channels: len(chans), InLo: l.Ranges.Acc.Lo, InHi: l.Ranges.Acc.Hi, Width: u.RW}
	var mt strings.Builder
	fmt.Fprintf(&mt, "`default_nettype none\nmodule prove_miter (\n    input wire signed [%d:0] tot_i,\n    output wire trigger\n);\n", u.AccMsb)
	fmt.Fprintf(&mt, "    wire in_range = (tot_i >= %s) && (tot_i <= %s);\n", lit(u.AccW, res.InLo), lit(u.AccW, res.InHi))
	var diffs []string
	for i, ch := range chans {
		r, err := refWidth(res.InLo, res.InHi, ch.m, ch.b, u.Shift, lo, hi)
		if err != nil {
			return nil, fmt.Errorf("prove: layer %s channel %d: %w", l.Name, ch.index, err)
		}
		// Any width from r up computes the same exact values; the unit's own
		// width, when it is enough, lets the checker match the two multiplies.
		r = max(r, u.RW)
		port := "m_i"
		if ch.shiftTerms {
			port = "mt_i"
		}
		fmt.Fprintf(&mt, "    wire signed [%d:0] yd_%d;\n    dut_rescale u_dut_%d (.tot_i(tot_i), .%s(%s), .b_i(%s), .y_o(yd_%d));\n", u.RMsb, i, i, port, ch.mPort, ch.bPort, i)
		fmt.Fprintf(&mt, "    wire signed [127:0] yr_%d;\n    rescale_ref #(.ACCW(%d), .R(%d), .M(%s), .B(%s), .SH(%d), .MODE(%d), .LO(%s), .HI(%s)) u_ref_%d (.acc_i(tot_i), .y_o(yr_%d));\n",
			i, u.AccW, r, lit(128, ch.m), lit(128, ch.b), u.Shift, refModes[u.Rounding], lit(128, lo), lit(128, hi), i, i)
		fmt.Fprintf(&mt, "    wire d_%d = ({{%d{yd_%d[%d]}}, yd_%d} != yr_%d);\n", i, 128-u.RW, i, u.RMsb, i, i)
		diffs = append(diffs, fmt.Sprintf("d_%d", i))
	}
	fmt.Fprintf(&mt, "    assign trigger = in_range && (%s);\nendmodule\n`default_nettype wire\n", strings.Join(diffs, " || "))

	replay := func(ctx context.Context, dir string, in int64) (*UnitCounterexample, error) {
		var tb strings.Builder
		fmt.Fprintf(&tb, "module tb;\n    wire signed [%d:0] tot = %s;\n", u.AccMsb, lit(u.AccW, in))
		for i, ch := range chans {
			port := "m_i"
			if ch.shiftTerms {
				port = "mt_i"
			}
			fmt.Fprintf(&tb, "    wire signed [%d:0] y_%d;\n    dut_rescale u_%d (.tot_i(tot), .%s(%s), .b_i(%s), .y_o(y_%d));\n", u.RMsb, i, i, port, ch.mPort, ch.bPort, i)
		}
		tb.WriteString("    initial begin\n        #1;\n")
		for i := range chans {
			fmt.Fprintf(&tb, "        $display(\"R %d %%0d\", y_%d);\n", i, i)
		}
		tb.WriteString("    end\nendmodule\n")
		got, err := replayUnit(ctx, dir, tb.String(), dut, len(chans))
		if err != nil {
			return nil, err
		}
		for i, ch := range chans {
			exp := fixedpoint.RoundShiftRight(in*ch.m+ch.b, uint(u.Shift), rs.Rounding)
			exp = min(max(exp, lo), hi)
			if got[i] == nil || *got[i] != exp {
				return &UnitCounterexample{Input: in, Channel: ch.index, M: ch.m, B: ch.b, Expected: exp, Got: got[i]}, nil
			}
		}
		return nil, nil
	}
	return proveUnit(ctx, res, map[string][]byte{"dut.v": dut, "ref.v": rescaleRef, "miter.v": []byte(mt.String())},
		"tot_i", u.AccW, replay, o)
}

// Round proves the rounding step alone (rtl.PlanRound, the engines'
// shared "round" text) for rw-bit values shifted by shift with the named
// mode: for every input whose value fits rw-1 signed bits (the engines'
// spare bit for the rounding term), q equals round_r(p, shift) of
// quant/FORMAT.md, written as ref/rescale_ref.v with m = 1, b = 0 and no
// clamping. Bad arguments are a *rtl.FieldError naming "width", "shift" or
// "rounding".
func Round(ctx context.Context, rw, shift int, rounding string, o Options) (*UnitResult, error) {
	u, err := rtl.PlanRound("dut_round", rw, shift, rounding)
	if err != nil {
		return nil, err
	}
	dut, err := u.Verilog()
	if err != nil {
		return nil, err
	}
	return roundWith(ctx, rw, shift, rounding, dut, o)
}

// roundWith proves dut (a module dut_round with RoundUnit's ports); the
// mutation tests pass a broken rendering.
func roundWith(ctx context.Context, rw, shift int, rounding string, dut []byte, o Options) (*UnitResult, error) {
	mode, err := fixedpoint.ParseRounding(rounding)
	if err != nil {
		return nil, err
	}
	r := rw + 2
	res := &UnitResult{Unit: "round", Rounding: rounding, Shift: shift, InLo: -(int64(1) << (rw - 2)), InHi: int64(1)<<(rw-2) - 1, Width: rw}
	var mt strings.Builder
	fmt.Fprintf(&mt, "`default_nettype none\nmodule prove_miter (\n    input wire signed [%d:0] p_i,\n    output wire trigger\n);\n", rw-2)
	fmt.Fprintf(&mt, "    wire signed [%d:0] q;\n    dut_round u_dut (.prod_i({p_i[%d], p_i}), .q_o(q));\n", rw-1, rw-2)
	fmt.Fprintf(&mt, "    wire signed [127:0] qr;\n    rescale_ref #(.ACCW(%d), .R(%d), .M(128'sd1), .B(128'sd0), .SH(%d), .MODE(%d), .SAT(0)) u_ref (.acc_i(p_i), .y_o(qr));\n",
		rw-1, r, shift, refModes[rounding])
	fmt.Fprintf(&mt, "    assign trigger = ({{%d{q[%d]}}, q} != qr);\nendmodule\n`default_nettype wire\n", 128-rw, rw-1)
	replay := func(ctx context.Context, dir string, in int64) (*UnitCounterexample, error) {
		tb := fmt.Sprintf("module tb;\n    wire signed [%d:0] q;\n    dut_round u (.prod_i(%s), .q_o(q));\n    initial begin\n        #1;\n        $display(\"R 0 %%0d\", q);\n    end\nendmodule\n",
			rw-1, lit(rw, in))
		got, err := replayUnit(ctx, dir, tb, dut, 1)
		if err != nil {
			return nil, err
		}
		exp := fixedpoint.RoundShiftRight(in, uint(shift), mode)
		if got[0] == nil || *got[0] != exp {
			return &UnitCounterexample{Input: in, M: 1, Expected: exp, Got: got[0]}, nil
		}
		return nil, nil
	}
	return proveUnit(ctx, res, map[string][]byte{"dut.v": dut, "ref.v": rescaleRef, "miter.v": []byte(mt.String())},
		"p_i", rw-1, replay, o)
}

// proveUnit builds and proves a combinational unit miter whose only input
// is the signed port in (inW bits), and on a failure replays the
// counterexample's input.
func proveUnit(ctx context.Context, res *UnitResult, files map[string][]byte, in string, inW int,
	replay func(context.Context, string, int64) (*UnitCounterexample, error), o Options) (*UnitResult, error) {
	dir, cleanup, err := o.workDir()
	if err != nil {
		return nil, err
	}
	defer cleanup()
	start := time.Now()
	if err := buildAIG(ctx, dir, files, "prove_miter", ""); err != nil {
		return nil, err
	}
	run, err := runABC(ctx, dir, -1, o.timeout())
	if err != nil {
		return nil, err
	}
	res.Engine, res.Result, res.Reason = run.engine, run.status, run.reason
	if run.status == Failed {
		var b frameBits
		if fr := run.cex[in]; len(fr) > 0 {
			b = fr[0]
		}
		v := int64(b.uint(0, inW))
		if inW < 64 && v >= 1<<(inW-1) {
			v -= 1 << inW
		}
		cex, err := replay(ctx, dir, v)
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

// replayUnit simulates tb (which prints "R i value" lines) with dut and
// returns the n values (nil where undefined).
func replayUnit(ctx context.Context, dir, tb string, dut []byte, n int) ([]*int64, error) {
	if err := os.WriteFile(filepath.Join(dir, "replay_tb.v"), []byte(tb), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "replay_dut.v"), dut, 0o644); err != nil {
		return nil, err
	}
	lines, err := runIverilog(ctx, dir, "replay_tb.v", "replay_dut.v")
	if err != nil {
		return nil, err
	}
	out := make([]*int64, n)
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != "R" {
			continue
		}
		i, err := strconv.Atoi(f[1])
		if err != nil || i < 0 || i >= n {
			continue
		}
		if v, err := strconv.ParseInt(f[2], 10, 64); err == nil {
			out[i] = &v
		}
	}
	if slices.Contains(out, nil) && len(lines) == 0 {
		return nil, fmt.Errorf("prove: the replay in %s printed nothing", dir)
	}
	return out, nil
}
