package rtl

import (
	"encoding/json"
	"fmt"

	"github.com/addergen/addergen/fixedpoint"
)

// MACDefaultName is the MAC PE's module name when PEConfig.Name is empty.
const MACDefaultName = "mac_pe"

// MAC is the planned structure of one multiply-accumulate processing
// element: the baseline an L1 PE is compared against. It has the L1 PE's
// shape and ports (K lanes of W bits, the same valid pipeline and the same
// register placement rule) but computes sum over k of x_k * w_k, exact:
// K full W x W products and an adder tree whose every item is sized by its
// exact range. Signed lanes give a two's complement sum.
type MAC struct {
	Module   string
	Lanes    int
	Width    int
	Signed   bool
	SumWidth int   // narrowest width holding [SumLo, SumHi] (two's complement when Signed)
	SumLo    int64 // least possible sum
	SumHi    int64 // greatest possible sum
	Latency  int
	Levels   int // adder levels in the tree (0 for one lane)
	Adders   int // two-input adders in the tree (K-1)

	Products      []macProduct
	Steps         []macStep // tree levels and register stages, in datapath order
	Sum           string
	Valid         string
	Combinational bool
	ValidRegs     []peValidReg
	WMsb          int // W-1
	ProdWidth     int // 2W: width of one product
	ProdMsb       int // 2W-1
	SumMsb        int
	LaneBits      int // K*W
	LaneMsb       int // K*W-1
}

type macProduct struct {
	Lane int
	Lo   int    // x_i[Lo +: W]
	X, W string // the lane's operands (signed wires when Signed)
	Name string // 2W-bit product wire
}

type macStep struct {
	Level int
	Nodes []macNode // adders of this level (empty for a register step)
	Regs  []peReg   // registers of this step (empty for an adder step)
	Stage int       // register stage number (1-based) for register steps
}

type macNode struct {
	Name string
	Msb  int
	A, B macOperand
}

// macOperand is a tree input extended to its node's width: by Pad copies of
// bit Msb (sign extension) when Signed, else by Pad zeros.
type macOperand struct {
	Name   string
	Pad    int
	Msb    int
	Signed bool
}

type macItem struct {
	value string
	r     fixedpoint.Interval
	width int
}

// MACRange returns the exact range of a MAC PE's sum: the least and the
// greatest value of sum over K lanes of x*w for W-bit lanes.
func MACRange(lanes, width int, signed bool) (lo, hi int64) {
	r := macProductRange(width, signed)
	return int64(lanes) * r.Lo, int64(lanes) * r.Hi
}

func macProductRange(width int, signed bool) fixedpoint.Interval {
	if signed {
		h := int64(1) << (width - 1)
		return fixedpoint.Interval{Lo: -h * (h - 1), Hi: h * h}
	}
	m := int64(1)<<width - 1
	return fixedpoint.Interval{Lo: 0, Hi: m * m}
}

func (m *MAC) widthOf(r fixedpoint.Interval) int {
	if m.Signed {
		return fixedpoint.SignedWidth(r.Lo, r.Hi)
	}
	return fixedpoint.UnsignedWidth(uint64(r.Hi))
}

// MACSum is the reference for a MAC PE: sum over k of x[k]*w[k], exact.
// x and w hold lane values (two's complement values for signed lanes).
func MACSum(x, w []int32) int64 {
	if len(x) != len(w) {
		panic(fmt.Sprintf("rtl: MACSum lane count mismatch: %d x, %d w", len(x), len(w)))
	}
	var s int64
	for k := range x {
		s += int64(x[k]) * int64(w[k])
	}
	return s
}

// RegPositions returns, for a tree of the given depth and a number of
// register stages, how many stages go after position p (0: after the
// leaves, the absolute differences or the products; l: after adder level
// l). Stage j goes after position ceil(j*(levels+1)/stages) - 1, so stages
// spread evenly and the last one always registers the output. The L1 and
// MAC PEs share it.
func RegPositions(levels, stages int) []int {
	at := make([]int, levels+1)
	for j := 1; j <= stages; j++ {
		at[(j*(levels+1)+stages-1)/stages-1]++
	}
	return at
}

// PlanMAC validates c and computes the MAC PE's structure. The module name
// defaults to MACDefaultName.
func PlanMAC(c PEConfig) (*MAC, error) {
	if c.Name == "" {
		c.Name = MACDefaultName
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	K, W := c.Lanes, c.Width
	m := &MAC{
		Module:    c.Name,
		Lanes:     K,
		Width:     W,
		Signed:    c.Signed,
		WMsb:      W - 1,
		ProdWidth: 2 * W,
		ProdMsb:   2*W - 1,
		LaneBits:  K * W,
		LaneMsb:   K*W - 1,
	}
	m.SumLo, m.SumHi = MACRange(K, W, c.Signed)
	m.SumWidth = m.widthOf(fixedpoint.Interval{Lo: m.SumLo, Hi: m.SumHi})
	m.SumMsb = m.SumWidth - 1
	pr := macProductRange(W, c.Signed)
	if got := m.widthOf(pr); got != 2*W {
		panic(fmt.Sprintf("rtl: internal error: product width %d, want %d", got, 2*W))
	}
	items := make([]macItem, K)
	for k := 0; k < K; k++ {
		p := macProduct{
			Lane: k,
			Lo:   k * W,
			X:    fmt.Sprintf("x_%d", k),
			W:    fmt.Sprintf("w_%d", k),
			Name: fmt.Sprintf("p_%d", k),
		}
		m.Products = append(m.Products, p)
		items[k] = macItem{value: p.Name, r: pr, width: 2 * W}
	}
	for n := K; n > 1; n = (n + 1) / 2 {
		m.Levels++
	}
	m.Adders = K - 1
	stages := c.Pipeline
	if stages == PipelineAuto {
		stages = max(1, m.Levels)
	}
	m.Latency = stages
	m.Combinational = stages == 0
	regsAt := RegPositions(m.Levels, stages)

	stage := 0
	register := func(level int) {
		for r := 0; r < regsAt[level]; r++ {
			stage++
			st := macStep{Level: level, Stage: stage}
			for i := range items {
				it := &items[i]
				dst := fmt.Sprintf("%s_q%d", baseName(it.value), stage)
				st.Regs = append(st.Regs, peReg{Dst: dst, Src: it.value, Width: it.width, Msb: it.width - 1})
				it.value = dst
			}
			m.Steps = append(m.Steps, st)
		}
	}
	register(0)
	for level := 1; level <= m.Levels; level++ {
		st := macStep{Level: level}
		var next []macItem
		for i := 0; i+1 < len(items); i += 2 {
			l, r := items[i], items[i+1]
			rng := l.r.Add(r.r)
			w := m.widthOf(rng)
			nd := macNode{
				Name: fmt.Sprintf("n%d_%d", level, i/2),
				Msb:  w - 1,
				A:    macOperand{Name: l.value, Pad: w - l.width, Msb: l.width - 1, Signed: c.Signed},
				B:    macOperand{Name: r.value, Pad: w - r.width, Msb: r.width - 1, Signed: c.Signed},
			}
			st.Nodes = append(st.Nodes, nd)
			next = append(next, macItem{value: nd.Name, r: rng, width: w})
		}
		if len(items)%2 == 1 {
			next = append(next, items[len(items)-1])
		}
		items = next
		m.Steps = append(m.Steps, st)
		register(level)
	}
	if len(items) != 1 || items[0].width != m.SumWidth {
		panic(fmt.Sprintf("rtl: internal error: MAC tree root %+v, want width %d", items[0], m.SumWidth))
	}
	m.Sum = items[0].value
	m.Valid = "valid_i"
	for s := 1; s <= stages; s++ {
		dst := fmt.Sprintf("valid_q%d", s)
		m.ValidRegs = append(m.ValidRegs, peValidReg{Dst: dst, Src: m.Valid})
		m.Valid = dst
	}
	return m, nil
}

// MACManifest is the JSON description written beside the MAC PE's Verilog.
type MACManifest struct {
	Module    string `json:"module"`
	Op        string `json:"op"`
	Lanes     int    `json:"lanes"`
	Width     int    `json:"width"`
	Signed    bool   `json:"signed"`
	SumWidth  int    `json:"sum_width"`
	SumSigned bool   `json:"sum_signed"`
	SumMin    int64  `json:"sum_min"`
	SumMax    int64  `json:"sum_max"`
	Latency   int    `json:"latency"`
	II        int    `json:"ii"`
	Levels    int    `json:"tree_levels"`
	Adders    int    `json:"adders"`
	Mults     int    `json:"multipliers"`
	Generator string `json:"generator"`
}

// Manifest returns the MAC PE's JSON description.
func (m *MAC) Manifest() MACManifest {
	return MACManifest{
		Module: m.Module, Op: "mac", Lanes: m.Lanes, Width: m.Width, Signed: m.Signed,
		SumWidth: m.SumWidth, SumSigned: m.Signed, SumMin: m.SumLo, SumMax: m.SumHi,
		Latency: m.Latency, II: 1, Levels: m.Levels, Adders: m.Adders, Mults: m.Lanes,
		Generator: Generator,
	}
}

// EmitMAC renders the MAC PE: NAME.v and NAME.json. It writes nothing.
func EmitMAC(c PEConfig) (map[string][]byte, *MAC, error) {
	m, err := PlanMAC(c)
	if err != nil {
		return nil, nil, err
	}
	v, err := Render("mac_pe.v.tmpl", m)
	if err != nil {
		return nil, nil, err
	}
	j, err := json.MarshalIndent(m.Manifest(), "", "  ")
	if err != nil {
		return nil, nil, err
	}
	return map[string][]byte{
		m.Module + ".v":    v,
		m.Module + ".json": append(j, '\n'),
	}, m, nil
}
