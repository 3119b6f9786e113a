package rtl

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/addergen/addergen/fixedpoint"
)

// Limits of the L1 processing element (the contract in ARCHITECTURE.md).
const (
	MinLanes = 1
	MaxLanes = 4096
	MinWidth = 2
	MaxWidth = 16
)

// PipelineAuto asks the generator to register the tree so that no stage
// holds more than one adder level (plus the absolute difference).
const PipelineAuto = -1

// PEConfig describes one L1 processing element: sum over K lanes of |x - w|.
type PEConfig struct {
	Name     string // module name; defaults to "adder_pe"
	Lanes    int    // K, 1..4096
	Width    int    // W, bits per lane operand, 2..16
	Signed   bool   // lanes are two's complement (else unsigned)
	Pipeline int    // register stages; 0 is combinational; PipelineAuto
}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// verilogKeywords are the reserved words of Verilog-2005 and
// SystemVerilog-2017 (Verilator reads .v files as SystemVerilog): no
// generated name may be one.
var verilogKeywords = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(`always and assign automatic begin buf bufif0 bufif1 case casex casez cell
cmos config deassign default defparam design disable edge else end endcase endconfig
endfunction endgenerate endmodule endprimitive endspecify endtable endtask event for force forever fork
function generate genvar highz0 highz1 if ifnone incdir include initial inout input
instance integer join large liblist library localparam macromodule medium module nand negedge
nmos nor noshowcancelled not notif0 notif1 or output parameter pmos posedge primitive
pull0 pull1 pulldown pullup pulsestyle_onevent pulsestyle_ondetect rcmos real realtime reg release repeat
rnmos rpmos rtran rtranif0 rtranif1 scalared showcancelled signed small specify specparam strong0
strong1 supply0 supply1 table task time tran tranif0 tranif1 tri tri0 tri1
triand trior trireg unsigned use uwire vectored wait wand weak0 weak1 while
wire wor xnor xor accept_on alias always_comb always_ff always_latch assert assume before
bind bins binsof bit break byte chandle checker class clocking const constraint
context continue cover covergroup coverpoint cross dist do endchecker endclass endclocking endgroup
endinterface endpackage endprogram endproperty endsequence enum eventually expect export extends extern final
first_match foreach forkjoin global iff ignore_bins illegal_bins implies import inside int interface
intersect join_any join_none let local logic longint matches modport new nexttime null
package packed priority program property protected pure rand randc randcase randsequence ref
reject_on restrict return s_always s_eventually s_nexttime s_until s_until_with sequence shortint shortreal soft
solve static string strong struct super sync_accept_on sync_reject_on tagged this throughout timeprecision
timeunit type typedef union unique unique0 until until_with untyped var virtual void
wait_order weak wildcard with within`) {
		m[k] = true
	}
	return m
}()

// MaxPipeline is the most register stages a PE may have.
const MaxPipeline = 64

// FieldError is a configuration error that names the field at fault
// ("lanes", "width", "pipeline", "name"), so that a CLI can name its flag.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Msg }

func fieldErrorf(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Validate reports the first problem with c as a *FieldError.
func (c PEConfig) Validate() error {
	if c.Lanes < MinLanes || c.Lanes > MaxLanes {
		return fieldErrorf("lanes", "lanes %d out of range: must be %d..%d", c.Lanes, MinLanes, MaxLanes)
	}
	if c.Width < MinWidth || c.Width > MaxWidth {
		return fieldErrorf("width", "width %d out of range: must be %d..%d", c.Width, MinWidth, MaxWidth)
	}
	if c.Pipeline < PipelineAuto || c.Pipeline > MaxPipeline {
		return fieldErrorf("pipeline", "pipeline %d invalid: must be auto or 0..%d register stages", c.Pipeline, MaxPipeline)
	}
	if name := c.moduleName(); !LegalName(name) {
		return fieldErrorf("name", "name %q is not a legal Verilog module name", name)
	}
	return nil
}

// LegalName reports whether s can name a Verilog module: an identifier that
// is not a reserved word.
func LegalName(s string) bool { return identRe.MatchString(s) && !verilogKeywords[s] }

func (c PEConfig) moduleName() string {
	if c.Name == "" {
		return "adder_pe"
	}
	return c.Name
}

// ParsePipeline parses the --pipeline flag: "auto" or a stage count.
func ParsePipeline(s string) (int, error) {
	if s == "auto" {
		return PipelineAuto, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("pipeline %q invalid: want auto or a stage count >= 0", s)
	}
	return n, nil
}

// SumWidth is the narrowest width that holds K*(2^W - 1).
func SumWidth(lanes, width int) int {
	return fixedpoint.UnsignedWidth(uint64(lanes) * (uint64(1)<<width - 1))
}

// PE is the planned structure of one processing element: everything the
// template prints, computed here.
//
// The datapath computes, per lane, d = x - w in W+1 bits and its sign s.
// For every lane but the last, the leaf value is d XOR {W{s}} = |d| - s:
// the conditional negation's "+1" is not paid per lane but folded into the
// adder tree as a carry-in. Each tree node adds its two children plus one
// pending sign bit from its left subtree; by induction every item but the
// rightmost carries exactly one pending sign, so the K-1 nodes absorb K-1
// signs and only the last lane computes a full |d| (one W-bit increment).
// Every item is sized by its exact range: an item covering n lanes holds at
// most n*(2^W-1), so the root is exactly SumWidth bits.
type PE struct {
	Module   string
	Lanes    int
	Width    int
	Signed   bool
	SumWidth int
	Latency  int
	Levels   int // adder levels in the tree (0 for one lane)
	Adders   int // two-input adders in the tree (K-1)

	Leaves        []peLeaf
	Steps         []peStep // tree levels and register stages, in datapath order
	Sum           string   // name of the signal driving sum_o
	Valid         string   // name of the signal driving valid_o
	Combinational bool
	ValidRegs     []peValidReg
	DW            int // W+1: width of the difference
	WM1           int // W-1: pad for the carry-in zero extension of a W-bit value
	SumMsb        int
	LaneBits      int // K*W
	LaneMsb       int // K*W-1
}

type peLeaf struct {
	Lane  int
	Lo    int    // x_i[Lo +: W]
	Hi    int    // Lo + W - 1: the lane's sign bit
	Diff  string // W+1-bit difference wire
	Value string // W-bit leaf value
	Sign  string // sign bit of the difference
	Full  bool   // last lane: full |d| (sign added here)
}

type peStep struct {
	Level int
	Nodes []peNode // adders of this level (empty for a register step)
	Regs  []peReg  // registers of this step (empty for an adder step)
	Stage int      // register stage number (1-based) for register steps
}

type peNode struct {
	Name  string
	Width int
	Msb   int
	A, B  peOperand
	Carry string // pending sign bit added as a carry-in
	CPad  int    // zero-extension of the carry to Width
}

type peOperand struct {
	Name string
	Pad  int // zero bits to prepend so the operand is the node's width
}

type peReg struct {
	Dst, Src string
	Width    int
	Msb      int
}

type peValidReg struct {
	Dst, Src string
}

// item is a value travelling up the tree, with its optional pending sign.
type item struct {
	value   string
	width   int
	lanes   int
	pending string // sign bit not yet added ("" for the rightmost item)
}

// PlanPE validates c and computes the PE's structure.
func PlanPE(c PEConfig) (*PE, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	K, W := c.Lanes, c.Width
	p := &PE{
		Module:   c.moduleName(),
		Lanes:    K,
		Width:    W,
		Signed:   c.Signed,
		SumWidth: SumWidth(K, W),
		DW:       W + 1,
		SumMsb:   SumWidth(K, W) - 1,
		LaneBits: K * W,
		LaneMsb:  K*W - 1,
		WM1:      W - 1,
	}
	items := make([]item, K)
	for k := 0; k < K; k++ {
		lf := peLeaf{
			Lane:  k,
			Lo:    k * W,
			Hi:    k*W + W - 1,
			Diff:  fmt.Sprintf("d_%d", k),
			Value: fmt.Sprintf("a_%d", k),
			Sign:  fmt.Sprintf("s_%d", k),
			Full:  k == K-1,
		}
		p.Leaves = append(p.Leaves, lf)
		it := item{value: lf.Value, width: W, lanes: 1}
		if !lf.Full {
			it.pending = lf.Sign
		}
		items[k] = it
	}
	for n := K; n > 1; n = (n + 1) / 2 {
		p.Levels++
	}
	p.Adders = K - 1

	// Register placement: positions 0..Levels (after the absolute difference
	// and after each adder level); stage j goes after position
	// ceil(j*(Levels+1)/N) - 1, so stages spread evenly and the last one
	// always registers the output.
	stages := c.Pipeline
	if stages == PipelineAuto {
		stages = max(1, p.Levels)
	}
	p.Latency = stages
	p.Combinational = stages == 0
	regsAt := RegPositions(p.Levels, stages)

	stage := 0
	register := func(level int) {
		for r := 0; r < regsAt[level]; r++ {
			stage++
			st := peStep{Level: level, Stage: stage}
			for i := range items {
				it := &items[i]
				dst := fmt.Sprintf("%s_q%d", baseName(it.value), stage)
				st.Regs = append(st.Regs, peReg{Dst: dst, Src: it.value, Width: it.width, Msb: it.width - 1})
				it.value = dst
				if it.pending != "" {
					pdst := fmt.Sprintf("%s_q%d", baseName(it.pending), stage)
					st.Regs = append(st.Regs, peReg{Dst: pdst, Src: it.pending, Width: 1, Msb: 0})
					it.pending = pdst
				}
			}
			p.Steps = append(p.Steps, st)
		}
	}
	register(0)
	for level := 1; level <= p.Levels; level++ {
		st := peStep{Level: level}
		var next []item
		for i := 0; i+1 < len(items); i += 2 {
			l, r := items[i], items[i+1]
			lanes := l.lanes + r.lanes
			w := fixedpoint.UnsignedWidth(uint64(lanes) * (uint64(1)<<W - 1))
			nd := peNode{
				Name:  fmt.Sprintf("n%d_%d", level, i/2),
				Width: w,
				Msb:   w - 1,
				A:     peOperand{Name: l.value, Pad: w - l.width},
				B:     peOperand{Name: r.value, Pad: w - r.width},
				Carry: l.pending,
				CPad:  w - 1,
			}
			if l.pending == "" {
				panic("rtl: internal error: left tree item without a pending sign")
			}
			st.Nodes = append(st.Nodes, nd)
			next = append(next, item{value: nd.Name, width: w, lanes: lanes, pending: r.pending})
		}
		if len(items)%2 == 1 {
			next = append(next, items[len(items)-1])
		}
		items = next
		p.Steps = append(p.Steps, st)
		register(level)
	}
	if len(items) != 1 || items[0].pending != "" || items[0].width != p.SumWidth {
		panic(fmt.Sprintf("rtl: internal error: tree root %+v, want width %d", items[0], p.SumWidth))
	}
	p.Sum = items[0].value
	p.Valid = "valid_i"
	for s := 1; s <= stages; s++ {
		dst := fmt.Sprintf("valid_q%d", s)
		p.ValidRegs = append(p.ValidRegs, peValidReg{Dst: dst, Src: p.Valid})
		p.Valid = dst
	}
	return p, nil
}

var regSuffix = regexp.MustCompile(`^(.*)_q\d+$`)

// baseName strips a register suffix so that names stay short: a_3_q2 -> a_3.
func baseName(s string) string {
	if m := regSuffix.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return s
}

// Verilog renders the planned PE's module.
func (p *PE) Verilog() ([]byte, error) { return Render("pe.v.tmpl", p) }

// PEManifest is the JSON description written beside the PE's Verilog.
type PEManifest struct {
	Module    string `json:"module"`
	Lanes     int    `json:"lanes"`
	Width     int    `json:"width"`
	Signed    bool   `json:"signed"`
	SumWidth  int    `json:"sum_width"`
	Latency   int    `json:"latency"`
	II        int    `json:"ii"`
	Levels    int    `json:"tree_levels"`
	Adders    int    `json:"adders"`
	Generator string `json:"generator"`
}

// Manifest returns the PE's JSON description.
func (p *PE) Manifest() PEManifest {
	return PEManifest{
		Module: p.Module, Lanes: p.Lanes, Width: p.Width, Signed: p.Signed,
		SumWidth: p.SumWidth, Latency: p.Latency, II: 1, Levels: p.Levels,
		Adders: p.Adders, Generator: Generator,
	}
}

// EmitPE renders the PE: NAME.v and NAME.json. It writes nothing.
func EmitPE(c PEConfig) (map[string][]byte, *PE, error) {
	p, err := PlanPE(c)
	if err != nil {
		return nil, nil, err
	}
	v, err := p.Verilog()
	if err != nil {
		return nil, nil, err
	}
	j, err := json.MarshalIndent(p.Manifest(), "", "  ")
	if err != nil {
		return nil, nil, err
	}
	return map[string][]byte{
		p.Module + ".v":    v,
		p.Module + ".json": append(j, '\n'),
	}, p, nil
}
