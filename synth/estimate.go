package synth

import (
	"fmt"
	"math"
	"regexp"
	"slices"

	"github.com/addergen/addergen/rtl"
)

// Features are the structural quantities of a planned PE that its
// resources scale with.
type Features struct {
	LaneBits int  // K*W
	MultBits int  // K*W*W: the multipliers' partial-product bits (MAC)
	TreeBits int  // sum of the adder tree's node widths
	RegFFs   int  // flip-flops of the plan: datapath registers and the valid pipeline
	SRLFFs   int  // of those, flip-flops in pure delay chains of 3 or more stages
	SRLs     int  // shift-register LUTs (SRL16E/SRLC32E) replacing them on xilinx
	Speed    bool // L1 with the iCE40 speed schedule (rtl.FamilyICE40, --pipeline auto)
}

// srlMinLength is the shortest delay chain synth_xilinx maps to an SRL.
const srlMinLength = 3

// lutModel predicts LUTs as a weighted sum of three terms (plus the SRLs
// on xilinx): for L1, K*W (subtractors and leaves), the tree bits and a
// constant; for MAC, K*W*W, K*W and the tree bits.
type lutModel [3]float64

func (f Features) lutTerms(op Op) [3]float64 {
	if op == MAC {
		return [3]float64{float64(f.MultBits), float64(f.LaneBits), float64(f.TreeBits)}
	}
	return [3]float64{float64(f.LaneBits), float64(f.TreeBits), 1}
}

// lutModels were fitted by least squares to the recorded measurements in
// testdata/measurements.json (yosys 0.23; see RESULTS.md); `go test
// ./synth -run TestEstimate -fit` refits them.
var lutModels = map[Op]map[Target]lutModel{
	L1: {
		Xilinx: {1.9768, 0.5095, -5.1311},
		ICE40:  {2.2063, 0.8498, 4.8876},
	},
	MAC: {
		Xilinx: {2.8963, -7.5578, 1.6850},
		ICE40:  {3.0633, -6.0017, 1.8978},
	},
}

// speedLeafLUTs is what the iCE40 speed schedule adds per lane bit (K*W)
// to the L1 model: with a register after the leaves, yosys can no longer
// merge d ^ s into the first adders' LUTs. Fitted (relative least squares)
// to K = 9, 16, 64 x W = 4, 8 unsigned, yosys 0.23 (see RESULTS.md and
// speedMeasurements in estimate_test.go): within 1.2 % there.
var speedLeafLUTs = map[Target]float64{ICE40: 0.9649, Xilinx: 0.4818}

// PlanFeatures plans the PE and measures its structure.
func PlanFeatures(op Op, c rtl.PEConfig) (Features, error) {
	var f Features
	var regs [][]peRegView
	switch op {
	case L1:
		p, err := rtl.PlanPE(c)
		if err != nil {
			return f, err
		}
		f.LaneBits = p.Lanes * p.Width
		f.Speed = p.Schedule != ""
		for _, st := range slices.Concat(p.SubSteps, p.Steps) {
			for _, n := range st.Nodes {
				f.TreeBits += n.Width
			}
			for _, pc := range st.Pieces { // a split adder's pieces, carry outs included
				f.TreeBits += pc.Msb + 1
			}
			var rs []peRegView
			for _, r := range st.Regs {
				rs = append(rs, peRegView{r.Dst, r.Src, r.Width})
			}
			if len(rs) > 0 {
				regs = append(regs, rs)
			}
		}
		f.RegFFs = p.Latency
	case MAC:
		m, err := rtl.PlanMAC(c)
		if err != nil {
			return f, err
		}
		f.LaneBits = m.Lanes * m.Width
		f.MultBits = m.Lanes * m.Width * m.Width
		for _, st := range m.Steps {
			for _, n := range st.Nodes {
				f.TreeBits += n.Msb + 1
			}
			var rs []peRegView
			for _, r := range st.Regs {
				rs = append(rs, peRegView{r.Dst, r.Src, r.Width})
			}
			if len(rs) > 0 {
				regs = append(regs, rs)
			}
		}
		f.RegFFs = m.Latency
	default:
		return f, fmt.Errorf("synth: op %q unknown", op)
	}
	// The valid pipeline is one chain of Latency stages.
	if f.RegFFs >= srlMinLength {
		f.SRLFFs += f.RegFFs
		f.SRLs += (f.RegFFs + 31) / 32
	}
	for _, rs := range regs {
		for _, r := range rs {
			f.RegFFs += r.width
		}
	}
	ffs, srls := delayChains(regs)
	f.SRLFFs += ffs
	f.SRLs += srls
	return f, nil
}

type peRegView struct {
	dst, src string
	width    int
}

var regName = regexp.MustCompile(`_q\d+$`)

// delayChains finds registers that copy another register unchanged, stage
// after stage, and returns the flip-flops in chains of srlMinLength or more
// stages and the SRLs (one per bit per 32 stages) that replace them.
func delayChains(stages [][]peRegView) (ffs, srls int) {
	length := map[string]int{} // register -> stages in its chain so far
	width := map[string]int{}
	fedOn := map[string]bool{} // register copied by a later register
	for _, rs := range stages {
		for _, r := range rs {
			n := 1
			if regName.MatchString(r.src) {
				if l, ok := length[r.src]; ok {
					n = l + 1
					fedOn[r.src] = true
				}
			}
			length[r.dst], width[r.dst] = n, r.width
		}
	}
	for reg, n := range length {
		if !fedOn[reg] && n >= srlMinLength {
			ffs += n * width[reg]
			srls += (n + 31) / 32 * width[reg]
		}
	}
	return ffs, srls
}

// Estimate predicts a PE's LUTs and flip-flops without running the tools.
// Flip-flops are counted from the plan (on xilinx, delay chains of three or
// more stages become SRLs, counted as LUTs, as synth_xilinx maps them);
// LUTs come from a linear model in the leaf and tree bits fitted to
// measurements (plus a per-lane-bit term for the iCE40 speed schedule). It
// is meant to be within about 15% of yosys.
func Estimate(op Op, t Target, c rtl.PEConfig) (Counts, error) {
	if _, err := ParseTarget(string(t)); err != nil {
		return Counts{}, err
	}
	f, err := PlanFeatures(op, c)
	if err != nil {
		return Counts{}, err
	}
	m, x := lutModels[op][t], f.lutTerms(op)
	luts := m[0]*x[0] + m[1]*x[1] + m[2]*x[2]
	if op == L1 && f.Speed {
		luts += speedLeafLUTs[t] * float64(f.LaneBits)
	}
	ffs := f.RegFFs
	if t == Xilinx {
		luts += float64(f.SRLs)
		ffs -= f.SRLFFs
	}
	return Counts{LUTs: int(math.Round(max(luts, 1))), FFs: ffs}, nil
}
