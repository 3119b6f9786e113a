package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/addergen/addergen/internal/report"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/sim"
)

// TestNonFiniteReportCase is shared/cases/nonfinite-report: layer a1's
// float output is all zero while the quantized one is not, so its SQNR is
// −Inf. compare --json must print one valid JSON object with "sqnr_db":
// null and a note naming a1 (it failed with "json: unsupported value:
// -Inf"), and compare --out must write the report and both plots (it
// failed with "plotter: infinite data point").
func TestNonFiniteReportCase(t *testing.T) {
	model := testutil.SharedFile(t, "cases/nonfinite-report/min.json")
	dir := filepath.Dir(model)
	weights := filepath.Join(dir, "min.npz")
	tmp := t.TempDir()
	qpath := filepath.Join(tmp, "q.json")
	if code, _, stderr := runCLI(t, "quantize", "--model", model, "--weights", weights, "--calib", filepath.Join(dir, "min_calib.npy"),
		"--bits", "8", "--out", qpath); code != 0 {
		t.Fatalf("quantize: exit %d: %s", code, stderr)
	}
	args := []string{"compare", "--model", model, "--weights", weights, "--quantized", qpath, "--data", filepath.Join(dir, "min_x.npy")}
	checkA1 := func(where string, b []byte) {
		t.Helper()
		var rep struct {
			Layers []map[string]any `json:"layers"`
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatalf("%s is not valid JSON: %v\n%s", where, err, b)
		}
		found := false
		for _, l := range rep.Layers {
			if l["name"] != "a1" {
				continue
			}
			found = true
			if v, ok := l["sqnr_db"]; !ok || v != nil {
				t.Errorf("%s: a1 sqnr_db = %v (present %v), want null", where, v, ok)
			}
			if note, _ := l["sqnr_note"].(string); !strings.Contains(note, "a1") || !strings.Contains(note, "all zero") {
				t.Errorf("%s: a1 sqnr_note %q does not name the layer and the reason", where, note)
			}
		}
		if !found {
			t.Errorf("%s: no layer a1", where)
		}
	}

	code, stdout, stderr := runCLI(t, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("compare --json: exit %d: %s", code, stderr)
	}
	checkA1("compare --json stdout", []byte(stdout))

	out := filepath.Join(tmp, "cmp")
	if code, _, stderr := runCLI(t, append(args, "--out", out)...); code != 0 {
		t.Fatalf("compare --out: exit %d: %s", code, stderr)
	}
	for _, f := range []string{"report.json", "report.md", "error.png", "ranges.png"} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case f == "report.json":
			checkA1(f, b)
		case f == "report.md":
			if !bytes.Contains(b, []byte("| a1 | adder2d |")) || !bytes.Contains(b, []byte("−Inf (float output is all zero")) {
				t.Errorf("report.md does not show a1's SQNR as −Inf with the reason:\n%s", b)
			}
		case !bytes.HasPrefix(b, []byte("\x89PNG")):
			t.Errorf("%s is not a PNG", f)
		}
	}
}

// TestReportsCarryNonFiniteFigures feeds every report writer (compare's
// JSON, Markdown, text and plots; sweep's JSON, CSV and plot; demo's JSON
// and Markdown) figures that are +Inf, −Inf and NaN, and checks that each
// writes them in its defined form instead of failing.
func TestReportsCarryNonFiniteFigures(t *testing.T) {
	inf, ninf, nan := report.Num(math.Inf(1)), report.Num(math.Inf(-1)), report.Unmeasured()
	w := report.Num(0.5)
	cmp := &sim.Comparison{Samples: 1, FloatTop1: nan, SimTop1: 50, Agreement: 100, FloatImagesPerSec: inf, SimImagesPerSec: nan,
		Layers: []sim.LayerComparison{
			{Name: "exact", Op: quant.OpConv2d, SQNR: inf, SQNRNote: "layer exact: no error, the quantized output equals the float output",
				FloatMin: 0, FloatMax: 1, RepMin: 0, RepMax: 1, WeightMin: &w, WeightMax: &w, WeightRepMin: &w, WeightRepMax: &w},
			{Name: "dead", Op: quant.OpAdder2d, SQNR: ninf, SQNRNote: "layer dead: float output is all zero, the quantized output is not",
				MaxAbsErr: 4, RMSErr: 4, FloatMin: 0, FloatMax: 0, RepMin: 0, RepMax: 8},
			{Name: "nan", Op: quant.OpLinear, SQNR: nan, SQNRNote: "layer nan: 3 float outputs are not finite",
				MaxAbsErr: nan, RMSErr: nan, SatRate: nan, FloatMin: nan, FloatMax: inf, RepMin: ninf, RepMax: 1, WeightMin: &w, WeightMax: &w, WeightRepMin: &w, WeightRepMax: &w},
		}}
	crep := &compareReport{Name: "n", Comparison: cmp}
	j, err := json.Marshal(crep)
	if err != nil {
		t.Fatalf("compare JSON: %v", err)
	}
	if !bytes.Contains(j, []byte(`"sqnr_db":null,"sqnr_note":"layer dead: float output is all zero`)) || !bytes.Contains(j, []byte(`"float_images_per_sec":null`)) {
		t.Errorf("compare JSON lacks null figures with notes:\n%s", j)
	}
	md := string(markdownReport(crep))
	for _, want := range []string{"| exact | conv2d |  | u0 | 0 | exact |", "| dead | adder2d |  | u0 | 0 | −Inf (float output is all zero, the quantized output is not) |", "| nan | linear |  | u0 | 0 | — (3 float outputs are not finite) | — | — |"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	if txt := textSummary(crep); !strings.Contains(txt, "throughput: float +Inf images/s, sim — images/s") {
		t.Errorf("text summary:\n%s", txt)
	}
	for name, plot := range map[string]func(*sim.Comparison) ([]byte, error){"error.png": errorPlot, "ranges.png": rangesPlot} {
		if b, err := plot(cmp); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("%s: %v", name, err)
		}
	}

	srep := &sweepReport{Name: "n", Images: 0, FloatTop1: nan, Bits: []int{4, 8}, Parallel: []int{1}, Lanes: []int{0}, Points: []sweepPoint{
		{Bits: 4, Parallel: 1, Top1: nan, Agreement: nan, Counts: sweepCounts{LUTs: 10}},
		{Bits: 8, Parallel: 1, Top1: 90, Agreement: inf, Counts: sweepCounts{LUTs: 20}},
	}}
	markPareto(srep.Points)
	if j, err := json.Marshal(srep); err != nil || !bytes.Contains(j, []byte(`"top1":null`)) {
		t.Errorf("sweep JSON: %v\n%s", err, j)
	}
	if csv, err := sweepCSV(srep); err != nil || !strings.Contains(string(csv), "\n4,1,0,,,10,") {
		t.Errorf("sweep CSV: %v\n%s", err, csv)
	}
	if b, err := paretoPlot(srep); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("pareto.png: %v", err)
	}
	srep.Points = srep.Points[:1] // no drawable point at all
	if b, err := paretoPlot(srep); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("pareto.png without a drawable point: %v", err)
	}

	drep := &demoReport{Model: "m", FloatTop1: nan, SimTop1: inf, Agreement: ninf, Compare: crep,
		RTL: demoRTL{Images: 1, CyclesPerImage: nan, ImagesPerSecond: nan, RTLTop1: nan, SimTop1: nan}}
	if j, err := json.Marshal(drep); err != nil || !bytes.Contains(j, []byte(`"cycles_per_image":null`)) {
		t.Errorf("demo JSON: %v\n%s", err, j)
	}
	if md := string(demoMarkdown(drep)); !strings.Contains(md, "not measured (needs at least 2 images)") {
		t.Errorf("demo report.md does not say the cycles were not measured:\n%s", md)
	}
}
