package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/addergen/addergen/synth"
)

type synthModelOpts struct {
	g       *globalOpts
	hw      netHWFlags
	model   string
	target  string
	op      string
	json    bool
	freq    float64
	seed    int
	timeout time.Duration
	keep    string
	noPnR   bool
	noDSP   bool
}

func newSynthModelCmd(g *globalOpts) *cobra.Command {
	o := &synthModelOpts{g: g}
	cmd := &cobra.Command{
		Use:   "model --model Q.json [--parallel P] [--config HW.json] --target xilinx|ice40 [--op l1|mac|both] [--json]",
		Short: "Synthesize a whole network design and report LUTs, FFs, carries, BRAMs, DSPs and Fmax",
		Long: `Emit the network design of a quantized model (as emit-verilog does) and
synthesize it whole with yosys: LUTs, flip-flops, carry cells, block RAMs
(RAMB18/RAMB36, SB_RAM40_4K) and DSPs of the entire design. For --target
ice40 the design is placed and routed by nextpnr-ice40 on an HX8K (ct256)
for Fmax when its cells fit the device; otherwise the report says it does
not fit.

--op mac builds the same network with every adder layer planned as a
multiply-accumulate (conv) engine over the same weight codes, a cost
baseline; for xilinx it is synthesized with synth_xilinx -nodsp, as synth pe
does (--no-dsp applies -nodsp to the L1 design too). --op both shows L1 and
MAC side by side with the ratio of MAC LUTs to L1 LUTs.

Whole networks take long in yosys (many minutes for LeNet-5); --timeout
bounds each tool run.`,
		Example: `  # LeNet-5 with 2 PEs per engine on Xilinx 7-series cells
  addergen synth model --model q8.json --parallel 2 --target xilinx --op l1

  # L1 against the MAC baseline on an iCE40 HX8K, as JSON
  addergen synth model --model q4.json --parallel 1 --target ice40 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.hw.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&o.model, "model", "", "quantized model file (written by addergen quantize)")
	fl.StringVar(&o.target, "target", "", "FPGA family: xilinx (yosys synth_xilinx) or ice40 (synth_ice40 + nextpnr-ice40 HX8K)")
	fl.StringVar(&o.op, "op", "both", "l1, mac or both")
	fl.BoolVar(&o.json, "json", false, "print the report as one JSON object")
	fl.Float64Var(&o.freq, "freq", synth.DefaultFreqMHz, "ice40: nextpnr target frequency in MHz")
	fl.IntVar(&o.seed, "seed", 1, "ice40: nextpnr placement seed")
	fl.DurationVar(&o.timeout, "timeout", synth.DefaultTimeout, "time limit for each tool run")
	fl.StringVar(&o.keep, "keep", "", "keep sources, scripts, logs and netlists in this directory")
	fl.BoolVar(&o.noPnR, "no-pnr", false, "ice40: skip place and route (no Fmax)")
	fl.BoolVar(&o.noDSP, "no-dsp", false, "xilinx: synthesize the L1 design with -nodsp too (the MAC design always is)")
	_ = cmd.MarkFlagRequired("target")
	return cmd
}

func (o *synthModelOpts) run(ctx context.Context, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	target, err := synth.ParseTarget(o.target)
	if err != nil {
		return usagef("--target: %v", err)
	}
	ops, err := synth.ParseOps(o.op)
	if err != nil {
		return usagef("--op: %v", err)
	}
	if o.freq <= 0 || o.freq > 2000 {
		return usagef("--freq %g out of range: must be in (0, 2000] MHz", o.freq)
	}
	if o.timeout <= 0 {
		return usagef("--timeout %v invalid: must be positive", o.timeout)
	}
	c, err := o.hw.netConfig()
	if err != nil {
		return err
	}
	q, err := loadQuantized(o.model)
	if err != nil {
		return err
	}
	// Plan every op's design now so that a model the RTL cannot build is a
	// usage error before any tool runs.
	for _, op := range ops {
		if _, _, err := synth.NetDesign(q, c, op); err != nil {
			return o.hw.designErr(o.model, err)
		}
	}
	req := synth.ModelRequest{Model: q, Config: c, Ops: ops, Target: target, PnR: target == synth.ICE40 && !o.noPnR,
		FreqMHz: o.freq, Seed: o.seed, Timeout: o.timeout, NoDSP: o.noDSP, KeepDir: o.keep}
	if o.g.verbose && !o.json {
		fmt.Fprintf(stderr, "synthesizing %s (%s) for %s...\n", o.model, o.op, target)
	}
	m, err := synth.MeasureModel(ctx, req)
	if err != nil {
		return toolUsage(err)
	}
	if o.json {
		r, ok := m.Ratio()
		return writeSynthJSON(stdout, m.Reports, r, ok)
	}
	printSynthModel(stdout, o.model, m, o.g.quiet)
	return nil
}

func printSynthModel(w io.Writer, model string, m *synth.ModelMeasurement, quiet bool) {
	r0 := m.Reports[0]
	if !quiet {
		fmt.Fprintf(w, "synth model: %s, top %s, parallel %d, %d engines, %d PEs, target %s\n",
			model, r0.Top, r0.Parallel, r0.Engines, r0.PEs, r0.Target)
	}
	ratio, hasRatio := m.Ratio()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(label string, f func(r *synth.ModelReport) string, extra string) {
		cells := []string{fmt.Sprintf("%-20s", label)}
		for _, r := range m.Reports {
			cells = append(cells, f(r))
		}
		if hasRatio {
			cells = append(cells, extra)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	head := []string{fmt.Sprintf("%-20s", "")}
	for _, r := range m.Reports {
		name := strings.ToUpper(string(r.Op))
		if strings.Contains(r.Synth, "-nodsp") {
			name += " (no DSP)"
		}
		head = append(head, name)
	}
	if hasRatio {
		head = append(head, "MAC/L1")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	num := func(f func(r *synth.ModelReport) int) func(r *synth.ModelReport) string {
		return func(r *synth.ModelReport) string { return fmt.Sprint(f(r)) }
	}
	carry, bram := "SB_CARRY", "SB_RAM40_4K"
	if r0.Target == synth.Xilinx {
		carry, bram = "CARRY4", "RAMB18/36"
	}
	row("LUTs", num(func(r *synth.ModelReport) int { return r.LUTs }), fmt.Sprintf("%.2fx", ratio))
	row("FFs", num(func(r *synth.ModelReport) int { return r.FFs }), "")
	row("carry ("+carry+")", num(func(r *synth.ModelReport) int { return r.Carry }), "")
	row("BRAMs ("+bram+")", num(func(r *synth.ModelReport) int { return r.BRAMs }), "")
	row("DSPs", num(func(r *synth.ModelReport) int { return r.DSPs }), "")
	if r0.Target == synth.ICE40 {
		row("Fmax MHz (HX8K)", func(r *synth.ModelReport) string {
			switch {
			case r.Fits != nil && !*r.Fits:
				return "does not fit"
			case r.FmaxMHz == nil:
				return "n/a"
			}
			return fmt.Sprintf("%.1f", *r.FmaxMHz)
		}, "")
		row("LUTs / FFs routed", func(r *synth.ModelReport) string {
			if r.Routed == nil {
				return "n/a"
			}
			return fmt.Sprintf("%d / %d", r.Routed.LUTs, r.Routed.FFs)
		}, "")
	}
	if r0.Target == synth.Xilinx {
		row("logic depth (cells)", num(func(r *synth.ModelReport) int { return r.LogicDepth }), "")
		row("fits xc7z020", func(r *synth.ModelReport) string {
			if r.Fits != nil && !*r.Fits {
				return "no"
			}
			return "yes"
		}, "")
	}
	row("yosys time", func(r *synth.ModelReport) string { return (time.Duration(r.YosysSec) * time.Second).String() }, "")
	tw.Flush()
	for _, r := range m.Reports {
		if r.FmaxError != "" {
			fmt.Fprintf(w, "%s: no Fmax: %s\n", strings.ToUpper(string(r.Op)), r.FmaxError)
		}
		if len(r.Other) > 0 && !quiet {
			fmt.Fprintf(w, "%s: other cells not counted: %s\n", strings.ToUpper(string(r.Op)), strings.Join(r.Other, ", "))
		}
		if r.PnRSynth != "" && !quiet {
			fmt.Fprintf(w, "%s: placed and routed the netlist of %q (flattened); the LUTs and FFs above are the hierarchical synthesis's (%s)\n", strings.ToUpper(string(r.Op)), r.PnRSynth, r.Synth)
		}
		if r.Dir != "" && !quiet {
			fmt.Fprintf(w, "%s: kept %s\n", strings.ToUpper(string(r.Op)), r.Dir)
		}
	}
	for _, r := range m.Reports {
		if r.FitNote != "" {
			fmt.Fprintf(w, "%s: %s\n", strings.ToUpper(string(r.Op)), r.FitNote)
		}
	}
	if r0.Target == synth.Xilinx && !quiet {
		fmt.Fprintln(w, "Fmax: n/a for xilinx (no open place and route); the logic depth is the longest register-to-register path in cells after synth_xilinx -flatten (flip-flops, block RAMs and SRLs deleted, yosys ltp); use --target ice40 for a routed Fmax")
	}
}
