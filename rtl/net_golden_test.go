package rtl

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
)

// goldenNetSpec has one engine of every kind and template branch: a conv
// with constant weights (CSD tree), adders with a weight ROM, SIMD folding
// and one-row rescales, streaming (stride = kernel) and overlapping max
// pooling, a residual add with its skip FIFO,
// average pooling and a linear classifier.
const goldenNetSpec = `{"name": "golden", "input": [2, 6, 6], "layers": [
	{"name": "c1", "op": "conv2d", "in": 2, "out": 4, "kernel": 3, "padding": 1},
	{"name": "bn1", "op": "batchnorm2d", "channels": 4},
	{"name": "r1", "op": "relu"},
	{"name": "a2", "op": "adder2d", "in": 4, "out": 4, "kernel": 3, "padding": 1},
	{"name": "bn2", "op": "batchnorm2d", "channels": 4},
	{"name": "add", "op": "add", "inputs": ["bn2", "r1"]},
	{"name": "r2", "op": "relu"},
	{"name": "p2", "op": "maxpool2d", "kernel": 2},
	{"name": "a3", "op": "adder2d", "in": 4, "out": 6, "kernel": 3, "padding": 1},
	{"name": "bn3", "op": "batchnorm2d", "channels": 6},
	{"name": "p3", "op": "maxpool2d", "kernel": 2, "stride": 1},
	{"name": "avg", "op": "avgpool2d", "kernel": 2},
	{"name": "f", "op": "flatten"},
	{"name": "fc", "op": "linear", "in": 6, "out": 3}]}`

// goldenNetConfigs are the hardware settings of the network goldens.
// "raw" is the spec behind a normalising preprocessing folded into c1
// (raw pixels in, padding with the mean pixel's codes), one lane per PE,
// so that c1 folds its two input channels (a pad code per fold).
var goldenNetConfigs = map[string]NetConfig{
	"wide":    {Top: "golden_wide", Parallel: 4, Lanes: 36},
	"folded":  {Top: "golden_folded", Parallel: 2, Lanes: 2},
	"raw":     {Top: "golden_raw", Parallel: 2, Lanes: 1},
	"runtime": {Top: "golden_runtime", Parallel: 2, Lanes: 2, WeightsMode: WeightsRuntime},
}

func goldenNetModel(t *testing.T) *quant.Model { return specModel(t, goldenNetSpec) }

// goldenRawPreprocess is the "raw" golden's preprocessing.
var goldenRawPreprocess = &model.Preprocess{Scale: 255, Mean: []float64{0.4, 0.6}, Std: []float64{0.25, 0.2}}

// specModel quantizes a network spec with random weights at 8 bits.
func specModel(t *testing.T, spec string) *quant.Model { return specModelPre(t, spec, nil) }

// specModelPre is specModel with the preprocessing pre folded into the
// first layer (nil: none), calibrated on raw pixels.
func specModelPre(t *testing.T, spec string, pre *model.Preprocess) *quant.Model {
	t.Helper()
	s, err := model.ParseSpec([]byte(spec), "golden")
	if err != nil {
		t.Fatal(err)
	}
	s.Preprocess = pre
	rng := rand.New(rand.NewPCG(11, 12))
	net, err := model.New(s, rng)
	if err != nil {
		t.Fatal(err)
	}
	c, h, w := s.Input[0], s.Input[1], s.Input[2]
	x := dataset.Tensor{Shape: []int{8, c, h, w}, Data: make([]float64, 8*c*h*w)}
	for i := range x.Data {
		x.Data[i] = rng.Float64()
	}
	if pre != nil {
		if net, err = net.FoldPreprocess(); err != nil {
			t.Fatal(err)
		}
		for i := range x.Data {
			x.Data[i] = float64(rng.IntN(256))
		}
	}
	q, err := quant.Quantize(net, x, quant.DefaultConfig(), "golden")
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestNetGolden compares every file of two network designs with
// testdata/net_<config>/ (go test ./rtl -run NetGolden -update rewrites
// them) and lints them: Verilator -Wall and Icarus -g2005.
func TestNetGolden(t *testing.T) {
	q := goldenNetModel(t)
	names := make([]string, 0, len(goldenNetConfigs))
	for n := range goldenNetConfigs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		c := goldenNetConfigs[name]
		q := q
		if name == "raw" {
			q = specModelPre(t, goldenNetSpec, goldenRawPreprocess)
		}
		files, _, err := EmitNet(q, c)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join("testdata", "net_"+name)
		if *update {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for f, b := range files {
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatalf("%v (run go test ./rtl -run NetGolden -update to create it)", err)
		}
		if len(ents) != len(files) {
			t.Errorf("%s: %d golden files, %d emitted", name, len(ents), len(files))
		}
		for f, got := range files {
			want, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s/%s differs from golden (-want +got):\n%s", name, f, diff)
			}
		}
		if !strings.Contains(string(files["manifest.json"]), `"buffer_bits"`) {
			t.Errorf("%s: manifest without buffer_bits", name)
		}
		testutil.RequireTools(t, "verilator", "iverilog")
		for _, argv := range [][]string{
			{"verilator", "--lint-only", "-Wall", "-f", "filelist.f", "--top-module", c.Top},
			{"iverilog", "-g2005", "-o", os.DevNull, "-s", c.Top, "-c", "filelist.f"},
		} {
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil || strings.Contains(string(out), "%Warning") || strings.Contains(string(out), "warning") {
				t.Errorf("%s: %s: %v\n%s", name, strings.Join(argv[:3], " "), err, out)
			}
		}
	}
}

// TestNoMultipliersRescale: a model quantized without multipliers has no
// multiply on any rescale (two-term shift-adds, or constant trees).
func TestNoMultipliersRescale(t *testing.T) {
	s, err := model.ParseSpec([]byte(goldenNetSpec), "golden")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	net, err := model.New(s, rng)
	if err != nil {
		t.Fatal(err)
	}
	c, h, w := s.Input[0], s.Input[1], s.Input[2]
	x := dataset.Tensor{Shape: []int{8, c, h, w}, Data: make([]float64, 8*c*h*w)}
	for i := range x.Data {
		x.Data[i] = rng.Float64()
	}
	cfg := quant.DefaultConfig()
	cfg.NoMultipliers = true
	q, err := quant.Quantize(net, x, cfg, "golden")
	if err != nil {
		t.Fatal(err)
	}
	files, n, err := EmitNet(q, NetConfig{Parallel: 2, Lanes: 2})
	if err != nil {
		t.Fatal(err)
	}
	shift := 0
	for _, e := range n.Engines {
		if e.MROM && !e.ShiftM {
			t.Errorf("%s: an m ROM without the shift-add form under NoMultipliers", e.Module)
		}
		if e.ShiftM {
			shift++
		}
		for _, line := range strings.Split(string(files[e.Module+".v"]), "\n") {
			if strings.Contains(line, "mul_g_q <=") && strings.Contains(line, "*") {
				t.Errorf("%s: a rescale multiply: %s", e.Module, strings.TrimSpace(line))
			}
		}
	}
	if shift == 0 {
		t.Error("no engine has a shift-add rescale")
	}
}
