package rtl

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/addergen/addergen/internal/nettest"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/quant"
)

func TestEmitNetLintAndManifest(t *testing.T) {
	testutil.RequireTools(t, "verilator", "iverilog", "yosys")
	q8, _, _ := nettest.LeNet(t, 8, 1)
	qg, _, _ := nettest.LeNetGroups(t, 1)
	for _, c := range []struct {
		q  *quant.Model
		hw NetConfig
	}{{q8, NetConfig{Parallel: 1}}, {q8, NetConfig{Parallel: 4, Lanes: 7}}, {q8, NetConfig{Parallel: 16, Lanes: 4096}},
		{qg, NetConfig{Parallel: 4, Lanes: 3}}, {qg, NetConfig{Parallel: 2, Lanes: 4096, WeightsMode: WeightsRuntime}}} {
		hw := c.hw
		hw.Top = "lenet"
		par := hw.Parallel
		files, n, err := EmitNet(c.q, hw)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var m map[string]any
		if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"top", "modules", "predicted_cycles_per_image", "latency_cycles", "pes", "lanes", "rom_bits", "buffer_bits"} {
			if _, ok := m[f]; !ok {
				t.Errorf("manifest lacks %q", f)
			}
		}
		if m["top"] != "lenet" || int(m["predicted_cycles_per_image"].(float64)) != n.PredictedCyclesPerImage {
			t.Errorf("manifest %v", m)
		}
		list := strings.Fields(string(files["filelist.f"]))
		for _, f := range list {
			v := string(files[f])
			if !strings.Contains(v, "Latency and handshake") || !strings.Contains(v, "`default_nettype none") {
				t.Errorf("%s lacks its header", f)
			}
		}
		for _, argv := range [][]string{
			{"verilator", "--lint-only", "-Wall", "-f", "filelist.f", "--top-module", "lenet"},
			{"iverilog", "-g2005", "-o", os.DevNull, "-s", "lenet", "-c", "filelist.f"},
			{"yosys", "-q", "-p", "read_verilog " + strings.Join(list, " ") + "; hierarchy -check -top lenet; proc; opt_clean; check -assert; select -assert-none t:$dlatch t:$adlatch t:$dlatchsr"},
		} {
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil || strings.Contains(string(out), "%Warning") {
				t.Errorf("parallel %d lanes %d: %s: %v\n%s", par, hw.Lanes, strings.Join(argv[:3], " "), err, out)
			}
		}
	}
}

func TestPlanNetCycleModel(t *testing.T) {
	q, _, _ := nettest.LeNet(t, 8, 1)
	prev := 0
	for _, par := range []int{1, 2, 4, 8, 16, 120} {
		n, err := PlanNet(q, NetConfig{Parallel: par, Lanes: par * 6})
		if err != nil {
			t.Fatal(err)
		}
		if prev != 0 && n.PredictedCyclesPerImage > prev {
			t.Errorf("parallel %d predicts %d cycles, more than %d with fewer PEs", par, n.PredictedCyclesPerImage, prev)
		}
		prev = n.PredictedCyclesPerImage
		for _, e := range n.Engines {
			// Lanes below the channels fold them (SIMD, the largest divisor
			// that fits); lanes above unroll whole window positions.
			u, simd := 1, e.CIN
			if e.Reduce && par*6 < e.CIN {
				simd = 1
				for d := 1; d <= par*6; d++ {
					if e.CIN%d == 0 {
						simd = d
					}
				}
			} else if e.Reduce {
				u = min(e.KK, max(1, par*6/e.CIN))
			}
			if e.U != u || e.SIMD != simd || e.LanesPE != u*simd {
				t.Errorf("%s: %d positions x SIMD %d (%d lanes) per cycle for lanes %d over %d channels, want %d x %d",
					e.Module, e.U, e.SIMD, e.LanesPE, par*6, e.CIN, u, simd)
			}
			steps := (e.KK + u - 1) / u * (e.CIN / simd)
			if want := e.OH*e.OW*e.G*steps + e.Tail; e.ComputeCycles != want || e.T != steps {
				t.Errorf("%s: compute cycles %d (T %d), want %d (T %d)", e.Module, e.ComputeCycles, e.T, want, steps)
			}
			if e.Reduce && e.G != (e.COUT+e.P-1)/e.P {
				t.Errorf("%s: %d groups for %d channels over %d PEs", e.Module, e.G, e.COUT, e.P)
			}
		}
	}
	// conv1 (1 -> 6 channels, 5x5 pad 2, 28x28 out, 25 cycles a pixel) is
	// the slowest engine. Consecutive maps overlap in every engine's ring,
	// so the period is its issue cycles: 784 pixels x 25 cycles (measured
	// in Verilator: 19,600).
	n, _ := PlanNet(q, NetConfig{Parallel: 8})
	if want := 28 * 28 * 25; n.PredictedCyclesPerImage != want {
		t.Errorf("predicted %d cycles per image, want %d", n.PredictedCyclesPerImage, want)
	}
	// With the whole 5x5 window per cycle conv1 takes a cycle a pixel, and
	// conv2 (6 -> 16 channels, 4 of its 25 positions a cycle: 7 steps, 2
	// folds of 8, 10x10 out) is the slowest (measured: 1,400).
	n, _ = PlanNet(q, NetConfig{Parallel: 8, Lanes: 25})
	if want := 10 * 10 * 2 * 7; n.PredictedCyclesPerImage != want {
		t.Errorf("lanes 25: predicted %d cycles per image, want %d", n.PredictedCyclesPerImage, want)
	}
	// Enough PEs and lanes everywhere: the input (784 pixels) bounds it
	// (measured: 784 at P=16 lanes 150 balanced).
	n, _ = PlanNet(q, NetConfig{Parallel: 16, Lanes: 150, Balance: true})
	if want := 28 * 28; n.PredictedCyclesPerImage != want {
		t.Errorf("P=16 lanes 150 balanced: predicted %d cycles per image, want %d", n.PredictedCyclesPerImage, want)
	}
}

func TestPlanNetBadConfig(t *testing.T) {
	q, _, _ := nettest.LeNet(t, 8, 1)
	for _, c := range []NetConfig{
		{Parallel: -1},
		{Top: "module"},
		{Layers: map[string]LayerHW{"nope": {Parallel: 2}}},
		{Lanes: -1},
		{Layers: map[string]LayerHW{"conv2": {Lanes: 7}}},   // not a multiple of its 6 channels
		{Layers: map[string]LayerHW{"conv2": {Lanes: 156}}}, // more than 5*5*6
	} {
		if _, err := PlanNet(q, c); err == nil {
			t.Errorf("PlanNet accepted %+v", c)
		}
	}
	if _, err := ParseNetConfig([]byte(`{"parallel": 2, "bogus": 1}`)); err == nil {
		t.Error("ParseNetConfig accepted an unknown field")
	}
}

// TestPlanNetPaddingBeyondKernel: a window whose padding reaches the
// kernel (legal in PyTorch's conv2d) is refused with an error naming the
// layer, not rendered into Verilog with negative constants.
func TestPlanNetPaddingBeyondKernel(t *testing.T) {
	q := specModel(t, `{"name": "pad", "input": [2, 4, 4], "layers": [
		{"name": "c1", "op": "conv2d", "in": 2, "out": 3, "kernel": 2, "padding": 2},
		{"name": "bn1", "op": "batchnorm2d", "channels": 3},
		{"name": "f", "op": "flatten"}]}`)
	_, err := PlanNet(q, NetConfig{})
	if err == nil || !strings.Contains(err.Error(), "layer c1: padding 2 with kernel 2") {
		t.Fatalf("PlanNet: %v, want an error naming layer c1's padding", err)
	}
}

func TestEmitResNet20Lint(t *testing.T) {
	testutil.RequireTools(t, "verilator", "yosys")
	q, _ := nettest.ResNet20(t, 1)
	files, n, err := EmitNet(q, NetConfig{Parallel: 8})
	if err != nil {
		t.Fatal(err)
	}
	adds, forks := 0, n.Forks
	for _, e := range n.Engines {
		if e.Add {
			adds++
		}
	}
	if adds != 9 || forks != 9 {
		t.Errorf("%d adds and %d forks, want 9 and 9", adds, forks)
	}
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	list := strings.Fields(string(files["filelist.f"]))
	for _, argv := range [][]string{
		{"verilator", "--lint-only", "-Wall", "-f", "filelist.f", "--top-module", "addernet"},
		{"yosys", "-q", "-p", "read_verilog " + strings.Join(list, " ") + "; hierarchy -check -top addernet; proc; opt_clean; check -assert; select -assert-none t:$dlatch t:$adlatch t:$dlatchsr"},
	} {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil || strings.Contains(string(out), "%Warning") {
			t.Errorf("%s: %v\n%s", argv[0], err, out)
		}
	}
}

// TestBalance: balancing keeps the predicted cycles per image and never
// adds PEs or lanes, and shrinks the engines off the critical pair (fc3,
// 84 lanes a PE, runs a few cycles per image).
func TestBalance(t *testing.T) {
	q, _, _ := nettest.LeNet(t, 8, 1)
	for _, c := range []NetConfig{{Parallel: 8}, {Parallel: 8, Lanes: 25}, {Parallel: 3, Lanes: 12}} {
		plain, err := PlanNet(q, c)
		if err != nil {
			t.Fatal(err)
		}
		c.Balance = true
		bal, err := PlanNet(q, c)
		if err != nil {
			t.Fatal(err)
		}
		if bal.PredictedCyclesPerImage != plain.PredictedCyclesPerImage {
			t.Errorf("%+v: balanced %d cycles per image, unbalanced %d", c, bal.PredictedCyclesPerImage, plain.PredictedCyclesPerImage)
		}
		lanes := func(n *Net) (sum int) {
			for _, e := range n.Engines {
				if e.Reduce {
					sum += e.P * e.LanesPE
				}
			}
			return sum
		}
		for i, e := range bal.Engines {
			if p := plain.Engines[i]; e.Reduce && (e.P > p.P || e.U > p.U) {
				t.Errorf("%+v: %s balanced to %d PEs x %d positions, more than %d x %d", c, e.Layer, e.P, e.U, p.P, p.U)
			}
			if e.Layer == "fc3" && e.P != 1 {
				t.Errorf("%+v: fc3 keeps %d PEs, want 1", c, e.P)
			}
		}
		if lanes(bal) >= lanes(plain) {
			t.Errorf("%+v: balanced lanes %d, unbalanced %d: want fewer", c, lanes(bal), lanes(plain))
		}
		t.Logf("%+v: %d cycles per image; lanes in all PEs %d -> %d", c, bal.PredictedCyclesPerImage, lanes(plain), lanes(bal))
	}
	// A per-layer override is kept as it is.
	bal, err := PlanNet(q, NetConfig{Parallel: 8, Balance: true, Layers: map[string]LayerHW{"fc3": {Parallel: 5}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range bal.Engines {
		if e.Layer == "fc3" && e.P != 5 {
			t.Errorf("fc3 override: %d PEs, want 5", e.P)
		}
	}
}

// TestWeightMemoryStyle: "auto" puts a weight ROM of at least
// WeightBlockDepth words and WeightBlockBits bits in block RAM and leaves
// smaller ones to the tool; block and logic force every one; the rendered
// ROM carries the attribute; a bad value is refused.
func TestWeightMemoryStyle(t *testing.T) {
	for _, c := range []struct {
		mem          string
		depth, width int
		want         string
	}{
		{"", 64, 288, "block"}, {"auto", 64, 288, "block"}, {"auto", 63, 4096, ""}, {"auto", 512, 32, ""},
		{"auto", 1024, 18, "block"}, {"block", 2, 8, "block"}, {"logic", 4096, 1024, "logic"},
	} {
		if got := weightROMStyle(c.mem, c.depth, c.width); got != c.want {
			t.Errorf("weightROMStyle(%q, %d, %d) = %q, want %q", c.mem, c.depth, c.width, got, c.want)
		}
	}
	q := goldenNetModel(t)
	for _, mem := range []string{WeightMemBlock, WeightMemLogic} {
		files, n, err := EmitNet(q, NetConfig{Parallel: 2, Lanes: 2, WeightMemory: mem})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range n.Engines {
			if !e.WeightROM {
				continue
			}
			if !strings.Contains(string(files[e.Module+".v"]), `(* rom_style = "`+mem+`" *)`) {
				t.Errorf("%s: %s has no rom_style %q on its weight ROM", mem, e.Module, mem)
			}
		}
	}
	if _, _, err := EmitNet(q, NetConfig{WeightMemory: "bram"}); err == nil || !strings.Contains(err.Error(), `"bram"`) {
		t.Errorf("weight memory bram: %v", err)
	}
	if _, err := ParseNetConfig([]byte(`{"weight_memory": "ultra"}`)); err == nil || !strings.Contains(err.Error(), "weight_memory") {
		t.Errorf("config weight_memory ultra: %v", err)
	}
}
