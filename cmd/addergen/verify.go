package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/flow"
	"github.com/addergen/addergen/internal/report"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/sim"
	"github.com/addergen/addergen/testbench"
)

func newVerifyCmd(g *globalOpts) *cobra.Command {
	o := &verifyNetOpts{g: g}
	cmd := &cobra.Command{
		Use:   "verify --model Q.json --data DATA --images N --simulator iverilog|verilator [--shard i/n] [--json] [--output Y.npy] [--vcd FILE]",
		Short: "Check generated RTL against the bit-exact simulator in Icarus and Verilator",
		Long: `Check generated RTL bit for bit against addergen's simulator. With --model,
emit the network (or use --rtl DIR), stream the images in with random idle
cycles and random output backpressure, capture every layer's output stream
and compare it value by value with the simulator. Exits 0 only with zero
mismatches; on a mismatch it names the first diverging layer, image,
channel, position, expected and got, and writes a VCD around it. The
subcommand pe verifies one L1 processing element.`,
		Example: `  addergen verify --model q8.json --data mnist --images 100 --simulator verilator
  addergen verify --model r4.json --data test_batch.bin --preprocess --images 2 --simulator verilator
  addergen verify --model q8.json --data x.npy --images 5 --simulator iverilog --json --output y.npy

  # the 2nd of 4 shards of 1000 images; addergen merge combines the 4
  addergen verify --model q8.json --data mnist --images 1000 --shard 2/4 --json --output y.2.npy > s2.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return groupRunE(cmd, args)
			}
			if o.model == "" {
				return usagef("--model is required (or use the pe subcommand)")
			}
			ctx := cmd.Context() // never nil under Execute
			o.flags = runFlags(cmd)
			return o.run(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.hw.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&o.model, "model", "", "quantized model file (addergen quantize)")
	fl.StringVar(&o.data, "data", "", "images: .npy (NCHW, scaled as the model expects), MNIST IDX file, CIFAR-10 .bin file, a folder of them (test split), or mnist (the GoMNIST module's)")
	fl.BoolVar(&o.preprocess, "preprocess", false, "--data holds raw pixels (0..255, e.g. CIFAR-10 .bin): apply the model's preprocessing (scale, mean, std)")
	fl.StringVar(&o.labels, "labels", "", "labels .npy for --data (default X.labels.npy beside X.npy)")
	fl.IntVar(&o.images, "images", 10, "number of images to run")
	fl.StringVar(&o.simulator, "simulator", testbench.Verilator, "iverilog or verilator")
	fl.BoolVar(&o.json, "json", false, "print the result as one JSON object")
	fl.StringVar(&o.output, "output", "", "write the RTL's logits, dequantized as infer does, to this .npy")
	fl.StringVar(&o.vcd, "vcd", "", "write a VCD of the whole run to this file")
	fl.StringVar(&o.rtlDir, "rtl", "", "verify this emitted design instead of emitting a fresh one")
	fl.StringVar(&o.keep, "keep", "", "keep the bench and build in this directory")
	fl.Float64Var(&o.idle, "idle", 0.2, "probability of an idle input cycle")
	fl.Float64Var(&o.stall, "stall", 0.2, "probability of output backpressure in a cycle")
	fl.Uint64Var(&o.seed, "seed", 1, "seed for the idle and backpressure patterns")
	fl.StringVar(&o.shard, "shard", "", fmt.Sprintf(shardUsage, "--images"))
	cmd.AddCommand(newVerifyPECmd(g))
	return cmd
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
	q, c, err := o.hw.load(o.model)
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
		preprocess: o.preprocess, pre: q.Preprocess, model: o.model, raw: q.PreprocessFolded != nil}.load(q.Input.Shape, stderr)
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
			var de *flow.DirError
			if errors.As(err, &de) {
				return usagef("--rtl %v", err)
			}
			return err
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
	if err := writeVerifyNet(stdout, rep, o.json, o.g.quiet); err != nil {
		return err
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

// writeVerifyNet prints rep as one indented JSON object (asJSON) or,
// unless quiet, as verify's text summary.
func writeVerifyNet(w io.Writer, rep *verifyNetReport, asJSON, quiet bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	if !quiet {
		printVerifyNet(w, rep)
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

type verifyPEOpts struct {
	g         *globalOpts
	pe        peFlags
	simulator string
	vectors   int
	seed      uint64
	json      bool
	vcd       string
	keep      string
}

func newVerifyPECmd(g *globalOpts) *cobra.Command {
	o := &verifyPEOpts{g: g}
	cmd := &cobra.Command{
		Use:   "pe --lanes K --width W [--unsigned] [--pipeline auto|N] --simulator iverilog|verilator|both --vectors N --seed S [--json]",
		Short: "Verify one L1 processing element against its cycle-true Go model",
		Long: `Generate a PE, a self-checking testbench and vectors from the cycle-true Go
model (random vectors from --seed plus edge cases, with random idle gaps on
valid_i and a reset pulse mid-stream), run them in the simulators and compare
valid_o and sum_o on every cycle. Exits 0 only with zero mismatches; on a
mismatch it reports the first one (vector index, inputs, expected, got) and
writes a VCD.`,
		Example: `  addergen verify pe --lanes 16 --width 8 --unsigned --simulator both --vectors 1000 --seed 1
  addergen verify pe --lanes 9 --width 4 --pipeline 0 --simulator iverilog --vectors 200 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.pe.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&o.simulator, "simulator", "both", "iverilog, verilator or both")
	fl.IntVar(&o.vectors, "vectors", 1000, "random vectors (edge cases are added)")
	fl.Uint64Var(&o.seed, "seed", 1, "random seed for the vectors")
	fl.BoolVar(&o.json, "json", false, "print the result as one JSON object")
	fl.StringVar(&o.vcd, "vcd", "", "write a VCD of the run to this file")
	fl.StringVar(&o.keep, "keep", "", "keep the testbench, vectors and build in this directory")
	return cmd
}

func (o *verifyPEOpts) run(ctx context.Context, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := o.pe.config()
	if err != nil {
		return err
	}
	sims, err := testbench.ParseSimulators(o.simulator)
	if err != nil {
		return usagef("--simulator: %v", err)
	}
	if o.vectors < 0 || o.vectors > 10_000_000 {
		return usagef("--vectors %d out of range: must be 0..10000000", o.vectors)
	}
	if bits := int64(o.vectors) * int64(c.Lanes) * int64(c.Width) * 2; bits > 1<<31 {
		return usagef("--vectors %d: %d lanes of %d bits make %d MiB of stimulus; use at most %d vectors",
			o.vectors, c.Lanes, c.Width, bits>>23, (1<<31)/(int64(c.Lanes)*int64(c.Width)*2))
	}
	if o.vcd != "" {
		if st, err := os.Stat(filepath.Dir(o.vcd)); err != nil || !st.IsDir() {
			return usagef("--vcd %s: directory %s does not exist", o.vcd, filepath.Dir(o.vcd))
		}
	}
	for _, s := range sims {
		if err := testbench.CheckSimulator(s); err != nil {
			return usagef("--simulator %s: %v", o.simulator, err)
		}
	}
	each := func(rep *flow.VerifyPEReport, s string, res *testbench.Result, dir string) error {
		if res.VCD != "" && o.vcd != "" {
			dst := o.vcd
			if len(sims) > 1 {
				dst = strings.TrimSuffix(o.vcd, ".vcd") + "." + s + ".vcd"
			}
			if err := copyFileAtomic(res.VCD, dst); err != nil {
				return usagef("--vcd %s: %v", dst, err)
			}
			res.VCD = dst
		}
		failed := res.Mismatches > 0
		if failed && o.keep == "" {
			fmt.Fprintf(stderr, "work directory kept: %s\n", dir)
		}
		if !o.json && !o.g.quiet {
			fmt.Fprintf(stdout, "%-9s %s: %d vectors, %d mismatches, %.0f vectors/s\n",
				s, rep.Module, res.Vectors, res.Mismatches, res.VectorsPerSecond)
		}
		if failed {
			fmt.Fprintf(stderr, "first mismatch in %s: %s\n", s, res.FirstMismatch)
			if res.VCD != "" {
				fmt.Fprintf(stderr, "waveform: %s\n", res.VCD)
			}
		}
		return nil
	}
	rep, err := flow.VerifyPE(ctx, c, flow.VerifyPEOptions{Simulators: sims, Simulator: o.simulator, Vectors: o.vectors, Seed: o.seed,
		Keep: o.keep, VCD: o.vcd != "", Each: each})
	if err != nil {
		var de *flow.DirError
		if errors.As(err, &de) {
			return usagef("--keep %v", err)
		}
		return err
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if !o.g.quiet && rep.Mismatches == 0 {
		fmt.Fprintf(stdout, "PASS: %s (K=%d W=%d %s, sum width %d, latency %d): %d vectors bit-exact in %s\n",
			rep.Module, rep.Lanes, rep.Width, signWord(rep.Signed), rep.SumWidth, rep.Latency, rep.Vectors, o.simulator)
	}
	if rep.Mismatches > 0 {
		return checkFailed{fmt.Sprintf("verify pe: %d mismatches", rep.Mismatches)}
	}
	return nil
}

func signWord(signed bool) string {
	if signed {
		return "signed"
	}
	return "unsigned"
}

// copyFileAtomic copies src to dst through a temporary file and a rename.
func copyFileAtomic(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return writeFileAtomic(dst, data)
}
