package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/addergen/addergen/flow"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/synth"
	"github.com/addergen/addergen/testbench"
)

// defaultBuildModel is the quantized model build uses without --model;
// defaultBuildTargetCycles its --target-cycles (the small model's engines
// folded to about 8000 cycles per image fit an HX8K).
const (
	defaultBuildModel        = flow.BuildModel
	defaultBuildTargetCycles = flow.BuildTargetCycles
)

type buildOpts struct {
	g         *globalOpts
	hw        netHWFlags
	target    string
	model     string
	out       string
	pcf       string
	noAXILite bool
	freq      float64
	seed      int
	seeds     int
	timeout   time.Duration
	json      bool
	// tcSet: --target-cycles was given (else the board's default).
	tcSet bool
}

func newBuildCmd(g *globalOpts) *cobra.Command {
	o := &buildOpts{g: g}
	cmd := &cobra.Command{
		Use:   "build --target ice40-hx8k|ice40-up5k [--model Q.json] --out DIR",
		Short: "Build an iCE40 bitstream of a network with yosys, nextpnr-ice40 and icepack",
		Long: `Emit the network design of a quantized model (as emit-verilog does, with the
engines scheduled for iCE40), synthesize it flat with yosys synth_ice40,
place and route it with nextpnr-ice40 on the target's device and package,
and pack the bitstream with icepack (Debian: yosys, nextpnr-ice40,
fpga-icestorm).

Without --model it builds the shipped small model ` + defaultBuildModel + `
(small12-adder trained on MNIST at 12x12, 8 bits, no multipliers; see
model/pretrained/README.md). --model takes a quantized model file written
by addergen quantize, or that name.

DIR receives NAME.bin (the bitstream), NAME.pcf (the pin constraints it was
built with), build.json (the report), synth.ys and the tool logs; NAME is
the top module. The report gives the post-route utilisation (logic cells,
block RAMs, I/O pins) and the post-route Fmax that nextpnr measures; with
--seeds N it is the median over N seeds and the bitstream is that seed's.

Pins: the .pcf is a template. Each port bit of the top (clock, reset,
AXI4-Stream in and out, AXI4-Lite status slave) is assigned to a package
pin in order, the clock to the board oscillator's pin; edit it to your
board's wiring and rebuild with --pcf. A top with more port bits than the
package has pins is refused before any tool runs; --no-axi-lite ties the
AXI4-Lite slave off in synthesis (the network runs, the status registers
are gone) and leaves the clock, reset and stream pins only, which the
UP5K's sg48 package needs.`,
		Example: `  # the shipped small model on an iCE40-HX8K, median of 3 seeds
  addergen build --target ice40-hx8k --seeds 3 --out build/hx8k

  # the shipped small model on an iCE40-UP5K (sg48: stream pins only)
  addergen build --target ice40-up5k --no-axi-lite --out build/up5k

  # your own model, stream pins only, on an iCE40-UP5K with your pins
  addergen build --target ice40-up5k --model q.json --no-axi-lite --pcf board.pcf --out build/up5k`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			o.tcSet = cmd.Flags().Changed("target-cycles")
			return o.run(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.hw.register(cmd)
	fl := cmd.Flags()
	tc := fl.Lookup("target-cycles")
	_ = tc.Value.Set(fmt.Sprint(defaultBuildTargetCycles))
	tc.DefValue = fmt.Sprintf("%d; the board's: 8000 on ice40-hx8k, 40000 on ice40-up5k", defaultBuildTargetCycles)
	fam := fl.Lookup("family")
	_ = fam.Value.Set("ice40")
	fam.DefValue = "ice40"
	fl.StringVar(&o.target, "target", "", "board: "+strings.Join(synth.BoardNames(), " or "))
	fl.StringVar(&o.model, "model", "", "quantized model file (addergen quantize), or "+defaultBuildModel+" (the default)")
	fl.StringVar(&o.out, "out", "", "output folder")
	fl.StringVar(&o.pcf, "pcf", "", "pin constraints to build with (default: the generated template)")
	fl.BoolVar(&o.noAXILite, "no-axi-lite", false, "tie the AXI4-Lite status slave off: only clock, reset and stream pins")
	fl.Float64Var(&o.freq, "freq", synth.DefaultFreqMHz, "nextpnr target frequency in MHz")
	fl.IntVar(&o.seed, "seed", 1, "first nextpnr placement seed")
	fl.IntVar(&o.seeds, "seeds", 1, "place and route with this many seeds and report the median Fmax")
	fl.DurationVar(&o.timeout, "timeout", synth.DefaultTimeout, "time limit for each tool run")
	fl.BoolVar(&o.json, "json", false, "print the report as one JSON object")
	_ = cmd.MarkFlagRequired("target")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func (o *buildOpts) run(ctx context.Context, stdout, stderr io.Writer) error {
	board, err := synth.ParseBoard(o.target)
	if err != nil {
		return usagef("--target: %v", err)
	}
	switch {
	case o.freq <= 0 || o.freq > 2000:
		return usagef("--freq %g out of range: must be in (0, 2000] MHz", o.freq)
	case o.seed < 1:
		return usagef("--seed %d out of range: must be 1 or more", o.seed)
	case o.seeds < 1 || o.seeds > 100:
		return usagef("--seeds %d out of range: must be 1..100", o.seeds)
	case o.timeout <= 0:
		return usagef("--timeout %v invalid: must be positive", o.timeout)
	}
	if err := checkOutDir("--out", o.out); err != nil {
		return err
	}
	c, err := o.hw.netConfig()
	if err != nil {
		return err
	}
	if !o.tcSet && c.TargetCycles == defaultBuildTargetCycles {
		c.TargetCycles = board.TargetCycles
	}
	name := o.model
	var q *quant.Model
	if name == "" {
		name = defaultBuildModel
	}
	if m, ok, err := quant.Builtin(name); ok {
		if err != nil {
			return err
		}
		q = m
	} else if q, err = loadQuantized(name); err != nil {
		return err
	}
	if _, _, err := synth.NetDesign(q, c, synth.L1); err != nil {
		return o.hw.designErr(name, err)
	}
	var pcf []byte
	if o.pcf != "" {
		if pcf, err = os.ReadFile(o.pcf); err != nil {
			return usagef("--pcf %s: %v", o.pcf, unwrapPath(err))
		}
	}
	work, err := os.MkdirTemp("", "addergen-build-*")
	if err != nil {
		return err
	}
	keep := false // a tool's failure keeps its logs
	defer func() {
		if !keep {
			os.RemoveAll(work)
		}
	}()
	req := synth.BuildRequest{Model: q, ModelName: name, Config: c, Board: board, NoAXILite: o.noAXILite,
		FreqMHz: o.freq, Seed: o.seed, Seeds: o.seeds, Timeout: o.timeout, PCF: pcf, Dir: work}
	if !o.g.quiet && !o.json {
		req.Progress = func(msg string) { fmt.Fprintln(stderr, msg) }
	}
	rep, files, err := synth.Build(ctx, req)
	if err != nil {
		var pe *synth.PCFError
		if errors.As(err, &pe) {
			return usagef("--pcf %s: %v", o.pcf, pe)
		}
		var be *synth.BuildError
		if errors.As(err, &be) {
			return usagef("--model %s on --target %s: %v", name, o.target, be)
		}
		var mt *testbench.MissingToolError
		if !errors.As(err, &mt) && ctx.Err() == nil {
			keep = true
			return fmt.Errorf("%v (work directory kept: %s)", err, work)
		}
		return toolUsage(err)
	}
	if _, err := writeOutDir("--out", o.out, "build", files); err != nil {
		return err
	}
	if o.json {
		return json.NewEncoder(stdout).Encode(rep)
	}
	printBuild(stdout, o.out, rep)
	return nil
}

func printBuild(w io.Writer, out string, r *synth.BuildReport) {
	pct := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return 100 * float64(a) / float64(b)
	}
	fmt.Fprintf(w, "build: %s (%s, %d engines, %d PEs, %d cycles per image) on %s %s\n", r.Model, r.Top, r.Engines, r.PEs, r.Cycles, r.Device, r.Package)
	fmt.Fprintf(w, "  logic cells  %5d / %5d  %3.0f %%\n", r.LCs, r.LCsAvail, pct(r.LCs, r.LCsAvail))
	fmt.Fprintf(w, "  block RAMs   %5d / %5d  %3.0f %%\n", r.RAMs, r.RAMsAvail, pct(r.RAMs, r.RAMsAvail))
	fmt.Fprintf(w, "  I/O pins     %5d / %5d  %3.0f %%\n", r.IOs, r.IOsAvail, pct(r.IOs, r.IOsAvail))
	var fs []string
	for _, s := range r.Seeds {
		if s.FmaxMHz != nil {
			fs = append(fs, fmt.Sprintf("seed %d: %.1f", s.Seed, *s.FmaxMHz))
		} else {
			fs = append(fs, fmt.Sprintf("seed %d: failed (%s)", s.Seed, s.Error))
		}
	}
	what := "post-route"
	routed := 0
	for _, s := range r.Seeds {
		if s.FmaxMHz != nil {
			routed++
		}
	}
	if routed > 1 {
		what = fmt.Sprintf("post-route, median of %d routed seeds", routed)
	}
	if r.ExtraSeeds > 0 {
		what += fmt.Sprintf("; %d seed(s) past the requested ones, as none of those found a legal placement", r.ExtraSeeds)
	}
	fmt.Fprintf(w, "  Fmax         %.1f MHz (%s; %s; nextpnr target %g MHz), %.0f images/s\n", r.FmaxMHz, what, strings.Join(fs, ", "), r.TargetMHz, r.ImagesPerS)
	fmt.Fprintf(w, "  bitstream    %s/%s, %d bytes (seed %d)\n", out, r.Bitstream, r.BinBytes, r.KeptSeed)
	pins := "generated template: edit it for your board and rebuild with --pcf"
	if r.UserPCF {
		pins = "from --pcf"
	}
	fmt.Fprintf(w, "  pins         %s/%s (%s)\n", out, r.PCF, pins)
}
