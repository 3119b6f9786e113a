package rtl

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/addergen/addergen/fixedpoint"
	"github.com/addergen/addergen/internal/testutil"
)

func TestMACSum(t *testing.T) {
	tests := []struct {
		x, w []int32
		want int64
	}{
		{[]int32{0}, []int32{0}, 0},
		{[]int32{255, 255}, []int32{255, 255}, 2 * 255 * 255},
		{[]int32{-128, -128}, []int32{-128, 127}, 128*128 - 128*127},
		{[]int32{-32768}, []int32{-32768}, 1 << 30},
		{[]int32{3, -4, 5}, []int32{-2, -2, 2}, -6 + 8 + 10},
	}
	for _, tt := range tests {
		if got := MACSum(tt.x, tt.w); got != tt.want {
			t.Errorf("MACSum(%v, %v) = %d, want %d", tt.x, tt.w, got, tt.want)
		}
	}
}

func TestMACRange(t *testing.T) {
	tests := []struct {
		k, w   int
		signed bool
		lo, hi int64
		width  int
	}{
		{1, 2, false, 0, 9, 4},
		{1, 2, true, -2, 4, 4},
		{16, 8, false, 0, 16 * 255 * 255, 20},
		{9, 8, true, -9 * 128 * 127, 9 * 128 * 128, 19},
		{4096, 16, true, -4096 * 32768 * 32767, 4096 << 30, 44},
		{4096, 16, false, 0, 4096 * 65535 * 65535, 44},
	}
	for _, tt := range tests {
		lo, hi := MACRange(tt.k, tt.w, tt.signed)
		if lo != tt.lo || hi != tt.hi {
			t.Errorf("MACRange(%d, %d, %v) = %d..%d, want %d..%d", tt.k, tt.w, tt.signed, lo, hi, tt.lo, tt.hi)
		}
		m, err := PlanMAC(PEConfig{Lanes: tt.k, Width: tt.w, Signed: tt.signed, Pipeline: 0})
		if err != nil {
			t.Fatal(err)
		}
		if m.SumWidth != tt.width {
			t.Errorf("K=%d W=%d signed=%v: sum width %d, want %d", tt.k, tt.w, tt.signed, m.SumWidth, tt.width)
		}
	}
}

func TestPlanMACShape(t *testing.T) {
	for _, k := range []int{1, 2, 3, 5, 9, 16, 17, 64, 100, 4096} {
		for _, w := range []int{MinWidth, 4, 8, MaxWidth} {
			for _, pl := range []int{0, 1, 2, 5, PipelineAuto} {
				for _, signed := range []bool{false, true} {
					m, err := PlanMAC(PEConfig{Lanes: k, Width: w, Signed: signed, Pipeline: pl})
					if err != nil {
						t.Fatal(err)
					}
					want := pl
					if pl == PipelineAuto {
						want = max(1, macCeilLog2(k))
					}
					if m.Module != MACDefaultName || m.Latency != want || len(m.ValidRegs) != want {
						t.Fatalf("K=%d W=%d p=%d: module %s latency %d valid regs %d, want %d", k, w, pl, m.Module, m.Latency, len(m.ValidRegs), want)
					}
					if m.Levels != macCeilLog2(k) || m.Adders != k-1 || len(m.Products) != k {
						t.Fatalf("K=%d: levels %d adders %d products %d", k, m.Levels, m.Adders, len(m.Products))
					}
					stages, adders := 0, 0
					for _, st := range m.Steps {
						if st.Regs != nil {
							stages++
						}
						adders += len(st.Nodes)
					}
					if stages != want || adders != k-1 {
						t.Fatalf("K=%d p=%d: %d register stages and %d adders, want %d and %d", k, pl, stages, adders, want, k-1)
					}
				}
			}
		}
	}
	if _, err := PlanMAC(PEConfig{Lanes: 0, Width: 8}); err == nil {
		t.Error("PlanMAC accepted 0 lanes")
	}
	if _, err := PlanMAC(PEConfig{Lanes: 4, Width: 8, Name: "module"}); err == nil {
		t.Error("PlanMAC accepted a keyword as module name")
	}
}

func macCeilLog2(n int) int {
	l := 0
	for 1<<l < n {
		l++
	}
	return l
}

func TestRegPositions(t *testing.T) {
	tests := []struct {
		levels, stages int
		want           []int
	}{
		{0, 0, []int{0}},
		{0, 1, []int{1}},
		{0, 3, []int{3}},
		{4, 4, []int{0, 1, 1, 1, 1}},
		{4, 1, []int{0, 0, 0, 0, 1}},
		{4, 5, []int{1, 1, 1, 1, 1}},
		{3, 2, []int{0, 1, 0, 1}},
	}
	for _, tt := range tests {
		got := RegPositions(tt.levels, tt.stages)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("RegPositions(%d, %d) = %v, want %v", tt.levels, tt.stages, got, tt.want)
		}
	}
}

// evalMAC evaluates the planned tree in Go with each node truncated to its
// declared width (as the Verilog does), so that a node sized too narrow
// shows up as a wrong sum.
func evalMAC(m *MAC, x, w []int32) int64 {
	val := map[string]int64{}
	wid := map[string]int{}
	for _, p := range m.Products {
		val[p.Name] = fixedpoint.WrapTo(int64(x[p.Lane])*int64(w[p.Lane]), 2*m.Width, m.Signed)
		wid[p.Name] = 2 * m.Width
	}
	for _, st := range m.Steps {
		for _, r := range st.Regs {
			val[r.Dst], wid[r.Dst] = val[r.Src], r.Width
		}
		for _, n := range st.Nodes {
			a, b := val[n.A.Name], val[n.B.Name]
			if wid[n.A.Name]+n.A.Pad != n.Msb+1 || wid[n.B.Name]+n.B.Pad != n.Msb+1 {
				panic("operand widths do not match the node")
			}
			val[n.Name] = fixedpoint.WrapTo(a+b, n.Msb+1, m.Signed)
			wid[n.Name] = n.Msb + 1
		}
	}
	return val[m.Sum]
}

func TestPlanMACArithmeticExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, k := range []int{1, 2, 3, 7, 9, 16, 33} {
		for _, w := range []int{2, 3, 8, 16} {
			for _, signed := range []bool{false, true} {
				m, err := PlanMAC(PEConfig{Lanes: k, Width: w, Signed: signed, Pipeline: PipelineAuto})
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range macVectors(rng, k, w, signed, 50) {
					want := MACSum(v[0], v[1])
					if want < m.SumLo || want > m.SumHi {
						t.Fatalf("K=%d W=%d: sum %d outside %d..%d", k, w, want, m.SumLo, m.SumHi)
					}
					if got := evalMAC(m, v[0], v[1]); got != want {
						t.Fatalf("K=%d W=%d signed=%v x=%v w=%v: tree gives %d, want %d", k, w, signed, v[0], v[1], got, want)
					}
				}
			}
		}
	}
}

// macVectors returns the extreme vectors (every corner of the product
// range) followed by n random ones.
func macVectors(rng *rand.Rand, k, w int, signed bool, n int) [][2][]int32 {
	lo, hi := int32(0), int32(1)<<w-1
	if signed {
		lo, hi = -(1 << (w - 1)), 1<<(w-1)-1
	}
	fill := func(f func(int) int32) []int32 {
		v := make([]int32, k)
		for i := range v {
			v[i] = f(i)
		}
		return v
	}
	c := func(v int32) func(int) int32 { return func(int) int32 { return v } }
	r := func(int) int32 { return lo + int32(rng.Int64N(int64(hi)-int64(lo)+1)) }
	out := [][2][]int32{
		{fill(c(lo)), fill(c(lo))}, {fill(c(hi)), fill(c(hi))},
		{fill(c(lo)), fill(c(hi))}, {fill(c(hi)), fill(c(lo))},
		{fill(c(0)), fill(c(hi))}, {fill(c(lo)), fill(c(0))},
		{fill(c(lo + 1)), fill(c(lo))}, {fill(c(hi)), fill(c(hi - 1))},
	}
	for i := 0; i < n; i++ {
		out = append(out, [2][]int32{fill(r), fill(r)})
	}
	return out
}

func TestEmitMACAndWrapLint(t *testing.T) {
	testutil.RequireTools(t, "verilator", "iverilog", "yosys")
	dir := t.TempDir()
	for _, c := range []PEConfig{
		{Name: "mac_k1_w2_u_p0", Lanes: 1, Width: 2, Pipeline: 0},
		{Name: "mac_k5_w4_s_auto", Lanes: 5, Width: 4, Signed: true, Pipeline: PipelineAuto},
		{Name: "mac_k16_w8_u_auto", Lanes: 16, Width: 8, Pipeline: PipelineAuto},
		{Name: "mac_k3_w16_s_p7", Lanes: 3, Width: 16, Signed: true, Pipeline: 7},
	} {
		files, m, err := EmitMAC(c)
		if err != nil {
			t.Fatal(err)
		}
		wf, _, err := EmitWrap(WrapConfig{Module: "top_" + m.Module, PE: m.Module, LaneBits: m.LaneBits, SumWidth: m.SumWidth})
		if err != nil {
			t.Fatal(err)
		}
		for n, b := range wf {
			files[n] = b
		}
		checkGeneratedText(t, files)
		if err := writeAll(dir, files); err != nil {
			t.Fatal(err)
		}
		pe := filepath.Join(dir, m.Module+".v")
		top := filepath.Join(dir, "top_"+m.Module+".v")
		macRun(t, "verilator", "--lint-only", "-Wall", "--top-module", m.Module, pe)
		macRun(t, "verilator", "--lint-only", "-Wall", "--top-module", "top_"+m.Module, pe, top)
		macRun(t, "iverilog", "-g2005", "-o", os.DevNull, pe, top)
		macRun(t, "yosys", "-q", "-p", fmt.Sprintf("read_verilog %s %s; hierarchy -check -top top_%s; proc; check -assert; select -assert-none t:$dlatch t:$adlatch t:$dlatchsr; synth -top top_%s; check -assert", pe, top, m.Module, m.Module))
	}
}

// checkGeneratedText checks the conventions every generated file follows.
func checkGeneratedText(t *testing.T, files map[string][]byte) {
	t.Helper()
	for n, b := range files {
		if !strings.HasSuffix(n, ".v") {
			continue
		}
		s := string(b)
		if !strings.HasPrefix(s, "// Code generated by addergen. DO NOT EDIT.\n") {
			t.Errorf("%s does not start with the generated-code line", n)
		}
		for _, d := range []string{"`resetall\n`timescale 1ns / 1ps\n`default_nettype none\n"} {
			if !strings.Contains(s, d) {
				t.Errorf("%s lacks the directive preamble", n)
			}
		}
		if !strings.HasSuffix(s, "endmodule\n\n`resetall\n") {
			t.Errorf("%s does not end with `resetall", n)
		}
		if strings.Contains(s, "<no value>") {
			t.Errorf("%s holds <no value>", n)
		}
	}
}

func writeAll(dir string, files map[string][]byte) error {
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func macRun(t *testing.T, argv ...string) string {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	if argv[0] == "verilator" && strings.Contains(string(out), "%Warning") {
		t.Fatalf("%s warns:\n%s", strings.Join(argv, " "), out)
	}
	return string(out)
}

// MACBench is the view model of templates/tb_mac_pe.v.tmpl.
type MACBench struct {
	Top, Module                string
	Cycles                     int
	LaneBits, LaneMsb          int
	SumWidth, SumMsb           int
	ExpMsb, CheckBit, ValidBit int
	XFile, WFile, CFile, EFile string
}

type macCycle struct {
	rst, valid bool
	x, w       []int32
}

// macStimulus is two reset cycles, the vectors with random idle gaps (with
// random data that must be ignored), a reset pulse mid-stream together with
// a valid input, and idle cycles to drain the pipeline.
func macStimulus(rng *rand.Rand, vecs [][2][]int32, latency int) []macCycle {
	k := len(vecs[0][0])
	junk := func() []int32 {
		v := make([]int32, k)
		for i := range v {
			v[i] = int32(rng.Uint32())
		}
		return v
	}
	in := []macCycle{{rst: true, x: junk(), w: junk()}, {rst: true, x: junk(), w: junk()}}
	resetAt := len(vecs) / 2
	for i, v := range vecs {
		for rng.IntN(4) == 0 {
			in = append(in, macCycle{x: junk(), w: junk()})
		}
		in = append(in, macCycle{rst: i == resetAt, valid: true, x: v[0], w: v[1]})
	}
	for i := 0; i <= latency+1; i++ {
		in = append(in, macCycle{x: junk(), w: junk()})
	}
	return in
}

// macExpected is the cycle model: outputs are the inputs delayed by the
// latency; the valid pipeline is unknown (not checked) until the first
// reset, and a reset clears every stage's valid after the shift.
func macExpected(in []macCycle, latency, sumWidth int) (check, valid []bool, sum []int64) {
	type st struct {
		known, valid bool
		sum          int64
	}
	pipe := make([]st, latency)
	for _, c := range in {
		cur := st{known: true, valid: c.valid}
		if c.valid {
			cur.sum = MACSum(c.x, c.w)
		}
		out := cur
		if latency > 0 {
			out = pipe[latency-1]
			copy(pipe[1:], pipe[:latency-1])
			pipe[0] = cur
			if c.rst {
				for i := range pipe {
					pipe[i] = st{known: true}
				}
			}
		}
		check = append(check, out.known)
		valid = append(valid, out.valid)
		sum = append(sum, out.sum)
	}
	return
}

func packMAC(v []int32, w int) string {
	var b strings.Builder
	bits := make([]byte, len(v)*w)
	for k, x := range v {
		for i := 0; i < w; i++ {
			bits[k*w+i] = byte(uint32(x) >> i & 1)
		}
	}
	for hi := (len(bits)+3)/4*4 - 4; hi >= 0; hi -= 4 {
		n := 0
		for i := 3; i >= 0; i-- {
			n <<= 1
			if hi+i < len(bits) {
				n |= int(bits[hi+i])
			}
		}
		b.WriteByte("0123456789abcdef"[n])
	}
	return b.String()
}

var macDoneRe = regexp.MustCompile(`(?m)^DONE (\S+) cycles=(\d+) mismatches=(\d+)$`)

// TestMACIcarus proves the MAC PE bit-exact against MACSum in Icarus on
// random and extreme vectors, for both signednesses, several shapes and
// register placements.
func TestMACIcarus(t *testing.T) {
	testutil.RequireTools(t, "iverilog", "vvp")
	vectors := 300
	if testing.Short() {
		vectors = 40
	}
	cases := []PEConfig{
		{Name: "mac_k1_w2_u_p0", Lanes: 1, Width: 2, Pipeline: 0},
		{Name: "mac_k1_w8_s_auto", Lanes: 1, Width: 8, Signed: true, Pipeline: PipelineAuto},
		{Name: "mac_k3_w4_s_p1", Lanes: 3, Width: 4, Signed: true, Pipeline: 1},
		{Name: "mac_k9_w8_u_auto", Lanes: 9, Width: 8, Pipeline: PipelineAuto},
		{Name: "mac_k9_w8_s_auto", Lanes: 9, Width: 8, Signed: true, Pipeline: PipelineAuto},
		{Name: "mac_k16_w4_u_p6", Lanes: 16, Width: 4, Pipeline: 6},
		{Name: "mac_k25_w16_s_p3", Lanes: 25, Width: 16, Signed: true, Pipeline: 3},
		{Name: "mac_k64_w8_s_auto", Lanes: 64, Width: 8, Signed: true, Pipeline: PipelineAuto},
	}
	for i, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(i)+1, 99))
			files, m, err := EmitMAC(c)
			if err != nil {
				t.Fatal(err)
			}
			in := macStimulus(rng, macVectors(rng, c.Lanes, c.Width, c.Signed, vectors), m.Latency)
			check, valid, sum := macExpected(in, m.Latency, m.SumWidth)
			b := MACBench{
				Top: "tb_" + m.Module, Module: m.Module, Cycles: len(in),
				LaneBits: m.LaneBits, LaneMsb: m.LaneMsb, SumWidth: m.SumWidth, SumMsb: m.SumMsb,
				ExpMsb: m.SumWidth + 1, CheckBit: m.SumWidth + 1, ValidBit: m.SumWidth,
				XFile: "x.hex", WFile: "w.hex", CFile: "c.hex", EFile: "e.hex",
			}
			var xs, ws, cs, es strings.Builder
			nValid := 0
			for j, cy := range in {
				fmt.Fprintln(&xs, packMAC(cy.x, c.Width))
				fmt.Fprintln(&ws, packMAC(cy.w, c.Width))
				ctl := 0
				if cy.rst {
					ctl |= 2
				}
				if cy.valid {
					ctl |= 1
					nValid++
				}
				fmt.Fprintf(&cs, "%x\n", ctl)
				var e uint64
				if check[j] {
					e |= 1 << (m.SumWidth + 1)
				}
				if valid[j] {
					e |= 1<<m.SumWidth | uint64(sum[j])&(1<<m.SumWidth-1)
				}
				fmt.Fprintf(&es, "%x\n", e)
			}
			tb, err := Render("tb_mac_pe.v.tmpl", b)
			if err != nil {
				t.Fatal(err)
			}
			files[b.Top+".v"] = tb
			files[b.XFile] = []byte(xs.String())
			files[b.WFile] = []byte(ws.String())
			files[b.CFile] = []byte(cs.String())
			files[b.EFile] = []byte(es.String())
			checkGeneratedText(t, files)
			dir := t.TempDir()
			if err := writeAll(dir, files); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("iverilog", "-g2005", "-o", "sim.vvp", "-s", b.Top, m.Module+".v", b.Top+".v")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("iverilog: %v\n%s", err, out)
			}
			cmd = exec.Command("vvp", "-n", "sim.vvp")
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("vvp: %v\n%s", err, out)
			}
			d := macDoneRe.FindStringSubmatch(string(out))
			if d == nil || d[2] != fmt.Sprint(len(in)) {
				t.Fatalf("no complete run:\n%s", out)
			}
			if d[3] != "0" {
				t.Fatalf("%s mismatches:\n%s", d[3], out)
			}
			t.Logf("%s: %d valid vectors bit-exact in Icarus", m.Module, nValid)
		})
	}
}

// TestMACIcarusCatchesErrors proves the bench fails: a corrupted
// expectation must be reported as a mismatch.
func TestMACBenchDetectsMismatch(t *testing.T) {
	testutil.RequireTools(t, "iverilog", "vvp")
	files, m, err := EmitMAC(PEConfig{Lanes: 2, Width: 4, Signed: true, Pipeline: 1})
	if err != nil {
		t.Fatal(err)
	}
	x, w := []int32{-8, 7}, []int32{-8, -8}
	in := []macCycle{{rst: true, x: x, w: w}, {valid: true, x: x, w: w}, {x: x, w: w}, {x: x, w: w}}
	check, valid, sum := macExpected(in, m.Latency, m.SumWidth)
	if !valid[2] || sum[2] != 64-56 {
		t.Fatalf("model: valid %v sum %v", valid, sum)
	}
	sum[2]++ // the corruption
	b := MACBench{Top: "tb_bad", Module: m.Module, Cycles: len(in), LaneBits: m.LaneBits, LaneMsb: m.LaneMsb,
		SumWidth: m.SumWidth, SumMsb: m.SumMsb, ExpMsb: m.SumWidth + 1, CheckBit: m.SumWidth + 1, ValidBit: m.SumWidth,
		XFile: "x.hex", WFile: "w.hex", CFile: "c.hex", EFile: "e.hex"}
	var xs, ws, cs, es strings.Builder
	for j, cy := range in {
		fmt.Fprintln(&xs, packMAC(cy.x, 4))
		fmt.Fprintln(&ws, packMAC(cy.w, 4))
		ctl := 0
		if cy.rst {
			ctl |= 2
		}
		if cy.valid {
			ctl |= 1
		}
		fmt.Fprintf(&cs, "%x\n", ctl)
		var e uint64
		if check[j] {
			e |= 1 << (m.SumWidth + 1)
		}
		if valid[j] {
			e |= 1<<m.SumWidth | uint64(sum[j])&(1<<m.SumWidth-1)
		}
		fmt.Fprintf(&es, "%x\n", e)
	}
	tb, err := Render("tb_mac_pe.v.tmpl", b)
	if err != nil {
		t.Fatal(err)
	}
	files["tb_bad.v"], files["x.hex"], files["w.hex"], files["c.hex"], files["e.hex"] =
		tb, []byte(xs.String()), []byte(ws.String()), []byte(cs.String()), []byte(es.String())
	dir := t.TempDir()
	if err := writeAll(dir, files); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", "iverilog -g2005 -o sim.vvp -s tb_bad mac_pe.v tb_bad.v && vvp -n sim.vvp")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "MISMATCH mac_pe cycle=2 valid=1 sum=008") || !strings.Contains(string(out), "mismatches=1") {
		t.Fatalf("corrupted expectation not caught:\n%s", out)
	}
}

func TestPackMAC(t *testing.T) {
	tests := []struct {
		v    []int32
		w    int
		want string
	}{
		{[]int32{1, 2}, 4, "21"},
		{[]int32{-1, 0}, 4, "0f"},
		{[]int32{-8, 7}, 4, "78"},
		{[]int32{3}, 2, "3"},
		{[]int32{1, 1, 1}, 2, "15"},
		{[]int32{-1, 1}, 3, "0f"},
	}
	for _, tt := range tests {
		if got := packMAC(tt.v, tt.w); got != tt.want {
			t.Errorf("packMAC(%v, %d) = %q, want %q", tt.v, tt.w, got, tt.want)
		}
	}
}
