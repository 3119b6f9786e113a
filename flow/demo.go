package flow

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
	"time"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/report"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/synth"
	"github.com/addergen/addergen/testbench"
)

// DemoMaxPELanes caps the lanes of the PE that the demo synthesizes.
const DemoMaxPELanes = 64

// DemoStep is the wall time of one step.
type DemoStep struct {
	Step    string  `json:"step"`
	Seconds float64 `json:"seconds"`
}

// DemoRTL is the RTL verification part of the demo report.
type DemoRTL struct {
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

// DemoSynth is the hardware cost part of the demo report.
type DemoSynth struct {
	Target synth.Target    `json:"target"`
	Layer  string          `json:"layer"` // the adder layer whose lanes set K
	Lanes  int             `json:"lanes"`
	Width  int             `json:"width"`
	Signed bool            `json:"signed"`
	L1     *synth.PEReport `json:"l1"`
	MAC    *synth.PEReport `json:"mac"`
	Ratio  *float64        `json:"ratio"` // MAC LUTs / L1 LUTs
}

// DemoReport is the demo's report.json (and stdout with --json).
// Accuracies are in percent, as in addergen compare.
type DemoReport struct {
	Model       string         `json:"model"`
	Data        string         `json:"data"`
	Bits        int            `json:"bits"`
	TestImages  int            `json:"test_images"`
	CalibImages int            `json:"calib_images"`
	Quantized   string         `json:"quantized"`
	FloatTop1   report.Num     `json:"float_top1"`
	SimTop1     report.Num     `json:"sim_top1"`
	Agreement   report.Num     `json:"agreement"`
	Compare     *CompareReport `json:"compare"`
	RTL         DemoRTL        `json:"rtl"`
	Synth       DemoSynth      `json:"synth"`
	Bitstream   *DemoBitstream `json:"bitstream,omitempty"`
	Pass        bool           `json:"pass"`
	Steps       []DemoStep     `json:"steps"`
	Seconds     float64        `json:"seconds"`
	Files       []string       `json:"files"`
}

// DemoOptions are the inputs of Demo.
type DemoOptions struct {
	// Model names Net in the reports; Data names the folder Test and
	// Train were read from. Test (labelled) and Train are [N, C, H, W] in
	// the model's input scale.
	Model       string
	Net         *model.Net
	Data        string
	Test, Train *dataset.Set
	// Out is the report folder the caller writes the files into (named in
	// the comparison report).
	Out string
	// Quant are the quantization options (DefaultQuantizeOptions: those of
	// addergen quantize; Quant.Config.Bits is the operand width); Source
	// is set from Data.
	Quant QuantizeOptions
	// TestImages (0: all), CalibImages and Images are the test images for
	// the float and simulator accuracy, the training images calibrated
	// on, and the test images verified in RTL simulation.
	TestImages, CalibImages, Images int
	// Simulator runs the RTL (testbench.Verilator or Icarus) with random
	// idle and stall cycles seeded by Seed.
	Simulator string
	Seed      uint64
	// Parallel, Lanes and Balance are the network's hardware options
	// (emit-verilog's --parallel, --lanes, --balance).
	Parallel, Lanes int
	Balance         bool
	// PELanes sets K of the synthesized PE (0: the widest adder layer's
	// lanes, at most DemoMaxPELanes).
	PELanes int
	// Bitstream builds BuildModel's iCE40-HX8K bitstream (as addergen
	// build) when yosys, nextpnr-ice40 and icepack are present.
	Bitstream bool
	// Started is when the run began (zero: when Demo is called).
	Started time.Time
	// Progress shows the steps; Log (nil: none) gets a "demo: STEP" line
	// as each begins; Warnings (nil: dropped) the calibration warnings.
	Progress      Progress
	Log, Warnings io.Writer
}

// demoIdle and demoStall are the RTL bench's idle input and output stall
// probabilities.
const demoIdle, demoStall = 0.2, 0.2

type demoRun struct {
	o    *DemoOptions
	p    Progress
	rep  DemoReport
	step time.Time
}

func (d *demoRun) begin(desc string) {
	d.step = time.Now()
	if d.o.Log != nil {
		fmt.Fprintf(d.o.Log, "demo: %s\n", desc)
	}
}

func (d *demoRun) end(name string) {
	d.rep.Steps = append(d.rep.Steps, DemoStep{Step: name, Seconds: time.Since(d.step).Seconds()})
}

// Demo runs the whole flow on o.Net, with the same steps the commands
// run: the float reference's top-1 (FloatPredictions), Quantize, Compare,
// Emit, Verify on the first o.Images test images, and CostPE of a
// representative PE against its MAC twin on xilinx. It returns the report
// and the report folder's files (QB.json, rtl/..., error.png, ranges.png,
// report.md, report.json; it writes none). An RTL mismatch is a result
// (Pass false, the work folder kept), not an error. Errors: the steps'
// (one line each), a simulator that cannot run the bench, a missing tool
// (*testbench.MissingToolError), a model without an adder layer.
func Demo(ctx context.Context, o DemoOptions) (*DemoReport, map[string][]byte, error) {
	start := o.Started
	if start.IsZero() {
		start = time.Now()
	}
	d := &demoRun{o: &o, p: progressOr(o.Progress)}
	r := &d.rep
	r.Model, r.Bits, r.Data = o.Model, o.Quant.Config.Bits, o.Data
	acc := o.Test.Limit(o.TestImages)
	r.TestImages = acc.X.Shape[0]

	// 1. Float reference accuracy.
	d.begin("float reference accuracy")
	d.p.Start("float reference", r.TestImages)
	pred, err := FloatPredictions(o.Net, acc.X, d.p.Add)
	d.p.Finish()
	if err != nil {
		return nil, nil, err
	}
	r.FloatTop1 = PercentEqual(pred, acc.Labels)
	d.end("float reference")

	// 2. Quantize.
	d.begin("quantize")
	calib := o.Train.Limit(o.CalibImages)
	r.CalibImages = calib.X.Shape[0]
	d.p.Start(fmt.Sprintf("quantize to %d bits", o.Quant.Config.Bits), -1)
	qo := o.Quant
	qo.Source = filepath.Base(o.Data)
	q, _, err := Quantize(o.Net, calib.X, qo)
	d.p.Finish()
	if err != nil {
		return nil, nil, OneLine(err)
	}
	WriteWarnings(o.Warnings, q.Calibration.Warnings)
	qb, err := q.MarshalFile()
	if err != nil {
		return nil, nil, err
	}
	qname := fmt.Sprintf("q%d.json", o.Quant.Config.Bits)
	r.Quantized = qname
	d.end("quantize")

	// 3. Simulator accuracy and the float-vs-fixed comparison.
	d.begin("compare float and simulator")
	d.p.Start(fmt.Sprintf("compare float and simulator on %d images", r.TestImages), -1)
	crep, err := Compare(o.Net, q, acc, CompareOptions{Model: o.Model, Quantized: filepath.Join(o.Out, qname), Data: o.Data, MaxDrop: -1})
	d.p.Finish()
	if err != nil {
		return nil, nil, OneLine(err)
	}
	if crep.FloatTop1 != r.FloatTop1 {
		return nil, nil, fmt.Errorf("internal error: float top-1 %.4f%% in the comparison differs from the reference's %.4f%%", crep.FloatTop1, r.FloatTop1)
	}
	crep.Files = []string{"error.png", "ranges.png", "report.json", "report.md"}
	r.Compare, r.SimTop1, r.Agreement = crep, crep.SimTop1, crep.Agreement
	// Every file of the report folder.
	files := map[string][]byte{qname: qb}
	if files["error.png"], err = ErrorPlot(crep.Comparison); err != nil {
		return nil, nil, err
	}
	if files["ranges.png"], err = RangesPlot(crep.Comparison); err != nil {
		return nil, nil, err
	}
	d.end("compare")

	// 4. Emit the Verilog.
	d.begin("emit Verilog")
	rtlFiles, design, err := Emit(q, rtl.NetConfig{Parallel: o.Parallel, Lanes: o.Lanes, Balance: o.Balance, Top: "addernet"})
	if err != nil {
		return nil, nil, OneLine(err)
	}
	for n, b := range rtlFiles {
		files["rtl/"+n] = b
	}
	r.RTL = DemoRTL{Dir: "rtl", Top: design.Top, Engines: len(design.Engines), Files: len(rtlFiles), Parallel: o.Parallel, Lanes: o.Lanes, Balance: o.Balance,
		Simulator: o.Simulator, PredictedCyclesPerImage: design.PredictedCyclesPerImage, Idle: demoIdle, Stall: demoStall}
	d.end("emit Verilog")

	// 5. RTL verification, bit-exact at every layer.
	d.begin("verify RTL")
	if err := d.verify(ctx, design, rtlFiles, o.Test.Limit(o.Images)); err != nil {
		return nil, nil, err
	}
	d.end("verify RTL")

	// 6. Hardware cost of a representative PE.
	d.begin("synthesize PE")
	if err := d.synth(ctx, design); err != nil {
		return nil, nil, err
	}
	d.end("synth pe")

	// 6b. The iCE40 bitstream of the shipped small model (its step is
	// logged and timed only when it runs).
	if err := d.bitstream(ctx, files); err != nil {
		return nil, nil, err
	}

	// 7. The report.
	r.Pass = r.RTL.Mismatches == 0
	r.Seconds = time.Since(start).Seconds()
	r.Files = []string{"error.png", "ranges.png", "report.json", "report.md", qname, "rtl/"}
	if r.Bitstream != nil && r.Bitstream.Report != nil {
		r.Files = append(r.Files, "bitstream/")
	}
	files["report.md"] = DemoMarkdown(r)
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	files["report.json"] = append(j, '\n')
	return r, files, nil
}

// verify streams set through the emitted design (Verify) and fills the
// report's RTL part.
func (d *demoRun) verify(ctx context.Context, design *rtl.Net, files map[string][]byte, set *dataset.Set) error {
	in, err := EncodeInput(design.Model, set.X)
	if err != nil {
		return OneLine(err)
	}
	rt := &d.rep.RTL
	d.p.Start(fmt.Sprintf("verify %d images in %s", in.Shape[0], rt.Simulator), -1)
	run, err := Verify(ctx, design, files, in, VerifyOptions{Simulator: rt.Simulator, TempPrefix: "addergen-demo-",
		Idle: rt.Idle, Stall: rt.Stall, Seed: d.o.Seed})
	d.p.Finish()
	var se *SimRunError
	if errors.As(err, &se) {
		var mt *testbench.MissingToolError
		if errors.As(err, &mt) {
			os.RemoveAll(se.Dir)
			return mt
		}
		return fmt.Errorf("verify in %s: %v (work directory %s)", se.Simulator, OneLine(se.Err), se.Dir)
	}
	if err != nil {
		return err
	}
	run.Close()
	res := run.Result
	rt.Images, rt.Values, rt.Mismatches, rt.FirstMismatch = in.Shape[0], res.Values, res.Mismatches, res.FirstMismatch
	rt.CyclesPerImage, rt.LatencyCycles, rt.ImagesPerSecond = res.CyclesPerImage, res.LatencyCycles, res.ImagesPerSec
	rt.RTLTop1 = 100 * Accuracy(run.RTLTop1(), set.Labels)
	rt.SimTop1 = 100 * Accuracy(run.SimTop1(), set.Labels)
	if res.Mismatches > 0 {
		rt.WorkDir, rt.VCD = run.Dir, run.MismatchVCD
	}
	return nil
}

// synth costs the representative L1 PE (CostPE): K is the widest adder
// engine's lanes, at most DemoMaxPELanes, unless PELanes sets it.
func (d *demoRun) synth(ctx context.Context, design *rtl.Net) error {
	s := &d.rep.Synth
	s.Target, s.Width = synth.Xilinx, d.o.Quant.Config.Bits
	for _, e := range design.Engines {
		if e.Adder && EngineLanes(e) > s.Lanes {
			s.Lanes, s.Layer = EngineLanes(e), e.Layer
		}
	}
	if s.Lanes == 0 {
		return fmt.Errorf("model %s has no adder layer to cost", d.o.Model)
	}
	s.Lanes = min(s.Lanes, DemoMaxPELanes)
	if d.o.PELanes > 0 {
		s.Lanes = d.o.PELanes
	}
	d.p.Start(fmt.Sprintf("synth_xilinx L1 and MAC PE (K=%d W=%d)", s.Lanes, s.Width), -1)
	pc, err := CostPE(ctx, s.Lanes, s.Width, s.Target)
	d.p.Finish()
	if err != nil {
		return err
	}
	s.L1, s.MAC, s.Ratio = pc.L1, pc.MAC, pc.Ratio
	return nil
}

// MeasuredCycles prints a measured cycles-per-image figure for text
// output: "1741 measured", or why it was not measured.
func MeasuredCycles(c report.Num, images int) string {
	if c.Finite() {
		return fmt.Sprintf("%.0f measured", c)
	}
	if images < 2 {
		return "not measured (needs at least 2 images)"
	}
	return "not measured"
}

// DemoRows are the demo's summary table rows (label, value), shared by
// its text summary and report.md.
func DemoRows(r *DemoReport) [][2]string {
	rows := [][2]string{
		{"float top-1", fmt.Sprintf("%.2f%% (%d test images)", r.FloatTop1, r.TestImages)},
		{fmt.Sprintf("sim top-1 (%d bits)", r.Bits), fmt.Sprintf("%.2f%% (%+.2f points)", r.SimTop1, r.SimTop1-r.FloatTop1)},
		{"agreement", fmt.Sprintf("%.2f%%", r.Agreement)},
		{"RTL (" + r.RTL.Simulator + ")", fmt.Sprintf("%d images, %d layer values, %d mismatches", r.RTL.Images, r.RTL.Values, r.RTL.Mismatches)},
		{"RTL top-1", fmt.Sprintf("%.2f%% (simulator %.2f%% on the same images)", r.RTL.RTLTop1, r.RTL.SimTop1)},
		{"cycles/image", fmt.Sprintf("%s with %.0f%% idle input and %.0f%% output stalls; %d predicted without (P≤%d, lanes≤%d%s)",
			MeasuredCycles(r.RTL.CyclesPerImage, r.RTL.Images), 100*r.RTL.Idle, 100*r.RTL.Stall, r.RTL.PredictedCyclesPerImage, r.RTL.Parallel, r.RTL.Lanes, map[bool]string{true: ", balanced"}[r.RTL.Balance])},
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
	return append(rows, bitstreamRows(r)...)
}

// DemoMarkdown is the demo's report.md for r, addergen compare's report
// included one heading level down.
func DemoMarkdown(r *DemoReport) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# addergen demo: %s\n\n", r.Model)
	verdict := "**PASS**: the RTL matches the bit-exact simulator at every layer."
	if !r.Pass {
		verdict = fmt.Sprintf("**FAIL**: %d RTL mismatches; first: %s.", r.RTL.Mismatches, r.RTL.FirstMismatch)
	}
	fmt.Fprintf(&b, "%s\n\n| | |\n|---|---|\n", verdict)
	for _, row := range DemoRows(r) {
		fmt.Fprintf(&b, "| %s | %s |\n", row[0], row[1])
	}
	fmt.Fprintf(&b, "\nMNIST from `%s`: accuracy on %d test images, calibration on %d training images. "+
		"Quantized model: [`%s`](%s). Verilog: [`rtl/`](rtl/) (top `%s`, %d engines, %d files).\n",
		r.Data, r.TestImages, r.CalibImages, r.Quantized, r.Quantized, r.RTL.Top, r.RTL.Engines, r.RTL.Files)

	rt := r.RTL
	fmt.Fprintf(&b, "\n## RTL verification\n\n%s on the first %d test images, random idle input cycles (p = %.1f) and output backpressure (p = %.1f): "+
		"%d layer output values compared, %d mismatches. Cycles per image: %s against %d predicted; latency %d cycles; %s images/s simulated.\n",
		rt.Simulator, rt.Images, rt.Idle, rt.Stall, rt.Values, rt.Mismatches, MeasuredCycles(rt.CyclesPerImage, rt.Images), rt.PredictedCyclesPerImage, rt.LatencyCycles, report.Text(rt.ImagesPerSecond, 1, "not measured"))

	s := r.Synth
	if s.L1 != nil && s.MAC != nil {
		fmt.Fprintf(&b, "\n## Hardware cost of one PE\n\nyosys `%s`, K = %d lanes (layer %s's input channels, at most %d), W = %d bits, unsigned, pipelined. "+
			"The MAC PE has the same shape built from multipliers, without DSPs.\n\n", s.L1.Synth, s.Lanes, s.Layer, DemoMaxPELanes, s.Width)
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
	for _, line := range strings.SplitAfter(string(CompareMarkdown(r.Compare)), "\n") {
		if strings.HasPrefix(line, "#") {
			line = "#" + line
		}
		b.WriteString(line)
	}
	return b.Bytes()
}
