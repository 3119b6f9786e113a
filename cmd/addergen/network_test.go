package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/nettest"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/sim"
	"github.com/addergen/addergen/synth"
)

// netFiles writes a quantized LeNet and n MNIST test images (.npy with
// labels beside) into a temporary directory.
func netFiles(t *testing.T, n int) (qpath, xpath string) {
	t.Helper()
	q, _, _ := nettest.LeNet(t, 8, 1)
	dir := t.TempDir()
	qpath = filepath.Join(dir, "q8.json")
	if err := q.Save(qpath); err != nil {
		t.Fatal(err)
	}
	mn, err := dataset.MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	set, err := dataset.Load(mn, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	set = set.Limit(n)
	xpath = filepath.Join(dir, "x.npy")
	if err := dataset.WriteNPY(xpath, set.X); err != nil {
		t.Fatal(err)
	}
	lab := dataset.Tensor{Shape: []int{n}, Data: make([]float64, n)}
	for i, l := range set.Labels {
		lab.Data[i] = float64(l)
	}
	if err := dataset.WriteNPY(filepath.Join(dir, "x.labels.npy"), lab); err != nil {
		t.Fatal(err)
	}
	return qpath, xpath
}

func TestEmitVerilogModel(t *testing.T) {
	qpath, _ := netFiles(t, 1)
	out := filepath.Join(t.TempDir(), "rtl")
	code, stdout, errs := runCLI(t, "emit-verilog", "--model", qpath, "--out", out, "--parallel", "8", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("stdout is not JSON: %v", err)
	}
	if m["top"] != "addernet" || m["predicted_cycles_per_image"] == nil {
		t.Errorf("manifest %v", m)
	}
	list, err := os.ReadFile(filepath.Join(out, "filelist.f"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(string(list)) {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("filelist names %s: %v", f, err)
		}
	}
	// Bad input: not a quantized model, a bad config, a missing model.
	bad := filepath.Join(t.TempDir(), "hw.json")
	os.WriteFile(bad, []byte(`{"layers": {"nope": {"parallel": 2}}}`), 0o644)
	for _, args := range [][]string{
		{"emit-verilog", "--model", bad, "--out", out + "2"},
		{"emit-verilog", "--model", qpath, "--config", bad, "--out", out + "2"},
		{"emit-verilog", "--model", "/no/such.json", "--out", out + "2"},
		{"emit-verilog", "--model", qpath, "--parallel", "0", "--out", out + "2"},
	} {
		if code, _, errs := runCLI(t, args...); code != 2 || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
		if _, err := os.Stat(out + "2"); !os.IsNotExist(err) {
			t.Errorf("%v: output written despite bad input", args)
		}
	}
}

func TestVerifyModel(t *testing.T) {
	testutil.RequireTools(t, "iverilog", "vvp")
	qpath, xpath := netFiles(t, 2)
	ypath := filepath.Join(t.TempDir(), "y.npy")
	code, stdout, errs := runCLI(t, "verify", "--model", qpath, "--data", xpath, "--images", "2",
		"--simulator", "iverilog", "--parallel", "8", "--json", "--output", ypath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	for _, f := range []string{"images", "mismatches", "first_mismatch", "cycles_per_image", "predicted_cycles_per_image", "rtl_top1", "sim_top1", "simulator"} {
		if _, ok := r[f]; !ok {
			t.Errorf("JSON lacks %q", f)
		}
	}
	if r["mismatches"] != 0.0 || r["images"] != 2.0 || r["rtl_top1"] != r["sim_top1"] {
		t.Errorf("result %v", r)
	}
	// --output equals infer on the same quantized model, exactly.
	got, err := dataset.ReadNPY(ypath)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := dataset.ReadNPY(xpath)
	q, err := sim.LoadRunner(qpath)
	if err != nil {
		t.Fatal(err)
	}
	want, err := q.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != len(want.Data) {
		t.Fatalf("RTL logits %v, infer %v", got.Shape, want.Shape)
	}
	for i := range got.Data {
		if got.Data[i] != want.Data[i] {
			t.Fatalf("logit %d: RTL %v, infer %v", i, got.Data[i], want.Data[i])
		}
	}
	if code, _, errs := runCLI(t, "verify", "--model", qpath, "--data", xpath, "--simulator", "ghdl"); code != 2 || !strings.Contains(errs, "--simulator") {
		t.Errorf("bad simulator: exit %d, stderr %q", code, errs)
	}
}

// TestEmitVerilogEstimate checks the "estimate" field emit-verilog adds to
// manifest.json: synth.EstimateNet's xilinx figures, every other field as
// rtl.EmitNet writes it.
func TestEmitVerilogEstimate(t *testing.T) {
	qpath, _ := netFiles(t, 1)
	out := filepath.Join(t.TempDir(), "rtl")
	if code, _, errs := runCLI(t, "emit-verilog", "--model", qpath, "--out", out, "--parallel", "2", "--lanes", "25"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	raw, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	q, err := quant.Load(qpath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := rtl.NetConfig{Parallel: 2, Lanes: 25, Top: "addernet"}
	files, _, err := rtl.EmitNet(q, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(files["manifest.json"], &want); err != nil {
		t.Fatal(err)
	}
	est, err := synth.EstimateNet(q, cfg, synth.L1, synth.Xilinx)
	if err != nil {
		t.Fatal(err)
	}
	want["estimate"] = map[string]any{"target": "xilinx", "luts": float64(est.Total.LUTs), "ffs": float64(est.Total.FFs),
		"brams": float64(est.Total.BRAMs), "dsps": float64(est.Total.DSPs)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("manifest.json (-want +got):\n%s", diff)
	}
	for _, k := range []string{"top", "modules", "predicted_cycles_per_image", "latency_cycles", "pes", "lanes", "rom_bits", "buffer_bits"} {
		if _, ok := got[k]; !ok {
			t.Errorf("manifest.json lost %q", k)
		}
	}
}
