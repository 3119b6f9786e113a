package flow

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
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/report"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/sim"
	"github.com/addergen/addergen/synth"
	"github.com/addergen/addergen/testbench"
)

// SweepOptions are the inputs of Sweep.
type SweepOptions struct {
	// Model, Weights, Data and Calib name the inputs in the report, as
	// the user gave them; Calib's base name is the quantized models'
	// calibration source.
	Model, Weights, Data, Calib string
	// Net is the float model; Set the labelled data for accuracy and
	// CalibSet the calibration data, both [N, C, H, W] in the model's
	// input scale.
	Net           *model.Net
	Set, CalibSet *dataset.Set
	// Bits, Parallel and Lanes are the axes (sorted, without duplicates):
	// operand widths, PEs per engine, lanes per PE (0: one window
	// position). Balance is emit-verilog's --balance for every point.
	Bits, Parallel, Lanes []int
	Balance               bool
	// Target is the FPGA family of the cost; Synth measures every point
	// with yosys (Measure, with Timeout and Seed) instead of estimating.
	Target  synth.Target
	Synth   bool
	Timeout time.Duration
	Seed    int
	// Shard, when set, runs only its slice of the points (in the order
	// bits, parallel, lanes); Flags are the run's flags for its report.
	Shard Shard
	Flags map[string]string
	// Started is when the run began, for Seconds (zero: when Sweep is
	// called).
	Started time.Time
	// Progress gets one "sweep" step of 1 + widths + points units.
	Progress Progress
	// Warnings gets the calibration warnings (nil: dropped).
	Warnings io.Writer
}

// Points is the number of design points of the axes.
func (o *SweepOptions) Points() int { return len(o.Bits) * len(o.Parallel) * len(o.Lanes) }

// Sweep quantizes o.Net at every width (DefaultQuantizeOptions, as
// `addergen quantize --bits B` with no other flag; calibrated once per
// width and shared by every parallelism), measures the simulator's top-1
// (percent) and agreement with the float model on o.Set, and plans and
// costs every (bits, parallel, lanes) design, marking the Pareto fronts.
// Points run in parallel, at most GOMAXPROCS at a time. Errors name the
// point (--bits, --parallel, --lanes) at fault; a missing tool is a
// *testbench.MissingToolError.
func Sweep(ctx context.Context, o SweepOptions) (*SweepReport, error) {
	start := o.Started
	if start.IsZero() {
		start = time.Now()
	}
	rep := &SweepReport{Model: o.Model, Weights: o.Weights, Name: o.Net.Spec.Name, Data: o.Data, Images: o.Set.X.Shape[0],
		Calib: o.Calib, CalibImages: o.CalibSet.X.Shape[0], Target: o.Target, Cost: "estimate", Lanes: o.Lanes, Balance: o.Balance,
		Bits: o.Bits, Parallel: o.Parallel}
	if o.Synth {
		rep.Cost = "yosys"
	}
	// With a shard, only its slice of the points, and only the widths
	// they need.
	np, nl := len(o.Parallel), len(o.Lanes)
	total := o.Points()
	lo, hi := o.Shard.Range(total)
	need := make([]bool, len(o.Bits))
	for k := lo; k < hi; k++ {
		need[k/(np*nl)] = true
	}
	var widths []int // indices into o.Bits
	for i, ok := range need {
		if ok {
			widths = append(widths, i)
		}
	}
	if o.Shard.Set() {
		rep.Shard = NewInfo(CmdSweep, o.Shard, total, o.Flags)
	}
	prog := progressOr(o.Progress)
	prog.Start("sweep", 1+len(widths)+hi-lo)

	// The float reference once, then each width: quantize and simulate.
	floatPred, err := FloatPredictions(o.Net, o.Set.X, nil)
	if err != nil {
		return nil, err
	}
	rep.FloatTop1 = PercentEqual(floatPred, o.Set.Labels)
	prog.Add(1)
	type quantized struct {
		q         *quant.Model
		top1, agr report.Num
	}
	qs := make([]quantized, len(o.Bits))
	err = forEach(len(widths), func(w int) error {
		i := widths[w]
		qo := DefaultQuantizeOptions(o.Bits[i]) // as addergen quantize --bits B
		qo.Source = filepath.Base(o.Calib)
		q, _, err := Quantize(o.Net, o.CalibSet.X, qo)
		if err != nil {
			return fmt.Errorf("--bits %d: %v", o.Bits[i], OneLine(err))
		}
		pred, err := SimPredictions(q, o.Set.X)
		if err != nil {
			return fmt.Errorf("--bits %d: %v", o.Bits[i], OneLine(err))
		}
		qs[i] = quantized{q: q, top1: PercentEqual(pred, o.Set.Labels), agr: PercentEqual(pred, floatPred)}
		prog.Add(1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, qz := range qs {
		if qz.q == nil {
			continue // not needed by this shard
		}
		ws := make([]string, len(qz.q.Calibration.Warnings))
		for k, w := range qz.q.Calibration.Warnings {
			ws[k] = fmt.Sprintf("--bits %d: %s", o.Bits[i], w)
		}
		WriteWarnings(o.Warnings, ws)
	}

	// Every point: the plan, the estimate, and yosys with Synth.
	rep.Points = make([]SweepPoint, hi-lo)
	err = forEach(len(rep.Points), func(k0 int) error {
		k := lo + k0
		i, j, l := k/(np*nl), k/nl%np, k%nl
		qz := qs[i]
		cfg := rtl.NetConfig{Parallel: o.Parallel[j], Lanes: o.Lanes[l], Balance: o.Balance}
		n, est, err := Cost(qz.q, cfg, o.Target)
		if err != nil {
			return fmt.Errorf("--model %s at --bits %d --parallel %d --lanes %d: %v", o.Model, o.Bits[i], o.Parallel[j], o.Lanes[l], OneLine(err))
		}
		p := SweepPoint{Bits: o.Bits[i], Parallel: o.Parallel[j], Lanes: o.Lanes[l], Top1: qz.top1, Agreement: qz.agr,
			Cost: rep.Cost, Estimate: CountsOf(est.Total), CyclesPerImage: n.PredictedCyclesPerImage, LatencyCycles: n.LatencyCycles,
			PEs: est.PEs, ROMBits: est.ROMBits, BufferBits: est.BufferBits}
		p.Counts = p.Estimate
		if o.Synth {
			r, err := Measure(ctx, qz.q, cfg, MeasureOptions{Target: o.Target, Timeout: o.Timeout, Seed: o.Seed})
			if err != nil {
				var mt *testbench.MissingToolError
				if errors.As(err, &mt) {
					return mt
				}
				return fmt.Errorf("--bits %d --parallel %d --lanes %d: %v", o.Bits[i], o.Parallel[j], o.Lanes[l], OneLine(err))
			}
			c := CountsOf(r.Counts)
			p.Measured, p.Counts, p.FmaxMHz = &c, c, r.FmaxMHz
		}
		rep.Points[k0] = p
		prog.Add(1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	prog.Finish()
	MarkPareto(rep.Points)
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// SweepFiles renders a sweep's report folder: sweep.csv, pareto.png and
// sweep.json (written last, it lists them in rep.Files, which it sets).
// It writes nothing.
func SweepFiles(rep *SweepReport) (map[string][]byte, error) {
	files := map[string][]byte{}
	var err error
	if files["sweep.csv"], err = SweepCSV(rep); err != nil {
		return nil, err
	}
	if files["pareto.png"], err = ParetoPlot(rep); err != nil {
		return nil, err
	}
	rep.Files = []string{"pareto.png", "sweep.csv", "sweep.json"}
	j, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	files["sweep.json"] = append(j, '\n')
	return files, nil
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

// FloatPredictions runs the float model over x ([N, C, H, W]) in batches of
// 500 and returns its top-1 class per sample; add (nil: none) is told of
// each batch's samples as they are done. Errors come from the forward
// pass.
func FloatPredictions(net *model.Net, x dataset.Tensor, add func(int)) ([]int, error) {
	n := x.Shape[0]
	per := x.Len() / max(n, 1)
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
		if add != nil {
			add(m)
		}
	}
	return pred, nil
}

// SimPredictions runs the bit-exact simulator of q over x ([N, C, H, W]
// floats) and returns its top-1 class per sample. Errors: x does not fit
// q's input.
func SimPredictions(q *quant.Model, x dataset.Tensor) ([]int, error) {
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

// SweepColumns are sweep.csv's columns.
var SweepColumns = []string{"bits", "parallel", "lanes", "top1", "agreement", "luts", "ffs", "brams", "dsps", "cost",
	"est_luts", "est_ffs", "est_brams", "est_dsps", "fmax_mhz", "cycles_per_image", "latency_cycles", "pes", "rom_bits", "buffer_bits",
	"pareto", "pareto_3d"}

// SweepCSV is sweep.csv of r: a header row (SweepColumns), then one row
// per point; a figure not measured is an empty cell.
func SweepCSV(r *SweepReport) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(SweepColumns); err != nil {
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

// ParetoPlot draws top-1 against LUTs: every point labelled bits/P and
// cycles per image, the Pareto front in red and connected.
func ParetoPlot(r *SweepReport) ([]byte, error) {
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
