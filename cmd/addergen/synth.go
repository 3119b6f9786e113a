package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/synth"
)

func newSynthCmd(g *globalOpts) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "synth",
		Short: "Measure generated hardware with yosys and nextpnr",
		Long:  "Synthesize generated hardware with the open FPGA tools and report its resources and Fmax. Subcommands choose what to measure.",
		Example: `  # one L1 PE beside the same PE built from multipliers
  addergen synth pe --lanes 16 --width 8 --unsigned --target xilinx

  # a whole quantized network on an iCE40 HX8K, as JSON
  addergen synth model --model q4.json --parallel 1 --target ice40 --json`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newSynthPECmd(g))
	cmd.AddCommand(newSynthModelCmd(g))
	return cmd
}

type synthPEOpts struct {
	g        *globalOpts
	pe       peFlags
	target   string
	op       string
	json     bool
	freq     float64
	seed     int
	seeds    int
	timeout  time.Duration
	keep     string
	noPnR    bool
	withDSP  bool
	verilog  string
	latency  int
	estimate bool
}

func newSynthPECmd(g *globalOpts) *cobra.Command {
	o := &synthPEOpts{g: g}
	cmd := &cobra.Command{
		Use:   "pe --lanes K --width W [--unsigned] [--pipeline auto|N] [--family F] --target xilinx|ice40 [--op l1|mac|both] [--json]",
		Short: "Synthesize an L1 PE (and the same-shape MAC PE) and report LUTs, FFs, carries, BRAMs, DSPs and Fmax",
		Long: `Synthesize one processing element with yosys and report its resources:
LUTs, flip-flops, carry cells, block RAMs and DSPs (the PE module's own
cells, and the whole wrapped design's). For --target ice40 the design is
also placed and routed by nextpnr-ice40 on an HX8K (ct256) to report Fmax.

The PE is wrapped so that pin count does not limit it: x_i and w_i are
loaded by serial-in shift registers and sum_o is registered and reduced to
one pin. The wrapper and the PE stay separate modules, so the PE's own
numbers are exact.

--op mac builds the same PE shape (lanes, width, signedness, pipelining)
with multiply-accumulate: sum over k of x_k * w_k, exact. For xilinx it is
synthesized without DSPs (synth_xilinx -nodsp), and with DSPs as a note.
--op both (the default) shows L1 and MAC side by side with the ratio of
MAC LUTs to L1 LUTs.

--pipeline auto schedules the L1 PE for the target: --target ice40 gets
the iCE40 speed schedule (registers after the subtractors, the leaves and
every adder level, wide adders split; see emit-verilog pe --family), xilinx
the area schedule. --family overrides the target's family. The MAC PE
keeps one adder level per stage.

--verilog FILE synthesizes a hand-written PE (module --name, the PE ports
and widths given by --lanes/--width/--op) instead of the generated one, to
compare variants.`,
		Example: `  # the L1 PE against the same-shape MAC on Xilinx 7-series cells
  addergen synth pe --lanes 16 --width 8 --unsigned --target xilinx

  # Fmax of a 9-lane PE on an iCE40 HX8K, as JSON
  addergen synth pe --lanes 9 --width 8 --unsigned --target ice40 --op l1 --json

  # a hand-written variant with the same ports, best Fmax of 5 placement seeds
  addergen synth pe --lanes 9 --width 8 --unsigned --target ice40 --op l1 --seeds 5 \
      --verilog synth/variants/l1_pipe8_k9_w8_u.v --name l1_pipe8_k9_w8_u --latency 8

  # the analytical estimate only (no tools run)
  addergen synth pe --lanes 64 --width 8 --unsigned --target xilinx --estimate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), cmd.Flags().Changed("name"))
		},
	}
	o.pe.registerFamily(cmd, "", "FPGA family --pipeline auto schedules the L1 PE for: "+strings.Join(rtl.Families, ", ")+" (default: the --target's)")
	fl := cmd.Flags()
	fl.StringVar(&o.target, "target", "", "FPGA family: xilinx (yosys synth_xilinx) or ice40 (synth_ice40 + nextpnr-ice40 HX8K)")
	fl.StringVar(&o.op, "op", "both", "l1, mac or both")
	fl.BoolVar(&o.json, "json", false, "print the report as one JSON object")
	fl.Float64Var(&o.freq, "freq", synth.DefaultFreqMHz, "ice40: nextpnr target frequency in MHz")
	fl.IntVar(&o.seed, "seed", 1, "ice40: nextpnr placement seed (the first, with --seeds)")
	fl.IntVar(&o.seeds, "seeds", 1, "ice40: place and route with this many seeds and report the best Fmax")
	fl.DurationVar(&o.timeout, "timeout", synth.DefaultTimeout, "time limit for each tool run")
	fl.StringVar(&o.keep, "keep", "", "keep sources, scripts, logs and netlists in this directory")
	fl.BoolVar(&o.noPnR, "no-pnr", false, "ice40: skip place and route (no Fmax)")
	fl.BoolVar(&o.withDSP, "with-dsp", true, "xilinx MAC: also synthesize with DSPs, as a note")
	fl.StringVar(&o.verilog, "verilog", "", "synthesize this hand-written PE (module --name) instead of the generated one")
	fl.IntVar(&o.latency, "latency", -1, "with --verilog: the hand-written PE's latency, for the report")
	fl.BoolVar(&o.estimate, "estimate", false, "print the analytical LUT/FF estimate instead of running the tools")
	_ = cmd.MarkFlagRequired("target")
	return cmd
}

func (o *synthPEOpts) run(ctx context.Context, stdout, stderr io.Writer, nameSet bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := o.pe.config()
	if err != nil {
		return err
	}
	target, err := synth.ParseTarget(o.target)
	if err != nil {
		return usagef("--target: %v", err)
	}
	if c.Family == "" { // auto means auto for the target
		c.Family = map[synth.Target]string{synth.Xilinx: rtl.FamilyXilinx, synth.ICE40: rtl.FamilyICE40}[target]
	}
	ops, err := synth.ParseOps(o.op)
	if err != nil {
		return usagef("--op: %v", err)
	}
	if o.freq <= 0 || o.freq > 2000 {
		return usagef("--freq %g out of range: must be in (0, 2000] MHz", o.freq)
	}
	if o.seeds < 1 || o.seeds > 100 {
		return usagef("--seeds %d out of range: must be 1..100", o.seeds)
	}
	if o.timeout <= 0 {
		return usagef("--timeout %v invalid: must be positive", o.timeout)
	}
	req := synth.Request{Target: target, PnR: target == synth.ICE40 && !o.noPnR, FreqMHz: o.freq,
		Seed: o.seed, Seeds: o.seeds, Timeout: o.timeout, KeepDir: o.keep, WithDSP: o.withDSP}
	for _, op := range ops {
		j := synth.PEJob{Op: op, Config: c}
		if !nameSet {
			j.Config.Name = "" // each op's default module name
		}
		req.Jobs = append(req.Jobs, j)
	}
	if o.verilog != "" {
		if len(ops) != 1 {
			return usagef("--verilog: choose the PE's arithmetic with --op l1 or --op mac")
		}
		if !nameSet {
			return usagef("--verilog: name the hand-written module with --name")
		}
		b, err := os.ReadFile(o.verilog)
		if err != nil {
			return usagef("--verilog %s: %v", o.verilog, unwrapPath(err))
		}
		req.Jobs[0].Verilog, req.Jobs[0].Latency = b, o.latency
	} else if o.latency != -1 {
		return usagef("--latency applies only with --verilog")
	}
	if o.estimate {
		if o.verilog != "" {
			return usagef("--estimate: a hand-written PE cannot be estimated")
		}
		return o.printEstimate(stdout, req)
	}
	if o.g.verbose && !o.json {
		fmt.Fprintf(stderr, "synthesizing %s for %s...\n", o.op, target)
	}
	m, err := synth.Measure(ctx, req)
	if err != nil {
		return toolUsage(err)
	}
	if o.json {
		r, ok := m.Ratio()
		return writeSynthJSON(stdout, m.Reports, r, ok)
	}
	printSynth(stdout, m, o.g.quiet)
	return nil
}

// printSynth prints the reports side by side.
func printSynth(w io.Writer, m *synth.Measurement, quiet bool) {
	r0 := m.Reports[0]
	if !quiet {
		fmt.Fprintf(w, "synth pe: K=%d W=%d %s, target %s (%s)\n", r0.Lanes, r0.Width, signWord(r0.Signed), r0.Target, r0.Synth)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	ratio, hasRatio := m.Ratio()
	row := func(label string, f func(r *synth.PEReport) string, extra string) {
		cells := []string{fmt.Sprintf("%-18s", label)}
		for _, r := range m.Reports {
			cells = append(cells, f(r))
		}
		if hasRatio {
			cells = append(cells, extra)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	carry := "SB_CARRY"
	if r0.Target == synth.Xilinx {
		carry = "CARRY4"
	}
	head := []string{fmt.Sprintf("%-18s", "")}
	for _, r := range m.Reports {
		name := strings.ToUpper(string(r.Op)) + " " + r.Module
		if r.Op == synth.MAC && r.Target == synth.Xilinx {
			name += " (no DSP)"
		}
		head = append(head, name)
	}
	if hasRatio {
		head = append(head, "MAC/L1")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	num := func(f func(r *synth.PEReport) int) func(r *synth.PEReport) string {
		return func(r *synth.PEReport) string { return fmt.Sprint(f(r)) }
	}
	row("latency (cycles)", func(r *synth.PEReport) string {
		if r.Latency < 0 {
			return "?"
		}
		return fmt.Sprint(r.Latency)
	}, "")
	row("LUTs", num(func(r *synth.PEReport) int { return r.LUTs }), fmt.Sprintf("%.2fx", ratio))
	row("LUTs per lane", func(r *synth.PEReport) string { return fmt.Sprintf("%.1f", float64(r.LUTs)/float64(r.Lanes)) }, "")
	row("FFs", num(func(r *synth.PEReport) int { return r.FFs }), "")
	row("carry ("+carry+")", num(func(r *synth.PEReport) int { return r.Carry }), "")
	row("BRAMs", num(func(r *synth.PEReport) int { return r.BRAMs }), "")
	row("DSPs", num(func(r *synth.PEReport) int { return r.DSPs }), "")
	if r0.Target == synth.ICE40 {
		row("Fmax MHz (HX8K)", func(r *synth.PEReport) string {
			if r.FmaxMHz == nil {
				return "n/a"
			}
			if len(r.FmaxSeeds) > 1 {
				return fmt.Sprintf("%.1f (best of %d seeds, median %.1f)", *r.FmaxMHz, len(r.FmaxSeeds), median(r.FmaxSeeds))
			}
			return fmt.Sprintf("%.1f", *r.FmaxMHz)
		}, "")
	}
	row("design LUTs/FFs", func(r *synth.PEReport) string { return fmt.Sprintf("%d/%d", r.Design.LUTs, r.Design.FFs) }, "")
	tw.Flush()
	for _, r := range m.Reports {
		if r.FmaxError != "" {
			fmt.Fprintf(w, "%s: no Fmax: %s\n", r.Module, r.FmaxError)
		}
		if d := r.WithDSP; d != nil {
			fmt.Fprintf(w, "%s with DSPs (%s): %d LUTs, %d FFs, %d carry, %d DSPs\n", r.Module, d.Synth, d.LUTs, d.FFs, d.Carry, d.DSPs)
		}
		if r.Dir != "" && !quiet {
			fmt.Fprintf(w, "%s: kept %s\n", r.Module, r.Dir)
		}
	}
	if r0.Target == synth.Xilinx && !quiet {
		fmt.Fprintln(w, "Fmax: n/a for xilinx (no open place and route); use --target ice40")
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// synthEstimate is one op's analytical estimate (--estimate).
type synthEstimate struct {
	Op        synth.Op     `json:"op"`
	Target    synth.Target `json:"target"`
	LUTs      int          `json:"luts"`
	FFs       int          `json:"ffs"`
	Estimated bool         `json:"estimated"`
}

func (o *synthPEOpts) printEstimate(w io.Writer, req synth.Request) error {
	var es []synthEstimate
	for _, j := range req.Jobs {
		c, err := synth.Estimate(j.Op, req.Target, j.Config)
		if err != nil {
			return err
		}
		es = append(es, synthEstimate{Op: j.Op, Target: req.Target, LUTs: c.LUTs, FFs: c.FFs, Estimated: true})
	}
	if o.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if len(es) == 1 {
			return enc.Encode(es[0])
		}
		ratio := float64(es[1].LUTs) / float64(es[0].LUTs)
		return enc.Encode(map[string]any{"l1": es[0], "mac": es[1], "ratio": ratio})
	}
	for _, e := range es {
		fmt.Fprintf(w, "%s on %s: about %d LUTs, %d FFs (analytical estimate; run without --estimate to measure)\n",
			strings.ToUpper(string(e.Op)), e.Target, e.LUTs, e.FFs)
	}
	return nil
}
