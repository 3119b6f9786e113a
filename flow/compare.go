package flow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/report"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/sim"
)

// CompareOptions are the inputs of Compare beyond the nets and the data.
type CompareOptions struct {
	// Model, Weights, Quantized and Data name the inputs in the report
	// (as the user gave them); they are not read.
	Model, Weights, Quantized, Data string
	// MaxDrop is the largest top-1 loss in points that passes; negative:
	// no verdict. A shard's slice gives none either (merge does).
	MaxDrop float64
	// Shard, when set, is the slice set holds of ShardTotal samples; Flags
	// are the run's flags, for the shard's report.
	Shard      Shard
	ShardTotal int
	Flags      map[string]string
}

// Compare runs the float reference net and the bit-exact simulator of q on
// set ([N, C, H, W] in the model's input scale; labels optional) and
// returns the report addergen compare prints: accuracies in percent, the
// top-1 drop (labelled data only), the --max-drop verdict (Pass, when
// asked and not sharded) and per-layer errors. Errors come from sim.Compare
// (shapes, a net the simulator cannot run).
func Compare(net *model.Net, q *quant.Model, set *dataset.Set, o CompareOptions) (*CompareReport, error) {
	cmp, err := sim.Compare(net, q, set.X, set.Labels)
	if err != nil {
		return nil, err
	}
	rep := &CompareReport{Model: o.Model, Weights: o.Weights, Quantized: o.Quantized, Data: o.Data, Name: q.Name, Config: q.Config, Comparison: cmp}
	if o.Shard.Set() {
		rep.Shard = NewInfo(CmdCompare, o.Shard, o.ShardTotal, o.Flags)
		cmp.WithState()
	}
	if cmp.Labeled {
		drop := cmp.FloatTop1 - cmp.SimTop1
		rep.Top1Drop = &drop
		if o.MaxDrop >= 0 && !o.Shard.Set() {
			pass := float64(drop) <= o.MaxDrop+1e-9
			rep.Pass = &pass
		}
	}
	return rep, nil
}

// Verdict returns nil unless rep failed its top-1 drop limit (Pass false),
// and then an error saying by how much; limit is the limit in points
// (for the message only).
func (r *CompareReport) Verdict(limit float64) error {
	if r.Pass == nil || *r.Pass {
		return nil
	}
	return fmt.Errorf("quantized top-1 %.2f%% is %.2f points below float %.2f%% (limit %v)", r.SimTop1, *r.Top1Drop, r.FloatTop1, limit)
}

// CompareFiles renders rep's report folder: report.md, error.png,
// ranges.png and report.json (written last, it lists them all in
// rep.Files, which it sets). It writes nothing.
func CompareFiles(rep *CompareReport) (map[string][]byte, error) {
	files := map[string][]byte{"report.md": CompareMarkdown(rep)}
	var err error
	if files["error.png"], err = ErrorPlot(rep.Comparison); err != nil {
		return nil, err
	}
	if files["ranges.png"], err = RangesPlot(rep.Comparison); err != nil {
		return nil, err
	}
	for n := range files {
		rep.Files = append(rep.Files, n)
	}
	rep.Files = append(rep.Files, "report.json")
	slices.Sort(rep.Files)
	j, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	files["report.json"] = append(j, '\n')
	return files, nil
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

func top1Lines(r *CompareReport) []string {
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

// CompareText is addergen compare's text summary of r: the model and
// its quantization, the top-1 lines and one row per layer (and, under an
// adder layer with group-wise scales, one per group: its operand format
// and how often its view saturated).
func CompareText(r *CompareReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %d-bit operands, %s calibration, %s rounding\n", r.Name, r.Quantized, r.Config.Bits, r.Config.Calibration, r.Config.Rounding)
	for _, l := range top1Lines(r) {
		fmt.Fprintf(&b, "%s\n", l)
	}
	fmt.Fprintf(&b, "  %-24s %-11s %-6s %9s %12s %10s\n", "layer", "op", "codes", "SQNR dB", "max |err|", "saturated")
	for _, l := range r.Layers {
		fmt.Fprintf(&b, "  %-24s %-11s %-6s %9s %12.4g %10d\n", l.Name, l.Op, codeFmt(l), sqnrString(l), l.MaxAbsErr, l.SatHigh+l.SatLow)
		for _, g := range l.Groups {
			fmt.Fprintf(&b, "    group shift %d: %d channel(s), %d-bit operands at scale %.4g, view clipped %.3f %%\n", g.Shift, g.Channels, g.Bits, g.Scale, 100*g.ClipRate)
		}
	}
	return b.String()
}

func codeFmt(l sim.LayerComparison) string {
	if l.Signed {
		return fmt.Sprintf("s%d", l.Bits)
	}
	return fmt.Sprintf("u%d", l.Bits)
}

// CompareMarkdown is report.md of addergen compare for r.
func CompareMarkdown(r *CompareReport) []byte {
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
	var grouped bool
	for _, l := range r.Layers {
		grouped = grouped || len(l.Groups) > 0
	}
	if grouped {
		fmt.Fprintf(&b, "\n## Group-wise scales\n\nEach group of output channels reads its own view of the input: the input rounded to the group's scale and saturated to the operand width; *clipped* is the share of input values its view saturated.\n\n")
		fmt.Fprintf(&b, "| layer | shift | scale | operand bits | channels | clipped %% |\n|---|---|---|---|---|---|\n")
		for _, l := range r.Layers {
			for _, g := range l.Groups {
				fmt.Fprintf(&b, "| %s | %d | %.4g | %d | %d | %.3f |\n", l.Name, g.Shift, g.Scale, g.Bits, g.Channels, 100*g.ClipRate)
			}
		}
	}
	fmt.Fprintf(&b, "\n![per-layer SQNR](error.png)\n\n![ranges](ranges.png)\n")
	return b.Bytes()
}

func sortedKeys(m map[string]int) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
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

// ErrorPlot draws per-layer SQNR. A layer without error (+Inf) or with
// another non-finite SQNR gets no bar (a plotter cannot draw an infinite
// point); the title says which layers and why.
func ErrorPlot(c *sim.Comparison) ([]byte, error) {
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

// RangesPlot draws, per layer, the float range (dark) inside the range the
// codes represent (light): activations, then weights.
func RangesPlot(c *sim.Comparison) ([]byte, error) {
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
