package rtl

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
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

// PipelineAuto asks the generator to choose the register stages for the
// target family (PEConfig.Family): for the area schedule, no stage holds
// more than one adder level (plus the absolute difference); for the iCE40
// speed schedule, no stage holds more than one short carry chain.
const PipelineAuto = -1

// Families of FPGA a PE can be scheduled for (PEConfig.Family).
const (
	FamilyGeneric = "generic" // the area schedule (also "")
	FamilyXilinx  = "xilinx"  // the area schedule: LUT6 + CARRY4 absorb a level per stage
	FamilyICE40   = "ice40"   // the speed schedule (see PlanPE)
)

// Families lists the accepted PEConfig.Family values ("" means generic).
var Families = []string{FamilyGeneric, FamilyXilinx, FamilyICE40}

// ICE40SplitBits is the longest carry chain of a tree adder in the iCE40
// speed schedule: wider adders are split into pieces of at most this many
// bits with a register between. Chosen by measurement on an HX8K (see
// synth/RESULTS.md).
const ICE40SplitBits = 9

// PEConfig describes one L1 processing element: sum over K lanes of |x - w|.
type PEConfig struct {
	Name     string // module name; defaults to "adder_pe"
	Lanes    int    // K, 1..4096
	Width    int    // W, bits per lane operand, 2..16
	Signed   bool   // lanes are two's complement (else unsigned)
	Pipeline int    // register stages; 0 is combinational; PipelineAuto
	// Family is the FPGA family PipelineAuto schedules for: "", "generic"
	// or "xilinx" give the area schedule (one adder level per stage),
	// "ice40" the speed schedule. An explicit stage count ignores it.
	Family string
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
// ("lanes", "width", "pipeline", "family", "name"), so that a CLI can name
// its flag.
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
	if !ValidFamily(c.Family) {
		return fieldErrorf("family", "family %q unknown: want %s or %s", c.Family,
			strings.Join(Families[:len(Families)-1], ", "), Families[len(Families)-1])
	}
	if name := c.moduleName(); !LegalName(name) {
		return fieldErrorf("name", "name %q is not a legal Verilog module name", name)
	}
	return nil
}

// LegalName reports whether s can name a Verilog module: an identifier that
// is not a reserved word.
func LegalName(s string) bool { return identRe.MatchString(s) && !verilogKeywords[s] }

// ValidFamily reports whether f is a PEConfig.Family value ("" is generic).
func ValidFamily(f string) bool {
	return f == "" || slices.Contains(Families, f)
}

// speedSchedule reports whether c gets the iCE40 speed schedule.
func (c PEConfig) speedSchedule() bool {
	return c.Pipeline == PipelineAuto && c.Family == FamilyICE40
}

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
//
// Register schedules. With an explicit stage count N, or PipelineAuto for
// the generic and xilinx families (the area schedule, N = one stage per
// adder level), stages go after the leaves and after adder levels, spread
// by RegPositions. PipelineAuto for ice40 is the speed schedule: registers
// after the subtractors (d with its sign), after the leaves, after every
// adder level, and inside every adder wider than ICE40SplitBits, which is
// split into pieces of at most that many bits (low piece first, each
// non-final piece's carry out registered on top of its bits, the operands'
// higher bits registered beside it). Every tree stage then holds one carry
// chain of at most ICE40SplitBits bits fed straight from registers (iCE40
// carries take their operands from routing, so a LUT in front costs a
// level); the subtractors (W+1 bits) and the last lane's increment (W bits)
// are not split. Latency is 2 + levels + (pieces - 1) summed over the
// levels.
type PE struct {
	Module   string
	Lanes    int
	Width    int
	Signed   bool
	SumWidth int
	Latency  int
	Levels   int // adder levels in the tree (0 for one lane)
	Adders   int // two-input adders in the tree (K-1)

	// Schedule is FamilyICE40 for the speed schedule, "" for the area one.
	Schedule  string
	SplitBits int // speed schedule: the longest carry chain of a tree adder

	Leaves        []peLeaf
	SubSteps      []peStep // speed schedule: the register stage after the subtractors
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
	Src   string // the difference the leaf reads: Diff, or its register
	Value string // W-bit leaf value
	Sign  string // sign bit of the difference
	Full  bool   // last lane: full |d| (sign added here)

	Width, WM1 int // W and W-1, for the template
	Signed     bool
}

type peStep struct {
	Level int
	Nodes []peNode // adders of this level (empty for a register step)
	Regs  []peReg  // registers of this step (empty for an adder step)
	Stage int      // register stage number (1-based) for register steps
	Where string   // register steps: where the stage sits, for the comment

	// Speed schedule: pieces of split adders computed in this step (piece
	// number Piece, 1-based) and the split adders they complete.
	Pieces []pePiece
	Piece  int
	Joins  []peJoin
}

type peNode struct {
	Name  string
	Width int
	Msb   int
	A, B  peOperand
	Carry string // pending sign bit added as a carry-in
	CPad  int    // zero-extension of the carry to Width
}

// peOperand is Name, or bits Name[Hi:Lo] when Sliced (Name[Hi] when
// Hi == Lo), zero-extended by Pad bits.
type peOperand struct {
	Name   string
	Pad    int // zero bits to prepend so the operand is the node's width
	Sliced bool
	Hi, Lo int
}

// pePiece is one carry chain of a split adder: the sum of Terms (operand
// bits and the carry in), all Msb+1 bits wide. A piece that is not the
// adder's last is one bit wider than its share of the sum: the top bit is
// its carry out.
type pePiece struct {
	Name  string
	Msb   int
	Terms []peOperand
}

// peJoin completes a split adder: Name = {Parts} (the pieces' sum bits,
// most significant first).
type peJoin struct {
	Name  string
	Msb   int
	Parts []peOperand
}

// peReg is Dst <= Src, or Dst <= Src[Hi:Lo] when Sliced.
type peReg struct {
	Dst, Src string
	Width    int
	Msb      int
	Sliced   bool
	Hi, Lo   int
}

type peValidReg struct {
	Dst, Src string
}

// item is a value travelling up the tree, with its optional pending sign.
type item struct {
	value   string
	width   int
	lanes   int
	pending string    // sign bit not yet added ("" for the rightmost item)
	split   *splitAdd // speed schedule: an adder still being computed (value is "" until it completes)
}

// bitRun is a run of a value's bits held in a signal: bit i of the signal
// is bit off+i of the value, for i < width; the signal is decl bits wide.
type bitRun struct {
	name  string
	decl  int
	off   int
	width int
}

// operand selects the value bits [lo, lo+n) that b holds, zero-extended
// to w bits; ok is false when b holds none of them. b never lacks bits
// below the ones it holds (off <= lo).
func (b bitRun) operand(lo, n, w int) (op peOperand, ok bool) {
	hi := min(lo+n, b.off+b.width)
	if hi <= lo {
		return peOperand{}, false
	}
	if b.off > lo {
		panic(fmt.Sprintf("rtl: internal error: bits %+v lack bit %d", b, lo))
	}
	op = peOperand{Name: b.name, Pad: w - (hi - lo)}
	if lo-b.off != 0 || hi-lo != b.decl {
		op.Sliced, op.Hi, op.Lo = true, hi-b.off-1, lo-b.off
	}
	return op, true
}

// keep registers the value bits of b from bit lo up into dst.
func (b bitRun) keep(lo int, dst string) (bitRun, peReg, bool) {
	n := b.off + b.width - lo
	op, ok := b.operand(lo, n, n)
	if !ok {
		return bitRun{}, peReg{}, false
	}
	return bitRun{name: dst, decl: n, off: lo, width: n},
		peReg{Dst: dst, Src: b.name, Width: n, Msb: n - 1, Sliced: op.Sliced, Hi: op.Hi, Lo: op.Lo}, true
}

// splitAdd is a tree adder computed piece by piece across register stages.
type splitAdd struct {
	name   string
	width  int
	pieces []int  // bit widths, least significant first
	next   int    // pieces computed so far
	lo     int    // first sum bit of the next piece
	a, b   bitRun // the operands' bits not yet added
	cin    string
	done   []bitRun // the pieces' sum bits; the newest may still hold its carry out on top
}

// splitWidths cuts a w-bit adder into the fewest pieces of at most limit
// bits, the least significant ones (which also produce a carry out) no
// wider than the others.
func splitWidths(w, limit int) []int {
	n := (w + limit - 1) / limit
	out := make([]int, n)
	for i := range out {
		out[i] = w / n
		if i >= n-w%n {
			out[i]++
		}
	}
	return out
}

// planner places the register stages of a PE.
type planner struct {
	p     *PE
	stage int
}

// regItems returns one register stage holding every live value of items,
// renaming them.
func (pl *planner) regItems(level int, where string, items []item) peStep {
	pl.stage++
	st := peStep{Level: level, Stage: pl.stage, Where: where}
	q := func(name string) string { return fmt.Sprintf("%s_q%d", baseName(name), pl.stage) }
	for i := range items {
		it := &items[i]
		if s := it.split; s != nil {
			for j, d := range s.done {
				var r peReg
				s.done[j], r, _ = d.keep(d.off, q(d.name))
				st.Regs = append(st.Regs, r)
			}
			for _, op := range []struct {
				b   *bitRun
				tag string
			}{{&s.a, "a"}, {&s.b, "b"}} {
				nb, r, ok := op.b.keep(s.lo, fmt.Sprintf("%s_%s_q%d", s.name, op.tag, pl.stage))
				*op.b = nb
				if ok {
					st.Regs = append(st.Regs, r)
				}
			}
		} else {
			dst := q(it.value)
			st.Regs = append(st.Regs, peReg{Dst: dst, Src: it.value, Width: it.width, Msb: it.width - 1})
			it.value = dst
		}
		if it.pending != "" {
			pdst := q(it.pending)
			st.Regs = append(st.Regs, peReg{Dst: pdst, Src: it.pending, Width: 1, Msb: 0})
			it.pending = pdst
		}
	}
	return st
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
			Lane:   k,
			Lo:     k * W,
			Hi:     k*W + W - 1,
			Diff:   fmt.Sprintf("d_%d", k),
			Value:  fmt.Sprintf("a_%d", k),
			Sign:   fmt.Sprintf("s_%d", k),
			Full:   k == K-1,
			Width:  W,
			WM1:    W - 1,
			Signed: c.Signed,
		}
		lf.Src = lf.Diff
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

	pl := &planner{p: p}
	if c.speedSchedule() {
		items = pl.speed(items, ICE40SplitBits)
	} else {
		items = pl.area(items, c.Pipeline)
	}
	if len(items) != 1 || items[0].pending != "" || items[0].split != nil || items[0].width != p.SumWidth {
		panic(fmt.Sprintf("rtl: internal error: tree root %+v, want width %d", items[0], p.SumWidth))
	}
	p.Latency = pl.stage
	p.Combinational = p.Latency == 0
	p.Sum = items[0].value
	p.Valid = "valid_i"
	for s := 1; s <= p.Latency; s++ {
		dst := fmt.Sprintf("valid_q%d", s)
		p.ValidRegs = append(p.ValidRegs, peValidReg{Dst: dst, Src: p.Valid})
		p.Valid = dst
	}
	return p, nil
}

// node plans the adder of a tree level that adds l and r (and l's
// pending sign as its carry-in).
func (pl *planner) node(level, i int, l, r item) (peNode, item) {
	lanes := l.lanes + r.lanes
	w := fixedpoint.UnsignedWidth(uint64(lanes) * (uint64(1)<<pl.p.Width - 1))
	nd := peNode{
		Name:  fmt.Sprintf("n%d_%d", level, i),
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
	return nd, item{value: nd.Name, width: w, lanes: lanes, pending: r.pending}
}

// area is the area schedule: stages spread over the positions after the
// leaves and after each adder level by RegPositions; PipelineAuto is one
// stage per level.
func (pl *planner) area(items []item, stages int) []item {
	p := pl.p
	// Register placement: positions 0..Levels (after the absolute difference
	// and after each adder level); stage j goes after position
	// ceil(j*(Levels+1)/N) - 1, so stages spread evenly and the last one
	// always registers the output.
	if stages == PipelineAuto {
		stages = max(1, p.Levels)
	}
	regsAt := RegPositions(p.Levels, stages)
	register := func(level int) {
		for r := 0; r < regsAt[level]; r++ {
			p.Steps = append(p.Steps, pl.regItems(level, fmt.Sprintf("after tree level %d", level), items))
		}
	}
	register(0)
	for level := 1; level <= p.Levels; level++ {
		st := peStep{Level: level}
		var next []item
		for i := 0; i+1 < len(items); i += 2 {
			nd, it := pl.node(level, i/2, items[i], items[i+1])
			st.Nodes = append(st.Nodes, nd)
			next = append(next, it)
		}
		if len(items)%2 == 1 {
			next = append(next, items[len(items)-1])
		}
		items = next
		p.Steps = append(p.Steps, st)
		register(level)
	}
	return items
}

// speed is the iCE40 speed schedule (see PE): registers after the
// subtractors, the leaves and every adder level, and adders wider than
// split bits cut into pieces with registers between.
func (pl *planner) speed(items []item, split int) []item {
	p := pl.p
	p.Schedule, p.SplitBits = FamilyICE40, split
	pl.stage++
	sub := peStep{Stage: pl.stage, Where: "after the subtractors"}
	for i := range p.Leaves {
		lf := &p.Leaves[i]
		lf.Src = fmt.Sprintf("%s_q%d", lf.Diff, pl.stage)
		sub.Regs = append(sub.Regs, peReg{Dst: lf.Src, Src: lf.Diff, Width: p.DW, Msb: p.DW - 1})
	}
	p.SubSteps = append(p.SubSteps, sub)
	p.Steps = append(p.Steps, pl.regItems(0, "after the leaves", items))
	for level := 1; level <= p.Levels; level++ {
		first := peStep{Level: level}
		var next []item
		pieces := 1
		for i := 0; i+1 < len(items); i += 2 {
			l, r := items[i], items[i+1]
			nd, it := pl.node(level, i/2, l, r)
			if nd.Width <= split {
				first.Nodes = append(first.Nodes, nd)
			} else {
				ws := splitWidths(nd.Width, split)
				pieces = max(pieces, len(ws))
				it.value = ""
				it.split = &splitAdd{
					name: nd.Name, width: nd.Width, pieces: ws, cin: l.pending,
					a: bitRun{name: l.value, decl: l.width, width: l.width},
					b: bitRun{name: r.value, decl: r.width, width: r.width},
				}
			}
			next = append(next, it)
		}
		if len(items)%2 == 1 {
			next = append(next, items[len(items)-1])
		}
		items = next
		for piece := 0; piece < pieces; piece++ {
			st := peStep{Level: level, Piece: piece + 1}
			if piece == 0 {
				st.Nodes = first.Nodes
			}
			for i := range items {
				if s := items[i].split; s != nil && s.next == piece {
					pl.piece(&st, &items[i])
				}
			}
			if len(st.Pieces) == 0 {
				st.Piece = 0
			}
			p.Steps = append(p.Steps, st)
			if piece < pieces-1 {
				p.Steps = append(p.Steps, pl.regItems(level, fmt.Sprintf("inside tree level %d: after piece %d of the split adders", level, piece+1), items))
			}
		}
		p.Steps = append(p.Steps, pl.regItems(level, fmt.Sprintf("after tree level %d", level), items))
	}
	return items
}

// piece plans the next piece of the split adder of it into st, and when it
// is the last, the join that completes the adder's sum.
func (pl *planner) piece(st *peStep, it *item) {
	s := it.split
	n := s.pieces[s.next]
	last := s.next == len(s.pieces)-1
	w := n + 1 // sum bits and the carry out
	if last {
		w = n
	}
	pc := pePiece{Name: fmt.Sprintf("%s_p%d", s.name, s.next), Msb: w - 1}
	for _, b := range []bitRun{s.a, s.b} {
		if op, ok := b.operand(s.lo, n, w); ok {
			pc.Terms = append(pc.Terms, op)
		}
	}
	if s.next == 0 {
		pc.Terms = append(pc.Terms, peOperand{Name: s.cin, Pad: w - 1})
	} else {
		d := &s.done[len(s.done)-1]
		op, ok := d.operand(s.lo, 1, w)
		if !ok {
			panic("rtl: internal error: split adder piece without its carry in")
		}
		pc.Terms = append(pc.Terms, op)
		d.width-- // the carry is consumed
	}
	st.Pieces = append(st.Pieces, pc)
	s.done = append(s.done, bitRun{name: pc.Name, decl: w, off: s.lo, width: w})
	s.lo += n
	s.next++
	if !last {
		return
	}
	j := peJoin{Name: s.name, Msb: s.width - 1}
	for i := len(s.done) - 1; i >= 0; i-- {
		d := s.done[i]
		op, _ := d.operand(d.off, d.width, d.width)
		j.Parts = append(j.Parts, op)
	}
	if s.lo != s.width {
		panic(fmt.Sprintf("rtl: internal error: split adder %s covers %d of %d bits", s.name, s.lo, s.width))
	}
	st.Joins = append(st.Joins, j)
	it.value, it.split = s.name, nil
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
	Schedule  string `json:"schedule,omitempty"` // "ice40": the iCE40 speed schedule of --pipeline auto
	Generator string `json:"generator"`
}

// Manifest returns the PE's JSON description.
func (p *PE) Manifest() PEManifest {
	return PEManifest{
		Module: p.Module, Lanes: p.Lanes, Width: p.Width, Signed: p.Signed,
		SumWidth: p.SumWidth, Latency: p.Latency, II: 1, Levels: p.Levels,
		Adders: p.Adders, Schedule: p.Schedule, Generator: Generator,
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
