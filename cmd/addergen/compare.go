package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/flow"
	"github.com/addergen/addergen/quant"
)

type compareOpts struct {
	g          *globalOpts
	model      string
	weights    string
	weightsKey string
	quantized  string
	data       string
	labels     string
	split      string
	limit      int
	maxDrop    float64
	out        string
	json       bool
	preprocess bool
	shard      string
	flags      map[string]string // the run's flags, for a shard's report
}

func newCompareCmd(g *globalOpts) *cobra.Command {
	o := &compareOpts{g: g}
	cmd := &cobra.Command{
		Use:   "compare --model M [--weights FILE] --quantized Q.json --data DATA [--limit N] [--shard i/n] [--out DIR] [--json]",
		Short: "Compare a float model with the bit-exact simulation of its quantized model",
		Long: `Run the float reference and the bit-exact integer simulator of the quantized
model on the same data and compare them: top-1 accuracy of each (when labels
are known), their top-1 agreement, and per layer the SQNR (dB) and maximum
absolute error of the dequantized simulator output against the float output of
the layer it stands for, and how many outputs saturated.

With --out DIR, writes DIR/report.md, DIR/report.json, DIR/error.png (per-layer
SQNR) and DIR/ranges.png (activation and weight ranges against the ranges the
codes represent). --max-drop P fails (exit 1) when the quantized top-1 is more
than P points below the float top-1.`,
		Example: `  # LeNet-5 at 8 bits on the MNIST test set, report in out/cmp
  addergen compare --model lenet5-adder --weights lenet.pth --quantized lenet8.json --data mnist --out out/cmp

  # CI gate: at most 0.1 point lost, machine-readable
  addergen compare --model lenet5-adder --weights lenet.pth --quantized lenet8.json --data mnist --max-drop 0.1 --json

  # the 1st of 4 shards of the test set; addergen merge combines the 4
  addergen compare --model lenet5-adder-mnist --quantized lenet8.json --data mnist --shard 1/4 --json > s1.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.flags = runFlags(cmd)
			return o.run(cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.model, "model", "", "float model: built-in name, spec JSON file, or training folder")
	fl.StringVar(&o.weights, "weights", "", "weights file (.pth, .pt, .safetensors, .npz)")
	fl.StringVar(&o.weightsKey, "weights-key", "", "entry of a checkpoint dict that holds the state_dict (net, model, state_dict, ...), when the checkpoint holds several")
	fl.StringVar(&o.quantized, "quantized", "", "quantized model written by addergen quantize")
	fl.StringVar(&o.data, "data", "", "data: .npy [N,C,H,W], MNIST IDX file, CIFAR-10 .bin file, a folder of IDX or CIFAR-10 files, or mnist (the GoMNIST module's)")
	fl.BoolVar(&o.preprocess, "preprocess", false, "--data holds raw pixels (0..255, e.g. CIFAR-10 .bin): apply the model's preprocessing (scale, mean, std)")
	fl.StringVar(&o.labels, "labels", "", "labels .npy for .npy data (default X.labels.npy beside X.npy)")
	fl.StringVar(&o.split, "split", "test", "split of a --data folder: test or train")
	fl.IntVar(&o.limit, "limit", 0, "use the first N samples (0 = all)")
	fl.Float64Var(&o.maxDrop, "max-drop", -1, "fail if quantized top-1 is more than this many points below float (negative: no check)")
	fl.StringVar(&o.out, "out", "", "write report.md, report.json, error.png and ranges.png into this directory")
	fl.BoolVar(&o.json, "json", false, "print the report as one JSON object")
	fl.StringVar(&o.shard, "shard", "", fmt.Sprintf(shardUsage, "samples (after --limit)"))
	for _, f := range []string{"model", "quantized", "data"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

// compareReport is the JSON report (report.json, and stdout with --json).
type compareReport = flow.CompareReport

func (o *compareOpts) run(stdout, stderr io.Writer) error {
	if o.limit < 0 {
		return usagef("--limit %d is negative", o.limit)
	}
	if o.split != dataset.SplitTest && o.split != dataset.SplitTrain {
		return usagef("--split %q: want test or train", o.split)
	}
	if o.out != "" {
		if err := checkOutDir("--out", o.out); err != nil {
			return err
		}
	}
	sh, err := parseShard(o.shard)
	if err != nil {
		return err
	}
	if !quant.IsQuantized(o.quantized) {
		return usagef("--quantized %s: not a quantized model file (no \"format\": %q)", o.quantized, quant.FormatName)
	}
	q, err := quant.Load(o.quantized)
	if err != nil {
		return usagef("--quantized: %v", oneLineErr(err))
	}
	net, err := loadFloatNet(o.model, o.weights, o.weightsKey)
	if err != nil {
		return err
	}
	if net.Spec.Name != q.Name {
		return usagef("--quantized %s was made from %s, but --model is %s", o.quantized, q.Name, net.Spec.Name)
	}
	if net, err = flow.MatchInput(net, q); err != nil {
		return usagef("--quantized %s has its preprocessing folded, but --model %s: %v", o.quantized, o.model, oneLineErr(err))
	}
	set, err := dataArg{flag: "--data", path: o.data, labels: o.labels, split: o.split, limit: o.limit,
		preprocess: o.preprocess, pre: net.Spec.Preprocess, model: o.model, raw: net.Folded != nil}.load(net.Input, stderr)
	if err != nil {
		return err
	}
	if err := checkLabels("--data", set, shapeLen(net.Output())); err != nil {
		return err
	}
	_, total, err := selectShard(sh, set)
	if err != nil {
		return err
	}
	if o.maxDrop >= 0 && set.Labels == nil {
		return usagef("--max-drop needs labels; --data %s has none", o.data)
	}
	rep, err := flow.Compare(net, q, set, flow.CompareOptions{Model: o.model, Weights: o.weights, Quantized: o.quantized, Data: o.data,
		MaxDrop: o.maxDrop, Shard: sh, ShardTotal: total, Flags: o.flags})
	if err != nil {
		return usageError{oneLineErr(err)}
	}
	return printCompare(stdout, rep, o.out, o.json, o.g.quiet, verdictErr(rep.Verdict(o.maxDrop)))
}

// verdictErr turns a failed check's verdict into exit code 1.
func verdictErr(err error) error {
	if err == nil {
		return nil
	}
	return checkFailed{err.Error()}
}

// printCompare writes rep's files into out (when set: report.md,
// report.json, error.png, ranges.png), then prints rep as JSON or text,
// and returns failed (the --max-drop verdict) unless writing fails.
func printCompare(stdout io.Writer, rep *compareReport, out string, asJSON, quiet bool, failed error) error {
	var paths []string
	if out != "" {
		files, err := flow.CompareFiles(rep)
		if err != nil {
			return err
		}
		if paths, err = writeOutDir("--out", out, "compare", files); err != nil {
			return err
		}
	}
	if asJSON {
		if err := json.NewEncoder(stdout).Encode(rep); err != nil {
			return err
		}
		return failed
	}
	if !quiet || failed != nil {
		fmt.Fprint(stdout, flow.CompareText(rep))
	}
	if !quiet {
		for _, p := range paths {
			fmt.Fprintf(stdout, "wrote %s\n", p)
		}
	}
	return failed
}

// The report renderers, under the names this package's tests use.
var (
	textSummary    = flow.CompareText
	markdownReport = flow.CompareMarkdown
	errorPlot      = flow.ErrorPlot
	rangesPlot     = flow.RangesPlot
)
