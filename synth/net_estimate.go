package synth

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
)

// NetEstimate is the analytical cost of a whole network design: what
// `addergen synth model` would report, predicted from the plan
// (rtl.PlanNet) without running the tools.
type NetEstimate struct {
	Op     Op     `json:"op"`
	Target Target `json:"target"`
	// Total is the whole design. Carry cells are not estimated (0).
	Total Counts `json:"total"`
	// Top is what lies outside the engines: the output serializer and the
	// stream forks.
	Top     Counts           `json:"top"`
	Engines []EngineEstimate `json:"engines"`
	// Structure of the plan the estimate was made from.
	PEs        int `json:"pes"`
	Lanes      int `json:"lanes"`
	ROMBits    int `json:"rom_bits"`
	BufferBits int `json:"buffer_bits"`
}

// EngineEstimate is one layer engine's share of the estimate: the engine
// module with everything it instantiates (PEs, FIFOs, adder trees, tag
// delay lines).
type EngineEstimate struct {
	Layer  string `json:"layer"`
	Module string `json:"module"`
	Kind   string `json:"kind"`
	PEs    int    `json:"pes"`
	Lanes  int    `json:"lanes_per_pe"`
	Counts
	// Memories says where each of the engine's memories is predicted to
	// go: "bram", "lutram", "logic" (a ROM as LUTs) or "ff".
	Memories []MemEstimate `json:"memories"`
}

// MemEstimate is the predicted mapping of one memory (all its copies).
type MemEstimate struct {
	Name   string `json:"name"`
	Depth  int    `json:"depth"`
	Width  int    `json:"width"`
	Copies int    `json:"copies"`
	Map    string `json:"map"`
	Cells  int    `json:"cells"` // BRAM or LUTRAM cells of all copies
}

// Memory kinds as yosys sees them.
const (
	memRAM  = iota // one synchronous write port, one registered read (the line-buffer ring)
	memFIFO        // one synchronous write port, an asynchronous read by a pointer register (stream_fifo)
	memROM         // constant contents, registered read (weight and per-channel ROMs)
)

// Memory mappings.
const (
	mapBRAM   = "bram"
	mapLUTRAM = "lutram"
	mapLogic  = "logic"
	mapFF     = "ff"
)

// memory is one memory of a planned engine, of which the engine holds
// copies alike memories (the banks of a banked ring),
// each with one read port. For a ROM, cols is its content's distinct bit
// columns that are not constant (what is left once yosys removes
// constant columns and merges identical ones) and nonzero its columns
// that are not all zeros (the width a block RAM must hold).
type memory struct {
	name          string
	kind          int
	depth, width  int
	copies        int
	logic         bool // (* rom_style = "logic" *): never a block RAM
	block         bool // (* rom_style = "block" *): a block RAM whatever the cost
	loaded        bool // a runtime-weights RAM (written by the weight loader)
	readBits      int  // a RAM's read register when not the whole word (rtl.Engine.SliceEarly)
	cols, nonzero int
	// fieldBits is, per field (a lane's weight, a PE's multiplier), the
	// bits that are not zero in every word: the partial products a
	// multiplier by that field keeps; for a field that holds one value in
	// every word, fieldConst is true and fieldBits counts its one bits.
	fieldBits  []int
	fieldConst []bool
}

func (m memory) bits() int { return m.depth * m.width }

// mapped is one copy of a memory's predicted mapping.
type mapped struct {
	how      string
	cells    int // BRAM or LUTRAM cells
	romLUTs  int // logic ROM: LUT6 (xilinx) or LUT4 (ice40) leaves before optimisation
	ffBits   int // ff: storage flip-flops
	muxInput int // ff, deep LUTRAM: read multiplexer inputs
}

// bramShape is one BRAM aspect ratio.
type bramShape struct{ depth, width int }

var (
	// RAMB18E1 (cost 129 in yosys' brams_xc4v.txt) and RAMB36E1 (257); the
	// widest shape of each exists in simple dual port mode only.
	ramb18Shapes = []bramShape{{16384, 1}, {8192, 2}, {4096, 4}, {2048, 9}, {1024, 18}, {512, 36}}
	ramb36Shapes = []bramShape{{32768, 1}, {16384, 2}, {8192, 4}, {4096, 9}, {2048, 18}, {1024, 36}, {512, 72}}
	// SB_RAM40_4K (cost 64 in ice40/brams.txt).
	ice40Shapes = []bramShape{{2048, 2}, {1024, 4}, {512, 8}, {256, 16}}
)

// Costs that yosys 0.23's memory_libmap weighs (synth_xilinx passes
// -logic-cost-rom 1/64; synth_ice40 keeps the default 1/16).
const (
	ramb18Cost        = 129
	ramb36Cost        = 257
	ice40BRAMCost     = 64
	lutramCost        = 8
	logicCostRAM      = 1.0
	xilinxLogicCostRO = 1.0 / 64
	ice40LogicCostRO  = 1.0 / 16
)

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// bestBRAM returns the cheapest tiling of depth x width by one of shapes.
func bestBRAM(depth, width int, shapes []bramShape, cost int) (cells, total int) {
	total = math.MaxInt
	for _, s := range shapes {
		n := ceilDiv(width, s.width) * ceilDiv(depth, s.depth)
		if n*cost < total {
			cells, total = n, n*cost
		}
	}
	return cells, total
}

// lutram is the cheapest LUTRAM tiling of a depth x width memory with
// one read port on xilinx, as memory_libmap weighs it: RAM32M (32 x 6)
// or RAM64M (64 x 3) cells, 8 each, stacked in address with a read
// multiplexer over the stack (half a point per input). A 72 x 48 ring
// takes 24 RAM32M (192 + 48), not 32 RAM64M (256 + 24).
func lutram(depth, width int) (cells, muxInput int, cost float64) {
	cost = math.Inf(1)
	for _, g := range []struct{ depth, width int }{{32, 6}, {64, 3}} {
		rows := ceilDiv(depth, g.depth)
		n, mux := rows*ceilDiv(width, g.width), (rows-1)*width
		if c := float64(n*lutramCost) + 0.5*float64(mux); c < cost {
			cells, muxInput, cost = n, mux, c
		}
	}
	return cells, muxInput, cost
}

// romLeaves is the LUTs of a constant table of depth words, per output
// bit: one k-input LUT covers 2^k words; wider tables add a mux level per
// further LUT (xilinx MUXF7/MUXF8 are free, so the mux above four LUT6 is).
func romLeaves(depth, k int) int {
	if depth <= 1 {
		return 0
	}
	leaves := ceilDiv(depth, 1<<k)
	if k >= 6 { // MUXF7/MUXF8 combine four LUT6 for free
		return leaves + ceilDiv(leaves, 4) - 1
	}
	return 2*leaves - 1 // a LUT4 is a 2:1 mux above the leaves
}

// mapMemory predicts where yosys puts one copy of a memory: the cheapest
// of soft logic, LUTRAM (xilinx) and block RAM by memory_libmap's costs.
func mapMemory(t Target, m memory) mapped {
	rom := m.kind == memROM
	if m.depth <= 1 || rom && m.nonzero == 0 {
		// A one-word memory is a register (or a constant).
		if rom {
			return mapped{how: mapLogic}
		}
		return mapped{how: mapFF, ffBits: m.width}
	}
	width := m.width
	if rom {
		width = m.nonzero // yosys drops the all-zero columns first
	}
	var best mapped
	var bestCost float64
	k := 6
	if t == ICE40 {
		k = 4
	}
	if rom {
		c := xilinxLogicCostRO
		if t == ICE40 {
			c = ice40LogicCostRO
		}
		bestCost = float64(m.depth*width) * c
		best = mapped{how: mapLogic, romLUTs: m.cols * romLeaves(m.depth, k)}
	} else {
		bestCost = float64(m.bits()) * logicCostRAM
		best = mapped{how: mapFF, ffBits: m.bits(), muxInput: m.width * (m.depth - 1)}
	}
	// LUTRAM (xilinx; RAMs only: ROMs are pruned from distributed RAM).
	if t == Xilinx && !rom {
		if n, mux, c := lutram(m.depth, m.width); c < bestCost {
			best, bestCost = mapped{how: mapLUTRAM, cells: n, muxInput: mux}, c
		}
	}
	// Block RAM. A FIFO's asynchronous read becomes a registered one
	// (yosys moves the read-pointer register into the port) at the price
	// of emulating transparency, a multiplexer per data bit: about 2 per
	// bit (an iCE40 FIFO of 32 x 4 bits stays in flip-flops, 32 x 8 goes
	// to a block RAM).
	extra := 0
	if m.kind == memFIFO {
		extra = 2 * m.width
	}
	if m.logic {
		return best
	}
	if m.block {
		// rom_style = "block": memory_libmap takes the cheapest block RAM
		// tiling however the logic compares.
		bestCost = math.Inf(1)
	}
	switch t {
	case Xilinx:
		n18, c18 := bestBRAM(m.depth, width, ramb18Shapes, ramb18Cost)
		n36, c36 := bestBRAM(m.depth, width, ramb36Shapes, ramb36Cost)
		if float64(c18+extra) < bestCost && c18 <= c36 {
			best = mapped{how: mapBRAM, cells: n18}
		} else if float64(c36+extra) < bestCost {
			best = mapped{how: mapBRAM, cells: n36}
		}
	case ICE40:
		if m.kind == memRAM && m.depth*m.width <= ice40RAMRegBits {
			// yosys 0.23's memory_libmap keeps such a RAM in flip-flops
			// (measured: the 9 x 8 and 5 x 8 banks of banked rings,
			// map12_q4 P=1 lanes=10 and tiny_q4 P=3 lanes=18; rings of
			// 8 x 64 and 13 x 64 go to block RAMs, wide_q4 P=4).
			return best
		}
		if n, c := bestBRAM(m.depth, width, ice40Shapes, ice40BRAMCost); float64(c+extra) < bestCost {
			best = mapped{how: mapBRAM, cells: n}
		}
	}
	return best
}

// The terms of the LUT and flip-flop models. Each is a structural
// quantity of an engine (the engine module and everything below it) or of
// the top; the models weigh them with coefficients fitted to `addergen
// synth model` measurements (testdata/net_measurements.json): the engine
// terms to each engine's recorded cells, the top terms to what remains of
// the design's.
const (
	// Window engines: control and line buffer.
	lutEngine = iota // one per window engine
	lutCtl           // loader and reader counters: their bits
	lutLane          // per window-position lane: ring address and bounds, U x (CW + RAW)
	lutSel           // per lane: the SIMD slice select's 2:1 multiplexers (selectMux)
	lutLUTRAM        // LUTRAM cells (ring copies, FIFOs), one LUT each
	lutSRL           // SRLs of the tag delay lines, one LUT each
	lutROM           // leaves of the ROMs in soft logic
	lutMux           // read-multiplexer inputs of memories in flip-flops or deep LUTRAM
	lutFIFO          // one per stream_fifo: pointers and flags
	// Datapath.
	lutPE     // L1 PEs: P x synth.Estimate of the pipelined PE
	lutTree   // sum_tree adders: (N-1) x W per tree (products, CSD terms)
	lutInv    // inverted CSD terms (digit -1): operand bits
	lutMult   // partial-product bits of multipliers in LUTs
	lutMultK  // adders of multipliers by a constant ROM field in LUTs
	lutShift  // shift-add rescales: RW-bit multiplexer levels of the barrel shifters, one per m ROM field bit that varies
	lutAcc    // accumulators (or max comparators): P x AccW
	lutConst  // adder engines' + weight constant: P x AccW
	lutRound  // rescale: + b (without a DSP), rounding and clamp compare: P x RW
	lutOut    // output clamp multiplexers: P x out bits
	lutAdd    // residual add engines: channels x RW
	lutSerial // top: output serializer, classes x code bits
	lutFork   // top: one per stream fork
	lutStatus // top: the AXI4-Lite status slave's counters and read multiplexer, the framing check's counter and data gate
	lutWMux   // runtime weights: read-multiplexer inputs and word enables of weight RAMs in registers (not fitted: 1 LUT4 per 2:1 input, a LUT6 per 4:1)
	nLUTTerms
)

const (
	ffCtl    = iota // loader/reader counters, stage tags, credits
	ffLane          // per lane: ring address, bounds flags, read word, SIMD slice
	ffROM           // ROM read registers (distinct columns)
	ffPE            // L1 PEs: P x synth.Estimate's flip-flops
	ffTree          // sum_tree registers
	ffData          // per PE: accumulator, rescale stages
	ffProd          // conv products in flip-flops (without a DSP): AccW per product lane
	ffSlots         // output words: channels x out bits
	ffDelay         // tag delay lines (pipe_delay) in flip-flops
	ffFIFO          // FIFO pointers and FIFO storage in flip-flops
	ffMem           // line buffers in flip-flops
	ffSerial        // top: the serializer's word and counter
	ffFork          // top: stream forks
	ffStatus        // top: the status slave's registers, the framing check's
	nFFTerms
)

// Which part each term belongs to.
const (
	partEngine = iota
	partTop
)

var lutTermPart = [nLUTTerms]int{lutSerial: partTop, lutFork: partTop, lutStatus: partTop}
var ffTermPart = [nFFTerms]int{ffSerial: partTop, ffFork: partTop, ffStatus: partTop}

var lutTermNames = [nLUTTerms]string{"engine", "ctl", "lane", "sel", "lutram", "srl", "rom", "mux", "fifo",
	"pe", "tree", "inv", "mult", "mult_const", "shift", "acc", "const", "round", "out", "add", "serial", "fork", "status", "wmux"}
var ffTermNames = [nFFTerms]string{"ctl", "lane", "rom", "pe", "tree", "data", "prod", "slots", "delay", "fifo", "mem", "serial", "fork", "status"}

// netModel weighs the terms for one target.
type netModel struct {
	lut [nLUTTerms]float64
	ff  [nFFTerms]float64
}

// netModels were fitted by least squares (relative, non-negative, pulled
// toward structural priors; terms no measurement has keep their prior;
// LUTRAM cells and SRLs pinned at one LUT, memories in flip-flops at one
// per bit, the sum trees at one LUT and one flip-flop per node bit, the
// SIMD slice select at its multiplexers' cost measured alone) to the 16
// measurements in testdata/net_measurements.json (yosys 0.23, i11's final
// engines; see RESULTS.md), the engine terms to each engine's subtree of
// cells and the top terms to the rest: `go test ./synth -run
// TestNetEstimate -fitnet -fitlambda 1` refits them.
var netModels = map[Target]netModel{
	Xilinx: {
		lut: [nLUTTerms]float64{0 /* engine */, 2.162 /* ctl */, 0.5725 /* lane */, 0.48 /* sel */, 1 /* lutram */, 1 /* srl */, 0.7763 /* rom */, 0.945 /* mux */, 0 /* fifo */, 1.023 /* pe */, 1 /* tree */, 0.5045 /* inv */, 1.913 /* mult */, 1 /* mult_const */, 0.3847 /* shift */, 0.354 /* acc */, 0.6775 /* const */, 0.7312 /* round */, 0 /* out */, 2 /* add */, 0.4386 /* serial */, 5 /* fork */, 1 /* status */, 0.3333 /* wmux */},
		ff:  [nFFTerms]float64{1.491 /* ctl */, 0.6817 /* lane */, 2.622 /* rom */, 1.202 /* pe */, 1 /* tree */, 0.3029 /* data */, 1.238 /* prod */, 0.7694 /* slots */, 0 /* delay */, 0 /* fifo */, 1 /* mem */, 1 /* serial */, 1 /* fork */, 1 /* status */},
	},
	ICE40: {
		lut: [nLUTTerms]float64{93.16 /* engine */, 2.524 /* ctl */, 4.209 /* lane */, 0.75 /* sel */, 1 /* lutram */, 1 /* srl */, 1.684 /* rom */, 0 /* mux */, 71.16 /* fifo */, 1.003 /* pe */, 1 /* tree */, 1.532 /* inv */, 2.105 /* mult */, 1.859 /* mult_const */, 0.6546 /* shift */, 0.7946 /* acc */, 0.5294 /* const */, 0.6287 /* round */, 0 /* out */, 2 /* add */, 0.6982 /* serial */, 5 /* fork */, 1 /* status */, 1 /* wmux */},
		ff:  [nFFTerms]float64{1.138 /* ctl */, 1.139 /* lane */, 0.9015 /* rom */, 0.9365 /* pe */, 1 /* tree */, 0.6487 /* data */, 0.612 /* prod */, 1.492 /* slots */, 0.4957 /* delay */, 1.214 /* fifo */, 1 /* mem */, 1 /* serial */, 1 /* fork */, 1 /* status */},
	},
}

// engineTerms is one engine's structure as model terms, with its DSPs and
// BRAMs counted directly.
type engineTerms struct {
	lut    [nLUTTerms]float64
	ff     [nFFTerms]float64
	dsps   int
	brams  int
	mems   []MemEstimate
	layer  string
	module string
	kind   string
	pes    int
	lanes  int
}

// dspsFor is the DSP48E1 slices yosys' mul2dsp uses for an a x b signed
// product (25 x 18 per slice), or 0 when the product is narrower than 9
// bits (left to LUTs).
func dspsFor(a, b int) int {
	if a < b {
		a, b = b, a
	}
	if a+b < 9 || a < 2 || b < 2 {
		return 0
	}
	return ceilDiv(a, 25) * ceilDiv(b, 18)
}

// multiplier counts one product of an a-bit operand by a b-bit ROM field
// and reports whether it went into a DSP: in DSPs when the design may use
// them and they fit; otherwise in LUTs, a partial product per bit of the
// field that is not always zero (a multiplier by a field that is always
// zero vanishes), or for a constant field an adder per one bit beyond the
// first (yosys does not recode it).
func (et *engineTerms) multiplier(dsp bool, a, b, nonzero int, constant bool) bool {
	if nonzero == 0 {
		return false
	}
	if dsp {
		if d := dspsFor(a, b); d > 0 {
			et.dsps += d
			return true
		}
	}
	if constant {
		et.lut[lutMultK] += float64(a * max(nonzero-1, 0))
		return false
	}
	et.lut[lutMult] += float64(a * nonzero)
	return false
}

// romColumns returns the distinct non-constant bit columns and the
// columns that are not all zero of a ROM whose word r (of depth) packs
// the values val(r, f) of fields f < fields, w bits each (two's
// complement), as rtl's ROM files do, and per field the bits that are not
// zero in every word.
// runtimeColumns is romColumns for a memory loaded at run time (runtime
// weights): its contents are not known when the hardware is built, so
// every column is distinct and nonzero and every field varies at full
// width (no constant, no all-zero field for synthesis to prune).
func runtimeColumns(fields, w int) (cols, nonzero int, fieldBits []int, fieldConst []bool) {
	fieldBits, fieldConst = make([]int, fields), make([]bool, fields)
	for f := range fieldBits {
		fieldBits[f] = w
	}
	return fields * w, fields * w, fieldBits, fieldConst
}

func romColumns(depth, fields, w int, val func(r, f int) int64) (cols, nonzero int, fieldBits []int, fieldConst []bool) {
	words := ceilDiv(depth, 64)
	seen := map[string]bool{}
	col := make([]uint64, words)
	fieldBits, fieldConst = make([]int, fields), make([]bool, fields)
	for f := 0; f < fields; f++ {
		if v, ok := constField(depth, f, val); ok {
			fieldConst[f] = true
			fieldBits[f] = bits.OnesCount64(uint64(v) & (1<<w - 1))
		}
		for b := 0; b < w; b++ {
			clear(col)
			ones := 0
			for r := 0; r < depth; r++ {
				if uint64(val(r, f))>>b&1 == 1 {
					col[r/64] |= 1 << (r % 64)
					ones++
				}
			}
			if ones > 0 {
				nonzero++
				if !fieldConst[f] {
					fieldBits[f]++
				}
			}
			if ones == 0 || ones == depth {
				continue
			}
			key := fmt.Sprint(col)
			if !seen[key] {
				seen[key] = true
				cols++
			}
		}
	}
	return cols, nonzero, fieldBits, fieldConst
}

// constField tells whether field f holds the same value in every word.
func constField(depth, f int, val func(r, f int) int64) (int64, bool) {
	v := val(0, f)
	for r := 1; r < depth; r++ {
		if val(r, f) != v {
			return 0, false
		}
	}
	return v, true
}

// engineROMs returns the ROMs a planned engine has (a one-word weight ROM
// and a one-row rescale ROM are constants in the RTL, not ROMs; the
// per-channel ROMs are marked rom_style "logic") with their
// contents' column statistics, laid out as rtl.PlanNet writes them: the
// weight word of group g, position step ps and channel fold cf holds, per
// PE p, window-position lane u and SIMD channel c, the weight of output
// channel g*P+p at kernel position ps*U+u and input channel cf*SIMD+c; the
// per-channel ROMs hold one value per PE, a word per group.
// memKind is the kind of an engine's weight and constant memories: ROMs,
// or with runtime weights RAMs with one write port.
func memKind(e *rtl.Engine) int {
	if e.Runtime {
		return memRAM
	}
	return memROM
}

func engineROMs(l *quant.Layer, e *rtl.Engine) []memory {
	var out []memory
	if e.WeightROM {
		wb := e.OB
		if e.Conv {
			wb = e.WB
		}
		m := memory{name: "wrom", kind: memKind(e), depth: e.WRomD, width: e.WRomW, copies: 1,
			logic: e.WRomStyle == rtl.WeightMemLogic, block: e.WRomStyle == rtl.WeightMemBlock, loaded: e.Runtime}
		wt := l.Weight.Data
		m.cols, m.nonzero, m.fieldBits, m.fieldConst = romColumns(e.WRomD, e.P*e.LanesPE, wb, func(r, f int) int64 {
			g, ps, cf := r/e.T, r%e.T/e.CF, r%e.CF
			p, u, c := f/e.LanesPE, f%e.LanesPE/e.SIMD, f%e.SIMD
			o, kk, ch := g*e.P+p, ps*e.U+u, cf*e.SIMD+c
			if o >= e.COUT || kk >= e.KK {
				return 0
			}
			return wt[(o*e.CIN+ch)*e.KK+kk]
		})
		if e.Runtime {
			m.cols, m.nonzero, m.fieldBits, m.fieldConst = runtimeColumns(e.P*e.LanesPE, wb)
		}
		out = append(out, m)
	}
	perChannel := func(name string, src []int64, w int) {
		m := memory{name: name, kind: memKind(e), depth: e.G, width: e.P * w, copies: 1, logic: !e.Runtime, loaded: e.Runtime}
		m.cols, m.nonzero, m.fieldBits, m.fieldConst = romColumns(e.G, e.P, w, func(g, p int) int64 {
			if o := g*e.P + p; o < len(src) {
				return src[o]
			}
			return 0
		})
		if e.Runtime {
			m.cols, m.nonzero, m.fieldBits, m.fieldConst = runtimeColumns(e.P, w)
		}
		out = append(out, m)
	}
	if e.Adder {
		perChannel("crom", l.WeightConst, e.CWd)
	}
	var bvals []int64
	if e.HasRescale {
		bvals = l.Rescale.B
	}
	if e.ShiftM {
		var terms []int64
		terms, bvals = rtl.ShiftTerms(l.Rescale.M, l.Rescale.B)
		m := memory{name: "mrom", kind: memKind(e), depth: e.G, width: e.MRomW, copies: 1, logic: !e.Runtime, loaded: e.Runtime}
		m.cols, m.nonzero, m.fieldBits, m.fieldConst = romColumns(e.G, 2*e.P, e.MTW, func(g, f int) int64 {
			if o := g*e.P + f/2; o < len(l.Rescale.M) {
				return terms[2*o+f%2]
			}
			return 0
		})
		if e.Runtime {
			m.cols, m.nonzero, m.fieldBits, m.fieldConst = runtimeColumns(2*e.P, e.MTW)
		}
		out = append(out, m)
	} else if e.MROM {
		perChannel("mrom", l.Rescale.M, e.MW)
	}
	if e.HasRescale {
		perChannel("brom", bvals, e.BW)
	}
	if e.VW > 0 {
		perChannel("vrom", e.ViewIdx, e.VW)
	}
	return out
}

// regBits is the flip-flops of a counter or coordinate register: none
// when it only ever holds one value.
func regBits(w, maxVal int) int {
	if maxVal <= 0 {
		return 0
	}
	return w
}

// selectMux is the 2:1 multiplexers of a lane's SIMD slice of cf slices
// of sb bits, selected by a case over the folds (the padding gate goes
// into the register's synchronous reset): an ideal cf:1 multiplexer, sb x
// (cf-1). A lone 2:1 multiplexer takes a LUT of its own per bit (16 x 2:
// 16 LUTs), where wider ones pack two or more into a LUT6: counted twice.
// (The indexed part-select x[cf*sb +: sb] the engines used before was a
// logarithmic shifter over the whole word when sb is not a power of two:
// 120 x 8 took 2,477 LUTs on xilinx, yosys 0.23.)
func selectMux(sb, cf int) int {
	switch {
	case cf <= 1:
		return 0
	case cf == 2:
		return 2 * sb
	}
	return sb * (cf - 1)
}

// rotatorMux is the 2:1 multiplexers of the banked ring's logarithmic
// rotator of nb words of sb bits: log2(nb) stages of nb words, the last
// one only for the u words the lanes read.
func rotatorMux(sb, nb, u int) int {
	stages := bits.Len(uint(nb - 1))
	if stages == 1 {
		return selectMux(sb, 2) * min(u, nb) / 2
	}
	return sb * (nb*(stages-1) + min(u, nb))
}

// sumTree is prim/sum_tree.v over n words of w bits: n-1 adders of w
// bits, and a register of w bits per node of every level. The trees are
// modules of their own, so yosys keeps every word (the zero padding of a
// CSD tree included).
func (et *engineTerms) sumTree(n, w, copies int) { et.sumTreeR(n, w, 1, copies) }

// sumTreeR is sumTree with a register stage every r levels (and after the
// last): sum_tree's R.
func (et *engineTerms) sumTreeR(n, w, r, copies int) {
	adders, regs := 0, 0
	levels := bits.Len(uint(max(n, 1) - 1))
	l := 0
	for k := n; k > 1; k = ceilDiv(k, 2) {
		adders += k / 2
		if (l+1)%r == 0 || l == levels-1 {
			regs += ceilDiv(k, 2)
		}
		l++
	}
	et.lut[lutTree] += float64(copies * adders * w)
	et.ff[ffTree] += float64(copies * regs * w)
}

// pipeDelay is prim/pipe_delay.v: depth valid flip-flops (reset, so never
// an SRL) and width x depth data bits, which synth_xilinx maps to one SRL
// per bit and 32 stages from three stages on.
func (et *engineTerms) pipeDelay(t Target, width, depth int) {
	if depth == 0 {
		return
	}
	et.ff[ffDelay] += float64(depth)
	if t == Xilinx && depth >= srlMinLength {
		et.lut[lutSRL] += float64(width * ceilDiv(depth, 32))
		return
	}
	et.ff[ffDelay] += float64(width * depth)
}

// inverted is the inverter bits of a CSD tree's -1 digit: the operand
// bits that land inside the w-bit word after a shift left (the constant
// bits of the shifted or extended word need none).
func inverted(neg bool, shift, operand, w int) int {
	if !neg {
		return 0
	}
	return max(0, min(operand, w-shift))
}

// windowTerms measures a window engine (adder, conv, pool, scale, ReLU):
// its ring (banked when U > 1), control, lanes, ROMs, PEs or products, accumulators,
// rescale and output stages, tag delays and output FIFO.
func windowTerms(l *quant.Layer, op Op, t Target, e *rtl.Engine, et *engineTerms) error {
	dsp := t == Xilinx && op == L1 // the MAC design is synthesized -nodsp, as synth model does
	copies := len(e.WinLanes)
	et.lanes = e.LanesPE
	if !e.Reduce {
		et.lanes = 1
	}
	et.lut[lutEngine]++

	// Control: the loader's and reader's counters (pixel counts of PXW
	// bits, ring addresses of RAW, coordinates of CW), the stage tags
	// (A0..A2, E), the output credits and the capture flag.
	gw, cfw, waw := regBits(e.GW, e.GMax), regBits(e.CFW, e.CFMax), regBits(e.WAW, e.G*e.T-1)
	ctl := 4*e.RAW + 8*e.PXW + 1 + 1 + regBits(e.OHW, e.OHMax) + regBits(e.OWW, e.OWMax) +
		gw + regBits(e.PSW, e.PSMax) + cfw + waw + 2*e.CW + e.OccW
	et.lut[lutCtl] += float64(ctl)
	et.ff[ffCtl] += float64(ctl + 14 + 4*gw + 2*cfw + 2*waw) // wa_a_q and wa_b_q beside wa_q
	// The reader's terminal flags (9), credit_q, rowfree_q and relc_q.
	et.ff[ffCtl] += float64(11 + e.PXW)
	if !e.Stream {
		// The registered readiness (rows_ok_q, needps_q) and the window's
		// row and column bounds (rowok_q, colok_q).
		et.ff[ffCtl] += float64(1 + e.PXW + 2*e.K)
	}

	// Lanes: address and bounds, the registered read, the SIMD slice.
	ring := memory{name: "ring", kind: memRAM, depth: e.RingDepth, width: e.InBits, copies: 1}
	if e.Banked {
		// Per lane the bounds, per bank a word address (a constant of the
		// step and corner bank plus the corner's word) and its registered
		// read and SIMD slice; per lane a rotation over the banks.
		et.lut[lutLane] += float64(copies*e.CW + e.NB*2*e.QW)
		et.lut[lutSel] += float64(e.NB*selectMux(e.SB, e.CF) + rotatorMux(e.SB, e.NB, copies))
		et.ff[ffLane] += float64(copies*(2+e.SB) + e.NB*e.QW + 2*e.BankBits)
		ring = memory{name: "ring", kind: memRAM, depth: e.BankDepth, width: e.InBits, copies: e.NB}
	} else {
		et.lut[lutLane] += float64(copies * (e.CW + e.RAW))
		et.lut[lutSel] += float64(copies * selectMux(e.SB, e.CF))
		et.ff[ffLane] += float64(copies * (e.RAW + 2 + e.SB))
		if e.SliceEarly {
			ring.readBits = e.SB
		}
	}
	if e.Grouped {
		// Group-wise scales (not in the recordings; structural counts):
		// per lane and view a rounding adder (BIN+1 bits, none for shift
		// 0) and an OB-bit saturation, registered (OB bits replace the
		// BIN-bit slice); the slice registered once more before them
		// (Engine.ViewStage, with the tags and the weight address); per PE
		// a views:1 multiplexer of its operand word.
		for _, v := range e.Views {
			if v.Shift > 0 {
				et.lut[lutSel] += float64(copies * e.SIMD * (e.BIN + 1))
			}
			et.lut[lutSel] += float64(copies * e.SBO)
		}
		et.ff[ffLane] += float64(copies * (len(e.Views)*e.SBO - e.SB))
		if e.ViewStage {
			et.ff[ffLane] += float64(copies*e.SB + 3 + e.GW)
			if e.WeightROM {
				et.ff[ffLane] += float64(e.WAW)
			}
		}
		if e.VW > 0 {
			et.lut[lutSel] += float64(e.P * e.XOBits * (len(e.Views) - 1))
		}
	}

	// Memories: the ring (one copy, banked when U > 1), the output FIFO,
	// the ROMs.
	ofifo := memory{name: "ofifo", kind: memFIFO, depth: e.ODepth, width: e.OutBits, copies: 1}
	roms := engineROMs(l, e)
	rom := map[string]memory{}
	for _, m := range roms {
		rom[m.name] = m
	}
	et.memory(t, ring)
	et.memory(t, ofifo)
	for _, m := range roms {
		et.memory(t, m)
	}

	// Processing elements or products, then the accumulators.
	switch {
	case e.Adder:
		pe, err := Estimate(L1, t, rtl.PEConfig{Lanes: e.LanesPE, Width: e.OB, Signed: e.InSigned, Pipeline: rtl.PipelineAuto, Family: e.Family})
		if err != nil {
			return fmt.Errorf("layer %s: PE: %w", e.Layer, err)
		}
		et.lut[lutPE] += float64(e.P * pe.LUTs)
		et.ff[ffPE] += float64(e.P * pe.FFs)
		et.lut[lutConst] += float64(e.P * e.AccW)
	case e.ConstW:
		// Each PE's dot product by constant weights: one narrow tree per
		// digit shift (registers after it up to the deepest), then a tree
		// of ConstN words.
		for _, dot := range e.ConstDots {
			for _, g := range dot.Groups {
				et.sumTreeR(g.N, g.W, g.R, 1)
				// sum_tree's L registers after the tree: an SRL per bit from
				// three stages on (synth_xilinx), flip-flops otherwise.
				if extra := g.L - ceilDiv(bits.Len(uint(max(g.N, 1)-1)), g.R); t == Xilinx && extra >= srlMinLength {
					et.lut[lutSRL] += float64(g.W * ceilDiv(extra, 32))
				} else {
					et.ff[ffTree] += float64(extra * g.W)
				}
				for _, t := range g.Terms {
					et.lut[lutInv] += float64(inverted(t.Neg, 0, e.BIN, g.W))
				}
			}
		}
		et.sumTree(e.ConstN, e.AccW, e.P)
	case e.Conv:
		// x (unsigned codes gain a sign bit) times signed weights,
		// registered, summed in a tree per PE.
		a := e.BIN
		if !e.InSigned {
			a++
		}
		wr := rom["wrom"]
		for f := 0; f < e.P*e.LanesPE; f++ {
			if !et.multiplier(dsp, a, e.WB, wr.fieldBits[f], wr.fieldConst[f]) {
				et.ff[ffProd] += float64(e.AccW) // the product register (a DSP's M register otherwise)
			}
		}
		et.sumTree(e.LanesPE, e.AccW, e.P)
	}
	if e.Max {
		et.lut[lutAcc] += float64(2 * e.P * e.AccW)
	} else if e.T > 1 {
		et.lut[lutAcc] += float64(e.P * e.AccW)
	}
	et.ff[ffData] += float64(e.P * e.AccW)

	// After the accumulator: + constant, x m, + b, round, clamp.
	et.lut[lutOut] += float64(e.P * e.BOUT)
	et.ff[ffData] += float64(e.P * e.BOUT) // the clamped output register
	if e.HasRescale {
		et.lut[lutRound] += float64(e.P * e.RW)
		et.ff[ffData] += float64(e.P * (e.AccW + e.RW)) // + constant, rounded
		inDSP := false
		if e.ConstM {
			et.sumTree(e.ConstMN, e.RW, e.P)
			for _, pe := range e.ConstMPEs {
				for _, it := range pe.Items {
					et.lut[lutInv] += float64(inverted(it.Neg, it.S, e.AccW, e.RW))
				}
			}
			et.ff[ffData] += float64(e.P * e.RW) // the stage-G register after the tree
		} else if e.ShiftM {
			et.shiftRescale(l, e)
		} else {
			mr := rom["mrom"]
			for p := 0; p < e.P; p++ {
				if et.multiplier(dsp, e.AccW, e.MW, mr.fieldBits[p], mr.fieldConst[p]) {
					inDSP = true
				}
			}
		}
		if !inDSP {
			// The product, b and their sum in flip-flops (a DSP holds them
			// in its M, C and P registers and adds b in its post-adder).
			et.ff[ffData] += float64(e.P * (2*e.RW + e.BW))
			et.lut[lutRound] += float64(e.P * e.RW)
		}
	} else {
		et.lut[lutRound] += float64(e.P * e.RW)
		et.ff[ffData] += float64(e.P * e.RW)
	}
	et.ff[ffSlots] += float64(e.COUT * e.BOUT)

	// Tags beside the PE/product stage and the post-accumulator stages.
	et.pipeDelay(t, e.TagW, e.PartLatency)
	et.pipeDelay(t, e.PostTagW, e.PostLatency)
	return nil
}

// shiftRescale measures a shift-add rescale: per PE two terms, each a
// barrel shift of the RW-bit total by a ROM field, optionally inverted or
// zeroed, registered (t1_g_q, t2_g_q), b beside them (b_g0_q), then the
// terms' sum (mul_g_q); no multiplier. A term whose ROM field is zero in
// every fold (an M of one digit) is a constant zero register that yosys
// removes with its adder; a field bit that holds one value in every fold
// is a constant select, so a term costs a multiplexer level of RW bits per
// field bit that varies (shift bits, and the enable and inversion).
func (et *engineTerms) shiftRescale(l *quant.Layer, e *rtl.Engine) {
	terms, _ := rtl.ShiftTerms(l.Rescale.M, l.Rescale.B)
	for p := 0; p < e.P; p++ {
		live := 0
		for k := 0; k < 2; k++ {
			var v0, vary int64
			nonzero := false
			for g := 0; g < e.G; g++ {
				v := int64(0)
				if o := g*e.P + p; o < len(l.Rescale.M) {
					v = terms[2*o+k]
				}
				if g == 0 {
					v0 = v
				}
				vary |= v ^ v0
				nonzero = nonzero || v != 0
			}
			if e.Runtime {
				// Loaded at run time: every term live, every field bit varies.
				nonzero, vary = true, int64(1)<<e.MTW-1
			}
			if !nonzero {
				continue
			}
			live++
			et.lut[lutShift] += float64(e.RW * bits.OnesCount64(uint64(vary)))
			et.ff[ffData] += float64(e.RW)
		}
		if live == 2 {
			et.lut[lutRound] += float64(e.RW) // t1 + t2
		}
		et.ff[ffData] += float64(e.BW) // b_g0_q
	}
}

// addTerms measures a residual add engine: the skip FIFO, per channel
// three registered stages (the aligned sum, the rounding, the clamp), the
// output credits and the output FIFO.
func addTerms(t Target, e *rtl.Engine, et *engineTerms) {
	et.memory(t, memory{name: "skip_fifo", kind: memFIFO, depth: e.FifoDepth, width: e.In2Bits, copies: 1})
	et.memory(t, memory{name: "ofifo", kind: memFIFO, depth: e.ODepth, width: e.OutBits, copies: 1})
	et.lut[lutAdd] += float64(e.COUT * e.RW)
	et.lut[lutOut] += float64(e.COUT * e.BOUT)
	et.lut[lutCtl] += float64(e.OccW)
	et.ff[ffCtl] += float64(e.OccW + 3)
	et.ff[ffData] += float64(e.COUT * (2*e.RW + e.BOUT))
	et.pes = 0
}

// poolTerms measures a streaming max pool (rtl's planPool): the line of
// OW partial maxima (read registered), per channel two compare-and-select
// stages (the running maximum and the line word against it) with their
// registers and the output register, the position counters, the credits
// and the output FIFO.
func poolTerms(t Target, e *rtl.Engine, et *engineTerms) {
	et.memory(t, memory{name: "line", kind: memRAM, depth: e.LineDepth, width: e.InBits, copies: 1})
	et.memory(t, memory{name: "ofifo", kind: memFIFO, depth: e.ODepth, width: e.OutBits, copies: 1})
	et.lut[lutAcc] += float64(2 * 2 * e.CIN * e.BIN) // two compares and two selects per channel
	ctl := e.LCW + e.IHW + 2*e.KW + e.LAW + e.OccW
	et.lut[lutCtl] += float64(ctl)
	et.ff[ffCtl] += float64(ctl + e.LAW + 4)
	et.ff[ffData] += float64(2 * e.CIN * e.BIN) // the running maximum and the output register
	et.lanes = 1
}

// memory maps a memory and counts it: BRAMs, LUTRAM cells, logic-ROM
// leaves, flip-flops and read multiplexers, and the registers on its read
// port that yosys keeps outside a LUTRAM or logic ROM (a block RAM holds
// its own). A FIFO (a stream_fifo module) adds its pointers and flags.
func (et *engineTerms) memory(t Target, m memory) {
	mp := mapMemory(t, m)
	c := float64(m.copies)
	et.mems = append(et.mems, MemEstimate{Name: m.name, Depth: m.depth, Width: m.width, Copies: m.copies, Map: mp.how, Cells: m.copies * mp.cells})
	switch mp.how {
	case mapBRAM:
		et.brams += m.copies * mp.cells
	case mapLUTRAM:
		et.lut[lutLUTRAM] += c * float64(mp.cells)
		et.lut[lutMux] += c * float64(mp.muxInput)
	case mapLogic:
		et.lut[lutROM] += c * float64(mp.romLUTs)
	case mapFF:
		if m.loaded {
			et.lut[lutWMux] += c * float64(mp.muxInput+m.depth)
		} else {
			et.lut[lutMux] += c * float64(mp.muxInput)
		}
		if m.kind == memFIFO && m.depth > 1 {
			et.ff[ffFIFO] += c * float64(mp.ffBits)
		} else {
			et.ff[ffMem] += c * float64(mp.ffBits)
		}
	}
	switch m.kind {
	case memFIFO:
		et.lut[lutFIFO] += c
		// Read and write pointers of clog2(depth) bits, a count of
		// clog2(depth+1).
		d := max(m.depth, 2)
		et.ff[ffFIFO] += c * float64(2*bits.Len(uint(d-1))+bits.Len(uint(d)))
	case memRAM:
		if mp.how != mapBRAM {
			rb := m.width // the read word
			if m.readBits > 0 {
				rb = m.readBits
			}
			et.ff[ffLane] += c * float64(rb)
		}
	case memROM:
		// The read register (the weight word's w_c_q, a per-channel ROM's
		// stage register): one flip-flop per distinct column in logic; a
		// block RAM holds its own.
		if m.depth > 1 && mp.how != mapBRAM {
			et.ff[ffROM] += c * float64(m.cols)
		}
	}
}

// planTerms measures one engine.
func planTerms(q *quant.Model, op Op, t Target, e *rtl.Engine) (*engineTerms, error) {
	et := &engineTerms{layer: e.Layer, module: e.Module, kind: e.Kind, pes: e.P, lanes: 1}
	if e.Add {
		addTerms(t, e, et)
		return et, nil
	}
	if e.PoolStream {
		poolTerms(t, e, et)
		return et, nil
	}
	if err := windowTerms(q.Layers[e.Index], op, t, e, et); err != nil {
		return nil, err
	}
	return et, nil
}

// topTerms measures what the top adds to the engines: the output
// serializer, the stream forks, the status slave and the framing check.
func topTerms(n *rtl.Net) *engineTerms {
	et := &engineTerms{}
	et.lut[lutSerial] += float64(n.OutCount * n.OutW)
	cw := max(1, bits.Len(uint(n.OutCount-1)))
	et.ff[ffSerial] += float64(1 + cw + n.OutCount*n.OutW)
	et.lut[lutFork] += float64(n.Forks)
	et.ff[ffFork] += float64(2 * n.Forks)
	// templates/prim/axil_status.v: five 32-bit counters (images in and
	// out, the cycle count's two words, the period's difference), the
	// WEIGHTS register's 16- and 8-bit load counters and a 32-bit read
	// multiplexer; eight 32-bit registers, the load counters, the error
	// flags and the handshake flags. templates/prim/axis_frame_check.v: a beat
	// counter, its mode, and the zero-fill gate on the pixel.
	// templates/prim/stream_skid.v: two pixel registers and their select.
	pw := max(1, bits.Len(uint(max(n.Pixels(), 2)-1)))
	et.lut[lutStatus] += float64(5*32 + 24 + 32 + pw + 2*n.InBits)
	et.ff[ffStatus] += float64(8*32 + 24 + 2 + 6 + 2 + pw + 3 + 1 + 2*n.InBits + 2)
	if n.Runtime {
		// The runtime weight loader (templates/net_top.v.tmpl): the word
		// being assembled and the write register (2 x BMax·32 bits), the
		// counters and the write address; a 2:1 multiplexer per word bit
		// and a decode per memory. Counted structurally (no runtime
		// design is in the fit), in the status terms' units.
		dw, aw := 0, 0
		for _, m := range n.WMems {
			dw = max(dw, m.Beats*rtl.WeightBeatBits)
			aw = max(aw, bits.Len(uint(max(m.Depth-1, 1))))
		}
		et.lut[lutStatus] += float64(dw + 2*len(n.WMems) + 2*aw)
		et.ff[ffStatus] += float64(2*dw + 3*aw + 16)
	}
	return et
}

func (m netModel) counts(et *engineTerms) Counts {
	var luts, ffs float64
	for i, v := range et.lut {
		luts += m.lut[i] * v
	}
	for i, v := range et.ff {
		ffs += m.ff[i] * v
	}
	return Counts{LUTs: int(math.Round(max(luts, 0))), FFs: int(math.Round(max(ffs, 0))), BRAMs: et.brams, DSPs: et.dsps}
}

// netTerms plans the network and measures every engine.
func netTerms(q *quant.Model, c rtl.NetConfig, op Op, t Target) (*rtl.Net, []*engineTerms, *engineTerms, error) {
	if _, err := ParseTarget(string(t)); err != nil {
		return nil, nil, nil, err
	}
	switch op {
	case L1:
		c.MACAdders = false
	case MAC:
		c.MACAdders = true
	default:
		return nil, nil, nil, fmt.Errorf("synth: op %q unknown", op)
	}
	n, err := rtl.PlanNet(q, c)
	if err != nil {
		return nil, nil, nil, err
	}
	var ets []*engineTerms
	for _, e := range n.Engines {
		et, err := planTerms(q, op, t, e)
		if err != nil {
			return nil, nil, nil, err
		}
		ets = append(ets, et)
	}
	return n, ets, topTerms(n), nil
}

// EstimateNet predicts the LUTs, flip-flops, block RAMs and DSPs of the
// whole network design of q with hardware options c, as `addergen synth
// model --op OP --target T` measures it (the L1 design with DSPs on
// xilinx; the MAC design, op MAC, without, as synth model builds it).
//
// The plan (rtl.PlanNet) gives every engine's PEs, lanes, widths, ring,
// ROMs, constant-multiply trees, pipeline and FIFOs. Memories are mapped
// as yosys' memory_libmap would (block RAM, LUTRAM, soft logic or
// flip-flops, by its costs), DSPs are counted per multiplier wide enough
// for one (each product lane of a conv engine with a weight ROM, each
// rescale with an m ROM), adder PEs cost what synth.Estimate predicts for
// their pipelined PE, and the rest is a linear model in structural terms
// fitted to measurements (see RESULTS.md). Meant to be within about 15%
// of yosys for LUTs and FFs.
func EstimateNet(q *quant.Model, c rtl.NetConfig, op Op, t Target) (*NetEstimate, error) {
	n, ets, top, err := netTerms(q, c, op, t)
	if err != nil {
		return nil, err
	}
	m := netModels[t]
	est := &NetEstimate{Op: op, Target: t, Top: m.counts(top)}
	add := func(a *Counts, b Counts) {
		a.LUTs += b.LUTs
		a.FFs += b.FFs
		a.BRAMs += b.BRAMs
		a.DSPs += b.DSPs
	}
	add(&est.Total, est.Top)
	for i, et := range ets {
		e := n.Engines[i]
		ee := EngineEstimate{Layer: et.layer, Module: et.module, Kind: et.kind, PEs: et.pes, Lanes: et.lanes, Counts: m.counts(et), Memories: et.mems}
		est.Engines = append(est.Engines, ee)
		add(&est.Total, ee.Counts)
		if e.Reduce {
			est.PEs += e.P
			est.Lanes += e.P * e.LanesPE
		} else if !e.Add {
			est.PEs += e.P
			est.Lanes += e.P
		}
		est.ROMBits += romBits(e)
		est.BufferBits += e.LineBufferBits() + e.FIFOBits()
	}
	return est, nil
}

// romBits is an engine's ROM contents in bits, as emit-verilog's manifest
// counts them: only the ROMs that exist (a one-word weight ROM and a
// one-row rescale ROM are constants).
func romBits(e *rtl.Engine) int {
	n := 0
	if e.WeightROM {
		n += e.WRomD * e.WRomW
	}
	if e.MROM {
		n += e.G * e.MRomW
	}
	if e.HasRescale {
		n += e.G * e.BRomW
	}
	if e.Adder {
		n += e.G * e.CRomW
	}
	return n
}

// ice40RAMRegBits is the largest RAM (not FIFO), in bits, the iCE40
// estimate keeps in flip-flops rather than a block RAM; see mapMemory.
const ice40RAMRegBits = 128
