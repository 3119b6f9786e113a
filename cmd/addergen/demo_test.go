package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/sim"
	"github.com/addergen/addergen/testbench"
)

// TestDemo runs the whole demo, reduced by flags, and checks the report
// folder and that its numbers agree with the simulator and addergen compare
// on the same images.
func TestDemo(t *testing.T) {
	testutil.RequireTools(t, "verilator", "yosys")
	dir := t.TempDir()
	const testImages = 300
	var out, errb bytes.Buffer
	code := Execute([]string{"demo", "--out", dir, "--images", "3", "--test-images", "300", "--pe-lanes", "8", "--bitstream=false", "--json", "-q"}, &out, &errb)
	if code != exitOK {
		t.Fatalf("demo exit %d, want 0; stderr:\n%s", code, errb.String())
	}
	for _, f := range []string{"report.md", "report.json", "error.png", "ranges.png", "q8.json", "rtl/filelist.f", "rtl/manifest.json", "rtl/addernet.v"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if n := e.Name(); n[0] == '.' && n != ".addergen" {
			t.Errorf("temporary file %s left in the report folder", n)
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), raw) {
		t.Errorf("--json stdout differs from report.json")
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	for _, k := range []string{"model", "bits", "test_images", "float_top1", "sim_top1", "agreement", "compare", "rtl", "synth", "pass", "steps"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("report.json has no %q", k)
		}
	}
	var rep demoReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	if rep.Model != demoModel || rep.Bits != 8 || rep.TestImages != testImages || rep.CalibImages != 1000 || !rep.Pass {
		t.Errorf("report header: model %q bits %d test images %d calib %d pass %v", rep.Model, rep.Bits, rep.TestImages, rep.CalibImages, rep.Pass)
	}
	rt := rep.RTL
	if rt.Images != 3 || rt.Mismatches != 0 || rt.Values == 0 || rt.CyclesPerImage <= 0 || rt.PredictedCyclesPerImage <= 0 || rt.Simulator != testbench.Verilator {
		t.Errorf("rtl: %+v", rt)
	}
	if rt.RTLTop1 != rt.SimTop1 {
		t.Errorf("rtl top-1 %v != sim top-1 %v on the same images with no mismatch", rt.RTLTop1, rt.SimTop1)
	}
	s := rep.Synth
	if s.Lanes != 8 || s.Width != 8 || s.L1 == nil || s.MAC == nil || s.Ratio == nil {
		t.Fatalf("synth: %+v", s)
	}
	if s.L1.LUTs <= 0 || s.MAC.LUTs <= s.L1.LUTs || *s.Ratio <= 1 {
		t.Errorf("synth: L1 %d LUTs, MAC %d, ratio %v", s.L1.LUTs, s.MAC.LUTs, *s.Ratio)
	}
	if rep.Compare == nil || rep.Compare.Comparison == nil || rep.Compare.Samples != testImages {
		t.Fatalf("compare part missing or on the wrong sample count")
	}
	if rep.SimTop1 != rep.Compare.SimTop1 || rep.FloatTop1 != rep.Compare.FloatTop1 || rep.Agreement != rep.Compare.Agreement {
		t.Errorf("top-level accuracies differ from the comparison's")
	}

	// Consistency: the simulator on the same 300 images, directly.
	q, err := quant.Load(filepath.Join(dir, "q8.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The demo quantizes as addergen quantize --bits 8 does by default.
	if c := q.Config; !c.NonPow2Scales || !c.OutputClip || !c.BiasCorrection || c.ResidualBits != 8 {
		t.Errorf("q8.json was quantized without quantize's default techniques: %+v", c)
	}
	mnist, err := dataset.MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	set, err := dataset.Load(mnist, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	set = set.Limit(testImages)
	codes, _, err := q.EncodeInput(set.X)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.RunNet(q, sim.Codes{Shape: append([]int{testImages}, q.Input.Shape...), Data: codes}, sim.NetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i, p := range testbench.Top1(res.Output) {
		if p == set.Labels[i] {
			correct++
		}
	}
	if want := 100 * float64(correct) / testImages; math.Abs(float64(rep.SimTop1)-want) > 1e-9 {
		t.Errorf("report sim_top1 %v, sim.RunNet on the same images %v", rep.SimTop1, want)
	}

	// Consistency: addergen compare on the same data and quantized model.
	out.Reset()
	errb.Reset()
	if code := Execute([]string{"compare", "--model", demoModel, "--quantized", filepath.Join(dir, "q8.json"), "--data", mnist, "--limit", "300", "--json"}, &out, &errb); code != exitOK {
		t.Fatalf("compare exit %d: %s", code, errb.String())
	}
	var cmp compareReport
	if err := json.Unmarshal(out.Bytes(), &cmp); err != nil {
		t.Fatal(err)
	}
	if cmp.SimTop1 != rep.SimTop1 || cmp.FloatTop1 != rep.FloatTop1 || cmp.Agreement != rep.Agreement {
		t.Errorf("compare: float %v sim %v agreement %v; demo: float %v sim %v agreement %v",
			cmp.FloatTop1, cmp.SimTop1, cmp.Agreement, rep.FloatTop1, rep.SimTop1, rep.Agreement)
	}
}

// TestDemoUsage checks that bad flags fail with exit 2 and one line.
func TestDemoUsage(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--simulator", "foo"},
		{"demo", "--images", "0"},
		{"demo", "--bits", "1"},
		{"demo", "--parallel", "0"},
		{"demo", "extra"},
	} {
		var out, errb bytes.Buffer
		if code := Execute(args, &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
		if lines := bytes.Count(errb.Bytes(), []byte("\n")); lines != 1 {
			t.Errorf("%v: %d stderr lines, want 1: %q", args, lines, errb.String())
		}
	}
}
