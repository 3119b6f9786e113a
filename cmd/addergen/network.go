package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/flow"
	"github.com/addergen/addergen/internal/report"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/sim"
	"github.com/addergen/addergen/testbench"
)

// netHWFlags are the hardware options of a whole-network design, shared by
// emit-verilog, verify and synth model.
type netHWFlags struct {
	lanes    int
	parallel int
	balance  bool
	target   int
	family   string
	config   string
	top      string
	aresetn  bool
}

func (f *netHWFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntVar(&f.lanes, "lanes", 0, "lanes per PE of adder/conv engines: below the input channels they fold them (SIMD, the largest divisor that fits), above they are rounded down to whole window positions; 0 means one position (all input channels)")
	fl.IntVar(&f.parallel, "parallel", rtl.DefaultParallel, "PEs per adder/conv engine (output channels computed at once)")
	fl.BoolVar(&f.balance, "balance", false, "lower each adder/conv engine's PEs and lanes to the fewest that keep the predicted cycles per image (--parallel and --lanes become upper bounds)")
	fl.IntVar(&f.target, "target-cycles", 0, "pick PEs and lanes (SIMD) of every adder/conv engine without a --config override: the cheapest (lanes, PEs, ring copies) that meet this many cycles per image (as FINN's target_fps); 0 keeps --parallel/--lanes")
	fl.StringVar(&f.family, "family", "", "FPGA family the engines' PE pipelines are scheduled for: generic, xilinx or ice40")
	fl.StringVar(&f.config, "config", "", "hardware config JSON with per-layer overrides, e.g. {\"layers\": {\"conv2\": {\"parallel\": 8}}}")
	fl.StringVar(&f.top, "top", "addernet", "top module name")
	fl.BoolVar(&f.aresetn, "aresetn", false, "give the top an active-low synchronous reset aresetn (AXI's ARESETn) instead of the active-high rst_i")
}

func (f *netHWFlags) netConfig() (rtl.NetConfig, error) {
	var c rtl.NetConfig
	if f.config != "" {
		data, err := os.ReadFile(f.config)
		if err != nil {
			return c, usagef("--config %s: %v", f.config, unwrapPath(err))
		}
		if c, err = rtl.ParseNetConfig(data); err != nil {
			return c, usagef("--config %s: %v", f.config, err)
		}
	}
	if f.lanes < 0 || f.lanes > 1<<16 {
		return c, usagef("--lanes %d out of range: must be 0..65536", f.lanes)
	}
	if c.Lanes == 0 {
		c.Lanes = f.lanes
	}
	c.Balance = c.Balance || f.balance
	c.AResetN = c.AResetN || f.aresetn
	if f.target < 0 {
		return c, usagef("--target-cycles %d out of range: must be 0 or more", f.target)
	}
	if c.TargetCycles == 0 {
		c.TargetCycles = f.target
	}
	if f.family != "" && !rtl.ValidFamily(f.family) {
		return c, usagef("--family %q: want one of %s", f.family, strings.Join(rtl.Families, ", "))
	}
	if c.Family == "" {
		c.Family = f.family
	}
	if f.parallel < 1 || f.parallel > 4096 {
		return c, usagef("--parallel %d out of range: must be 1..4096", f.parallel)
	}
	if c.Parallel == 0 {
		c.Parallel = f.parallel
	}
	if c.Top == "" {
		c.Top = f.top
	}
	if !rtl.LegalName(c.Top) {
		return c, usagef("--top %q is not a legal Verilog module name", c.Top)
	}
	return c, nil
}

// designErr blames the right input for an error planning the design of
// model: the --config file for a fault in its per-layer overrides (such
// errors start "hardware config:"), --model otherwise.
func (f *netHWFlags) designErr(model string, err error) error {
	if rest, ok := strings.CutPrefix(err.Error(), "hardware config: "); ok && f.config != "" {
		return usagef("--config %s: %s (model %s)", f.config, rest, model)
	}
	return usagef("--model %s: %v", model, err)
}

// loadQuantized loads --model as a quantized model file.
func loadQuantized(path string) (*quant.Model, error) {
	if path == "" {
		return nil, usagef("--model is required: a quantized model file written by addergen quantize")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, usagef("--model %s: %v", path, unwrapPath(err))
	}
	if !quant.IsQuantized(path) {
		return nil, usagef("--model %s is not a quantized model: run addergen quantize first", path)
	}
	q, err := quant.Load(path)
	if err != nil {
		return nil, usagef("--model %s: %v", path, err)
	}
	return q, nil
}

type emitNetOpts struct {
	g     *globalOpts
	hw    netHWFlags
	model string
	out   string
	json  bool
}

// run emits the whole-network design.
func (o *emitNetOpts) run(stdout io.Writer) error {
	q, err := loadQuantized(o.model)
	if err != nil {
		return err
	}
	c, err := o.hw.netConfig()
	if err != nil {
		return err
	}
	files, n, err := flow.Emit(q, c)
	if err != nil {
		return o.hw.designErr(o.model, err)
	}
	if o.out == "" {
		return usagef("--out is required")
	}
	if _, err := writeOutDir("--out", o.out, "emit-verilog", files); err != nil {
		return err
	}
	if o.json {
		_, err := stdout.Write(files["manifest.json"])
		return err
	}
	if !o.g.quiet {
		fmt.Fprintf(stdout, "%s: %d engines, %d files in %s; predicted %d cycles per image, latency about %d cycles; lane utilisation %.1f%%; %d activation buffer bits\n",
			n.Top, len(n.Engines), len(files), o.out, n.PredictedCyclesPerImage, n.LatencyCycles, 100*n.LaneUtilization(), flow.BufferBits(n))
		for _, e := range n.Engines {
			fmt.Fprintf(stdout, "  %-26s %-8s %3d PE(s) x %4d lanes  %7d cycles/image  %8d buffer bits\n", e.Module, e.Kind, e.P, flow.EngineLanes(e), e.ComputeCycles, e.LineBufferBits()+e.FIFOBits())
		}
	}
	return nil
}

type verifyNetOpts struct {
	g         *globalOpts
	hw        netHWFlags
	model     string
	data      string
	labels    string
	images    int
	simulator string
	json      bool
	output    string
	vcd       string
	rtlDir    string
	keep      string
	idle      float64
	stall     float64
	seed      uint64
	// preprocess applies the model's raw-pixel preprocessing to --data.
	preprocess bool
	shard      string
	flags      map[string]string // the run's flags, for a shard's report
}

// verifyNetReport is the JSON printed by verify --model --json.
type verifyNetReport = flow.VerifyReport

func (o *verifyNetOpts) run(ctx context.Context, stdout, stderr io.Writer) error {
	q, err := loadQuantized(o.model)
	if err != nil {
		return err
	}
	c, err := o.hw.netConfig()
	if err != nil {
		return err
	}
	if o.simulator != testbench.Icarus && o.simulator != testbench.Verilator {
		return usagef("--simulator %q unknown: want iverilog or verilator", o.simulator)
	}
	if err := testbench.CheckSimulator(o.simulator); err != nil {
		return usagef("--simulator %s: %v", o.simulator, err)
	}
	if o.data == "" {
		return usagef("--data is required (a .npy array or MNIST IDX files)")
	}
	if o.images < 1 {
		return usagef("--images %d: must be at least 1", o.images)
	}
	if o.idle < 0 || o.idle > 0.9 || o.stall < 0 || o.stall > 0.9 {
		return usagef("--idle and --stall must be in 0..0.9")
	}
	sh, err := parseShard(o.shard)
	if err != nil {
		return err
	}
	set, err := dataArg{flag: "--data", path: o.data, labels: o.labels, limit: o.images,
		preprocess: o.preprocess, pre: q.Preprocess, model: o.model}.load(q.Input.Shape, stderr)
	if err != nil {
		return err
	}
	if err := checkLabels("--data", set, shapeLen(q.Output().OutShape)); err != nil {
		return err
	}
	start, total, err := selectShard(sh, set)
	if err != nil {
		return err
	}
	in, err := flow.EncodeInput(q, set.X)
	if err != nil {
		return usagef("--data %s: %v", o.data, err)
	}
	files, design, err := rtl.EmitNet(q, c)
	if err != nil {
		return o.hw.designErr(o.model, err)
	}
	if o.keep != "" {
		if err := os.MkdirAll(o.keep, 0o755); err != nil {
			return usagef("--keep %s: %v", o.keep, unwrapPath(err))
		}
	}
	if o.rtlDir != "" {
		// Use the user's emitted design instead of a fresh one, planned
		// with the parallelism it was emitted with (from its manifest).
		if files, design, err = flow.ReadDesign(q, c, o.rtlDir); err != nil {
			return usagef("--rtl %v", err)
		}
	}
	run, err := flow.Verify(ctx, design, files, in, flow.VerifyOptions{Simulator: o.simulator, Dir: o.keep,
		Idle: o.idle, Stall: o.stall, Seed: o.seed, VCD: o.vcd != ""})
	if err != nil {
		return err
	}
	defer run.Close()
	res := run.Result
	rep := run.Report(set.Labels)
	if res.FirstMismatch != nil {
		res.FirstMismatch.Image += start // image numbers of the whole run
	}
	if sh.Set() {
		rep.Shard = flow.NewInfo(flow.CmdVerify, sh, total, o.flags)
		rep.State = run.State(set.Labels)
	}
	if o.vcd != "" {
		if err := copyFileAtomic(res.VCD, o.vcd); err != nil {
			return usagef("--vcd %s: %v", o.vcd, err)
		}
		rep.VCD = o.vcd
	}
	if run.MismatchVCD != "" {
		rep.VCD = run.MismatchVCD
	} else if run.DumpErr != nil {
		fmt.Fprintf(stderr, "could not write a VCD: %v\n", run.DumpErr)
	}
	if o.output != "" && res.Mismatches == 0 {
		if err := dataset.WriteNPY(o.output, sim.Dequantize(res.Logits, q.Output().Out)); err != nil {
			return usagef("--output %s: %v", o.output, err)
		}
		if rep.Shard != nil {
			if err := recordOutput(rep.Shard, o.output); err != nil {
				return usagef("--output %s: %v", o.output, err)
			}
		}
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if !o.g.quiet {
		printVerifyNet(stdout, rep)
	}
	if res.Mismatches > 0 {
		fmt.Fprintf(stderr, "first mismatch: %s\n", res.FirstMismatch)
		if rep.VCD != "" {
			fmt.Fprintf(stderr, "waveform around it: %s\n", rep.VCD)
		}
		fmt.Fprintf(stderr, "work directory kept: %s\n", run.Dir)
		return checkFailed{fmt.Sprintf("verify: %d mismatches", res.Mismatches)}
	}
	return nil
}

// printVerifyNet prints verify's text summary of rep.
func printVerifyNet(w io.Writer, rep *verifyNetReport) {
	fmt.Fprintf(w, "%s: %d images, %d layer values compared, %d mismatches\n", rep.Simulator, rep.Images, rep.Values, rep.Mismatches)
	fmt.Fprintf(w, "cycles per image: %s, %d predicted; latency %d cycles; %s images/s simulated\n",
		flow.MeasuredCycles(rep.CyclesPerImage, rep.Images), rep.PredictedCyclesPerImage, rep.LatencyCycles, report.Text(rep.ImagesPerSecond, 1, "not measured"))
	if rep.RTLTop1 != nil {
		fmt.Fprintf(w, "top-1: RTL %.2f%%, simulator %.2f%%\n", 100**rep.RTLTop1, 100**rep.SimTop1)
	}
}
