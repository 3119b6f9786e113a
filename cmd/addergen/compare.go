package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"strings"

	"github.com/spf13/cobra"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/flow"
	"github.com/addergen/addergen/internal/report"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/sim"
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
	set, err := dataArg{flag: "--data", path: o.data, labels: o.labels, split: o.split, limit: o.limit,
		preprocess: o.preprocess, pre: net.Spec.Preprocess, model: o.model}.load(net.Input, stderr)
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
	x := set.X
	if o.maxDrop >= 0 && set.Labels == nil {
		return usagef("--max-drop needs labels; --data %s has none", o.data)
	}
	cmp, err := sim.Compare(net, q, x, set.Labels)
	if err != nil {
		return usageError{oneLineErr(err)}
	}
	rep := compareReport{Model: o.model, Weights: o.weights, Quantized: o.quantized, Data: o.data, Name: q.Name, Config: q.Config, Comparison: cmp}
	if sh.Set() {
		rep.Shard = flow.NewInfo(flow.CmdCompare, sh, total, o.flags)
		cmp.WithState()
	}
	var failed error
	if cmp.Labeled {
		drop := cmp.FloatTop1 - cmp.SimTop1
		rep.Top1Drop = &drop
		if o.maxDrop >= 0 && !sh.Set() { // a shard's slice gives no verdict; merge does
			pass := float64(drop) <= o.maxDrop+1e-9
			rep.Pass = &pass
			if !pass {
				failed = checkFailed{fmt.Sprintf("quantized top-1 %.2f%% is %.2f points below float %.2f%% (limit %v)", cmp.SimTop1, drop, cmp.FloatTop1, o.maxDrop)}
			}
		}
	}
	return printCompare(stdout, &rep, o.out, o.json, o.g.quiet, failed)
}

// printCompare writes rep's files into out (when set: report.md,
// report.json, error.png, ranges.png), then prints rep as JSON or text,
// and returns failed (the --max-drop verdict) unless writing fails.
func printCompare(stdout io.Writer, rep *compareReport, out string, asJSON, quiet bool, failed error) error {
	var paths []string
	if out != "" {
		files := map[string][]byte{"report.md": markdownReport(rep)}
		var err error
		if files["error.png"], err = errorPlot(rep.Comparison); err != nil {
			return err
		}
		if files["ranges.png"], err = rangesPlot(rep.Comparison); err != nil {
			return err
		}
		for n := range files {
			rep.Files = append(rep.Files, n)
		}
		rep.Files = append(rep.Files, "report.json")
		sortStrings(rep.Files)
		j, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		files["report.json"] = append(j, '\n')
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
		fmt.Fprint(stdout, textSummary(rep))
	}
	if !quiet {
		for _, p := range paths {
			fmt.Fprintf(stdout, "wrote %s\n", p)
		}
	}
	return failed
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// sqnrString prints a layer's SQNR in dB for text and Markdown: "exact"
// when there is no error, "−Inf (float output is all zero)" and the like
// for another non-finite value (the note without the layer name, which
// the row already gives).
func sqnrString(l sim.LayerComparison) string {
	if math.IsInf(float64(l.SQNR), 1) {
		return "exact"
	}
	_, note, _ := strings.Cut(l.SQNRNote, ": ")
	return report.Text(l.SQNR, 1, note)
}

func top1Lines(r *compareReport) []string {
	c := r.Comparison
	var lines []string
	if c.Labeled {
		lines = append(lines, fmt.Sprintf("top-1: float %.2f%%, quantized (sim) %.2f%% (%+.2f points)", c.FloatTop1, c.SimTop1, c.SimTop1-c.FloatTop1))
	}
	lines = append(lines,
		fmt.Sprintf("top-1 agreement: %.2f%% of %d samples", c.Agreement, c.Samples),
		fmt.Sprintf("throughput: float %.0f images/s, sim %.0f images/s", c.FloatImagesPerSec, c.SimImagesPerSec))
	if c.InputSaturated > 0 {
		lines = append(lines, fmt.Sprintf("input values saturated by the encoding: %d", c.InputSaturated))
	}
	return lines
}

func textSummary(r *compareReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %d-bit operands, %s calibration, %s rounding\n", r.Name, r.Quantized, r.Config.Bits, r.Config.Calibration, r.Config.Rounding)
	for _, l := range top1Lines(r) {
		fmt.Fprintf(&b, "%s\n", l)
	}
	fmt.Fprintf(&b, "  %-24s %-11s %-6s %9s %12s %10s\n", "layer", "op", "codes", "SQNR dB", "max |err|", "saturated")
	for _, l := range r.Layers {
		fmt.Fprintf(&b, "  %-24s %-11s %-6s %9s %12.4g %10d\n", l.Name, l.Op, codeFmt(l), sqnrString(l), l.MaxAbsErr, l.SatHigh+l.SatLow)
	}
	return b.String()
}

func codeFmt(l sim.LayerComparison) string {
	if l.Signed {
		return fmt.Sprintf("s%d", l.Bits)
	}
	return fmt.Sprintf("u%d", l.Bits)
}

func markdownReport(r *compareReport) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Quantization report: %s\n\n", r.Name)
	fmt.Fprintf(&b, "Float model `%s`", r.Model)
	if r.Weights != "" {
		fmt.Fprintf(&b, " (weights `%s`)", r.Weights)
	}
	fmt.Fprintf(&b, " against the bit-exact simulation of `%s` on `%s`.\n\n", r.Quantized, r.Data)
	c := r.Config
	mult := "integer multipliers"
	if c.NoMultipliers {
		mult = "shift-add rescales (no multipliers)"
	}
	fmt.Fprintf(&b, "Quantization: %d-bit operands", c.Bits)
	for _, k := range sortedKeys(c.LayerBits) {
		fmt.Fprintf(&b, ", %s %d", k, c.LayerBits[k])
	}
	fmt.Fprintf(&b, "; %d-bit output; %s calibration; %s rounding; %s (%d-bit).\n\n", c.OutputBits, c.Calibration, c.Rounding, mult, c.MultBits)
	for _, l := range top1Lines(r) {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	fmt.Fprintf(&b, "\n## Per layer\n\nSQNR and errors compare the dequantized simulator output with the float output of the layer named in *matches*.\n\n")
	fmt.Fprintf(&b, "| layer | op | matches | codes | scale | SQNR (dB) | max abs err | RMS err | saturated high / low | saturated %% | acc bits | float range | representable |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, l := range r.Layers {
		acc := ""
		if l.AccWidth > 0 {
			acc = fmt.Sprint(l.AccWidth)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.4g | %s | %.4g | %.4g | %d / %d | %.3f | %s | [%.4g, %.4g] | [%.4g, %.4g] |\n",
			l.Name, l.Op, l.Ref, codeFmt(l), l.Scale, sqnrString(l), l.MaxAbsErr, l.RMSErr, l.SatHigh, l.SatLow, 100*l.SatRate, acc, l.FloatMin, l.FloatMax, l.RepMin, l.RepMax)
	}
	fmt.Fprintf(&b, "\n## Weights\n\nAdder weights outside their input's code range are clamped with an exact per-channel constant (no error); conv/linear weights use per-channel scales.\n\n")
	fmt.Fprintf(&b, "| layer | float range | representable | clamped (exact) |\n|---|---|---|---|\n")
	for _, l := range r.Layers {
		if l.WeightMin == nil {
			continue
		}
		fmt.Fprintf(&b, "| %s | [%.4g, %.4g] | [%.4g, %.4g] | %d |\n", l.Name, *l.WeightMin, *l.WeightMax, *l.WeightRepMin, *l.WeightRepMax, l.WeightsClamped)
	}
	fmt.Fprintf(&b, "\n![per-layer SQNR](error.png)\n\n![ranges](ranges.png)\n")
	return b.Bytes()
}

func sortedKeys(m map[string]int) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sortStrings(ks)
	return ks
}

// pngOf renders plots stacked vertically into one PNG.
func pngOf(w, h vg.Length, plots ...*plot.Plot) ([]byte, error) {
	img := vgimg.New(w, h*vg.Length(len(plots)))
	dc := draw.New(img)
	rows := make([][]*plot.Plot, len(plots))
	for i, p := range plots {
		rows[i] = []*plot.Plot{p}
	}
	canvases := plot.Align(rows, draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Points(8)}, dc)
	for i, p := range plots {
		p.Draw(canvases[i][0])
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("render plot: %w", err)
	}
	return buf.Bytes(), nil
}

func layerNames(p *plot.Plot, names []string) {
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = math.Pi / 2
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
}

// errorPlot draws per-layer SQNR. A layer without error (+Inf) or with
// another non-finite SQNR gets no bar (a plotter cannot draw an infinite
// point); the title says which layers and why.
func errorPlot(c *sim.Comparison) ([]byte, error) {
	var names, exact, other []string
	sq := make(plotter.Values, len(c.Layers))
	for i, l := range c.Layers {
		names = append(names, l.Name)
		switch v, ok := l.SQNR.Value(); {
		case ok:
			sq[i] = v
		case math.IsInf(v, 1):
			exact = append(exact, l.Name)
		default:
			_, why, _ := strings.Cut(l.SQNRNote, ": ")
			other = append(other, fmt.Sprintf("%s %v (%s)", l.Name, l.SQNR, why))
		}
	}
	p := plot.New()
	p.Title.Text = "SQNR of the dequantized simulator output vs float, per layer"
	if len(exact) > 0 {
		p.Title.Text += fmt.Sprintf("\nexact, no bar: %s", strings.Join(exact, ", "))
	}
	if len(other) > 0 {
		p.Title.Text += fmt.Sprintf("\nnot finite, no bar: %s", strings.Join(other, "; "))
	}
	p.Y.Label.Text = "SQNR (dB)"
	bars, err := plotter.NewBarChart(sq, vg.Points(8))
	if err != nil {
		return nil, err
	}
	bars.Color = color.RGBA{R: 50, G: 100, B: 200, A: 255}
	p.Add(bars, plotter.NewGrid())
	layerNames(p, names)
	return pngOf(vg.Points(max(480, 22*float64(len(names)))), vg.Points(320), p)
}

// rangesPlot draws, per layer, the float range (dark) inside the range the
// codes represent (light): activations, then weights.
func rangesPlot(c *sim.Comparison) ([]byte, error) {
	light := color.RGBA{R: 190, G: 190, B: 190, A: 255}
	dark := color.RGBA{R: 200, G: 40, B: 40, A: 255}
	seg := func(p *plot.Plot, x float64, lo, hi report.Num, col color.Color, w vg.Length) error {
		if !lo.Finite() || !hi.Finite() {
			return nil // not drawable; the report's tables print it
		}
		l, err := plotter.NewLine(plotter.XYs{{X: x, Y: float64(lo)}, {X: x, Y: float64(hi)}})
		if err != nil {
			return err
		}
		l.Color, l.Width = col, w
		p.Add(l)
		return nil
	}
	act := plot.New()
	act.Title.Text = "Activations: float range (red) in the representable code range (grey)"
	var names []string
	for i, l := range c.Layers {
		names = append(names, l.Name)
		if err := seg(act, float64(i), l.RepMin, l.RepMax, light, vg.Points(9)); err != nil {
			return nil, err
		}
		if err := seg(act, float64(i), l.FloatMin, l.FloatMax, dark, vg.Points(3)); err != nil {
			return nil, err
		}
	}
	act.Add(plotter.NewGrid())
	layerNames(act, names)

	wts := plot.New()
	wts.Title.Text = "Weights: float range (red) and code range (grey; adder excess is exact)"
	var wnames []string
	for _, l := range c.Layers {
		if l.WeightMin == nil {
			continue
		}
		x := float64(len(wnames))
		wnames = append(wnames, l.Name)
		if err := seg(wts, x, *l.WeightRepMin, *l.WeightRepMax, light, vg.Points(9)); err != nil {
			return nil, err
		}
		if err := seg(wts, x, *l.WeightMin, *l.WeightMax, dark, vg.Points(3)); err != nil {
			return nil, err
		}
	}
	width := vg.Points(max(640, 22*float64(len(names))))
	if len(wnames) == 0 {
		return pngOf(width, vg.Points(320), act) // no layer has weights
	}
	wts.Add(plotter.NewGrid())
	layerNames(wts, wnames)
	return pngOf(width, vg.Points(320), act, wts)
}
