package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/flow"
	"github.com/addergen/addergen/internal/report"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/sim"
	"github.com/addergen/addergen/synth"
	"github.com/addergen/addergen/testbench"
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

func countsOf(c synth.Counts) sweepCounts {
	return sweepCounts{LUTs: c.LUTs, FFs: c.FFs, BRAMs: c.BRAMs, DSPs: c.DSPs}
}

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
	pre := in.net.Spec.Preprocess
	set, err := dataArg{flag: "--data", path: o.data, labels: o.labels, split: dataset.SplitTest, limit: o.limit,
		preprocess: o.preprocess, pre: pre, model: o.model}.load(in.net.Input, o.stderr)
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
		preprocess: o.preprocess, pre: pre, model: o.model}).load(in.net.Input, o.stderr); err != nil {
		return nil, err
	}
	return in, nil
}

// forEach runs f(0..n-1) on at most GOMAXPROCS goroutines and returns the
// first error by index.
func forEach(n int, f func(i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// sweepBar is a progress bar of n steps on stderr, or nil with -q, with
// --json, or when stderr is not a terminal.
func (o *sweepOpts) bar(stderr io.Writer, n int) *progressbar.ProgressBar {
	if o.g.quiet || !isTerminal(stderr) {
		return nil
	}
	return progressbar.NewOptions(n,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription("sweep"),
		progressbar.OptionSetWidth(25),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionClearOnFinish(),
	)
}

// floatPredictions runs the float model over x in batches and returns its
// top-1 class per sample.
func floatPredictions(net *model.Net, x dataset.Tensor) ([]int, error) {
	n := x.Shape[0]
	per := x.Len() / n
	pred := make([]int, n)
	const batch = 500
	for b := 0; b < n; b += batch {
		m := min(batch, n-b)
		y, err := net.Forward(dataset.Tensor{Shape: append([]int{m}, x.Shape[1:]...), Data: x.Data[b*per : (b+m)*per]})
		if err != nil {
			return nil, fmt.Errorf("float reference: %w", err)
		}
		classes := y.Len() / m
		for i := range m {
			row := y.Data[i*classes : (i+1)*classes]
			best := 0
			for j := range row {
				if row[j] > row[best] {
					best = j
				}
			}
			pred[b+i] = best
		}
	}
	return pred, nil
}

// simPredictions runs the bit-exact simulator of q over x and returns its
// top-1 class per sample.
func simPredictions(q *quant.Model, x dataset.Tensor) ([]int, error) {
	codes, _, err := q.EncodeInput(x)
	if err != nil {
		return nil, err
	}
	res, err := sim.RunNet(q, sim.Codes{Shape: slices.Clone(x.Shape), Data: codes}, sim.NetOptions{})
	if err != nil {
		return nil, err
	}
	return testbench.Top1(res.Output), nil
}

// percentEqual returns the percentage of positions where a and b agree
// (not measured, null, for empty slices).
func percentEqual(a, b []int) report.Num {
	n := 0
	for i := range a {
		if a[i] == b[i] {
			n++
		}
	}
	return report.Ratio(100*float64(n), float64(len(a)))
}

// markPareto sets Pareto and Pareto3D on every point.
func markPareto(ps []sweepPoint) { flow.MarkPareto(ps) }

func (o *sweepOpts) run(ctx context.Context, stdout, stderr io.Writer) error {
	start := time.Now()
	o.stderr = stderr
	in, err := o.validate()
	if err != nil {
		return err
	}
	rep := &sweepReport{Model: o.model, Weights: o.weights, Name: in.net.Spec.Name, Data: o.data, Images: in.set.X.Shape[0],
		Calib: o.calib, CalibImages: in.calib.X.Shape[0], Target: in.target, Cost: "estimate", Lanes: in.lanes, Balance: o.balance,
		Bits: in.bits, Parallel: in.parallel}
	if o.synth {
		rep.Cost = "yosys"
	}
	// With --shard, only the shard's slice of the points (in the order
	// bits, parallel, lanes), and only the widths they need.
	np, nl := len(in.parallel), len(in.lanes)
	total := len(in.bits) * np * nl
	lo, hi := in.shard.Range(total)
	need := make([]bool, len(in.bits))
	for k := lo; k < hi; k++ {
		need[k/(np*nl)] = true
	}
	var widths []int // indices into in.bits
	for i, ok := range need {
		if ok {
			widths = append(widths, i)
		}
	}
	if in.shard.Set() {
		rep.Shard = flow.NewInfo(flow.CmdSweep, in.shard, total, o.flags)
	}
	bar := o.bar(stderr, 1+len(widths)+hi-lo)
	step := func() {
		if bar != nil {
			_ = bar.Add(1)
		}
	}
	if o.g.verbose && !o.json {
		fmt.Fprintf(stderr, "sweep: %s, %d images, calibrated on %d, bits %v x parallel %v, %s\n",
			in.net.Spec.Name, rep.Images, rep.CalibImages, in.bits, in.parallel, rep.Cost)
	}

	// The float reference once, then each width: quantize and simulate.
	floatPred, err := floatPredictions(in.net, in.set.X)
	if err != nil {
		return err
	}
	rep.FloatTop1 = percentEqual(floatPred, in.set.Labels)
	step()
	type quantized struct {
		q         *quant.Model
		top1, agr report.Num
	}
	qs := make([]quantized, len(in.bits))
	err = forEach(len(widths), func(w int) error {
		i := widths[w]
		cfg := quant.DefaultConfig()
		cfg.Bits = in.bits[i]
		q, err := quant.Quantize(in.net, in.calib.X, cfg, filepath.Base(o.calib))
		if err != nil {
			return usagef("--bits %d: %v", in.bits[i], oneLineErr(err))
		}
		pred, err := simPredictions(q, in.set.X)
		if err != nil {
			return usagef("--bits %d: %v", in.bits[i], oneLineErr(err))
		}
		qs[i] = quantized{q: q, top1: percentEqual(pred, in.set.Labels), agr: percentEqual(pred, floatPred)}
		step()
		return nil
	})
	if err != nil {
		return err
	}
	for i, qz := range qs {
		if qz.q == nil {
			continue // not needed by this shard
		}
		ws := make([]string, len(qz.q.Calibration.Warnings))
		for k, w := range qz.q.Calibration.Warnings {
			ws[k] = fmt.Sprintf("--bits %d: %s", in.bits[i], w)
		}
		printWarnings(stderr, ws)
	}

	// Every point: the plan, the estimate, and yosys with --synth.
	rep.Points = make([]sweepPoint, hi-lo)
	err = forEach(len(rep.Points), func(k0 int) error {
		k := lo + k0
		i, j, l := k/(np*nl), k/nl%np, k%nl
		qz := qs[i]
		cfg := rtl.NetConfig{Parallel: in.parallel[j], Lanes: in.lanes[l], Balance: o.balance}
		n, err := rtl.PlanNet(qz.q, cfg)
		if err != nil {
			return usagef("--model %s at --bits %d --parallel %d --lanes %d: %v", o.model, in.bits[i], in.parallel[j], in.lanes[l], oneLineErr(err))
		}
		est, err := synth.EstimateNet(qz.q, cfg, synth.L1, in.target)
		if err != nil {
			return usagef("--model %s at --bits %d --parallel %d --lanes %d: %v", o.model, in.bits[i], in.parallel[j], in.lanes[l], oneLineErr(err))
		}
		p := sweepPoint{Bits: in.bits[i], Parallel: in.parallel[j], Lanes: in.lanes[l], Top1: qz.top1, Agreement: qz.agr,
			Cost: rep.Cost, Estimate: countsOf(est.Total), CyclesPerImage: n.PredictedCyclesPerImage, LatencyCycles: n.LatencyCycles,
			PEs: est.PEs, ROMBits: est.ROMBits, BufferBits: est.BufferBits}
		p.Counts = p.Estimate
		if o.synth {
			m, err := synth.MeasureModel(ctx, synth.ModelRequest{Model: qz.q, Config: cfg, Ops: []synth.Op{synth.L1}, Target: in.target,
				PnR: in.target == synth.ICE40, FreqMHz: synth.DefaultFreqMHz, Seed: o.seed, Timeout: o.timeout})
			if err != nil {
				var mt *testbench.MissingToolError
				if errors.As(err, &mt) {
					return usagef("%v", mt)
				}
				return fmt.Errorf("--bits %d --parallel %d --lanes %d: %v", in.bits[i], in.parallel[j], in.lanes[l], oneLineErr(err))
			}
			r := m.Reports[0]
			c := countsOf(r.Counts)
			p.Measured, p.Counts, p.FmaxMHz = &c, c, r.FmaxMHz
		}
		rep.Points[k0] = p
		step()
		return nil
	})
	if err != nil {
		return err
	}
	if bar != nil {
		_ = bar.Finish()
	}
	markPareto(rep.Points)
	rep.Seconds = time.Since(start).Seconds()
	return writeSweep(stdout, rep, o.out, o.json, o.g.quiet)
}

// writeSweep writes rep's files into out (sweep.csv, sweep.json,
// pareto.png), then prints sweep.json (asJSON) or the table.
func writeSweep(stdout io.Writer, rep *sweepReport, out string, asJSON, quiet bool) error {
	files := map[string][]byte{}
	var err error
	if files["sweep.csv"], err = sweepCSV(rep); err != nil {
		return err
	}
	if files["pareto.png"], err = paretoPlot(rep); err != nil {
		return err
	}
	rep.Files = []string{"pareto.png", "sweep.csv", "sweep.json"}
	j, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	files["sweep.json"] = append(j, '\n')
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

// sweepColumns are sweep.csv's columns.
var sweepColumns = []string{"bits", "parallel", "lanes", "top1", "agreement", "luts", "ffs", "brams", "dsps", "cost",
	"est_luts", "est_ffs", "est_brams", "est_dsps", "fmax_mhz", "cycles_per_image", "latency_cycles", "pes", "rom_bits", "buffer_bits",
	"pareto", "pareto_3d"}

func sweepCSV(r *sweepReport) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(sweepColumns); err != nil {
		return nil, err
	}
	itoa := strconv.Itoa
	for _, p := range r.Points {
		fmax := ""
		if p.FmaxMHz != nil {
			fmax = strconv.FormatFloat(*p.FmaxMHz, 'f', 1, 64)
		}
		row := []string{itoa(p.Bits), itoa(p.Parallel), itoa(p.Lanes),
			report.CSV(p.Top1, 2), report.CSV(p.Agreement, 2),
			itoa(p.LUTs), itoa(p.FFs), itoa(p.BRAMs), itoa(p.DSPs), p.Cost,
			itoa(p.Estimate.LUTs), itoa(p.Estimate.FFs), itoa(p.Estimate.BRAMs), itoa(p.Estimate.DSPs), fmax,
			itoa(p.CyclesPerImage), itoa(p.LatencyCycles), itoa(p.PEs), itoa(p.ROMBits), itoa(p.BufferBits),
			strconv.FormatBool(p.Pareto), strconv.FormatBool(p.Pareto3D)}
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

// cyclesShort prints a cycle count compactly: 950, 22.3k, 1.2M.
func cyclesShort(c int) string {
	switch {
	case c >= 1_000_000:
		return fmt.Sprintf("%.1fM", float64(c)/1e6)
	case c >= 10_000:
		return fmt.Sprintf("%.0fk", float64(c)/1e3)
	case c >= 1000:
		return fmt.Sprintf("%.1fk", float64(c)/1e3)
	}
	return strconv.Itoa(c)
}

// paretoPlot draws top-1 against LUTs: every point labelled bits/P and
// cycles per image, the Pareto front in red and connected.
func paretoPlot(r *sweepReport) ([]byte, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: top-1 vs LUTs (%s, %s)", r.Name, r.Target, r.Cost)
	p.X.Label.Text = fmt.Sprintf("LUTs (%s, log scale)", r.Cost)
	p.Y.Label.Text = fmt.Sprintf("top-1 %% (bit-exact simulator, %d images)", r.Images)
	p.X.Scale = plot.LogScale{}
	var all, front plotter.XYs
	var labels, skipped []string
	for _, pt := range r.Points {
		if !pt.Top1.Finite() {
			// A plotter cannot draw it; the title names it.
			skipped = append(skipped, fmt.Sprintf("%db/P%d/L%d", pt.Bits, pt.Parallel, pt.Lanes))
			continue
		}
		xy := plotter.XY{X: float64(max(pt.LUTs, 1)), Y: float64(pt.Top1)}
		all = append(all, xy)
		lab := fmt.Sprintf("%db/P%d", pt.Bits, pt.Parallel)
		if len(r.Lanes) > 1 || pt.Lanes != 0 {
			lab += fmt.Sprintf("/L%d", pt.Lanes)
		}
		labels = append(labels, lab+" "+cyclesShort(pt.CyclesPerImage)+" cyc")
		if pt.Pareto {
			front = append(front, xy)
		}
	}
	if len(skipped) > 0 {
		p.Title.Text += "\nnot drawn (top-1 not measured): " + strings.Join(skipped, ", ")
	}
	if len(all) == 0 {
		p.Y.Min, p.Y.Max = 0, 100
		p.X.Scale, p.X.Min, p.X.Max = plot.LinearScale{}, 1, 10
		p.Add(plotter.NewGrid())
		return pngOf(vg.Points(720), vg.Points(480), p)
	}
	slices.SortFunc(front, func(a, b plotter.XY) int {
		if a.X != b.X {
			return cmpFloat(a.X, b.X)
		}
		return cmpFloat(a.Y, b.Y)
	})
	sc, err := plotter.NewScatter(all)
	if err != nil {
		return nil, err
	}
	sc.GlyphStyle.Color = color.RGBA{R: 90, G: 90, B: 90, A: 255}
	sc.GlyphStyle.Radius = vg.Points(3)
	sc.GlyphStyle.Shape = draw.CircleGlyph{}
	p.Add(plotter.NewGrid(), sc)
	red := color.RGBA{R: 200, G: 30, B: 30, A: 255}
	if len(front) > 0 {
		line, pts, err := plotter.NewLinePoints(front)
		if err != nil {
			return nil, err
		}
		line.Color, line.Width = red, vg.Points(1.5)
		pts.Color, pts.Radius, pts.Shape = red, vg.Points(4.5), draw.RingGlyph{}
		p.Add(line, pts)
		p.Legend.Add("Pareto front", line, pts)
		p.Legend.Add("design point", sc)
		p.Legend.Top, p.Legend.Left = false, false
	}
	// Labels alternate above and below the points along each accuracy
	// level (points of one width share their accuracy and crowd).
	order := make([]int, len(all))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if all[a].Y != all[b].Y {
			return cmpFloat(all[a].Y, all[b].Y)
		}
		return cmpFloat(all[a].X, all[b].X)
	})
	var rows [3]plotter.XYLabels
	for k, i := range order {
		lvl := 0
		if k > 0 && all[order[k-1]].Y == all[i].Y {
			lvl = (k - firstOfLevel(order, all, k)) % 3
		}
		rows[lvl].XYs = append(rows[lvl].XYs, all[i])
		rows[lvl].Labels = append(rows[lvl].Labels, labels[i])
	}
	for lvl, off := range []vg.Length{vg.Points(6), vg.Points(-14), vg.Points(16)} {
		if len(rows[lvl].XYs) == 0 {
			continue
		}
		lb, err := plotter.NewLabels(rows[lvl])
		if err != nil {
			return nil, err
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Font.Size = vg.Points(7)
			lb.TextStyle[i].XAlign = draw.XCenter
		}
		lb.Offset = vg.Point{Y: off}
		p.Add(lb)
	}
	// Room for the labels above the points and around the extremes.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, xy := range all {
		lo, hi = min(lo, xy.Y), max(hi, xy.Y)
	}
	pad := max(0.05, (hi-lo)*0.2)
	p.Y.Min, p.Y.Max = lo-pad, hi+pad
	p.X.Min, p.X.Max = p.X.Min/1.3, p.X.Max*1.3
	p.X.Tick.Marker = plot.TickerFunc(logTicks)
	p.Y.Tick.Marker = plot.TickerFunc(percentTicks)
	return pngOf(vg.Points(720), vg.Points(480), p)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// firstOfLevel returns the position in order of the first point with the
// same accuracy as order[k].
func firstOfLevel(order []int, xy plotter.XYs, k int) int {
	j := k
	for j > 0 && xy[order[j-1]].Y == xy[order[k]].Y {
		j--
	}
	return j
}

// percentTicks are the default ticks labelled with two decimals.
func percentTicks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', 2, 64)
		}
	}
	return ticks
}

// logTicks marks 1, 2 and 5 times the powers of ten (labelled, as 500,
// 2k, 10k) and the other integers times them (unlabelled).
func logTicks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(max(lo, 1))); math.Pow(10, e) <= hi; e++ {
		dec := math.Pow(10, e)
		for m := 1.0; m < 10; m++ {
			v := m * dec
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'f', -1, 64)
				if v >= 1000 {
					t.Label = strconv.FormatFloat(v/1000, 'f', -1, 64) + "k"
				}
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
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
