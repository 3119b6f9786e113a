package rtl

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/addergen/addergen/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func ceilLog2(n int) int { return bits.Len(uint(n - 1)) }

func TestPlanPEShape(t *testing.T) {
	ks := []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 25, 27, 31, 32, 33, 63, 64, 65, 100, 150, 255, 256, 257, 1000, 2047, 2048, 2049, 4095, 4096}
	for _, k := range ks {
		for w := MinWidth; w <= MaxWidth; w++ {
			for _, pl := range []int{0, 1, 2, 3, 7, PipelineAuto} {
				p, err := PlanPE(PEConfig{Lanes: k, Width: w, Pipeline: pl})
				if err != nil {
					t.Fatalf("K=%d W=%d: %v", k, w, err)
				}
				if want := bits.Len64(uint64(k) * (1<<w - 1)); p.SumWidth != want {
					t.Errorf("K=%d W=%d: sum width %d, want %d", k, w, p.SumWidth, want)
				}
				if p.Levels != ceilLog2(k) || p.Adders != k-1 {
					t.Errorf("K=%d: levels %d adders %d, want %d and %d", k, p.Levels, p.Adders, ceilLog2(k), k-1)
				}
				want := pl
				if pl == PipelineAuto {
					want = max(1, ceilLog2(k))
				}
				if p.Latency != want || len(p.ValidRegs) != want {
					t.Errorf("K=%d pipeline %d: latency %d, valid regs %d, want %d", k, pl, p.Latency, len(p.ValidRegs), want)
				}
				stages := 0
				for _, st := range p.Steps {
					if st.Regs != nil {
						stages++
					}
				}
				if stages != want {
					t.Errorf("K=%d pipeline %d: %d register stages, want %d", k, pl, stages, want)
				}
			}
		}
	}
}

// TestPlanAutoOneLevelPerStage checks the auto rule: the first stage holds
// the absolute differences and the first adder level, every later stage
// exactly one adder level, and the output is registered.
func TestPlanAutoOneLevelPerStage(t *testing.T) {
	for _, k := range []int{2, 3, 9, 16, 27, 150, 4096} {
		p, err := PlanPE(PEConfig{Lanes: k, Width: 8, Pipeline: PipelineAuto})
		if err != nil {
			t.Fatal(err)
		}
		levelsSinceReg := 0
		for _, st := range p.Steps {
			if st.Regs != nil {
				if levelsSinceReg != 1 {
					t.Errorf("K=%d: stage %d holds %d adder levels", k, st.Stage, levelsSinceReg)
				}
				levelsSinceReg = 0
				continue
			}
			levelsSinceReg++
		}
		if levelsSinceReg != 0 {
			t.Errorf("K=%d: output not registered", k)
		}
	}
}

// evalPE evaluates the planned structure in Go, bit by bit as the Verilog
// does (every wire truncated to its declared width), so that the tree's
// carry-in scheme and operand widths are proven on any K without a
// simulator.
func evalPE(p *PE, x, w []int64) uint64 {
	val := map[string]uint64{}
	mask := func(v uint64, n int) uint64 { return v & (1<<n - 1) }
	W := p.Width
	for _, lf := range p.Leaves {
		d := mask(uint64(x[lf.Lane]-w[lf.Lane]), W+1)
		s := d >> W
		a := mask(d^(s*(1<<W-1)), W)
		if lf.Full {
			a = mask(a+s, W)
		}
		val[lf.Sign], val[lf.Value] = s, a
	}
	for _, st := range p.Steps {
		for _, r := range st.Regs {
			val[r.Dst] = mask(val[r.Src], r.Width)
		}
		for _, n := range st.Nodes {
			val[n.Name] = mask(val[n.A.Name]+val[n.B.Name]+val[n.Carry], n.Width)
		}
	}
	return val[p.Sum]
}

func TestPlanArithmeticExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, k := range []int{1, 2, 3, 5, 6, 7, 9, 16, 25, 27, 33, 64, 150, 1000, 4096} {
		for _, w := range []int{2, 3, 4, 8, 12, 16} {
			for _, signed := range []bool{false, true} {
				p, err := PlanPE(PEConfig{Lanes: k, Width: w, Signed: signed, Pipeline: 2})
				if err != nil {
					t.Fatal(err)
				}
				lo, hi := int64(0), int64(1)<<w-1
				if signed {
					lo, hi = -(1 << (w - 1)), 1<<(w-1)-1
				}
				for trial := 0; trial < 20; trial++ {
					x, wv := make([]int64, k), make([]int64, k)
					var want uint64
					for i := range x {
						switch trial {
						case 0: // the largest sum
							x[i], wv[i] = lo, hi
						case 1:
							x[i], wv[i] = hi, lo
						case 2: // every lane negative by one
							x[i], wv[i] = lo, lo+1
						default:
							x[i], wv[i] = lo+rng.Int64N(hi-lo+1), lo+rng.Int64N(hi-lo+1)
						}
						d := x[i] - wv[i]
						want += uint64(max(d, -d))
					}
					if got := evalPE(p, x, wv); got != want {
						t.Fatalf("K=%d W=%d signed=%v trial %d: tree gives %d, want %d", k, w, signed, trial, got, want)
					}
				}
			}
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		c    PEConfig
		want string
	}{
		{PEConfig{Lanes: 0, Width: 8}, "lanes 0 out of range"},
		{PEConfig{Lanes: 4097, Width: 8}, "lanes 4097 out of range"},
		{PEConfig{Lanes: 4, Width: 1}, "width 1 out of range"},
		{PEConfig{Lanes: 4, Width: 17}, "width 17 out of range"},
		{PEConfig{Lanes: 4, Width: 8, Pipeline: -2}, "pipeline -2 invalid"},
		{PEConfig{Lanes: 4, Width: 8, Name: "and"}, `name "and"`},
		{PEConfig{Lanes: 4, Width: 8, Name: "logic"}, `name "logic"`},
		{PEConfig{Lanes: 4, Width: 8, Name: "always_ff"}, `name "always_ff"`},
		{PEConfig{Lanes: 4, Width: 8, Pipeline: 65}, "pipeline 65 invalid"},
		{PEConfig{Lanes: 4, Width: 8, Name: "1pe"}, `name "1pe" is not a legal Verilog module name`},
		{PEConfig{Lanes: 4, Width: 8, Name: "module"}, `name "module"`},
		{PEConfig{Lanes: 4, Width: 8, Name: "a-b"}, `name "a-b"`},
	}
	for _, tt := range tests {
		err := tt.c.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want error containing %q", tt.c, err, tt.want)
		}
		if files, _, err := EmitPE(tt.c); err == nil || files != nil {
			t.Errorf("EmitPE(%+v) rendered files despite a bad config", tt.c)
		}
	}
	for _, c := range []PEConfig{{Lanes: 1, Width: 2}, {Lanes: 4096, Width: 16, Pipeline: 64, Name: "Pe_1"}} {
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", c, err)
		}
	}
}

func TestParsePipeline(t *testing.T) {
	for in, want := range map[string]int{"auto": PipelineAuto, "0": 0, "3": 3} {
		if got, err := ParsePipeline(in); err != nil || got != want {
			t.Errorf("ParsePipeline(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "fast", "1.5"} {
		if _, err := ParsePipeline(in); err == nil {
			t.Errorf("ParsePipeline(%q) accepted", in)
		}
	}
}

// goldenConfigs are emitted, compared with testdata/ and linted.
var goldenConfigs = []PEConfig{
	{Name: "pe_k1_w2_u_p0", Lanes: 1, Width: 2, Pipeline: 0},
	{Name: "pe_k1_w8_s_auto", Lanes: 1, Width: 8, Signed: true, Pipeline: PipelineAuto},
	{Name: "pe_k5_w4_s_auto", Lanes: 5, Width: 4, Signed: true, Pipeline: PipelineAuto},
	{Name: "pe_k9_w8_u_p1", Lanes: 9, Width: 8, Pipeline: 1},
	{Name: "pe_k16_w8_u_auto", Lanes: 16, Width: 8, Pipeline: PipelineAuto},
	{Name: "pe_k3_w16_s_p7", Lanes: 3, Width: 16, Signed: true, Pipeline: 7},
	{Name: "pe_k27_w12_s_p0", Lanes: 27, Width: 12, Signed: true, Pipeline: 0},
}

func TestGolden(t *testing.T) {
	for _, c := range goldenConfigs {
		files, p, err := EmitPE(c)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 2 {
			t.Errorf("%s: %d files, want .v and .json", c.Name, len(files))
		}
		for name, got := range files {
			path := filepath.Join("testdata", name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./rtl -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s differs from golden (-want +got):\n%s", name, diff)
			}
		}
		var m map[string]any
		if err := json.Unmarshal(files[c.Name+".json"], &m); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"module", "lanes", "width", "signed", "sum_width", "latency"} {
			if _, ok := m[f]; !ok {
				t.Errorf("%s.json lacks field %q", c.Name, f)
			}
		}
		if m["sum_width"] != float64(p.SumWidth) || m["latency"] != float64(p.Latency) || m["module"] != c.Name {
			t.Errorf("%s.json = %v", c.Name, m)
		}
		v := string(files[c.Name+".v"])
		for _, s := range []string{"// Code generated by addergen. DO NOT EDIT.", "`default_nettype none", "Latency and handshake", "module " + c.Name + " ("} {
			if !strings.Contains(v, s) {
				t.Errorf("%s.v lacks %q", c.Name, s)
			}
		}
	}
}

// TestGoldenLint lints every golden: Verilator -Wall, Icarus -g2005, and
// yosys synth with check -assert (no latches, no driver conflicts).
func TestGoldenLint(t *testing.T) {
	testutil.RequireTools(t, "verilator", "iverilog", "yosys")
	for _, c := range goldenConfigs {
		path := filepath.Join("testdata", c.Name+".v")
		lint(t, path, c.Name)
	}
}

// TestLargestPELints emits the largest legal PE and lints it.
func TestLargestPELints(t *testing.T) {
	testutil.RequireTools(t, "verilator")
	files, _, err := EmitPE(PEConfig{Name: "pe_max", Lanes: 4096, Width: 16, Signed: true, Pipeline: PipelineAuto})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pe_max.v")
	if err := os.WriteFile(path, files["pe_max.v"], 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "verilator", "--lint-only", "-Wall", path)
}

func lint(t *testing.T, path, top string) {
	t.Helper()
	run(t, "verilator", "--lint-only", "-Wall", "--top-module", top, path)
	run(t, "iverilog", "-g2005", "-o", os.DevNull, path)
	run(t, "yosys", "-q", "-p", fmt.Sprintf("read_verilog %s; synth -top %s; check -assert", path, top))
}

func run(t *testing.T, argv ...string) {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	if argv[0] == "verilator" && strings.Contains(string(out), "%Warning") {
		t.Fatalf("%s warns:\n%s", strings.Join(argv, " "), out)
	}
}
