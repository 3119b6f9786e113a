package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/flow"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/synth"
)

type sweepOpts struct {
	g          *globalOpts
	model      string
	weights    string
	weightsKey string
	data       string
	labels     string
	limit      int
	calib      string
	calibSplit string
	calibLimit int
	bits       string
	parallel   string
	lanes      string
	balance    bool
	target     string
	synth      bool
	timeout    time.Duration
	seed       int
	out        string
	stderr     io.Writer // warnings
	json       bool
	preprocess bool
	rawInput   bool
	rawSet     bool // --raw-input was given
	shard      string
	flags      map[string]string // the run's flags, for a shard's report
}

func newSweepCmd(g *globalOpts) *cobra.Command {
	o := &sweepOpts{g: g}
	cmd := &cobra.Command{
		Use:   "sweep --model M [--weights F] [--data DATA] [--calib DATA] --bits 4,5,6,8 --parallel 1,2,4,8 [--lanes L] [--balance] [--limit N] [--target xilinx|ice40] [--synth] [--shard i/n] --out DIR [--json]",
		Short: "Explore accuracy against hardware cost over operand bits and parallelism",
		Long: `Quantize a float model at every --bits width and plan its network design at
every --parallel value, and report for each point (bits x parallel):

  - top-1 accuracy of the bit-exact simulator on --data, and its top-1
    agreement with the float model (the same figures addergen compare gives);
  - the hardware cost: LUTs, flip-flops, block RAMs and DSPs, from the
    analytical estimate (synth.EstimateNet, fitted to yosys; instant), or
    with --synth from real yosys synthesis of every design (about a
    minute each for LeNet-5; on ice40 also place and route for Fmax when
    the design fits an HX8K);
  - cycles per image and latency from the cycle model (as emit-verilog's
    manifest predicts them).

Each width is quantized once (calibrated on --calib, by default the first
--calib-limit MNIST training images, as addergen quantize does) and reused
for every parallelism, which does not change the arithmetic. Points run in
parallel, at most GOMAXPROCS at a time.

Writes DIR/sweep.csv, DIR/sweep.json and DIR/pareto.png (top-1 against
LUTs, every point labelled with bits/P and cycles per image, the Pareto
front connected), and prints a table. A point is on the Pareto front when
no other point has at least its top-1 with fewer or as many LUTs (and is
better in one); pareto_3d also counts cycles per image.`,
		Example: `  # LeNet-5 over 4 widths and 4 parallelisms, MNIST test set, estimated cost
  addergen sweep --model lenet5-adder-mnist --bits 4,5,6,8 --parallel 1,2,4,8 --out out/sweep

  # a quick look on 1000 images, whole 5x5 windows per cycle, balanced, as JSON
  addergen sweep --model lenet5-adder-mnist --bits 4,8 --parallel 2,8 --lanes 25 --balance --limit 1000 --out /tmp/sw --json

  # real yosys figures for an iCE40 (slow: one synthesis per point)
  addergen sweep --model lenet5-adder-mnist --bits 4,8 --parallel 1 --target ice40 --synth --out out/sweep-ice40

  # the 3rd of 4 shards of the points, each in its own folder; addergen merge combines them
  addergen sweep --model lenet5-adder-mnist --bits 4,5,6,8 --parallel 1,2,4,8 --shard 3/4 --out out/sweep-3

  # your own architecture and weights, your own data
  addergen sweep --model net.json --weights net.safetensors --data x.npy --calib calib.npy --bits 6,8 --parallel 4 --out out/net`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context() // never nil under Execute
			o.flags = runFlags(cmd)
			o.rawSet = cmd.Flags().Changed("raw-input")
			return o.run(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.model, "model", "", "float model: built-in name, spec JSON file (with --weights), or training folder")
	fl.StringVar(&o.weights, "weights", "", "weights file (.pth, .pt, .safetensors, .npz)")
	fl.StringVar(&o.weightsKey, "weights-key", "", "entry of a checkpoint dict that holds the state_dict (net, model, state_dict, ...), when the checkpoint holds several")
	fl.StringVar(&o.data, "data", dataset.BuiltinMNIST, "labelled data for accuracy: .npy [N,C,H,W], MNIST IDX or CIFAR-10 .bin file, a folder of them (test split), or mnist (the GoMNIST module's)")
	fl.StringVar(&o.labels, "labels", "", "labels .npy for .npy --data (default X.labels.npy beside X.npy)")
	fl.IntVar(&o.limit, "limit", 0, "use the first N samples of --data (0 = all)")
	fl.StringVar(&o.calib, "calib", dataset.BuiltinMNIST, "calibration data (a folder or mnist means its training split unless --calib-split)")
	fl.StringVar(&o.calibSplit, "calib-split", dataset.SplitTrain, "split of a --calib folder: train or test")
	fl.BoolVar(&o.rawInput, "raw-input", true, "when the spec's preprocessing normalises (mean, std) and the data are raw pixels (--preprocess, or CIFAR-10 records), fold it into the first conv: the network input is the raw 8-bit pixel")
	fl.BoolVar(&o.preprocess, "preprocess", false, "--data and --calib hold raw pixels (0..255, e.g. CIFAR-10 .bin): apply the model's preprocessing (scale, mean, std)")
	fl.IntVar(&o.calibLimit, "calib-limit", 1000, "use the first N calibration samples (0 = all)")
	fl.StringVar(&o.bits, "bits", "4,5,6,8", "operand widths to sweep, comma-separated (each 2..16)")
	fl.StringVar(&o.parallel, "parallel", "1,2,4,8", "PEs per adder/conv engine to sweep, comma-separated (each 1..4096)")
	fl.StringVar(&o.lanes, "lanes", "0", "lanes per PE of adder/conv engines to sweep, comma-separated, as emit-verilog --lanes (0: one window position per cycle)")
	fl.BoolVar(&o.balance, "balance", false, "as emit-verilog --balance: lower engines off the critical pair to the fewest PEs and lanes that keep the cycles per image")
	fl.StringVar(&o.target, "target", string(synth.Xilinx), "FPGA family of the cost: xilinx or ice40")
	fl.BoolVar(&o.synth, "synth", false, "synthesize every point with yosys instead of estimating (slow)")
	fl.DurationVar(&o.timeout, "timeout", synth.DefaultTimeout, "with --synth: time limit for each tool run")
	fl.IntVar(&o.seed, "seed", 1, "with --synth --target ice40: nextpnr placement seed")
	fl.StringVar(&o.out, "out", "", "output directory for sweep.csv, sweep.json and pareto.png")
	fl.BoolVar(&o.json, "json", false, "print sweep.json on stdout")
	fl.StringVar(&o.shard, "shard", "", fmt.Sprintf(shardUsage, "design points (in the order bits, parallel, lanes)"))
	return cmd
}

// The sweep's report types (flow holds them: addergen merge combines
// sharded sweeps).
type (
	sweepCounts = flow.Counts
	sweepPoint  = flow.SweepPoint
	sweepReport = flow.SweepReport
)

// Sweep's library functions, under the names this package's tests use.
var (
	countsOf     = flow.CountsOf
	markPareto   = flow.MarkPareto
	sweepCSV     = flow.SweepCSV
	paretoPlot   = flow.ParetoPlot
	sweepColumns = flow.SweepColumns
)

// parseIntList parses a comma-separated list of integers in [lo, hi],
// sorted, without duplicates.
func parseIntList(flag, s string, lo, hi int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, usagef("--%s %q: empty entry (want a comma-separated list such as %d,%d)", flag, s, lo, hi)
		}
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, usagef("--%s %q: %q is not an integer", flag, s, f)
		}
		if v < lo || v > hi {
			return nil, usagef("--%s %q: %d out of range: must be %d..%d", flag, s, v, lo, hi)
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out, nil
}

// sweepInput is what run validates before any work.
type sweepInput struct {
	shard          flow.Shard
	bits, parallel []int
	lanes          []int
	target         synth.Target
	net            *model.Net
	set            *dataset.Set
	calib          *dataset.Set
}

func (o *sweepOpts) validate() (*sweepInput, error) {
	in := &sweepInput{}
	var err error
	if o.model == "" {
		return nil, usagef("--model is required: a built-in name such as lenet5-adder-mnist, a spec file with --weights, or a training folder")
	}
	if o.out == "" {
		return nil, usagef("--out is required: the directory for sweep.csv, sweep.json and pareto.png")
	}
	if err := checkOutDir("--out", o.out); err != nil {
		return nil, err
	}
	if in.bits, err = parseIntList("bits", o.bits, quant.MinBits, quant.MaxBits); err != nil {
		return nil, err
	}
	if in.parallel, err = parseIntList("parallel", o.parallel, 1, 4096); err != nil {
		return nil, err
	}
	if in.lanes, err = parseIntList("lanes", o.lanes, 0, 1<<16); err != nil {
		return nil, err
	}
	if in.shard, err = parseShard(o.shard); err != nil {
		return nil, err
	}
	if _, _, err := in.shard.Select("--shard", len(in.bits)*len(in.parallel)*len(in.lanes), "design points"); err != nil {
		return nil, usageError{err}
	}
	if o.limit < 0 {
		return nil, usagef("--limit %d is negative", o.limit)
	}
	if o.calibLimit < 0 {
		return nil, usagef("--calib-limit %d is negative", o.calibLimit)
	}
	if o.calibSplit != dataset.SplitTrain && o.calibSplit != dataset.SplitTest {
		return nil, usagef("--calib-split %q: want train or test", o.calibSplit)
	}
	if in.target, err = synth.ParseTarget(o.target); err != nil {
		return nil, usagef("--target: %v", err)
	}
	if o.timeout <= 0 {
		return nil, usagef("--timeout %v invalid: must be positive", o.timeout)
	}
	if o.synth {
		for _, t := range synth.Tools(in.target, in.target == synth.ICE40) {
			if _, err := synth.LookTool(t); err != nil {
				return nil, usagef("--synth: %v", err)
			}
		}
	}
	if in.net, err = loadFloatNet(o.model, o.weights, o.weightsKey); err != nil {
		return nil, err
	}
	if in.net, err = rawInputNet(in.net, o.rawInput, o.rawSet, rawPixelData(o.preprocess, o.calib), o.stderr); err != nil {
		return nil, err
	}
	pre := in.net.Spec.Preprocess
	set, err := dataArg{flag: "--data", path: o.data, labels: o.labels, split: dataset.SplitTest, limit: o.limit,
		preprocess: o.preprocess, pre: pre, model: o.model, raw: in.net.Folded != nil}.load(in.net.Input, o.stderr)
	if err != nil {
		return nil, err
	}
	if set.Labels == nil {
		return nil, usagef("--data %s has no labels: sweep ranks points by top-1 accuracy (give --labels)", o.data)
	}
	if err := checkLabels("--data", set, shapeLen(in.net.Output())); err != nil {
		return nil, err
	}
	in.set = set
	if in.calib, err = (dataArg{flag: "--calib", path: o.calib, split: o.calibSplit, limit: o.calibLimit,
		preprocess: o.preprocess, pre: pre, model: o.model, raw: in.net.Folded != nil}).load(in.net.Input, o.stderr); err != nil {
		return nil, err
	}
	return in, nil
}

func (o *sweepOpts) run(ctx context.Context, stdout, stderr io.Writer) error {
	start := time.Now()
	o.stderr = stderr
	in, err := o.validate()
	if err != nil {
		return err
	}
	if o.g.verbose && !o.json {
		cost := "estimate"
		if o.synth {
			cost = "yosys"
		}
		fmt.Fprintf(stderr, "sweep: %s, %d images, calibrated on %d, bits %v x parallel %v, %s\n",
			in.net.Spec.Name, in.set.X.Shape[0], in.calib.X.Shape[0], in.bits, in.parallel, cost)
	}
	rep, err := flow.Sweep(ctx, flow.SweepOptions{Model: o.model, Weights: o.weights, Data: o.data, Calib: o.calib,
		Net: in.net, Set: in.set, CalibSet: in.calib, Bits: in.bits, Parallel: in.parallel, Lanes: in.lanes, Balance: o.balance,
		Target: in.target, Synth: o.synth, Timeout: o.timeout, Seed: o.seed, Shard: in.shard, Flags: o.flags,
		Started: start, Progress: &progressBar{g: o.g, stderr: stderr}, Warnings: stderr})
	if err != nil {
		return usageError{err}
	}
	return writeSweep(stdout, rep, o.out, o.json, o.g.quiet)
}

// writeSweep writes rep's files into out (sweep.csv, sweep.json,
// pareto.png), then prints sweep.json (asJSON) or the table.
func writeSweep(stdout io.Writer, rep *sweepReport, out string, asJSON, quiet bool) error {
	files, err := flow.SweepFiles(rep)
	if err != nil {
		return err
	}
	paths, err := writeOutDir("--out", out, "sweep", files)
	if err != nil {
		return err
	}
	if asJSON {
		_, err := stdout.Write(files["sweep.json"])
		return err
	}
	printSweep(stdout, rep, quiet)
	if !quiet {
		for _, p := range paths {
			fmt.Fprintf(stdout, "wrote %s\n", p)
		}
	}
	return nil
}

func printSweep(w io.Writer, r *sweepReport, quiet bool) {
	if !quiet {
		bal := ""
		if r.Balance {
			bal = ", balanced"
		}
		fmt.Fprintf(w, "%s: %d images, float top-1 %.2f%%; cost: %s (%s)%s\n", r.Name, r.Images, r.FloatTop1, r.Cost, r.Target, bal)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "bits\tP\tlanes\ttop-1 %\tagree %\tLUTs\tFFs\tBRAMs\tDSPs\tcycles/image\tlatency\tPareto\t")
	for _, p := range r.Points {
		mark := ""
		if p.Pareto {
			mark = "*"
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.2f\t%.2f\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", p.Bits, p.Parallel, p.Lanes, p.Top1, p.Agreement,
			p.LUTs, p.FFs, p.BRAMs, p.DSPs, p.CyclesPerImage, p.LatencyCycles, mark)
	}
	tw.Flush()
	if !quiet {
		fmt.Fprintf(w, "* on the Pareto front of top-1 against LUTs; %.1f s\n", r.Seconds)
	}
}
