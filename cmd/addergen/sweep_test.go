package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/nettest"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/sim"
	"github.com/addergen/addergen/synth"
)

// TestSweep runs a small sweep of the built-in LeNet-5 and checks its
// files against each other and every figure against an independent
// computation: accuracy and agreement as addergen compare (sim.Compare)
// gives them on the same images, cycles as rtl.PlanNet predicts them, cost
// as synth.EstimateNet estimates it.
func TestSweep(t *testing.T) {
	const images, calibImages = 200, 200
	bits, pars := []int{4, 8}, []int{1, 2}
	dir := filepath.Join(t.TempDir(), "sweep")
	code, out, errs := runCLI(t, "sweep", "--model", "lenet5-adder-mnist", "--limit", strconv.Itoa(images),
		"--calib-limit", strconv.Itoa(calibImages), "--bits", "8,4", "--parallel", "2,1", "--out", dir, "--json")
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, errs)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "sweep.json"))
	if err != nil {
		t.Fatal(err)
	}
	if out != string(raw) {
		t.Errorf("--json stdout differs from sweep.json")
	}
	var rep sweepReport
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not one sweep report: %v", err)
	}
	if dec.More() {
		t.Errorf("stdout holds more than one JSON value")
	}
	png, err := os.ReadFile(filepath.Join(dir, "pareto.png"))
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 10000 {
		t.Errorf("pareto.png missing or not a plot (%d bytes): %v", len(png), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("%d entries in the output folder, want sweep.csv, sweep.json, pareto.png and .addergen", len(entries))
	}
	if rep.Images != images || rep.CalibImages != calibImages || rep.Cost != "estimate" || rep.Target != synth.Xilinx || rep.Name != "lenet5-adder" {
		t.Errorf("report header %+v", rep)
	}
	if len(rep.Points) != len(bits)*len(pars) {
		t.Fatalf("%d points, want %d", len(rep.Points), len(bits)*len(pars))
	}

	// sweep.csv holds the same points.
	f, err := os.Open(filepath.Join(dir, "sweep.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(rep.Points) || strings.Join(rows[0], ",") != strings.Join(sweepColumns, ",") {
		t.Fatalf("sweep.csv: %d rows, header %v", len(rows), rows[0])
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	for i, p := range rep.Points {
		r := rows[1+i]
		for name, want := range map[string]string{
			"bits": strconv.Itoa(p.Bits), "parallel": strconv.Itoa(p.Parallel), "luts": strconv.Itoa(p.LUTs),
			"ffs": strconv.Itoa(p.FFs), "brams": strconv.Itoa(p.BRAMs), "dsps": strconv.Itoa(p.DSPs),
			"top1": strconv.FormatFloat(float64(p.Top1), 'f', 2, 64), "agreement": strconv.FormatFloat(float64(p.Agreement), 'f', 2, 64),
			"cycles_per_image": strconv.Itoa(p.CyclesPerImage), "latency_cycles": strconv.Itoa(p.LatencyCycles),
			"pareto": strconv.FormatBool(p.Pareto), "cost": "estimate",
		} {
			if r[col[name]] != want {
				t.Errorf("sweep.csv row %d %s = %q, sweep.json %q", i+1, name, r[col[name]], want)
			}
		}
	}

	// Independently: quantize as addergen quantize does, compare as
	// addergen compare does, plan and estimate.
	net, _, err := model.Pretrained("lenet5-adder-mnist")
	if err != nil {
		t.Fatal(err)
	}
	load := func(split string, n int) *dataset.Set {
		s, err := dataset.Load(dataset.BuiltinMNIST, "", split)
		if err != nil {
			t.Fatal(err)
		}
		s = s.Limit(n)
		if s.X, _, err = toNCHW(s.X, net.Input, io.Discard, "test"); err != nil {
			t.Fatal(err)
		}
		return s
	}
	test := load(dataset.SplitTest, images)
	k := 0
	for _, b := range bits {
		// The quantize command itself, with its defaults: a sweep point at
		// B is quantize --bits B.
		qf := filepath.Join(t.TempDir(), "q.json")
		if code, _, errs := runCLI(t, "quantize", "--model", "lenet5-adder-mnist", "--calib", "mnist", "--calib-limit", strconv.Itoa(calibImages),
			"--bits", strconv.Itoa(b), "--out", qf); code != exitOK {
			t.Fatalf("quantize --bits %d: exit %d: %s", b, code, errs)
		}
		q, err := quant.Load(qf)
		if err != nil {
			t.Fatal(err)
		}
		if !q.Config.OutputClip || !q.Config.BiasCorrection {
			t.Fatalf("quantize --bits %d ran without its default techniques: %+v", b, q.Config)
		}
		cmp, err := sim.Compare(net, q, test.X, test.Labels)
		if err != nil {
			t.Fatal(err)
		}
		if rep.FloatTop1 != cmp.FloatTop1 {
			t.Errorf("float top-1 %v, compare %v", rep.FloatTop1, cmp.FloatTop1)
		}
		for _, par := range pars {
			p := rep.Points[k]
			k++
			if p.Bits != b || p.Parallel != par {
				t.Fatalf("point %d is bits %d P %d, want %d, %d (sorted)", k-1, p.Bits, p.Parallel, b, par)
			}
			if p.Top1 != cmp.SimTop1 || p.Agreement != cmp.Agreement {
				t.Errorf("bits %d P %d: top-1 %v agreement %v; compare gives %v, %v", b, par, p.Top1, p.Agreement, cmp.SimTop1, cmp.Agreement)
			}
			hw := rtl.NetConfig{Parallel: par}
			n, err := rtl.PlanNet(q, hw)
			if err != nil {
				t.Fatal(err)
			}
			if p.CyclesPerImage != n.PredictedCyclesPerImage || p.LatencyCycles != n.LatencyCycles {
				t.Errorf("bits %d P %d: cycles %d latency %d; PlanNet %d, %d", b, par, p.CyclesPerImage, p.LatencyCycles, n.PredictedCyclesPerImage, n.LatencyCycles)
			}
			est, err := synth.EstimateNet(q, hw, synth.L1, synth.Xilinx)
			if err != nil {
				t.Fatal(err)
			}
			want := countsOf(est.Total)
			if p.Estimate != want || p.Counts != want || p.Measured != nil {
				t.Errorf("bits %d P %d: cost %+v estimate %+v; EstimateNet %+v", b, par, p.Counts, p.Estimate, want)
			}
			if p.PEs != est.PEs || p.ROMBits != est.ROMBits || p.BufferBits != est.BufferBits {
				t.Errorf("bits %d P %d: PEs %d ROM %d buffer %d; EstimateNet %d %d %d", b, par, p.PEs, p.ROMBits, p.BufferBits, est.PEs, est.ROMBits, est.BufferBits)
			}
		}
	}

	// The Pareto flags: a point is on the front iff nothing dominates it.
	front := 0
	for i, p := range rep.Points {
		dominated := false
		for j, o := range rep.Points {
			if i != j && o.Top1 >= p.Top1 && o.LUTs <= p.LUTs && (o.Top1 > p.Top1 || o.LUTs < p.LUTs) {
				dominated = true
			}
		}
		if p.Pareto == dominated {
			t.Errorf("bits %d P %d: pareto %v, but dominated %v", p.Bits, p.Parallel, p.Pareto, dominated)
		}
		if p.Pareto {
			front++
			if !p.Pareto3D {
				t.Errorf("bits %d P %d: on the 2-D front but not the 3-D one", p.Bits, p.Parallel)
			}
		}
	}
	if front == 0 {
		t.Error("empty Pareto front")
	}
}

// TestSweepTable checks the printed table: a header, one row per point,
// and the files written.
func TestSweepTable(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, "sweep", "--model", "lenet5-adder-mnist", "--limit", "50", "--calib-limit", "50",
		"--bits", "6", "--parallel", "1,4", "--lanes", "0,25", "--balance", "--target", "ice40", "--out", dir)
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1+1+4+1+3 || !strings.Contains(lines[0], "cost: estimate (ice40)") || !strings.Contains(lines[1], "cycles/image") {
		t.Errorf("table:\n%s", out)
	}
	var rep sweepReport
	raw, err := os.ReadFile(filepath.Join(dir, "sweep.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	q, err := quant.Load(writeSweepQuant(t, 6, 50))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Points) != 4 {
		t.Fatalf("%d points, want 2 parallelisms x 2 lanes", len(rep.Points))
	}
	for i, p := range rep.Points {
		if want := []int{0, 25}[i%2]; p.Lanes != want || p.Parallel != []int{1, 4}[i/2] {
			t.Errorf("point %d: P %d lanes %d, want P %d lanes %d", i, p.Parallel, p.Lanes, []int{1, 4}[i/2], want)
		}
		hw := rtl.NetConfig{Parallel: p.Parallel, Lanes: p.Lanes, Balance: true}
		n, err := rtl.PlanNet(q, hw)
		if err != nil {
			t.Fatal(err)
		}
		est, err := synth.EstimateNet(q, hw, synth.L1, synth.ICE40)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Balance || p.CyclesPerImage != n.PredictedCyclesPerImage || p.Estimate != countsOf(est.Total) {
			t.Errorf("P %d balanced: cycles %d, estimate %+v; PlanNet %d, EstimateNet %+v", p.Parallel, p.CyclesPerImage, p.Estimate, n.PredictedCyclesPerImage, est.Total)
		}
	}
	if errs != "" {
		t.Errorf("stderr not empty (no terminal, no progress bar): %q", errs)
	}
}

func TestSweepBadInput(t *testing.T) {
	base := t.TempDir()
	q := tinyQuantized(t)
	noLabels := filepath.Join(base, "x.npy")
	if err := dataset.WriteNPY(noLabels, dataset.Tensor{Shape: []int{2, 1, 28, 28}, Data: make([]float64, 2*28*28)}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(base, "out")
	m := []string{"--model", "lenet5-adder-mnist", "--out", out}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--out", out}, "--model"},
		{[]string{"--model", "lenet5-adder-mnist"}, "--out"},
		{append(m, "--bits", "4,x"), "--bits"},
		{append(m, "--bits", "1,8"), "--bits"},
		{append(m, "--bits", "8,,4"), "--bits"},
		{append(m, "--bits", "17"), "--bits"},
		{append(m, "--parallel", "0"), "--parallel"},
		{append(m, "--parallel", "2,five"), "--parallel"},
		{append(m, "--lanes", "-1"), "--lanes"},
		{append(m, "--limit", "-5"), "--limit"},
		{append(m, "--calib-limit", "-1"), "--calib-limit"},
		{append(m, "--calib-split", "dev"), "--calib-split"},
		{append(m, "--target", "ecp5"), "--target"},
		{append(m, "--timeout", "0s"), "--timeout"},
		{[]string{"--model", "no-such-model", "--out", out}, "no-such-model"},
		{[]string{"--model", q, "--out", out}, "--model"},
		{[]string{"--model", "lenet5-adder", "--out", out}, "--weights"},
		{append(m, "--data", filepath.Join(base, "none.npy")), "--data"},
		{append(m, "--data", noLabels), "--data"},
		{append(m, "--calib", filepath.Join(base, "none")), "--calib"},
		{[]string{"--model", "lenet5-adder-mnist", "--limit", "10", "--calib-limit", "10", "--bits", "8", "--parallel", "1", "--out", filepath.Join(q, "sub")}, "--out"},
	}
	for _, tt := range tests {
		code, stdout, errs := runCLI(t, append([]string{"sweep"}, tt.args...)...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", tt.args, code, errs)
			continue
		}
		if stdout != "" || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: stdout %q, stderr %q: want one line naming %s", tt.args, stdout, errs, tt.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed sweep created %s", out)
	}
}

func TestSweepHelp(t *testing.T) {
	code, out, _ := runCLI(t, "sweep", "--help")
	if code != exitOK || !strings.Contains(out, "Examples:") || !strings.Contains(out, "addergen sweep --model lenet5-adder-mnist") {
		t.Errorf("exit %d, help:\n%s", code, out)
	}
}

func TestParseIntList(t *testing.T) {
	got, err := parseIntList("bits", " 8, 4,6,4 ", 2, 16)
	if err != nil || len(got) != 3 || got[0] != 4 || got[1] != 6 || got[2] != 8 {
		t.Errorf("got %v, %v; want [4 6 8]", got, err)
	}
}

func TestMarkPareto(t *testing.T) {
	ps := []sweepPoint{
		{Top1: 99, Counts: sweepCounts{LUTs: 100}, CyclesPerImage: 50},
		{Top1: 98, Counts: sweepCounts{LUTs: 50}, CyclesPerImage: 100},
		{Top1: 98, Counts: sweepCounts{LUTs: 120}, CyclesPerImage: 10},  // dominated in 2-D, not in 3-D
		{Top1: 97, Counts: sweepCounts{LUTs: 200}, CyclesPerImage: 200}, // dominated everywhere
		{Top1: 99, Counts: sweepCounts{LUTs: 100}, CyclesPerImage: 50},  // a tie: neither dominates
	}
	markPareto(ps)
	want := [][2]bool{{true, true}, {true, true}, {false, true}, {false, false}, {true, true}}
	for i, p := range ps {
		if [2]bool{p.Pareto, p.Pareto3D} != want[i] {
			t.Errorf("point %d: pareto %v, 3-D %v; want %v", i, p.Pareto, p.Pareto3D, want[i])
		}
	}
}

// TestSweepSynth sweeps a tiny architecture given as a spec file with
// weights, on .npy data, with real yosys synthesis: the cost is yosys',
// the estimate is kept beside it.
func TestSweepSynth(t *testing.T) {
	testutil.RequireTools(t, "yosys")
	dir := t.TempDir()
	spec := filepath.Join(dir, "tiny.json")
	if err := os.WriteFile(spec, []byte(nettest.TinySpec), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := model.ParseSpec([]byte(nettest.TinySpec), "tiny")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	net, err := model.New(s, rng)
	if err != nil {
		t.Fatal(err)
	}
	weights := filepath.Join(dir, "tiny.safetensors")
	if err := model.SaveSafetensors(net, weights); err != nil {
		t.Fatal(err)
	}
	const n = 40
	x := dataset.Tensor{Shape: []int{n, 2, 6, 6}, Data: make([]float64, n*2*6*6)}
	for i := range x.Data {
		x.Data[i] = rng.Float64()
	}
	labels := dataset.Tensor{Shape: []int{n}, Data: make([]float64, n)}
	for i := range labels.Data {
		labels.Data[i] = float64(rng.IntN(3))
	}
	xpath := filepath.Join(dir, "x.npy")
	if err := dataset.WriteNPY(xpath, x); err != nil {
		t.Fatal(err)
	}
	if err := dataset.WriteNPY(filepath.Join(dir, "x.labels.npy"), labels); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "sweep")
	code, stdout, errs := runCLI(t, "sweep", "--model", spec, "--weights", weights, "--data", xpath, "--calib", xpath,
		"--bits", "4", "--parallel", "1,2", "--synth", "--out", out, "--json")
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, errs)
	}
	var rep sweepReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Cost != "yosys" || len(rep.Points) != 2 || rep.Images != n {
		t.Fatalf("report %+v", rep)
	}
	for _, p := range rep.Points {
		if p.Measured == nil || p.Counts != *p.Measured || p.LUTs <= 0 || p.Cost != "yosys" {
			t.Errorf("P %d: cost %+v, measured %+v", p.Parallel, p.Counts, p.Measured)
		}
		if e := relErr(p.Estimate.LUTs, p.LUTs); e > 0.15 {
			t.Errorf("P %d: estimate %d LUTs, yosys %d (%.0f%% off)", p.Parallel, p.Estimate.LUTs, p.LUTs, 100*e)
		}
	}
}

func relErr(got, want int) float64 {
	return math.Abs(float64(got-want)) / float64(max(want, 1))
}

// writeSweepQuant quantizes the built-in LeNet-5 as sweep does: quantize
// --bits bits with its defaults, on the first calib MNIST training
// images; it returns the file.
func writeSweepQuant(t *testing.T, bits, calib int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "q.json")
	code, _, errs := runCLI(t, "quantize", "--model", "lenet5-adder-mnist", "--calib", "mnist", "--calib-limit", strconv.Itoa(calib),
		"--bits", strconv.Itoa(bits), "--out", p, "-q")
	if code != exitOK {
		t.Fatalf("quantize: exit %d: %s", code, errs)
	}
	return p
}
