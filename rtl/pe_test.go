package rtl

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// TestPlanSpeedSchedule checks the iCE40 speed schedule (family ice40,
// --pipeline auto): registers after the subtractors and the leaves, then
// every combinational stage holds at most one carry chain, of at most
// ICE40SplitBits sum bits; the output is registered; the latency is two
// plus, per adder level, its most pieces; and every adder is computed once.
func TestPlanSpeedSchedule(t *testing.T) {
	// 406 (W <= 3) and 3073 (W = 8) have split and unsplit adders, or
	// adders of two and three pieces, in one level.
	ks := []int{1, 2, 3, 4, 5, 7, 9, 16, 17, 27, 33, 64, 100, 150, 406, 1000, 3073, 4096}
	for _, k := range ks {
		for w := MinWidth; w <= MaxWidth; w++ {
			c := PEConfig{Lanes: k, Width: w, Signed: w%2 == 0, Pipeline: PipelineAuto, Family: FamilyICE40}
			p, err := PlanPE(c)
			if err != nil {
				t.Fatal(err)
			}
			if p.Schedule != FamilyICE40 || p.SplitBits != ICE40SplitBits {
				t.Fatalf("K=%d W=%d: schedule %q split %d", k, w, p.Schedule, p.SplitBits)
			}
			if len(p.SubSteps) != 1 || p.SubSteps[0].Stage != 1 || len(p.SubSteps[0].Regs) != k {
				t.Fatalf("K=%d W=%d: sub steps %+v, want one stage registering the %d differences", k, w, p.SubSteps, k)
			}
			for _, lf := range p.Leaves {
				if lf.Src != lf.Diff+"_q1" {
					t.Errorf("K=%d: leaf %d reads %s, not the registered difference", k, lf.Lane, lf.Src)
				}
			}
			if len(p.Steps) == 0 || p.Steps[0].Regs == nil || p.Steps[0].Where != "after the leaves" {
				t.Fatalf("K=%d W=%d: the leaves are not registered first", k, w)
			}
			stages, chains, adders, want := 1, 0, 0, 2
			pieces := map[int]int{} // level -> most pieces
			for _, st := range p.Steps {
				if st.Regs != nil {
					stages++
					if st.Stage != stages {
						t.Errorf("K=%d W=%d: stage numbered %d, want %d", k, w, st.Stage, stages)
					}
					chains = 0
					continue
				}
				chains++
				if chains > 1 {
					t.Errorf("K=%d W=%d: stage %d holds two adder steps", k, w, stages+1)
				}
				for _, n := range st.Nodes {
					adders++
					if n.Width > ICE40SplitBits {
						t.Errorf("K=%d W=%d: adder %s is %d bits unsplit", k, w, n.Name, n.Width)
					}
				}
				for _, pc := range st.Pieces {
					bits := pc.Msb + 1
					if !slices.ContainsFunc(st.Joins, func(j peJoin) bool { return strings.HasPrefix(pc.Name, j.Name+"_p") }) {
						bits-- // not its adder's last piece: the top bit is the carry out
					}
					if bits > ICE40SplitBits || bits < 2 {
						t.Errorf("K=%d W=%d: piece %s adds %d bits", k, w, pc.Name, bits)
					}
				}
				adders += len(st.Joins)
				if st.Piece > 0 {
					pieces[st.Level] = max(pieces[st.Level], st.Piece)
				} else if len(st.Nodes) > 0 {
					pieces[st.Level] = max(pieces[st.Level], 1)
				}
			}
			if chains != 0 {
				t.Errorf("K=%d W=%d: output not registered", k, w)
			}
			for l := 1; l <= p.Levels; l++ {
				want += pieces[l]
			}
			if adders != k-1 || p.Latency != stages || p.Latency != want || len(p.ValidRegs) != want {
				t.Errorf("K=%d W=%d: %d adders, latency %d, %d stages, %d valid regs; want %d adders, latency %d",
					k, w, adders, p.Latency, stages, len(p.ValidRegs), k-1, want)
			}
			if m := p.Manifest(); m.Latency != p.Latency || m.Schedule != FamilyICE40 || m.II != 1 {
				t.Errorf("K=%d W=%d: manifest %+v", k, w, m)
			}
		}
	}
	// The shape: two pieces at the widest levels, latency 9.
	p, err := PlanPE(PEConfig{Lanes: 9, Width: 8, Pipeline: PipelineAuto, Family: FamilyICE40})
	if err != nil {
		t.Fatal(err)
	}
	if p.Latency != 9 || p.SumWidth != 12 {
		t.Errorf("K=9 W=8 ice40: latency %d, sum width %d; want 9 and 12", p.Latency, p.SumWidth)
	}
}

// TestFamilyAreaScheduleUnchanged: generic, xilinx and "" give the same
// PE, and an explicit stage count ignores the family.
func TestFamilyAreaScheduleUnchanged(t *testing.T) {
	for _, base := range []PEConfig{
		{Lanes: 16, Width: 8, Pipeline: PipelineAuto},
		{Lanes: 9, Width: 8, Signed: true, Pipeline: 3},
		{Lanes: 27, Width: 12, Pipeline: 0},
		{Lanes: 1, Width: 2, Pipeline: PipelineAuto},
	} {
		want, _, err := EmitPE(base)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range Families {
			c := base
			c.Family = f
			if f == FamilyICE40 && c.Pipeline == PipelineAuto {
				continue
			}
			got, _, err := EmitPE(c)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%+v differs from family \"\" (-want +got):\n%s", c, diff)
			}
		}
	}
}

// evalPE evaluates the planned structure in Go on a batch of inputs
// (xs[n] and ws[n] are one input's lanes), bit by bit as the Verilog does
// (every wire truncated to its declared width, every slice and
// zero-extension as planned), so that the tree's carry-in scheme, the split
// adders and the operand widths are proven on any K without a simulator.
// It also checks that every signal is defined once, before it is read, and
// with the width its readers assume.
func evalPE(t *testing.T, p *PE, xs, ws [][]int64) []uint64 {
	t.Helper()
	type signal struct {
		width int
		v     []uint64
	}
	sigs := map[string]*signal{}
	N := len(xs)
	mask := func(v uint64, n int) uint64 { return v & (1<<n - 1) }
	var fail error
	failf := func(format string, args ...any) {
		if fail == nil {
			fail = fmt.Errorf(format, args...)
		}
	}
	def := func(name string, n int) []uint64 {
		if sigs[name] != nil {
			failf("%s defined twice", name)
		}
		s := &signal{width: n, v: make([]uint64, N)}
		sigs[name] = s
		return s.v
	}
	// sel returns a reader of name, or of bits [hi:lo] of it, and its width.
	sel := func(name string, sliced bool, hi, lo int) (func(i int) uint64, int) {
		s := sigs[name]
		if s == nil {
			failf("%s read before it is defined", name)
			return func(int) uint64 { return 0 }, 0
		}
		if !sliced {
			return func(i int) uint64 { return s.v[i] }, s.width
		}
		if lo > hi || hi >= s.width || lo < 0 {
			failf("%s[%d:%d] out of its %d bits", name, hi, lo, s.width)
		}
		n := hi - lo + 1
		return func(i int) uint64 { return mask(s.v[i]>>lo, n) }, n
	}
	operand := func(o peOperand, n int) func(i int) uint64 {
		f, w := sel(o.Name, o.Sliced, o.Hi, o.Lo)
		if w+o.Pad != n {
			failf("operand %+v is %d+%d bits, want %d", o, w, o.Pad, n)
		}
		return f
	}
	W := p.Width
	for _, lf := range p.Leaves {
		d := def(lf.Diff, W+1)
		for i := range d {
			d[i] = mask(uint64(xs[i][lf.Lane]-ws[i][lf.Lane]), W+1)
		}
	}
	regs := func(st peStep) {
		for _, r := range st.Regs {
			f, w := sel(r.Src, r.Sliced, r.Hi, r.Lo)
			if w != r.Width || r.Msb != r.Width-1 {
				failf("register %+v copies %d bits", r, w)
			}
			q := def(r.Dst, r.Width)
			for i := range q {
				q[i] = f(i)
			}
		}
	}
	for _, st := range p.SubSteps {
		regs(st)
	}
	for _, lf := range p.Leaves {
		d, _ := sel(lf.Src, false, 0, 0)
		sv, av := def(lf.Sign, 1), def(lf.Value, W)
		for i := range sv {
			s := d(i) >> W
			a := mask(d(i)^(s*(1<<W-1)), W)
			if lf.Full {
				a = mask(a+s, W)
			}
			sv[i], av[i] = s, a
		}
	}
	for _, st := range p.Steps {
		regs(st)
		for _, n := range st.Nodes {
			a, b := operand(n.A, n.Width), operand(n.B, n.Width)
			c, _ := sel(n.Carry, false, 0, 0)
			v := def(n.Name, n.Width)
			for i := range v {
				v[i] = mask(a(i)+b(i)+c(i), n.Width)
			}
		}
		for _, pc := range st.Pieces {
			var terms []func(int) uint64
			for _, o := range pc.Terms {
				terms = append(terms, operand(o, pc.Msb+1))
			}
			v := def(pc.Name, pc.Msb+1)
			for i := range v {
				for _, f := range terms {
					v[i] += f(i)
				}
				v[i] = mask(v[i], pc.Msb+1)
			}
		}
		for _, j := range st.Joins {
			v := def(j.Name, j.Msb+1)
			n := 0
			for _, o := range j.Parts {
				f, w := sel(o.Name, o.Sliced, o.Hi, o.Lo)
				for i := range v {
					v[i] = v[i]<<w | f(i)
				}
				n += w
			}
			if n != j.Msb+1 {
				failf("join %s: parts make %d bits, want %d", j.Name, n, j.Msb+1)
			}
		}
	}
	if s := sigs[p.Sum]; s == nil || s.width != p.SumWidth {
		failf("sum %s is not a %d-bit signal", p.Sum, p.SumWidth)
	}
	if fail != nil {
		t.Fatalf("%s: %v", p.Module, fail)
	}
	return sigs[p.Sum].v
}

func TestPlanArithmeticExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, k := range []int{1, 2, 3, 5, 6, 7, 9, 16, 25, 27, 33, 64, 150, 406, 1000, 3073, 4096} {
		for _, w := range []int{2, 3, 4, 8, 12, 16} {
			for _, c := range []PEConfig{
				{Lanes: k, Width: w, Pipeline: 2},
				{Lanes: k, Width: w, Signed: true, Pipeline: 2},
				{Lanes: k, Width: w, Pipeline: PipelineAuto, Family: FamilyICE40},
				{Lanes: k, Width: w, Signed: true, Pipeline: PipelineAuto, Family: FamilyICE40},
			} {
				signed := c.Signed
				p, err := PlanPE(c)
				if err != nil {
					t.Fatal(err)
				}
				lo, hi := int64(0), int64(1)<<w-1
				if signed {
					lo, hi = -(1 << (w - 1)), 1<<(w-1)-1
				}
				var xs, ws [][]int64
				var want []uint64
				for trial := 0; trial < 20; trial++ {
					x, wv := make([]int64, k), make([]int64, k)
					var sum uint64
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
						sum += uint64(max(d, -d))
					}
					xs, ws, want = append(xs, x), append(ws, wv), append(want, sum)
				}
				got := evalPE(t, p, xs, ws)
				for trial := range want {
					if got[trial] != want[trial] {
						t.Fatalf("%+v trial %d: tree gives %d, want %d", c, trial, got[trial], want[trial])
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
		{PEConfig{Lanes: 4, Width: 8, Family: "ecp5"}, `family "ecp5" unknown: want generic, xilinx or ice40`},
		{PEConfig{Lanes: 4, Width: 8, Family: "ICE40"}, `family "ICE40" unknown`},
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
	var fe *FieldError
	if err := (PEConfig{Lanes: 4, Width: 8, Family: "ecp5"}).Validate(); !errors.As(err, &fe) || fe.Field != "family" {
		t.Errorf("bad family: error %v does not name the family field", err)
	}
	for _, c := range []PEConfig{{Lanes: 1, Width: 2}, {Lanes: 4096, Width: 16, Pipeline: 64, Name: "Pe_1"},
		{Lanes: 3, Width: 4, Family: FamilyGeneric}, {Lanes: 3, Width: 4, Family: FamilyXilinx}, {Lanes: 3, Width: 4, Family: FamilyICE40}} {
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

// speedConfigs are iCE40 speed-schedule PEs linted like the goldens: one,
// two and three pieces per split adder, unpaired items, both signs.
var speedConfigs = []PEConfig{
	{Name: "pe_k1_w2_u_ice40", Lanes: 1, Width: 2},
	{Name: "pe_k3_w4_s_ice40", Lanes: 3, Width: 4, Signed: true},
	{Name: "pe_k9_w8_u_ice40", Lanes: 9, Width: 8},
	{Name: "pe_k27_w12_s_ice40", Lanes: 27, Width: 12, Signed: true},
	{Name: "pe_k64_w16_u_ice40", Lanes: 64, Width: 16},
}

// TestSpeedScheduleLint lints speed-schedule PEs: Verilator -Wall, Icarus
// -g2005, and yosys synth with check -assert (no latches, no driver
// conflicts). Their arithmetic is proven by TestPlanArithmeticExact and,
// in both simulators, by the testbench package's ice40 sweep.
func TestSpeedScheduleLint(t *testing.T) {
	testutil.RequireTools(t, "verilator", "iverilog", "yosys")
	dir := t.TempDir()
	for _, c := range speedConfigs {
		c.Pipeline, c.Family = PipelineAuto, FamilyICE40
		files, p, err := EmitPE(c)
		if err != nil {
			t.Fatal(err)
		}
		v := string(files[c.Name+".v"])
		for _, s := range []string{"Register schedule (ice40, --pipeline auto: for speed)", fmt.Sprintf("latency = %d cycle(s)", p.Latency),
			fmt.Sprintf("valid_o is high exactly %d cycle(s) after valid_i", p.Latency), "Register stage 1 (after the subtractors)"} {
			if !strings.Contains(v, s) {
				t.Errorf("%s.v lacks %q", c.Name, s)
			}
		}
		var m map[string]any
		if err := json.Unmarshal(files[c.Name+".json"], &m); err != nil {
			t.Fatal(err)
		}
		if m["latency"] != float64(p.Latency) || m["schedule"] != FamilyICE40 || m["sum_width"] != float64(p.SumWidth) {
			t.Errorf("%s.json = %v", c.Name, m)
		}
		path := filepath.Join(dir, c.Name+".v")
		if err := os.WriteFile(path, files[c.Name+".v"], 0o644); err != nil {
			t.Fatal(err)
		}
		lint(t, path, c.Name)
	}
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
