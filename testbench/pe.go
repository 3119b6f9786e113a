package testbench

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/sim"
)

// PECase is one processing element under test with its stimulus settings.
type PECase struct {
	Config  rtl.PEConfig
	Vectors int // random vectors after the edge cases
	Seed    uint64
}

// peCase is a planned, simulated case: the PE, its stimulus and the model's
// expected outputs, cycle by cycle.
type peCase struct {
	PE       *rtl.PE
	Inputs   []sim.PEIn
	Expected []sim.PEOut
	Vectors  int // valid inputs presented
	Outputs  int // valid outputs expected (and so compared)
}

// PESuite is a set of PEs simulated together in one testbench.
type PESuite struct {
	cases []*peCase
}

// EdgeVectors returns the named edge-case vectors for a PE: all lanes min,
// all lanes max, x = min with w = max and the reverse, alternating, zeros.
func EdgeVectors(c sim.PEConfig) [][2][]int32 {
	lo, hi := c.Range()
	fill := func(f func(k int) int32) []int32 {
		v := make([]int32, c.Lanes)
		for k := range v {
			v[k] = f(k)
		}
		return v
	}
	konst := func(v int32) func(int) int32 { return func(int) int32 { return v } }
	alt := func(a, b int32) func(int) int32 {
		return func(k int) int32 {
			if k%2 == 0 {
				return a
			}
			return b
		}
	}
	var zero int32
	mid := int32(0x55555555) & (1<<c.Width - 1) // 0101... pattern
	if c.Signed {
		mid = int32(uint32(mid)<<(32-c.Width)) >> (32 - c.Width)
	}
	mid2 := ^mid
	if !c.Signed {
		mid2 &= 1<<c.Width - 1
	}
	return [][2][]int32{
		{fill(konst(lo)), fill(konst(lo))},
		{fill(konst(hi)), fill(konst(hi))},
		{fill(konst(lo)), fill(konst(hi))},
		{fill(konst(hi)), fill(konst(lo))},
		{fill(alt(lo, hi)), fill(alt(hi, lo))},
		{fill(alt(hi, lo)), fill(alt(lo, hi))},
		{fill(konst(mid)), fill(konst(mid2))},
		{fill(konst(zero)), fill(konst(zero))},
		{fill(konst(zero)), fill(konst(hi))},
		{fill(konst(lo)), fill(konst(zero))},
		{fill(konst(lo + 1)), fill(konst(lo))},
		{fill(konst(hi - 1)), fill(konst(hi))},
	}
}

// Stimulus builds the cycle-by-cycle inputs for a PE: two reset cycles,
// the edge vectors, then n random vectors, with random idle gaps (carrying
// random data that must be ignored), one reset pulse in mid-stream, and
// enough idle cycles at the end to drain the pipeline.
func Stimulus(c sim.PEConfig, n int, seed uint64) []sim.PEIn {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	lo, hi := c.Range()
	randLanes := func() []int32 {
		v := make([]int32, c.Lanes)
		for k := range v {
			v[k] = lo + int32(rng.Int64N(int64(hi)-int64(lo)+1))
		}
		return v
	}
	var in []sim.PEIn
	idle := func(rst bool) {
		in = append(in, sim.PEIn{Rst: rst, X: randLanes(), W: randLanes()})
	}
	idle(true)
	idle(true)
	vecs := EdgeVectors(c)
	for i := 0; i < n; i++ {
		vecs = append(vecs, [2][]int32{randLanes(), randLanes()})
	}
	resetAt := -1
	if len(vecs) > 8 {
		resetAt = len(vecs)/2 + rng.IntN(len(vecs)/4+1)
	}
	for i, v := range vecs {
		for rng.IntN(4) == 0 { // idle gaps: a quarter of slots, bursts possible
			idle(false)
		}
		// A reset pulse mid-stream, asserted together with a valid input
		// (which must be dropped) and followed by the pipeline refilling.
		in = append(in, sim.PEIn{Rst: i == resetAt, Valid: true, X: v[0], W: v[1]})
	}
	for i := 0; i <= c.Latency+1; i++ {
		idle(false)
	}
	return in
}

// Expected runs the cycle-true model over the stimulus.
func Expected(c sim.PEConfig, in []sim.PEIn) []sim.PEOut {
	pe := sim.NewPE(c)
	out := make([]sim.PEOut, len(in))
	for i, x := range in {
		out[i] = pe.Step(x)
	}
	return out
}

// SimConfig converts a planned PE to the simulator's view of it.
func SimConfig(p *rtl.PE) sim.PEConfig {
	return sim.PEConfig{Lanes: p.Lanes, Width: p.Width, Signed: p.Signed, Latency: p.Latency}
}

// NewPESuite plans every case, generates its stimulus and runs the model.
// Module names must be distinct.
func NewPESuite(cases []PECase) (*PESuite, error) {
	s := &PESuite{}
	seen := map[string]bool{}
	for _, c := range cases {
		p, err := rtl.PlanPE(c.Config)
		if err != nil {
			return nil, err
		}
		if seen[p.Module] {
			return nil, fmt.Errorf("testbench: duplicate PE module name %q", p.Module)
		}
		if p.Module == TopModule || strings.HasPrefix(p.Module, "tb_case_") {
			return nil, fmt.Errorf("testbench: PE module name %q is reserved for the testbench", p.Module)
		}
		seen[p.Module] = true
		sc := SimConfig(p)
		in := Stimulus(sc, c.Vectors, c.Seed)
		pc := &peCase{PE: p, Inputs: in, Expected: Expected(sc, in)}
		for _, x := range in {
			if x.Valid {
				pc.Vectors++
			}
		}
		for _, o := range pc.Expected {
			if o.Valid == sim.High {
				pc.Outputs++
			}
		}
		s.cases = append(s.cases, pc)
	}
	return s, nil
}

// Vectors is the number of valid inputs over all cases.
func (s *PESuite) Vectors() int {
	n := 0
	for _, c := range s.cases {
		n += c.Vectors
	}
	return n
}

type peBenchCase struct {
	Bench                      string
	Module                     string
	Cycles                     int
	LaneBits, LaneMsb, SumMsb  int
	ExpMsb, CheckBit, ValidBit int
	XFile, WFile, CFile, EFile string
}

type peBench struct {
	Top       string
	Cases     []peBenchCase
	DoneMsb   int
	TimeoutNS int
}

// TopModule is the name of the generated testbench top.
const TopModule = "addergen_tb_top"

// Files renders the suite: every PE's Verilog, the testbench and the hex
// vector files, keyed by file name. It writes nothing.
func (s *PESuite) Files() (map[string][]byte, error) {
	files := map[string][]byte{}
	b := peBench{Top: TopModule, DoneMsb: len(s.cases) - 1}
	maxCycles := 0
	for i, c := range s.cases {
		p := c.PE
		v, err := p.Verilog()
		if err != nil {
			return nil, err
		}
		files[p.Module+".v"] = v
		bc := peBenchCase{
			Bench:    fmt.Sprintf("tb_case_%d", i),
			Module:   p.Module,
			Cycles:   len(c.Inputs),
			LaneBits: p.Lanes * p.Width,
			LaneMsb:  p.Lanes*p.Width - 1,
			SumMsb:   p.SumWidth - 1,
			ExpMsb:   p.SumWidth + 1,
			CheckBit: p.SumWidth + 1,
			ValidBit: p.SumWidth,
			XFile:    p.Module + "_x.hex",
			WFile:    p.Module + "_w.hex",
			CFile:    p.Module + "_c.hex",
			EFile:    p.Module + "_e.hex",
		}
		var xs, ws, cs, es strings.Builder
		for i, in := range c.Inputs {
			xs.WriteString(packLanes(in.X, p.Width))
			xs.WriteByte('\n')
			ws.WriteString(packLanes(in.W, p.Width))
			ws.WriteByte('\n')
			ctl := 0
			if in.Rst {
				ctl |= 2
			}
			if in.Valid {
				ctl |= 1
			}
			fmt.Fprintf(&cs, "%x\n", ctl)
			es.WriteString(expWord(c.Expected[i], p.SumWidth))
			es.WriteByte('\n')
		}
		files[bc.XFile] = []byte(xs.String())
		files[bc.WFile] = []byte(ws.String())
		files[bc.CFile] = []byte(cs.String())
		files[bc.EFile] = []byte(es.String())
		b.Cases = append(b.Cases, bc)
		maxCycles = max(maxCycles, len(c.Inputs))
	}
	b.TimeoutNS = maxCycles*10 + 1000
	tb, err := rtl.Render("tb_pe.v.tmpl", b)
	if err != nil {
		return nil, err
	}
	files[TopModule+".v"] = tb
	return files, nil
}

// Sources lists the Verilog files of the suite in compile order.
func (s *PESuite) Sources() []string {
	var src []string
	for _, c := range s.cases {
		src = append(src, c.PE.Module+".v")
	}
	return append(src, TopModule+".v")
}

// packLanes packs lane codes (two's complement for negative values) into
// one hex word, lane k at bits [k*w +: w].
func packLanes(v []int32, w int) string {
	bits := len(v) * w
	nib := make([]byte, (bits+3)/4)
	for k, x := range v {
		u := uint32(x) & (1<<w - 1)
		for b := 0; b < w; b++ {
			if u>>b&1 == 1 {
				pos := k*w + b
				nib[pos/4] |= 1 << (pos % 4)
			}
		}
	}
	out := make([]byte, len(nib))
	for i, n := range nib {
		out[len(nib)-1-i] = "0123456789abcdef"[n]
	}
	return string(out)
}

// expWord encodes one expected output: {check, valid, sum[S-1:0]}.
func expWord(o sim.PEOut, sumWidth int) string {
	check, valid := uint64(0), uint64(0)
	sum := uint64(0)
	if o.Valid != sim.X {
		check = 1
	}
	if o.Valid == sim.High {
		valid = 1
		sum = o.Sum
	}
	// sumWidth <= 29 for the PE limits, so the word fits in 64 bits.
	return fmt.Sprintf("%x", check<<(sumWidth+1)|valid<<sumWidth|sum)
}

// PEs returns the planned PEs of the suite, in order.
func (s *PESuite) PEs() []*rtl.PE {
	out := make([]*rtl.PE, len(s.cases))
	for i, c := range s.cases {
		out[i] = c.PE
	}
	return out
}
