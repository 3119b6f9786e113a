package rtl

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"github.com/addergen/addergen/fixedpoint"
	"github.com/addergen/addergen/quant"
)

// winLane is one window-position lane of an engine: at step S it reads
// kernel position (KI, KJ), or nothing at steps not listed.
type winLane struct {
	U     int
	Cases []winCase
}

// constPE is one PE's constant multiply as a sum of ConstN words (item K
// of Items): lane C's operand shifted left S, inverted when Neg (the +1s
// of the inversions gathered in one literal item), or a literal Lit.
type constPE struct {
	P     int
	Items []constItem
}

type constItem struct {
	K, C, S int
	Neg     bool
	Lit     string
}

// constSum lays out the digit terms of operand*v[c] summed over c (lane c
// of terms uses operand c), padded to n words of w bits by plan.
func constSum(p int, v []int64, w int) constPE {
	pe := constPE{P: p}
	nneg := 0
	for c, x := range v {
		for _, d := range CSD(x) {
			pe.Items = append(pe.Items, constItem{K: len(pe.Items), C: c, S: d.Shift, Neg: d.Neg})
			if d.Neg {
				nneg++
			}
		}
	}
	pe.Items = append(pe.Items, constItem{K: len(pe.Items), Lit: fmt.Sprintf("%d'd%d", w, nneg)})
	return pe
}

// constDot is one PE's dot product by constant weights, built from the
// weights' canonical signed digits grouped by shift: group G sums, at its
// own narrow width W, the operand of every digit with shift S (inverted
// for a -1 digit: ~x = -x-1) in a registered tree of N words and latency
// L; the final tree (ConstN words of AccW bits) adds each group's sum
// shifted left S, and the literal word LitK (sum over groups of the
// inversions' +1s, weighted 2^S), and zero words Pad up to ConstN.
//
// Summing equal shifts first keeps every addition but one per shift at
// about the operand's width instead of the accumulator's; measured on the
// LeNet demo's conv1 (6 PEs of 25 constant lanes, 8-bit codes, yosys 0.23
// synth_xilinx): see the README's network table.
type constDot struct {
	P      int
	Groups []constGroup
	LitK   int
	Lit    string
	Pad    []int
}

// constGroup is one shift's group of a constDot. The group sum enters its
// final word as Ext copies of its sign bit, its low Hi bits and S zero
// bits (Hi < W when the shift pushes its top bits past AccW: they are
// dropped, the final sum being exact modulo 2^AccW; Unused marks them).
type constGroup struct {
	G, S, W, N, L int
	R             int // adder levels per register stage (constGroupR)
	XPad          int // W - BIN: the operand's extension
	Terms         []constTerm
	Ext, Hi       int
	Unused        bool
}

// constGroupR is the adder levels per register stage of a constDot's
// group trees: their words are narrow (about the operand's width plus
// log2 of the group), so two carry chains make a path no longer than one
// accumulator-wide adder; registering every other level halves their
// flip-flops (LeNet demo conv1, yosys 0.23 synth_xilinx: see the README).
const constGroupR = 2

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// constTerm is one digit of a group: lane C's operand, inverted when Neg,
// as word K of the group's tree.
type constTerm struct {
	K, C int
	Neg  bool
}

// constDots plans the constant dot products of PEs with weights v[p][c]
// (lane c), operands of bin bits in the interval x, accumulated at accW
// bits. It returns the PEs, the final tree's words and the total latency
// (every group tree padded to the deepest with registers, sum_tree's L).
func constDots(v [][]int64, bin int, x fixedpoint.Interval, accW int) ([]constDot, int, int) {
	dots := make([]constDot, len(v))
	lg, nf := 0, 1
	for p, row := range v {
		byShift := map[int]*constGroup{}
		var shifts []int
		lit := uint64(0)
		for c, w := range row {
			for _, d := range CSD(w) {
				g := byShift[d.Shift]
				if g == nil {
					g = &constGroup{S: d.Shift}
					byShift[d.Shift] = g
					shifts = append(shifts, d.Shift)
				}
				g.Terms = append(g.Terms, constTerm{K: len(g.Terms), C: c, Neg: d.Neg})
				if d.Neg {
					lit += uint64(1) << d.Shift
				}
			}
		}
		slices.Sort(shifts)
		dot := constDot{P: p}
		for i, sh := range shifts {
			g := byShift[sh]
			g.G, g.N = i, len(g.Terms)
			var lo, hi int64
			for _, t := range g.Terms {
				if t.Neg {
					lo, hi = lo-x.Hi-1, hi-x.Lo-1
				} else {
					lo, hi = lo+x.Lo, hi+x.Hi
				}
			}
			g.W = max(fixedpoint.SignedWidth(min(lo, 0), max(hi, 0)), bin+1)
			g.XPad = g.W - bin
			g.Hi = min(g.W, accW-g.S)
			g.Ext = accW - g.S - g.Hi
			g.Unused = g.Hi < g.W
			g.R = constGroupR
			lg = max(lg, ceilDiv(treeLevels(g.N), g.R))
			dot.Groups = append(dot.Groups, *g)
		}
		dot.LitK = len(dot.Groups)
		dot.Lit = fmt.Sprintf("%d'd%d", accW, lit&(uint64(1)<<accW-1))
		nf = max(nf, dot.LitK+1)
		dots[p] = dot
	}
	for p := range dots {
		for i := range dots[p].Groups {
			dots[p].Groups[i].L = lg
		}
		for k := dots[p].LitK + 1; k < nf; k++ {
			dots[p].Pad = append(dots[p].Pad, k)
		}
	}
	return dots, nf, lg + treeLevels(nf)
}

// padConst pads every PE's items with zero words to the longest.
func padConst(pes []constPE, w int) int {
	n := 1
	for _, pe := range pes {
		n = max(n, len(pe.Items))
	}
	for i := range pes {
		for len(pes[i].Items) < n {
			pes[i].Items = append(pes[i].Items, constItem{K: len(pes[i].Items), Lit: fmt.Sprintf("%d'd0", w)})
		}
	}
	return n
}

// winCase: at position step S the lane reads kernel position (KI, KJ),
// whose row lies KO = (KI*WP) mod RingDepth ring addresses after row ihb.
type winCase struct{ S, KI, KJ, KO int }

// bankSel is one bank of a banked ring: at position step PS, with the
// window's corner slot in bank R, the bank is read at word (corner / NB +
// Off) mod BankDepth; Cases lists every (PS, R).
type bankSel struct {
	B     int
	Cases []bankCase
}

type bankCase struct{ PS, R, Off, Key int } // Key: {PS, R} as one number

// okCase: at output row (column) V, the window rows (columns) of the
// next one inside the map, K bits, MSB first (ki = K-1 first).
type okCase struct {
	V    int
	Bits string
}

// rotCase: at position step PS, lane u reads bank (R + Add + u) mod NB.
type rotCase struct{ PS, Add int }

// lutRAMDepth is the deepest ring read before its register (SliceEarly):
// a 32-deep memory is one RAM32M column on Xilinx 7-series.
const lutRAMDepth = 32

// XSrc returns the Verilog expression that stage A2 (A3 in a grouped
// engine, Engine.ViewStage) registers for window lane u: the lane's SIMD slice of its pixel (from the banked rotator, the
// early slice or the fold's case), or, at a padded or unused position,
// code 0 or the pad codes.
func (e *Engine) XSrc(u int) string {
	pad := fmt.Sprintf("%d'd0", e.SB)
	if e.PadWords != nil {
		pad = "pad_w"
	}
	src := fmt.Sprintf("xs_%d", u)
	switch {
	case e.Banked:
		src = fmt.Sprintf("rot_v%d[%d*%d +: %d]", e.RotLast, u, e.SB, e.SB)
	case e.CF == 1 || e.SliceEarly:
		src = fmt.Sprintf("x_b_q_%d", u)
	}
	return fmt.Sprintf("inb_b_q_%d ? %s : %s", u, src, pad)
}

// engineView is one view of a grouped adder engine's input codes: the
// lanes' codes rounded half up by Shift bits (Half is 2^(Shift−1), a
// BIN+1-bit literal) and saturated to OB bits (quant.ViewCode).
type engineView struct {
	Idx, Shift int
	Half       string
}

// rotStage is stage S of the banked ring's rotator: words move by Amt =
// 2^S when bit S of the rotation is set, from vector S to vector S+1.
type rotStage struct{ S, Amt, Next int }

// planEngine plans one layer's engine with par PEs of lanes lanes each
// (lanes 0: one window position per cycle). With exact, lanes must be a
// whole number of window positions; otherwise it is rounded down to one.
func planEngine(q *quant.Model, idx int, l *quant.Layer, par, lanes int, exact, macAdders bool, family string, runtime bool) (*Engine, error) {
	if l.Grouped() && macAdders {
		return nil, fmt.Errorf("group-wise scales (group_shift, operand_bits) have no multiplier baseline; quantize with --group-scales 1 to compare")
	}
	inAct := q.InAct(l, 0)
	ish := q.InShape(l, 0)
	e := &Engine{Module: "l" + fmt.Sprint(idx) + "_" + sanitize(l.Name), Layer: l.Name, Index: idx,
		BIN: inAct.Bits, InSigned: inAct.Signed, BOUT: l.Out.Bits, OutSigned: l.Out.Signed, Family: family, roms: map[string]string{}}
	switch len(ish) {
	case 3:
		e.CIN, e.H, e.W = ish[0], ish[1], ish[2]
	case 1:
		e.CIN, e.H, e.W = ish[0], 1, 1
	default:
		return nil, fmt.Errorf("input shape %v not supported", ish)
	}
	osh := l.OutShape
	e.COUT, e.OH, e.OW = osh[0], 1, 1
	if len(osh) == 3 {
		e.OH, e.OW = osh[1], osh[2]
	}
	e.K, e.S, e.PAD = max(1, l.Kernel), max(1, l.Stride), l.Padding
	switch l.Op {
	case quant.OpAdder2d:
		e.Kind, e.Reduce, e.Adder = kindAdder, true, true
		if macAdders { // the cost baseline: the same layer as a conv engine
			e.Kind, e.Adder, e.Conv = kindConv, false, true
		}
	case quant.OpConv2d, quant.OpLinear:
		e.Kind, e.Reduce, e.Conv = kindConv, true, true
		if l.Op == quant.OpLinear {
			e.K, e.S, e.PAD = 1, 1, 0
		}
	case quant.OpMaxPool2d:
		e.Kind, e.Max = kindMax, true
	case quant.OpAvgPool2d:
		e.Kind, e.Avg = kindAvg, true
	case quant.OpBatchNorm2d:
		e.Kind = kindScale
		e.K, e.S, e.PAD = 1, 1, 0
	case quant.OpReLU:
		e.Kind, e.ReLUOnly = kindReLU, true
		e.K, e.S, e.PAD = 1, 1, 0
	default:
		return nil, fmt.Errorf("op %s is not supported by the RTL generator yet", l.Op)
	}
	if e.PAD >= e.K {
		// The reader's first window would need no input row (K-PAD <= 0).
		return nil, fmt.Errorf("padding %d with kernel %d is not supported by the RTL generator (padding must be below the kernel)", e.PAD, e.K)
	}
	e.KK = e.K * e.K
	if e.Reduce {
		e.P = min(par, e.COUT)
		e.G = (e.COUT + e.P - 1) / e.P
	} else {
		if e.CIN != e.COUT {
			return nil, fmt.Errorf("elementwise op with %d in, %d out channels", e.CIN, e.COUT)
		}
		e.P, e.G = e.COUT, 1
	}
	e.InBits, e.InMsb = e.CIN*e.BIN, e.CIN*e.BIN-1
	e.OutBits, e.OutMsb = e.COUT*e.BOUT, e.COUT*e.BOUT-1

	// Folding: lanes below the input channels fold them (SIMD, the largest
	// divisor of CIN that fits); lanes above unroll window positions (U).
	e.U, e.SIMD = 1, e.CIN
	if e.Reduce && lanes > 0 {
		if exact && !ValidLanes(e.CIN, e.KK, lanes) {
			return nil, fmt.Errorf("lanes %d: must divide the %d input channels or be a multiple of them, at most %d (the whole %dx%d window)",
				lanes, e.CIN, e.KK*e.CIN, e.K, e.K)
		}
		if lanes < e.CIN {
			e.SIMD = largestDivisorAtMost(e.CIN, lanes)
		} else {
			e.U = min(e.KK, max(1, lanes/e.CIN))
		}
	}
	if !e.Reduce {
		// Pooling and elementwise engines: one window position a step, all
		// channels (one lane per channel).
		e.U, e.SIMD = 1, e.CIN
	}
	e.CF = e.CIN / e.SIMD
	e.TP = (e.KK + e.U - 1) / e.U
	e.T = e.TP * e.CF
	e.PSMax, e.CFMax = e.TP-1, e.CF-1
	e.PSW, e.CFW = widthFor(e.PSMax), widthFor(e.CFMax)
	e.CFCases = nil
	for cf := 0; cf < e.CF; cf++ {
		e.CFCases = append(e.CFCases, cf)
	}
	e.StepMax = e.T - 1
	e.StepW = widthFor(e.StepMax)
	e.LanesPE = e.U * e.SIMD
	e.SB, e.SBMsb = e.SIMD*e.BIN, e.SIMD*e.BIN-1
	e.XEffBits = e.U * e.SB
	e.XEMsb = e.XEffBits - 1
	// Group-wise scales: the PE operands are OB-bit views of the BIN-bit
	// input codes, one registered copy per distinct view shift; each PE
	// picks its channel's view (vrom).
	e.OB = e.BIN
	if e.Adder && l.Grouped() {
		e.Grouped = true
		e.OB = l.Operand(inAct, 0).Bits
		shifts := l.GroupShifts()
		idx := map[int]int64{}
		for i, k := range shifts {
			half := int64(0)
			if k > 0 {
				half = int64(1) << (k - 1)
			}
			e.Views = append(e.Views, engineView{Idx: i, Shift: k, Half: fmt.Sprintf("%d'd%d", e.BIN+1, half)})
			idx[k] = int64(i)
		}
		if len(shifts) > 1 {
			e.VW = widthFor(len(shifts) - 1)
			for o := range l.Channels() {
				e.ViewIdx = append(e.ViewIdx, idx[l.Shift(o)])
			}
		}
	}
	e.SBO, e.SBOMsb = e.SIMD*e.OB, e.SIMD*e.OB-1
	e.XOBits, e.XOMsb = e.U*e.SBO, e.U*e.SBO-1
	// Padded positions read the pad codes (a folded preprocessing's mean
	// pixel), per input-channel fold: the SIMD slice of the codes.
	if l.PadCode != nil && e.Reduce {
		for cf := 0; cf < e.CF; cf++ {
			e.PadWords = append(e.PadWords, packFields(l.PadCode[cf*e.SIMD:(cf+1)*e.SIMD], e.BIN))
		}
	}

	// Line buffer: K rows under the window, S more loading while they are
	// read, and the first Need0 rows of the next map, so that consecutive
	// maps overlap (at most two whole maps).
	e.Need0 = min(e.H, e.K-e.PAD)
	if e.OH == 1 {
		e.Need0 = e.H // the only output row waits for the whole map
	}
	e.HW, e.HWMax = e.H*e.W, e.H*e.W-1
	// The ring's row pitch: W, or with U > 1 the banked pitch (see Engine).
	e.NB, e.BankBits, e.WP = 1, 0, e.W
	if e.U > 1 {
		e.Banked = true
		e.BankBits = clog2(e.U)
		e.NB = 1 << e.BankBits
		e.RotStages = nil
		for st := 0; st < e.BankBits; st++ {
			e.RotStages = append(e.RotStages, rotStage{S: st, Amt: 1 << st, Next: st + 1})
		}
		e.RotLast, e.RotUnused = e.BankBits, e.U < e.NB
		for e.WP%e.NB != e.K%e.NB {
			e.WP++
		}
	}
	e.HWP = e.H * e.WP
	e.Skip, e.SkipM1 = e.WP-e.W+1, e.WP-e.W
	e.LCW, e.WMax = widthFor(e.W-1), e.W-1
	// A window over the whole map, in one fold and one position a step
	// (global pooling, a classifier with all its PEs): it streams.
	e.Stream = !e.Add && e.OH == 1 && e.OW == 1 && e.PAD == 0 && e.K == e.H && e.K == e.W && e.G == 1 && e.U == 1
	// Pixel counts in the ring (loaded, needed, released) are slots: a
	// row's last pixel takes the pitch's pad slots with it.
	e.NeedP0 = e.HWP
	if e.Stream {
		e.NeedP0 = 1
	} else if e.OH > 1 {
		e.NeedP0 = (e.Need0-1)*e.WP + min(e.W, e.K-e.PAD)
	}
	e.NeedP0M1, e.NeedP0S, e.HWPS = e.NeedP0-1, e.NeedP0+e.S, e.HWP+e.S
	e.SW, e.PadW = e.S*e.WP, e.PAD*e.WP
	e.Coln0 = min(e.W, e.K-e.PAD)
	e.RowEnd0 = min(e.H, e.K-e.PAD) * e.WP
	e.Nrwc1 = (min(e.H, e.S-e.PAD+e.K)-1)*e.WP + e.Coln0
	e.NrwcCap = (e.H-1)*e.WP + e.Coln0
	e.PXW = widthFor(3*e.HWP+e.K+e.S+2*e.NB) + 1
	e.PXWm1, e.PXW1 = e.PXW-1, e.PXW+1
	e.PSPad = e.PXW - e.PSW
	e.setRing(e.fullRing())
	maxCoord := (max(e.H, e.W) + e.K + e.S + e.PAD) * (e.WP + 1)
	e.CW = max(bits.Len(uint(maxCoord))+2, e.PXW+1)
	e.CMsb = e.CW - 1
	e.OHMax, e.OWMax, e.GMax, e.KMax = e.OH-1, e.OW-1, e.G-1, e.K-1
	e.OHMaxM1 = max(0, e.OHMax-1)
	e.OHW, e.OWW, e.GW, e.KW = widthFor(e.OHMax), widthFor(e.OWMax), widthFor(e.GMax), widthFor(e.KMax)
	e.SLit, e.PadLit = slit(e.CW, int64(e.S)), slit(e.CW, int64(e.PAD))
	e.KLit = slit(e.CW, int64(e.K))
	// Row ki of the window over output row oh is inside the map when
	// 0 <= oh*S-PAD+ki < H (columns likewise): a K-bit pattern of oh,
	// tabulated here, so that the next row's bits are a case over oh_q (a
	// LUT level or two) rather than compares after the coordinate's adder
	// (that carry chain, its compares and the row multiplexers were the
	// iCE40 small net's critical path: 11.4 ns, 87.7 MHz).
	okBits := func(base, n int) string {
		var b strings.Builder
		for k := e.K - 1; k >= 0; k-- {
			b.WriteByte("01"[b2i(base+k >= 0 && base+k < n)])
		}
		return b.String()
	}
	var r0, c0 strings.Builder
	r0.WriteString(okBits(-e.PAD, e.H))
	c0.WriteString(okBits(-e.PAD, e.W))
	e.RowNext, e.ColNext = nil, nil
	for oh := 0; oh+1 < e.OH; oh++ {
		e.RowNext = append(e.RowNext, okCase{V: oh, Bits: okBits((oh+1)*e.S-e.PAD, e.H)})
	}
	for ow := 0; ow+1 < e.OW; ow++ {
		e.ColNext = append(e.ColNext, okCase{V: ow, Bits: okBits((ow+1)*e.S-e.PAD, e.W)})
	}
	e.RowOk0, e.ColOk0 = r0.String(), c0.String()
	if e.CW <= e.PXW || e.CW <= e.RAW {
		return nil, fmt.Errorf("internal error: coordinate width %d below the row or ring address width", e.CW)
	}

	// Accumulator range, by interval arithmetic over the input format.
	xiv := inAct.Interval()
	var acc fixedpoint.Interval
	switch {
	case e.Adder:
		if inAct.Signed {
			return nil, fmt.Errorf("adder layer with a signed input is not supported by the RTL generator yet")
		}
		e.PEModule = e.Module + "_pe"
		e.PEW = SumWidth(e.LanesPE, e.OB)
		if e.OB < MinWidth || e.OB > MaxWidth {
			return nil, fmt.Errorf("adder lanes of %d bits: the PE needs %d..%d", e.OB, MinWidth, MaxWidth)
		}
		e.LaneBits = e.LanesPE * e.OB
		// Exactly KK*CIN terms of at most 2^OB-1 (lanes past the window
		// read x = w = 0).
		lanes := fixedpoint.Interval{Lo: 0, Hi: int64(e.KK*e.CIN) * (int64(1)<<e.OB - 1)}
		cmin, cmax := minMax(l.WeightConst)
		acc = lanes.Add(fixedpoint.Interval{Lo: cmin, Hi: cmax})
		e.CWd = fixedpoint.SignedWidth(min(cmin, 0), max(cmax, 0))
	case e.Conv:
		e.WB = l.WeightBits
		if l.Op == quant.OpAdder2d { // adder codes lie in the input's range: signed one bit wider
			e.WB = e.BIN + 1
		}
		e.LaneBits = e.LanesPE * e.WB
		wiv := fixedpoint.Interval{Lo: -(int64(1) << (e.WB - 1)), Hi: int64(1)<<(e.WB-1) - 1}
		acc = fixedpoint.SumInterval(e.KK*e.CIN, xiv.Mul(wiv))
	case e.Avg:
		acc = fixedpoint.SumInterval(e.KK, xiv)
	default:
		acc = xiv
	}
	acc = acc.Union(fixedpoint.Interval{Lo: 0, Hi: 0})
	e.AccW = max(fixedpoint.SignedWidth(acc.Lo, acc.Hi), e.BIN, e.WB, e.CWd) + 1
	e.AccMsb = e.AccW - 1
	e.XPad = e.AccW - e.BIN
	e.WPad = e.AccW - e.WB
	// A conv lane's product is BIN+1 (x, signed) by WB bits, BIN+1+WB bits
	// wide, then sign-extended (or, where the accumulator is narrower,
	// cut: the product's value fits it) to AccW. Multiplying the
	// sign-extended AccW-bit operands built an AccW×AccW LUT multiplier on
	// iCE40 (the shipped small model's critical path, 10.2 ns).
	e.ProdW = e.BIN + 1 + e.WB
	e.ProdPad = max(0, e.AccW-e.ProdW)
	e.CPad = e.AccW - e.CWd
	if e.Adder {
		e.AccPadPE = e.AccW - e.PEW
	}
	outLo, outHi := l.Out.Min(), l.Out.Max()
	if l.Rescale != nil && len(l.Rescale.M) > 0 {
		e.HasRescale = true
		mlo, mhi := minMax(l.Rescale.M)
		blo, bhi := minMax(l.Rescale.B)
		e.MW = fixedpoint.SignedWidth(min(mlo, 0), max(mhi, 0))
		e.BW = fixedpoint.SignedWidth(min(blo, 0), max(bhi, 0))
		prod := acc.Mul(fixedpoint.Interval{Lo: mlo, Hi: mhi}.Union(fixedpoint.Interval{})).Add(fixedpoint.Interval{Lo: blo, Hi: bhi})
		half := int64(0)
		if l.Rescale.Shift > 0 {
			half = int64(1) << (l.Rescale.Shift - 1)
		}
		prod = prod.Add(fixedpoint.Interval{Lo: 0, Hi: half}).Union(fixedpoint.Interval{Lo: outLo, Hi: outHi})
		e.RW = max(fixedpoint.SignedWidth(prod.Lo, prod.Hi), e.AccW, e.MW, e.BW) + 1
		if e.RW > 64 {
			return nil, fmt.Errorf("rescale needs %d bits (more than 64)", e.RW)
		}
		e.RMsb = e.RW - 1
		e.TPad, e.MPad, e.BPad = e.RW-e.AccW, e.RW-e.MW, e.RW-e.BW
		e.Shift = l.Rescale.Shift
		e.HalfLit = slit(e.RW, half)
		e.RemMsb = e.Shift - 1
		e.Rounding = l.Rescale.Rounding.String()
		if err := checkRounding(e.Rounding); err != nil {
			return nil, err
		}
		if l.Rescale.Overflow != fixedpoint.Saturate {
			return nil, fmt.Errorf("overflow mode %s is not supported by the RTL generator yet", l.Rescale.Overflow)
		}
		e.OutLoLit, e.OutHiLit = slit(e.RW, outLo), slit(e.RW, outHi)
	} else if e.Reduce || e.Avg || e.Kind == kindScale {
		return nil, fmt.Errorf("op %s without a rescale", l.Op)
	} else {
		e.RW, e.RMsb = e.AccW, e.AccMsb
		e.OutLoLit, e.OutHiLit = slit(e.AccW, outLo), slit(e.AccW, outHi)
	}
	e.setSat(outLo, outHi)

	// Constants instead of multipliers.
	if e.Conv && e.G*e.T == 1 && !runtime {
		e.ConstW = true
		wt := l.Weight.Data
		v := make([][]int64, e.P)
		for p := range v {
			v[p] = make([]int64, e.LanesPE)
			for u := 0; u < e.U; u++ {
				for ch := 0; ch < e.SIMD; ch++ {
					if kk := u; p < e.COUT && kk < e.KK {
						v[p][u*e.SIMD+ch] = wt[(p*e.CIN+ch)*e.KK+kk]
					}
				}
			}
		}
		e.ConstDots, e.ConstN, e.ConstLatency = constDots(v, e.BIN, xiv.Union(fixedpoint.Interval{}), e.AccW) // window padding reads 0
	}
	// A one-row rescale multiplies by constants: a shift-add tree where M
	// has at most two signed digits (one adder); a wider M costs more LUTs
	// and flip-flops in its tree than the DSP it saves (measured on LeNet:
	// 18-bit M, 6-9 digits), so it keeps the multiplier.
	if e.HasRescale && e.G == 1 && maxDigits(l.Rescale.M) <= 2 && !runtime {
		e.ConstM = true
		for p := 0; p < e.P; p++ {
			m := int64(0)
			if p < len(l.Rescale.M) {
				m = l.Rescale.M[p]
			}
			e.ConstMPEs = append(e.ConstMPEs, constSum(p, []int64{m}, e.RW))
		}
		e.ConstMN = padConst(e.ConstMPEs, e.RW)
		e.MLatency = treeLevels(e.ConstMN)
	}
	e.WeightROM = e.Reduce && !e.ConstW
	e.MROM = e.HasRescale && !e.ConstM
	// Multipliers of at most two signed digits (all of them under
	// quant's NoMultipliers): the rescale is two shifts and an add.
	if e.MROM {
		e.ShiftM = true
		maxSh := 0
		for _, m := range l.Rescale.M {
			d := CSD(m)
			if len(d) > 2 {
				e.ShiftM = false
			}
			for _, t := range d {
				maxSh = max(maxSh, t.Shift)
			}
		}
		e.SHW = widthFor(maxSh)
		e.MTW = 2 + e.SHW
	}

	// ROMs.
	if e.WeightROM {
		e.WRomFile = e.Module + "_w.hex"
		wb := e.OB
		if e.Conv {
			wb = e.WB
		}
		e.WRomW = e.P * e.LanesPE * wb
		e.WRomMsb = e.WRomW - 1
		e.WRomD = e.G * e.T
		e.WAW = clog2(e.WRomD)
		e.GPad32, e.KPad32 = 32-e.GW, 32-e.StepW
		var sb strings.Builder
		wt := l.Weight.Data // [O, C, K, K] or [O, I]
		for g := 0; g < e.G; g++ {
			for ps := 0; ps < e.TP; ps++ {
				for cf := 0; cf < e.CF; cf++ {
					vals := make([]int64, 0, e.P*e.LanesPE)
					for p := 0; p < e.P; p++ {
						o := g*e.P + p
						for u := 0; u < e.U; u++ {
							kk := ps*e.U + u
							for ch := cf * e.SIMD; ch < (cf+1)*e.SIMD; ch++ {
								v := int64(0) // past the window or the channels: w = 0 against x = 0
								if o < e.COUT && kk < e.KK {
									v = wt[(o*e.CIN+ch)*e.KK+kk]
								}
								vals = append(vals, v)
							}
						}
					}
					sb.WriteString(packFields(vals, wb))
					sb.WriteByte('\n')
				}
			}
		}
		e.roms[e.WRomFile] = sb.String()
	}
	perChannel := func(file string, src []int64, w int) string {
		var sb strings.Builder
		for g := 0; g < e.G; g++ {
			vals := make([]int64, e.P)
			for p := 0; p < e.P; p++ {
				if o := g*e.P + p; o < len(src) {
					vals[p] = src[o]
				}
			}
			sb.WriteString(packFields(vals, w))
			sb.WriteByte('\n')
		}
		e.roms[file] = sb.String()
		return file
	}
	if e.HasRescale {
		bvals := l.Rescale.B
		if e.ShiftM {
			// Each term is en ? (neg ? ~(tot<<sh) : tot<<sh) : 0, fields
			// [en, neg, sh] from bit 0; the +1 of every inverted term is
			// folded into b, which is per channel too.
			var terms []int64
			terms, bvals = ShiftTerms(l.Rescale.M, l.Rescale.B)
			blo, bhi := minMax(bvals)
			e.BW = fixedpoint.SignedWidth(min(blo, 0), max(bhi, 0))
			e.BPad = e.RW - e.BW
			if e.BPad < 0 {
				return nil, fmt.Errorf("internal error: shift-add rescale b of %d bits in %d", e.BW, e.RW)
			}
			e.MRomW = e.P * 2 * e.MTW
			var sb strings.Builder
			for g := 0; g < e.G; g++ {
				vals := make([]int64, 2*e.P)
				for p := 0; p < e.P; p++ {
					if o := g*e.P + p; o < len(l.Rescale.M) {
						vals[2*p], vals[2*p+1] = terms[2*o], terms[2*o+1]
					}
				}
				sb.WriteString(packFields(vals, e.MTW))
				sb.WriteByte('\n')
			}
			e.MRomFile = e.Module + "_m.hex"
			e.roms[e.MRomFile] = sb.String()
		} else {
			e.MRomW = e.P * e.MW
			if e.MROM {
				e.MRomFile = perChannel(e.Module+"_m.hex", l.Rescale.M, e.MW)
			}
		}
		e.BRomW = e.P * e.BW
		e.MRomMsb, e.BRomMsb = e.MRomW-1, e.BRomW-1
		e.BRomFile = perChannel(e.Module+"_b.hex", bvals, e.BW)
	}
	if e.Adder {
		e.CRomW, e.CRomMsb = e.P*e.CWd, e.P*e.CWd-1
		e.CRomFile = perChannel(e.Module+"_c.hex", l.WeightConst, e.CWd)
	}
	if e.VW > 0 {
		e.VRomW, e.VRomMsb = e.P*e.VW, e.P*e.VW-1
		e.VRomFile = perChannel(e.Module+"_v.hex", e.ViewIdx, e.VW)
	}

	e.DSPProducts = e.Conv && !e.ConstW
	e.DSPRescale = e.MROM && !e.ShiftM

	// Pipeline latencies (see the stage constants).
	e.WAW = clog2(max(2, e.G*e.T))
	switch {
	case e.Adder:
		pe, err := PlanPE(PEConfig{Name: e.PEModule, Lanes: e.LanesPE, Width: e.OB, Signed: e.InSigned, Pipeline: PipelineAuto, Family: e.Family})
		if err != nil {
			return nil, err
		}
		e.PartLatency = pe.Latency
	case e.ConstW:
		e.PartLatency = e.ConstLatency // digit terms are wires into the trees
	case e.Conv:
		e.PartLatency = 1 + treeLevels(e.LanesPE) // products, then the tree
	}
	e.PostLatency = postPlainStages
	if e.HasRescale {
		e.PostLatency = postRescaleStages + e.MLatency
		if e.ShiftM {
			e.PostLatency++ // the shifted terms, then their sum
		}
	}
	e.TagW, e.PostTagW = 2+e.GW, 1+e.GW
	e.ZeroAccLit = slit(e.AccW, 0)
	// From a pixel's last issue: A0, A1, A2, (A3), the part, E, the post stages,
	// the slot; the capture register then writes the FIFO.
	e.ViewStage = e.Grouped
	e.IssueToCapture = stagesBeforePart + b2i(e.ViewStage) + e.PartLatency + 1 + e.PostLatency + stagesToCapture
	e.Tail = e.IssueToCapture + 1 // the FIFO shows a beat the cycle after its write

	// Output FIFO: its credits cover the round trip from a pixel's last
	// issue to its leaving the FIFO, so that a pixel every G*T cycles
	// issues without waiting when the consumer keeps up. Where the round
	// trip (Tail+2 cycles) fits twice into G*T, one credit does: a single
	// output register.
	gt := e.G * e.T
	e.ODepth = max(2, (e.Tail+1+gt-1)/gt+1)
	if gt >= 2*(e.Tail+2) {
		e.ODepth = 1
	}
	e.OccW = widthFor(e.ODepth)
	e.ODepthM1 = e.ODepth - 1
	e.CFOne, e.PSOne, e.GOne = b2i(e.CFMax == 0), b2i(e.PSMax == 0), b2i(e.GMax == 0)
	e.OWOne, e.OHOne = b2i(e.OWMax == 0), b2i(e.OHMax == 0)
	e.CFMaxM1, e.PSMaxM1 = max(0, e.CFMax-1), max(0, e.PSMax-1)
	e.GMaxM1, e.OWMaxM1 = max(0, e.GMax-1), max(0, e.OWMax-1)
	e.LK0 = e.CFOne & e.PSOne
	e.PixL0 = e.LK0 & e.GOne
	e.RowL0 = e.PixL0 & e.OWOne
	e.MapL0 = e.RowL0 & e.OHOne
	e.RowFree0 = b2i(e.SW > e.PadW)
	e.Dcol0 = max(0, e.S-e.PAD)
	e.RelC0 = e.RowFree0 * e.Dcol0

	// Cycle model: G*T issue cycles per output pixel, back to back, and the
	// last pixel's way through the pipeline and the FIFO.
	e.LoadCycles = e.H * e.W
	e.ComputeCycles = e.OH*e.OW*gt + e.Tail
	e.Runtime = runtime
	e.planMems()
	return e, nil
}

// EngineMem is one of an engine's memories (weight ROM, per-channel
// constants): its name in the engine module, its words, their bits and
// the .hex file of its contents (rom mode: read by $readmemh; runtime
// mode: the words Net.WeightStream sends).
type EngineMem struct {
	Name         string // wrom, crom, mrom, brom, vrom
	File         string
	Depth, Width int
	AddrW        int // its address bits
	Sel          int // its bit of the engine's wr_sel_i (runtime mode)
}

// memView is what templates/engine.v.tmpl's "engine_mem" prints: one
// memory's declaration, its attribute line and its initial contents
// (rom mode) or write port (runtime mode).
type memView struct {
	EngineMem
	Runtime bool
	Attr    string
}

// Mem returns the view of the engine's memory name (wrom, crom, mrom,
// brom); it panics on a memory the engine does not have (a template bug).
func (e *Engine) Mem(name string) memView {
	for _, m := range e.Mems {
		if m.Name != name {
			continue
		}
		v := memView{EngineMem: m, Runtime: e.Runtime}
		switch {
		case name == "wrom" && e.WRomStyle == WeightMemBlock:
			kind := "rom"
			if e.Runtime {
				kind = "ram"
			}
			v.Attr = fmt.Sprintf(`(* %s_style = "block" *)  // %d words: a block RAM (--weight-memory)`, kind, m.Depth)
		case name == "wrom" && e.WRomStyle == WeightMemLogic && e.Runtime:
			// "logic", not "distributed": an iCE40 has no LUT RAM, and
			// yosys refuses a distributed style there.
			v.Attr = `(* ram_style = "logic" *)  // registers (--weight-memory logic)`
		case name == "wrom" && e.WRomStyle == WeightMemLogic:
			v.Attr = `(* rom_style = "logic" *)  // LUTs (--weight-memory logic)`
		case name != "wrom" && e.Runtime:
			v.Attr = "// one row per output-channel fold, written by the weight loader"
		case name != "wrom":
			v.Attr = `(* rom_style = "logic" *)  // one row per output-channel fold: LUTs, not a block RAM`
		}
		return v
	}
	panic("rtl: engine " + e.Module + " has no memory " + name)
}

// planMems lists the engine's memories in load order (wrom, crom, mrom,
// brom, vrom) and sizes its write ports.
func (e *Engine) planMems() {
	add := func(name, file string, depth, width, addrW int, sel *int) {
		if file == "" {
			return
		}
		*sel = len(e.Mems)
		e.Mems = append(e.Mems, EngineMem{Name: name, File: file, Depth: depth, Width: width, AddrW: addrW, Sel: *sel})
		e.WAddrW, e.WDataW = max(e.WAddrW, addrW), max(e.WDataW, width)
	}
	if e.WeightROM {
		add("wrom", e.WRomFile, e.WRomD, e.WRomW, e.WAW, &e.WRomSel)
	}
	if e.Adder {
		add("crom", e.CRomFile, e.G, e.CRomW, e.GW, &e.CRomSel)
	}
	if e.MROM {
		add("mrom", e.MRomFile, e.G, e.MRomW, e.GW, &e.MRomSel)
	}
	if e.HasRescale {
		add("brom", e.BRomFile, e.G, e.BRomW, e.GW, &e.BRomSel)
	}
	add("vrom", e.VRomFile, e.G, e.VRomW, e.GW, &e.VRomSel)
	e.WSelW = len(e.Mems)
}

// windowSpan is the most ring slots the engine holds for one output
// pixel: from the first pixel still needed to the last its windows read,
// (K-1) rows and K pixels (in slots of the pitch), or for the last output
// row (which waits for the whole map) the rest of the map.
func (e *Engine) windowSpan() int {
	if e.Stream {
		return 1
	}
	// A row's last pixel takes the pitch's pad slots with it. The last
	// output row holds its rows to the map's end.
	if e.OH == 1 {
		return e.HWP
	}
	return max((e.K-1)*e.WP+e.K+e.SkipM1, e.lastSpan())
}

// lastSpan is the ring slots the last output row holds: its rows to the
// map's end (it waits for the whole map).
func (e *Engine) lastSpan() int {
	if e.Stream {
		return 1
	}
	if e.OH == 1 {
		return e.HWP
	}
	topLast := max(0, (e.OH-1)*e.S-e.PAD)
	return (e.H - topLast) * e.WP
}

// ringSlack is the slack of a ring beyond the window span: an output
// pixel's S new input pixels, and the releaseLatency cycles a freed slot
// takes to reach the loader, so that loading keeps a pixel a cycle.
func (e *Engine) ringSlack() int {
	if e.Stream {
		return 1 + releaseLatency
	}
	return e.S + releaseLatency
}

// releaseLatency is the cycles from a pixel's last issue to the loader
// seeing its slot free (the registered release, then the held count).
const releaseLatency = 3

// minRing is the smallest ring that streams within a map: the window span
// and the slack; a window over the whole map (OH = 1, not streaming)
// holds the map and takes the next one only as it finishes (the fill
// stall of the cycle model).
func (e *Engine) minRing() int {
	if e.OH == 1 && !e.Stream {
		return e.bankRound(e.windowSpan())
	}
	return e.bankRound(min(2*e.HWP, e.windowSpan()+e.ringSlack()))
}

// bankRound rounds a ring depth up to whole banks, at least two words
// each when banked (an unbanked ring may be one slot: a one-pixel map).
func (e *Engine) bankRound(d int) int {
	if !e.Banked {
		return max(1, d)
	}
	return max(2*e.NB, (d+e.NB-1)/e.NB*e.NB)
}

// fullRing also holds the pixels the next map's first output pixel needs,
// so that consecutive maps overlap without a stall (at most two maps).
func (e *Engine) fullRing() int {
	return e.bankRound(min(2*e.HWP, e.windowSpan()+e.ringSlack()+e.NeedP0))
}

// setRing sizes the line buffer at depth pixels and derives its address
// constants, each taken mod the depth.
func (e *Engine) setRing(depth int) {
	e.RingDepth = depth
	e.RingLast = depth - 1
	e.RingSlack = depth - min(depth, e.windowSpan())
	e.RAW = clog2(max(2, depth))
	e.RAW1 = e.RAW + 1
	mod := func(v int) int { return ((v % depth) + depth) % depth }
	e.WinLanes = nil
	for u := 0; u < e.U; u++ {
		wl := winLane{U: u}
		for st := 0; st < e.TP; st++ {
			if t := st*e.U + u; t < e.KK {
				ki, kj := t/e.K, t%e.K
				wl.Cases = append(wl.Cases, winCase{S: st, KI: ki, KJ: kj, KO: mod(ki*e.WP + kj)})
			}
		}
		e.WinLanes = append(e.WinLanes, wl)
	}
	e.Top0Addr = mod(-e.PAD*e.WP - e.PAD)
	e.ColStepAddr = mod(e.S)
	e.RowStepAddr = mod(e.S * e.WP)
	e.MapStepAddr = mod(e.HWP)
	e.ColWrap, e.RowWrap, e.MapWrap = e.RingDepth-e.ColStepAddr, e.RingDepth-e.RowStepAddr, e.RingDepth-e.MapStepAddr
	e.Top1Addr = mod(e.HWP - e.PAD*e.WP - e.PAD)
	e.FBDepth = e.RingDepth
	e.HeldMaxSkip = depth - e.Skip
	e.BankDepth = depth / e.NB
	e.QW = e.RAW - e.BankBits
	e.QW1, e.BKeyW = e.QW+1, e.PSW+e.BankBits
	e.BankCases, e.RotCases = nil, nil
	e.SliceEarly = !e.Banked && e.CF > 1 && depth <= lutRAMDepth
	if !e.Banked {
		return
	}
	// Bank b at step ps with the corner in bank r serves lane
	// u = (b - r - ps*U) mod NB, position p = ps*U + u at slot offset
	// o = ki*WP + kj (o = p mod NB, by the pitch): word corner/NB + (r+o)/NB.
	for b := 0; b < e.NB; b++ {
		bs := bankSel{B: b}
		for ps := 0; ps < e.TP; ps++ {
			for r := 0; r < e.NB; r++ {
				u := ((b-r-ps*e.U)%e.NB + e.NB) % e.NB
				off := 0
				if p := ps*e.U + u; u < e.U && p < e.KK {
					o := (p/e.K)*e.WP + p%e.K
					if (r+o)%e.NB != b {
						panic("rtl: ring bank mapping")
					}
					off = (r + o) / e.NB % e.BankDepth
				}
				bs.Cases = append(bs.Cases, bankCase{PS: ps, R: r, Off: off, Key: ps<<e.BankBits | r})
			}
		}
		e.BankCases = append(e.BankCases, bs)
	}
	for ps := 0; ps < e.TP; ps++ {
		e.RotCases = append(e.RotCases, rotCase{PS: ps, Add: ps * e.U % e.NB})
	}
}

// treeLevels is the latency of sum_tree over n words: ceil(log2 n).
func treeLevels(n int) int {
	if n <= 1 {
		return 0
	}
	return bits.Len(uint(n - 1))
}

// planAdd plans a residual add. The FIFO sits on the skip input (the one
// read from a fork for an identity shortcut, else the second) and holds a
// whole map.
func planAdd(q *quant.Model, idx int, l *quant.Layer, s0, s1 *netStream) (*Engine, error) {
	a, b := q.InAct(l, 0), q.InAct(l, 1)
	sh0, sh1 := q.InShape(l, 0), q.InShape(l, 1)
	if len(sh0) != 3 || len(sh1) != 3 || sh0[0] != sh1[0] || sh0[1] != sh1[1] || sh0[2] != sh1[2] {
		return nil, fmt.Errorf("add of shapes %v and %v", sh0, sh1)
	}
	if len(l.Align) != 2 || l.Rescale == nil {
		return nil, fmt.Errorf("add without align shifts or rescale")
	}
	if l.Rescale.Overflow != fixedpoint.Saturate {
		return nil, fmt.Errorf("overflow mode %s is not supported by the RTL generator yet", l.Rescale.Overflow)
	}
	e := &Engine{Module: "l" + fmt.Sprint(idx) + "_" + sanitize(l.Name), Layer: l.Name, Index: idx, Kind: "add", Add: true,
		COUT: sh0[0], CIN: sh0[0], OH: sh0[1], OW: sh0[2], H: sh0[1], W: sh0[2], K: 1, S: 1,
		BIN: a.Bits, InSigned: a.Signed, BIN2: b.Bits, InSigned2: b.Signed, A0: l.Align[0], A1: l.Align[1],
		BOUT: l.Out.Bits, OutSigned: l.Out.Signed, roms: map[string]string{}}
	ia, ib := a.Interval(), b.Interval()
	if s0.Fork != nil && s1.Fork == nil {
		// Keep the FIFO on the skip input: swap the operands (the sum is
		// commutative, each keeps its own shift).
		e.swapped = true
		e.BIN, e.BIN2, e.InSigned, e.InSigned2 = e.BIN2, e.BIN, e.InSigned2, e.InSigned
		e.A0, e.A1 = e.A1, e.A0
		ia, ib = ib, ia
	}
	// A whole map: an identity skip arrives a whole map ahead of the main
	// path, and a downsample branch (one engine against the main path's
	// two) would otherwise stall its engine and, through the fork both
	// branches read, the main path's next map.
	e.FifoDepth = max(2, 1<<clog2(e.OH*e.OW))
	e.InBits, e.InMsb = e.COUT*e.BIN, e.COUT*e.BIN-1
	e.In2Bits, e.In2Msb = e.COUT*e.BIN2, e.COUT*e.BIN2-1
	e.OutBits, e.OutMsb = e.COUT*e.BOUT, e.COUT*e.BOUT-1
	e.Shift = l.Rescale.Shift
	e.Rounding = l.Rescale.Rounding.String()
	if err := checkRounding(e.Rounding); err != nil {
		return nil, err
	}
	half := int64(0)
	if e.Shift > 0 {
		half = int64(1) << (e.Shift - 1)
	}
	outLo, outHi := l.Out.Min(), l.Out.Max()
	sum := ia.Shl(uint(e.A0)).Add(ib.Shl(uint(e.A1))).Add(fixedpoint.Interval{Lo: 0, Hi: half}).Union(fixedpoint.Interval{Lo: outLo, Hi: outHi})
	e.RW = max(fixedpoint.SignedWidth(sum.Lo, sum.Hi), e.BIN, e.BIN2, e.BOUT) + 1
	if e.RW > 64 {
		return nil, fmt.Errorf("add needs %d bits (more than 64)", e.RW)
	}
	e.RMsb = e.RW - 1
	e.XPad, e.X2Pad = e.RW-e.BIN, e.RW-e.BIN2
	e.HalfLit = slit(e.RW, half)
	e.RemMsb = e.Shift - 1
	e.OutLoLit, e.OutHiLit = slit(e.RW, outLo), slit(e.RW, outHi)
	e.setSat(outLo, outHi)
	e.ComputeCycles = e.OH * e.OW
	e.Tail = engineTail
	// Credits cover the stages and the FIFO's round trip at a pixel a cycle.
	e.ODepth = e.Tail + 2
	e.OccW = widthFor(e.ODepth)
	return e, nil
}

func minMax(v []int64) (int64, int64) {
	if len(v) == 0 {
		return 0, 0
	}
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

// packFields packs integers (two's complement) into one hex word, field k
// at bits [k*w +: w].
func packFields(v []int64, w int) string {
	nbits := len(v) * w
	nib := make([]byte, (nbits+3)/4)
	for k, x := range v {
		u := uint64(x)
		for b := 0; b < w; b++ {
			if u>>b&1 == 1 {
				pos := k*w + b
				nib[pos/4] |= 1 << (pos % 4)
			}
		}
	}
	out := make([]byte, len(nib))
	for i, x := range nib {
		out[len(nib)-1-i] = "0123456789abcdef"[x]
	}
	return string(out)
}

// roundingModes are the rescale rounding modes templates/round.v.tmpl
// implements (quant/FORMAT.md).
var roundingModes = []string{"half-up", "half-even", "floor", "toward-zero"}

// checkRounding refuses a rounding mode the RTL does not implement, rather
// than letting a template fall back to another.
func checkRounding(mode string) error {
	if slices.Contains(roundingModes, mode) {
		return nil
	}
	return fmt.Errorf("rounding mode %q is not supported by the RTL generator (want one of %s)", mode, strings.Join(roundingModes, ", "))
}

// maxDigits is the most canonical signed digits of any value in v.
func maxDigits(v []int64) int {
	n := 0
	for _, x := range v {
		n = max(n, len(CSD(x)))
	}
	return n
}

// b2i is 1 for true, 0 for false.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// setSat decides how the output saturation to [lo, hi] of an RW-bit
// value is built. For a format's range (lo = 0 or -2^n, hi = 2^n-1) with
// RW >= n+2 it is bit tests: over = !q[RW-1] && |q[RW-2:n], under =
// q[RW-1] (&& !&q[RW-2:n] when signed), a LUT tree; otherwise compares
// with the bounds. The compares are carry chains as wide as the value
// (measured: a 36-bit compare chain was the iCE40 small net's longest
// path at seed 1, 10.1 ns).
func (e *Engine) setSat(lo, hi int64) {
	e.SatBits, e.SatSigned, e.SatN = false, false, 0
	n := bits.Len64(uint64(hi))
	if hi < 0 || uint64(hi) != 1<<n-1 || e.RW < n+2 {
		return
	}
	switch lo {
	case 0:
	case -(hi + 1):
		e.SatSigned = true
	default:
		return
	}
	e.SatBits, e.SatN = true, n
}
