package flow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/nettest"
	"github.com/addergen/addergen/internal/outdir"
	"github.com/addergen/addergen/internal/report"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/quant/quanttest"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/synth"
	"github.com/addergen/addergen/testbench"
)

// lenet is the built-in trained LeNet-5 AdderNet with the first test
// MNIST images and the first training images, loaded once.
var lenet = sync.OnceValues(func() (*lenetData, error) {
	net, ok, err := model.Pretrained("lenet5-adder-mnist")
	if err != nil || !ok {
		return nil, errors.Join(err, errors.New("lenet5-adder-mnist is not built in"))
	}
	dir, err := dataset.MNISTDir()
	if err != nil {
		return nil, err
	}
	test, err := dataset.Load(dir, "", dataset.SplitTest)
	if err != nil {
		return nil, err
	}
	train, err := dataset.Load(dir, "", dataset.SplitTrain)
	if err != nil {
		return nil, err
	}
	d := &lenetData{net: net, dir: dir, test: nchw(test.Limit(200)), train: nchw(train.Limit(64))}
	return d, nil
})

type lenetData struct {
	net         *model.Net
	dir         string
	test, train *dataset.Set
}

// nchw makes MNIST's [N 28 28] images [N 1 28 28].
func nchw(s *dataset.Set) *dataset.Set {
	if len(s.X.Shape) == 3 {
		s.X = dataset.Tensor{Shape: []int{s.X.Shape[0], 1, s.X.Shape[1], s.X.Shape[2]}, Data: s.X.Data}
	}
	return s
}

func loadLeNet(t *testing.T) *lenetData {
	t.Helper()
	d, err := lenet()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// quantize8 quantizes the LeNet at 8 bits (quant defaults) with Quantize.
func quantize8(t *testing.T, d *lenetData) *quant.Model {
	t.Helper()
	cfg := quant.DefaultConfig()
	cfg.Bits = 8
	q, rr, err := Quantize(d.net, d.train.X, QuantizeOptions{Config: cfg, Source: "mnist"})
	if err != nil {
		t.Fatal(err)
	}
	if rr == nil || rr.Auto != nil {
		t.Fatalf("refine report %+v: want one without an --auto-bits search", rr)
	}
	return q
}

func TestQuantize(t *testing.T) {
	d := loadLeNet(t)
	q := quantize8(t, d)
	if q.Name != d.net.Spec.Name || q.Config.Bits != 8 || q.Calibration.Source != "mnist" || len(q.Layers) == 0 {
		t.Fatalf("quantized %s: bits %d, source %q, %d layers", q.Name, q.Config.Bits, q.Calibration.Source, len(q.Layers))
	}
	rep := NewQuantizeReport(q, "lenet5-adder-mnist", "", "q8.json", nil)
	if len(rep.Layers) != len(q.Layers) || rep.Out != "q8.json" || rep.AutoBits != nil {
		t.Fatalf("report: %d layers for %d, out %q", len(rep.Layers), len(q.Layers), rep.Out)
	}
	adders := 0
	for i, br := range rep.Layers {
		l := q.Layers[i]
		if br.Name != l.Name || br.Op != l.Op || br.InBits != q.InAct(l, 0).Bits {
			t.Errorf("layer %d brief %+v does not describe %s", i, br, l.Name)
		}
		if l.Op == quant.OpAdder2d {
			adders++
			if br.AccWidth == 0 {
				t.Errorf("adder layer %s without an accumulator width", l.Name)
			}
		}
	}
	if adders == 0 {
		t.Fatal("LeNet-5 AdderNet has no adder layer")
	}

	// EdgeBits: at 4 bits, the conv2d/linear layers stay at 8; the adders
	// go to 4.
	cfg := quant.DefaultConfig()
	cfg.Bits = 4
	q4, _, err := Quantize(d.net, d.train.X, QuantizeOptions{Config: cfg, EdgeBits: 8, Source: "mnist"})
	if err != nil {
		t.Fatal(err)
	}
	if lb := q4.Config.LayerBits; lb["conv1"] != 8 || lb["fc3"] != 8 || q4.Input.Act.Bits != 8 {
		t.Errorf("--bits 4 --edge-bits 8: layer bits %v, input %d bits; want conv1, fc3 and the input at 8", lb, q4.Input.Act.Bits)
	}
	for _, l := range q4.Layers {
		if got := q4.InAct(l, 0).Bits; l.Op == quant.OpAdder2d && got != 4 {
			t.Errorf("--bits 4 --edge-bits 8: adder %s reads %d-bit codes, want 4", l.Name, got)
		}
	}
	if _, _, err := Quantize(d.net, d.train.X, QuantizeOptions{Config: cfg, EdgeBits: 1}); err == nil || !strings.Contains(err.Error(), "edge bits 1") {
		t.Errorf("edge bits 1: error %v, want one naming the width", err)
	}
}

func TestCompare(t *testing.T) {
	d := loadLeNet(t)
	q := quantize8(t, d)
	pred, err := FloatPredictions(d.net, d.test.X, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Compare(d.net, q, d.test, CompareOptions{Model: "m", Quantized: "q8.json", Data: "mnist", MaxDrop: 100})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Model != "m" || rep.Quantized != "q8.json" || rep.Name != q.Name || rep.Samples != d.test.X.Shape[0] {
		t.Fatalf("report names %q %q %q, %d samples", rep.Model, rep.Quantized, rep.Name, rep.Samples)
	}
	if want := PercentEqual(pred, d.test.Labels); rep.FloatTop1 != want {
		t.Errorf("float top-1 %v, FloatPredictions give %v", rep.FloatTop1, want)
	}
	sp, err := SimPredictions(q, d.test.X)
	if err != nil {
		t.Fatal(err)
	}
	if want := PercentEqual(sp, d.test.Labels); rep.SimTop1 != want {
		t.Errorf("sim top-1 %v, SimPredictions give %v", rep.SimTop1, want)
	}
	if rep.FloatTop1 < 90 || rep.SimTop1 < 90 {
		t.Errorf("top-1 float %.2f%%, sim %.2f%%: the trained LeNet-5 should pass 90%% at 8 bits", rep.FloatTop1, rep.SimTop1)
	}
	if rep.Top1Drop == nil || *rep.Top1Drop != rep.FloatTop1-rep.SimTop1 {
		t.Errorf("top-1 drop %v", rep.Top1Drop)
	}
	if rep.Pass == nil || !*rep.Pass || rep.Verdict(100) != nil {
		t.Errorf("--max-drop 100: pass %v, verdict %v", rep.Pass, rep.Verdict(100))
	}
	fail := false
	rep.Pass = &fail
	if err := rep.Verdict(0.5); err == nil || !strings.Contains(err.Error(), "(limit 0.5)") {
		t.Errorf("failed verdict: %v", err)
	}
	// No limit, or a shard: no verdict.
	for _, o := range []CompareOptions{{MaxDrop: -1}, {MaxDrop: 100, Shard: Shard{Index: 1, Count: 2}, ShardTotal: 400}} {
		r, err := Compare(d.net, q, d.test, o)
		if err != nil {
			t.Fatal(err)
		}
		if r.Pass != nil || r.Verdict(o.MaxDrop) != nil {
			t.Errorf("%+v: pass %v", o, r.Pass)
		}
		if o.Shard.Set() && (r.Shard == nil || r.Shard.Total != 400 || r.Shard.Command != CmdCompare) {
			t.Errorf("shard info %+v", r.Shard)
		}
	}

	files, err := CompareFiles(rep)
	if err != nil {
		t.Fatal(err)
	}
	names := slices.Sorted(maps.Keys(files))
	if want := []string{"error.png", "ranges.png", "report.json", "report.md"}; !slices.Equal(names, want) || !slices.Equal(rep.Files, want) {
		t.Fatalf("files %v, report lists %v, want %v", names, rep.Files, want)
	}
	for _, png := range []string{"error.png", "ranges.png"} {
		if !bytes.HasPrefix(files[png], []byte("\x89PNG")) {
			t.Errorf("%s is not a PNG", png)
		}
	}
	var back CompareReport
	if err := json.Unmarshal(files["report.json"], &back); err != nil || back.Name != q.Name || len(back.Layers) != len(rep.Layers) {
		t.Errorf("report.json: %v", err)
	}
	if md := string(files["report.md"]); !strings.HasPrefix(md, "# Quantization report: "+q.Name) || !strings.Contains(md, "| "+rep.Layers[0].Name+" |") {
		t.Errorf("report.md:\n%s", md)
	}
	if txt := CompareText(rep); !strings.Contains(txt, "top-1 agreement:") || strings.Count(txt, "\n") != 1+3+1+len(rep.Layers) {
		t.Errorf("text summary:\n%s", txt)
	}
}

func TestFloatPredictionsBatches(t *testing.T) {
	d := loadLeNet(t)
	dir := d.dir
	test, err := dataset.Load(dir, "", dataset.SplitTest)
	if err != nil {
		t.Fatal(err)
	}
	set := nchw(test.Limit(520)) // two batches: 500 and 20
	done := 0
	pred, err := FloatPredictions(d.net, set.X, func(k int) { done += k })
	if err != nil {
		t.Fatal(err)
	}
	if done != 520 || len(pred) != 520 {
		t.Fatalf("progress %d, %d predictions, want 520", done, len(pred))
	}
	tail := set.X.Len() / 520
	y, err := d.net.Forward(dataset.Tensor{Shape: []int{20, 1, 28, 28}, Data: set.X.Data[500*tail:]})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		row := y.Data[i*10 : (i+1)*10]
		if want := slices.Index(row, slices.Max(row)); pred[500+i] != want {
			t.Errorf("image %d: class %d, one forward pass gives %d", 500+i, pred[500+i], want)
		}
	}
}

func TestEmitAndReadDesign(t *testing.T) {
	q := nettest.Tiny(t)
	c := rtl.NetConfig{Parallel: 2, Top: "tinynet"}
	files, n, err := Emit(q, c)
	if err != nil {
		t.Fatal(err)
	}
	if n.Top != "tinynet" || n.PredictedCyclesPerImage <= 0 || files["filelist.f"] == nil || files["tinynet.v"] == nil {
		t.Fatalf("design %s, %d cycles per image, files %v", n.Top, n.PredictedCyclesPerImage, slices.Sorted(maps.Keys(files)))
	}
	var man rtl.NetManifest
	if err := json.Unmarshal(files["manifest.json"], &man); err != nil {
		t.Fatal(err)
	}
	est, err := synth.EstimateNet(q, c, synth.L1, synth.Xilinx)
	if err != nil {
		t.Fatal(err)
	}
	if man.Estimate == nil || man.Estimate.Target != "xilinx" || man.Estimate.LUTs != est.Total.LUTs || man.Estimate.LUTs <= 0 {
		t.Errorf("manifest estimate %+v, want xilinx %+v", man.Estimate, est.Total)
	}
	// Cost plans the same design.
	plan, est2, err := Cost(q, c, synth.Xilinx)
	if err != nil || plan.PredictedCyclesPerImage != n.PredictedCyclesPerImage || est2.Total != est.Total {
		t.Errorf("Cost: %v; %d cycles, %+v", err, plan.PredictedCyclesPerImage, est2.Total)
	}
	if BufferBits(n) <= 0 {
		t.Errorf("buffer bits %d", BufferBits(n))
	}
	for _, e := range n.Engines {
		if l := EngineLanes(e); l < 1 || !e.Reduce && l != 1 {
			t.Errorf("engine %s: %d lanes", e.Module, l)
		}
	}

	// ReadDesign plans what the folder holds, from its manifest, whatever
	// the config says of the parallelism.
	dir := filepath.Join(t.TempDir(), "rtl")
	if _, err := outdir.Write(dir, files, outdir.Meta{Command: "emit-verilog", Version: "test"}); err != nil {
		t.Fatal(err)
	}
	got, n2, err := ReadDesign(q, rtl.NetConfig{Parallel: 1, Top: "tinynet"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if n2.PredictedCyclesPerImage != n.PredictedCyclesPerImage || len(got) != len(files) {
		t.Errorf("read %d files (%d emitted), %d cycles (%d emitted)", len(got), len(files), n2.PredictedCyclesPerImage, n.PredictedCyclesPerImage)
	}
	for name, b := range files {
		if !bytes.Equal(got[name], b) {
			t.Errorf("%s differs from the emitted file", name)
		}
	}
	// Another top: not this design.
	_, _, err = ReadDesign(q, rtl.NetConfig{Parallel: 1, Top: "other"}, dir)
	var de *DirError
	if !errors.As(err, &de) || de.Dir != dir || !strings.Contains(err.Error(), "was not emitted from") {
		t.Errorf("other top: %v", err)
	}
	// No design at all.
	empty := t.TempDir()
	if _, _, err := ReadDesign(q, c, empty); !errors.As(err, &de) || !strings.Contains(err.Error(), "emit the design with addergen emit-verilog") {
		t.Errorf("empty folder: %v", err)
	}
}

func TestVerify(t *testing.T) {
	testutil.RequireTools(t, "iverilog", "vvp")
	q := nettest.Tiny(t)
	files, design, err := Emit(q, rtl.NetConfig{Parallel: 1, Top: "addernet"})
	if err != nil {
		t.Fatal(err)
	}
	x := quanttest.Uniform(q.Input.Shape, 3, 0, 1, 9)
	in, err := EncodeInput(q, x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(in.Shape, append([]int{3}, q.Input.Shape...)) {
		t.Fatalf("codes shape %v", in.Shape)
	}
	run, err := Verify(context.Background(), design, files, in, VerifyOptions{Simulator: testbench.Icarus, TempPrefix: "addergen-flow-test-", Idle: 0.3, Stall: 0.3, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if run.Result.Mismatches != 0 || run.Result.Values == 0 || !strings.Contains(filepath.Base(run.Dir), "addergen-flow-test-") {
		t.Fatalf("%d mismatches in %d values, dir %s", run.Result.Mismatches, run.Result.Values, run.Dir)
	}
	labels := run.SimTop1()
	labels[0] = (labels[0] + 1) % q.Output().OutShape[0] // one wrong label
	rep := run.Report(labels)
	if rep.Images != 3 || rep.Simulator != testbench.Icarus || rep.PredictedCyclesPerImage != design.PredictedCyclesPerImage || rep.RTLTop1 == nil {
		t.Fatalf("report %+v", rep)
	}
	if want := report.Num(2.0 / 3); *rep.RTLTop1 != want || *rep.SimTop1 != want {
		t.Errorf("top-1 RTL %v, sim %v, want %v", *rep.RTLTop1, *rep.SimTop1, want)
	}
	if c, ok := rep.CyclesPerImage.Value(); !ok || c <= 0 {
		t.Errorf("cycles per image %v", rep.CyclesPerImage)
	}
	st := run.State(labels)
	if st.CycleGaps != 2 || st.CycleSpan <= 0 || *st.RTLCorrect != 2 || *st.SimCorrect != 2 {
		t.Errorf("state %+v", st)
	}
	if r := run.Report(nil); r.RTLTop1 != nil || run.State(nil).RTLCorrect != nil {
		t.Error("accuracies without labels")
	}
	run.Close()
	if _, err := os.Stat(run.Dir); !os.IsNotExist(err) {
		t.Errorf("temporary work folder %s left after a passing run: %v", run.Dir, err)
	}

	// A folder given is kept; an unknown simulator is a *SimRunError that
	// names it and the folder.
	keep := t.TempDir()
	_, err = Verify(context.Background(), design, files, in, VerifyOptions{Simulator: "nosuchsim", Dir: keep})
	var se *SimRunError
	if !errors.As(err, &se) || se.Dir != keep || !strings.Contains(err.Error(), "verify in nosuchsim") {
		t.Errorf("unknown simulator: %v", err)
	}
	if _, err := os.Stat(filepath.Join(keep, "filelist.f")); err != nil {
		t.Errorf("the given work folder lost its files: %v", err)
	}
}

func TestSweep(t *testing.T) {
	d := loadLeNet(t)
	test := d.test.Limit(50)
	o := SweepOptions{Model: "lenet5-adder-mnist", Data: "mnist", Calib: "/x/mnist", Net: d.net, Set: test, CalibSet: d.train,
		Bits: []int{4, 8}, Parallel: []int{1, 4}, Lanes: []int{0}, Target: synth.Xilinx}
	var warn bytes.Buffer
	o.Warnings = &warn
	p := &countProgress{}
	o.Progress = p
	rep, err := Sweep(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Points) != 4 || rep.Cost != "estimate" || rep.Images != 50 || rep.CalibImages != d.train.X.Shape[0] || rep.Shard != nil {
		t.Fatalf("report: %d points, cost %s, %d images", len(rep.Points), rep.Cost, rep.Images)
	}
	if p.total != 1+2+4 || p.done != p.total || !p.finished {
		t.Errorf("progress %+v, want 7 steps done", p)
	}
	for k, pt := range rep.Points {
		if wantB, wantP := o.Bits[k/2], o.Parallel[k%2]; pt.Bits != wantB || pt.Parallel != wantP {
			t.Errorf("point %d is %d bits x P%d, want %d x P%d", k, pt.Bits, pt.Parallel, wantB, wantP)
		}
		qo := DefaultQuantizeOptions(pt.Bits) // as addergen quantize --bits B
		qo.Source = "mnist"
		q, _, err := Quantize(d.net, d.train.X, qo)
		if err != nil {
			t.Fatal(err)
		}
		sp, err := SimPredictions(q, test.X)
		if err != nil {
			t.Fatal(err)
		}
		if want := PercentEqual(sp, test.Labels); pt.Top1 != want {
			t.Errorf("point %d: top-1 %v, the simulator gives %v", k, pt.Top1, want)
		}
		n, est, err := Cost(q, rtl.NetConfig{Parallel: pt.Parallel, Lanes: pt.Lanes}, synth.Xilinx)
		if err != nil {
			t.Fatal(err)
		}
		if pt.CyclesPerImage != n.PredictedCyclesPerImage || pt.Counts != CountsOf(est.Total) || pt.Measured != nil {
			t.Errorf("point %d: %d cycles, %+v; Cost gives %d, %+v", k, pt.CyclesPerImage, pt.Counts, n.PredictedCyclesPerImage, est.Total)
		}
	}
	// More PEs: fewer cycles, more LUTs.
	if a, b := rep.Points[0], rep.Points[1]; !(b.CyclesPerImage < a.CyclesPerImage && b.LUTs > a.LUTs) {
		t.Errorf("P1 %d cycles %d LUTs, P4 %d cycles %d LUTs", a.CyclesPerImage, a.LUTs, b.CyclesPerImage, b.LUTs)
	}
	front := 0
	for _, pt := range rep.Points {
		if pt.Pareto {
			front++
		}
	}
	if front == 0 {
		t.Error("no point on the Pareto front")
	}

	files, err := SweepFiles(rep)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(files)); !slices.Equal(got, rep.Files) || len(got) != 3 {
		t.Errorf("files %v, report lists %v", got, rep.Files)
	}
	if lines := strings.Count(string(files["sweep.csv"]), "\n"); lines != 1+4 {
		t.Errorf("sweep.csv has %d lines, want 5", lines)
	}

	// The 2nd of 2 shards: the 8-bit points only, the same figures.
	o.Shard, o.Progress, o.Warnings = Shard{Index: 2, Count: 2}, nil, nil
	sh, err := Sweep(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(sh.Points) != 2 || sh.Shard == nil || sh.Shard.Total != 4 {
		t.Fatalf("shard: %d points, info %+v", len(sh.Points), sh.Shard)
	}
	for i, pt := range sh.Points {
		if full := rep.Points[2+i]; pt.Bits != full.Bits || pt.Parallel != full.Parallel || pt.Top1 != full.Top1 || pt.Counts != full.Counts {
			t.Errorf("shard point %d %+v, unsharded %+v", i, pt, full)
		}
	}
}

type countProgress struct {
	total, done int
	finished    bool
}

func (p *countProgress) Start(_ string, n int) { p.total = n }
func (p *countProgress) Add(k int)             { p.done += k }
func (p *countProgress) Finish()               { p.finished = true }

func TestCostPE(t *testing.T) {
	if _, err := CostPE(context.Background(), 0, 8, synth.Xilinx); err == nil || !strings.HasPrefix(err.Error(), "PE K=0 W=8: ") {
		t.Errorf("K=0: %v, want an error naming the PE", err)
	}
	testutil.RequireTools(t, "yosys")
	pc, err := CostPE(context.Background(), 4, 4, synth.Xilinx)
	if err != nil {
		t.Fatal(err)
	}
	if pc.L1.Op != synth.L1 || pc.MAC.Op != synth.MAC || pc.L1.Lanes != 4 || pc.L1.LUTs <= 0 || pc.MAC.LUTs <= 0 {
		t.Fatalf("L1 %+v, MAC %+v", pc.L1, pc.MAC)
	}
	if pc.Ratio == nil || math.Abs(*pc.Ratio-float64(pc.MAC.LUTs)/float64(pc.L1.LUTs)) > 1e-9 {
		t.Errorf("ratio %v for %d/%d LUTs", pc.Ratio, pc.MAC.LUTs, pc.L1.LUTs)
	}
}

func TestDemoRender(t *testing.T) {
	l1 := &synth.PEReport{Op: synth.L1, Module: "l1", Lanes: 4, Counts: synth.Counts{LUTs: 40}}
	mac := &synth.PEReport{Op: synth.MAC, Module: "mac", Lanes: 4, Counts: synth.Counts{LUTs: 100}}
	ratio := 2.5
	r := &DemoReport{Model: "m", Bits: 8, FloatTop1: 99, SimTop1: 98.5, Agreement: 99.5, TestImages: 10, Pass: true,
		Compare: &CompareReport{Name: "n", Comparison: nil},
		RTL:     DemoRTL{Simulator: "verilator", Images: 2, CyclesPerImage: 784, Idle: 0.2, Stall: 0.2, Parallel: 16, Lanes: 150, Balance: true},
		Synth:   DemoSynth{Target: synth.Xilinx, Lanes: 4, Width: 8, L1: l1, MAC: mac, Ratio: &ratio}}
	rows := DemoRows(r)
	want := map[string]string{
		"sim top-1 (8 bits)":        "98.50% (-0.50 points)",
		"cycles/image":              "784 measured with 20% idle input and 20% output stalls; 0 predicted without (P≤16, lanes≤150, balanced)",
		"PE LUTs (K=4 W=8, xilinx)": "L1 40, MAC 100 (MAC/L1 2.50x)",
	}
	for _, row := range rows {
		if w, ok := want[row[0]]; ok {
			if row[1] != w {
				t.Errorf("row %s: %q, want %q", row[0], row[1], w)
			}
			delete(want, row[0])
		}
	}
	if len(want) > 0 {
		t.Errorf("rows missing: %v", want)
	}
	r.Synth.L1 = nil
	if len(DemoRows(r)) != len(rows)-1 {
		t.Error("a PE row without a synthesized PE")
	}
}

func TestMeasuredCycles(t *testing.T) {
	for _, tc := range []struct {
		c      report.Num
		images int
		want   string
	}{
		{1741.4, 5, "1741 measured"},
		{report.Unmeasured(), 1, "not measured (needs at least 2 images)"},
		{report.Unmeasured(), 3, "not measured"},
	} {
		if got := MeasuredCycles(tc.c, tc.images); got != tc.want {
			t.Errorf("MeasuredCycles(%v, %d) = %q, want %q", tc.c, tc.images, got, tc.want)
		}
	}
}

func TestAgreementHelpers(t *testing.T) {
	a, b := []int{1, 2, 3, 4}, []int{1, 0, 3, 0}
	if CountEqual(a, b) != 2 || Accuracy(a, b) != 0.5 || PercentEqual(a, b) != 50 {
		t.Errorf("count %d, accuracy %v, percent %v", CountEqual(a, b), Accuracy(a, b), PercentEqual(a, b))
	}
	if v := PercentEqual(nil, nil); v.Finite() {
		t.Errorf("no predictions: %v, want not measured", v)
	}
	if got := OneLine(errors.New("a\n  b\r\nc")).Error(); got != "a b c" {
		t.Errorf("OneLine: %q", got)
	}
	e := errors.New("x")
	if OneLine(e) != e {
		t.Error("OneLine changed a one-line error")
	}
	var w bytes.Buffer
	WriteWarnings(&w, []string{"one", "two\nlines"})
	if w.String() != "warning: one\nwarning: two lines\n" {
		t.Errorf("warnings %q", w.String())
	}
	WriteWarnings(nil, []string{"dropped"}) // must not panic
}

func TestVerifyPE(t *testing.T) {
	testutil.RequireTools(t, "iverilog", "vvp")
	c := rtl.PEConfig{Lanes: 3, Width: 4, Signed: true, Pipeline: rtl.PipelineAuto}
	var dirs []string
	each := func(rep *VerifyPEReport, sim string, res *testbench.Result, dir string) error {
		if rep.Module == "" || rep.Lanes != 3 || sim != testbench.Icarus || res.Simulator != sim {
			t.Errorf("Each got report %+v for %s (result of %s)", rep, sim, res.Simulator)
		}
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("Each: work folder %s: %v", dir, err)
		}
		dirs = append(dirs, dir)
		return nil
	}
	o := VerifyPEOptions{Simulators: []string{testbench.Icarus}, Simulator: testbench.Icarus, Vectors: 50, Seed: 3, Each: each}
	rep, err := VerifyPE(context.Background(), c, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mismatches != 0 || len(rep.Runs) != 1 || rep.Runs[0].Checked < 50 || rep.Vectors < 50 || rep.SumWidth <= 0 || rep.Seed != 3 || len(dirs) != 1 {
		t.Fatalf("report %+v, %d Each calls", rep, len(dirs))
	}
	if _, err := os.Stat(dirs[0]); !os.IsNotExist(err) {
		t.Errorf("temporary work folder %s left after a passing run: %v", dirs[0], err)
	}

	// A Keep folder stays; Each's error stops the run and is returned.
	keep := filepath.Join(t.TempDir(), "keep")
	stop := errors.New("stop")
	o.Keep, o.Each = keep, func(*VerifyPEReport, string, *testbench.Result, string) error { return stop }
	if _, err := VerifyPE(context.Background(), c, o); !errors.Is(err, stop) {
		t.Errorf("Each's error: got %v", err)
	}
	if entries, err := os.ReadDir(keep); err != nil || len(entries) == 0 {
		t.Errorf("--keep folder %s: %v, %d entries", keep, err, len(entries))
	}
	// A Keep folder that cannot be made is a *DirError naming it.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o.Keep = filepath.Join(file, "sub")
	var de *DirError
	if _, err := VerifyPE(context.Background(), c, o); !errors.As(err, &de) || de.Dir != o.Keep {
		t.Errorf("keep under a file: %v", err)
	}
	if _, err := VerifyPE(context.Background(), rtl.PEConfig{Lanes: 0, Width: 4}, o); err == nil {
		t.Error("a PE of 0 lanes verified")
	}
}

// TestDemo runs the demo small (50 test images, 2 verified in Icarus, a
// 2-lane PE) and checks that its report is made of the steps' results.
// About 25 s (the RTL in Icarus and yosys): -short skips it, except under
// CI=true.
func TestDemo(t *testing.T) {
	if testing.Short() && !testutil.CI() {
		t.Skip("runs Icarus and yosys for about 25 s (never skipped under CI=true)")
	}
	testutil.RequireTools(t, "iverilog", "vvp", "yosys")
	d := loadLeNet(t)
	qo := DefaultQuantizeOptions(8)
	var log, warn bytes.Buffer
	p := &countProgress{}
	o := DemoOptions{Model: "lenet5-adder-mnist", Net: d.net, Data: "/m/mnist", Test: d.test, Train: d.train, Out: "out/demo",
		Quant: qo, TestImages: 50, CalibImages: 32, Images: 2, Simulator: testbench.Icarus, Seed: 1,
		Parallel: 16, Lanes: 150, Balance: true, PELanes: 2, Progress: p, Log: &log, Warnings: &warn}
	r, files, err := Demo(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Pass || r.RTL.Mismatches != 0 || r.RTL.Images != 2 || r.TestImages != 50 || r.CalibImages != 32 || r.Quantized != "q8.json" {
		t.Fatalf("report: pass %v, %d mismatches on %d images, %d test, %d calibration images, %s", r.Pass, r.RTL.Mismatches, r.RTL.Images, r.TestImages, r.CalibImages, r.Quantized)
	}
	t.Logf("steps %+v", r.Steps)
	if !p.finished || strings.Count(log.String(), "demo: ") != 6 {
		t.Errorf("progress %+v; log:\n%s", p, log.String())
	}
	if b := r.Bitstream; b == nil || b.Report != nil || !strings.Contains(b.Skipped, "--bitstream=false") {
		t.Errorf("bitstream step with Bitstream off: %+v", b)
	}
	// The same steps, one by one.
	qo.Source = "mnist"
	q, _, err := Quantize(d.net, d.train.Limit(32).X, qo)
	if err != nil {
		t.Fatal(err)
	}
	qb, err := q.MarshalFile()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files["q8.json"], qb) {
		t.Error("q8.json is not Quantize's model")
	}
	cmp, err := Compare(d.net, q, d.test.Limit(50), CompareOptions{MaxDrop: -1})
	if err != nil {
		t.Fatal(err)
	}
	if r.FloatTop1 != cmp.FloatTop1 || r.SimTop1 != cmp.SimTop1 || r.Agreement != cmp.Agreement || r.Compare.Quantized != filepath.Join("out/demo", "q8.json") {
		t.Errorf("demo top-1 %v/%v/%v, Compare %v/%v/%v", r.FloatTop1, r.SimTop1, r.Agreement, cmp.FloatTop1, cmp.SimTop1, cmp.Agreement)
	}
	rtlFiles, design, err := Emit(q, rtl.NetConfig{Parallel: 16, Lanes: 150, Balance: true, Top: "addernet"})
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range rtlFiles {
		if !bytes.Equal(files["rtl/"+name], b) {
			t.Errorf("rtl/%s is not Emit's", name)
		}
	}
	if r.RTL.Files != len(rtlFiles) || r.RTL.PredictedCyclesPerImage != design.PredictedCyclesPerImage {
		t.Errorf("RTL part %+v", r.RTL)
	}
	if r.Synth.Lanes != 2 || r.Synth.Width != 8 || r.Synth.L1 == nil || r.Synth.MAC == nil || r.Synth.L1.Lanes != 2 {
		t.Errorf("synth part %+v", r.Synth)
	}
	want := []string{"error.png", "q8.json", "ranges.png", "report.json", "report.md"}
	var top []string
	for name := range files {
		if !strings.HasPrefix(name, "rtl/") {
			top = append(top, name)
		}
	}
	slices.Sort(top)
	if !slices.Equal(top, want) {
		t.Errorf("files %v, want %v and rtl/", top, want)
	}
	var back DemoReport
	if err := json.Unmarshal(files["report.json"], &back); err != nil || back.RTL.Values != r.RTL.Values || len(back.Steps) != 6 {
		t.Errorf("report.json: %v; %d steps", err, len(back.Steps))
	}
	if md := string(files["report.md"]); !strings.Contains(md, "**PASS**") || !strings.Contains(md, "## Quantization report") {
		t.Errorf("report.md:\n%s", md)
	}
}

// TestLeNet4BitTarget is issue 12's LeNet target: the built-in LeNet-5 at
// 4 bits with quantize's defaults (DefaultQuantizeOptions, calibrated on
// the first 1,000 training images as `addergen quantize --calib mnist
// --bits 4` is) loses at most 0.1 points of top-1 against float on all
// 10,000 MNIST test images, in the bit-exact simulator.
func TestLeNet4BitTarget(t *testing.T) {
	d := loadLeNet(t)
	test, err := dataset.Load(d.dir, "", dataset.SplitTest)
	if err != nil {
		t.Fatal(err)
	}
	train, err := dataset.Load(d.dir, "", dataset.SplitTrain)
	if err != nil {
		t.Fatal(err)
	}
	test, train = nchw(test), nchw(train.Limit(1000))
	qo := DefaultQuantizeOptions(4)
	qo.Source = "mnist"
	q, _, err := Quantize(d.net, train.X, qo)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := FloatPredictions(d.net, test.X, nil)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := SimPredictions(q, test.X)
	if err != nil {
		t.Fatal(err)
	}
	f, s := PercentEqual(fp, test.Labels), PercentEqual(sp, test.Labels)
	t.Logf("LeNet-5 on %d MNIST test images: float %v %%, 4 bits %v %%", len(test.Labels), f, s)
	right := func(p []int) int { // images right: 0.1 points of 10,000 is 10 images
		n := 0
		for i, l := range test.Labels {
			if p[i] == l {
				n++
			}
		}
		return n
	}
	if len(test.Labels) != 10000 || right(fp)-right(sp) > 10 {
		t.Errorf("4 bits: top-1 %v %% against float %v %% on %d images: loses more than 0.1 points", s, f, len(test.Labels))
	}
}
