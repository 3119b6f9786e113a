package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/quant"
)

// TestBuildBadInput: every bad flag, file or value is one line on stderr
// naming it, exit 2, before any tool runs (PATH is empty) and with no
// output folder written.
func TestBuildBadInput(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	notQ := filepath.Join(base, "spec.json")
	if err := os.WriteFile(notQ, []byte(`{"name": "x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir())
	out := filepath.Join(base, "out")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--out", out}, "target"},
		{[]string{"--target", "ice40-hx8k"}, "out"},
		{[]string{"--target", "ice40-hx1k", "--out", out}, "--target"},
		{[]string{"--target", "ice40-hx8k", "--out", out, "--seeds", "0"}, "--seeds"},
		{[]string{"--target", "ice40-hx8k", "--out", out, "--seed", "0"}, "--seed"},
		{[]string{"--target", "ice40-hx8k", "--out", out, "--freq", "0"}, "--freq"},
		{[]string{"--target", "ice40-hx8k", "--out", out, "--timeout", "0s"}, "--timeout"},
		{[]string{"--target", "ice40-hx8k", "--out", out, "--model", filepath.Join(base, "none.json")}, "--model"},
		{[]string{"--target", "ice40-hx8k", "--out", out, "--model", notQ}, "--model"},
		{[]string{"--target", "ice40-hx8k", "--out", out, "--pcf", filepath.Join(base, "none.pcf")}, "--pcf"},
		{[]string{"--target", "ice40-hx8k", "--out", out, "--pcf", file}, "--pcf " + file + ": no pin for clk_i"},
		{[]string{"--target", "ice40-hx8k", "--out", file}, "--out"},
		{[]string{"--target", "ice40-hx8k", "--out", out, "--family", "ecp5"}, "--family"},
		// More port bits than the sg48 package has pins.
		{[]string{"--target", "ice40-up5k", "--out", out}, "--no-axi-lite"},
		// A model that does not fit: the shipped one fully unrolled.
		{[]string{"--target", "ice40-hx8k", "--out", out, "--target-cycles", "150"}, "does not fit the iCE40HX8K"},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCLI(t, append([]string{"build"}, tt.args...)...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", tt.args, code, stderr)
		}
		if stdout != "" || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: stdout %q, stderr %q: want one line naming %s", tt.args, stdout, stderr, tt.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s written by a refused build", out)
	}
}

func TestBuildMissingTool(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	code, _, errs := runCLI(t, "build", "--target", "ice40-hx8k", "--out", filepath.Join(t.TempDir(), "o"))
	if code != 2 || !strings.Contains(errs, "yosys not found") {
		t.Errorf("exit %d, stderr %q: want yosys named missing", code, errs)
	}
}

// TestBuildShippedHX8K builds the shipped small model's bitstream for an
// iCE40-HX8K end to end (yosys, nextpnr-ice40 with one seed, icepack; a
// few minutes) and checks the bitstream, the pin file, and that the
// report's utilisation and Fmax are what nextpnr's log says.
func TestBuildShippedHX8K(t *testing.T) {
	testutil.RequireTools(t, "yosys", "nextpnr-ice40", "icepack")
	out := filepath.Join(t.TempDir(), "hx8k")
	code, stdout, stderr := runCLI(t, "build", "--target", "ice40-hx8k", "--out", out, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Top       string  `json:"top"`
		LCs       int     `json:"lcs"`
		LCsAvail  int     `json:"lcs_available"`
		RAMs      int     `json:"rams"`
		RAMsAvail int     `json:"rams_available"`
		IOs       int     `json:"ios"`
		FmaxMHz   float64 `json:"fmax_mhz"`
		KeptSeed  int     `json:"kept_seed"`
		Bitstream string  `json:"bitstream"`
		BinBytes  int     `json:"bitstream_bytes"`
		PCF       string  `json:"pcf"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	t.Logf("ice40-hx8k: %d/%d LCs, %d/%d RAMs, %d I/O, %.2f MHz, %d-byte bitstream",
		rep.LCs, rep.LCsAvail, rep.RAMs, rep.RAMsAvail, rep.IOs, rep.FmaxMHz, rep.BinBytes)
	bin, err := os.ReadFile(filepath.Join(out, rep.Bitstream))
	if err != nil {
		t.Fatal(err)
	}
	// An iCE40-HX8K bitstream from icepack is 135,100 bytes (the whole
	// configuration memory, uncompressed), whatever the design.
	if len(bin) != rep.BinBytes || len(bin) < 100_000 || len(bin) > 200_000 {
		t.Errorf("%s: %d bytes (report %d), want about 135 kB", rep.Bitstream, len(bin), rep.BinBytes)
	}
	// The iCE40 bitstream preamble 0x7EAA997E follows a comment block.
	if !bytes.Contains(bin[:min(len(bin), 256)], []byte{0x7e, 0xaa, 0x99, 0x7e}) {
		t.Errorf("%s has no iCE40 preamble 7EAA997E", rep.Bitstream)
	}
	pcf, err := os.ReadFile(filepath.Join(out, rep.PCF))
	if err != nil || !strings.Contains(string(pcf), "set_io clk_i J3") {
		t.Errorf("%s: %v; want the clock on J3:\n%.400s", rep.PCF, err, pcf)
	}
	if _, err := os.Stat(filepath.Join(out, "build.json")); err != nil {
		t.Error(err)
	}
	log, err := os.ReadFile(filepath.Join(out, "nextpnr_s"+strconv.Itoa(rep.KeptSeed)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	util := func(cell string) (int, int) {
		m := regexp.MustCompile(cell+`:\s+(\d+)/\s*(\d+)`).FindAllStringSubmatch(string(log), -1)
		if m == nil {
			t.Fatalf("no %s utilisation in the log", cell)
		}
		u, _ := strconv.Atoi(m[len(m)-1][1])
		a, _ := strconv.Atoi(m[len(m)-1][2])
		return u, a
	}
	if u, a := util("ICESTORM_LC"); u != rep.LCs || a != rep.LCsAvail || a != 7680 {
		t.Errorf("report %d/%d LCs, log %d/%d", rep.LCs, rep.LCsAvail, u, a)
	}
	if u, a := util("ICESTORM_RAM"); u != rep.RAMs || a != rep.RAMsAvail || a != 32 {
		t.Errorf("report %d/%d RAMs, log %d/%d", rep.RAMs, rep.RAMsAvail, u, a)
	}
	if u, _ := util("SB_IO"); u != rep.IOs {
		t.Errorf("report %d I/O, log %d", rep.IOs, u)
	}
	fm := regexp.MustCompile(`Max frequency for clock 'clk_i[^']*': ([0-9.]+) MHz`).FindAllStringSubmatch(string(log), -1)
	if fm == nil {
		t.Fatal("no Fmax in the log")
	}
	if f, _ := strconv.ParseFloat(fm[len(fm)-1][1], 64); f != rep.FmaxMHz {
		t.Errorf("report %.2f MHz, log's post-route %.2f MHz", rep.FmaxMHz, f)
	}
}

// TestBuiltinQuantizedIsReproducible: the embedded quantized model is
// what the documented commands make from the embedded float model and
// MNIST at 12x12 (model/pretrained/README.md), byte for byte.
func TestBuiltinQuantizedIsReproducible(t *testing.T) {
	src, err := dataset.MNISTDir()
	if err != nil {
		if testutil.CI() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	// The folder's name is the calibration source the file records.
	dir := filepath.Join(t.TempDir(), "mnist12")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := dataset.Load(src, "", dataset.SplitTrain)
	if err != nil {
		t.Fatal(err)
	}
	s = s.Limit(1000)
	r, err := dataset.ResizeSet(s, 12, 12, true)
	if err != nil {
		t.Fatal(err)
	}
	var img, lab bytes.Buffer
	if err := dataset.WriteIDXImages(&img, r.X); err != nil {
		t.Fatal(err)
	}
	if err := dataset.WriteIDXLabels(&lab, r.Labels); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "train-images-idx3-ubyte"), img.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte"), lab.Bytes(), 0o644)
	q := filepath.Join(t.TempDir(), "q8.json")
	code, _, errs := runCLI(t, "quantize", "--model", "small12-adder-mnist", "--calib", dir, "--bits", "8", "--no-multipliers", "--out", q)
	if code != 0 {
		t.Fatalf("quantize: exit %d: %s", code, errs)
	}
	got, err := os.ReadFile(q)
	if err != nil {
		t.Fatal(err)
	}
	want, ok := quant.BuiltinFile(defaultBuildModel)
	if !ok {
		t.Fatalf("no built-in %s", defaultBuildModel)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("quantize of small12-adder-mnist differs from the embedded %s (%d vs %d bytes); regenerate it (model/pretrained/README.md)", defaultBuildModel, len(got), len(want))
	}
}
