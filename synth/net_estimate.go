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

// EngineEstimate is one layer engine's share of the estimate.
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

// MemEstimate is the predicted mapping of one memory.
type MemEstimate struct {
	Name  string `json:"name"`
	Depth int    `json:"depth"`
	Width int    `json:"width"`
	Reads int    `json:"reads"`
	Map   string `json:"map"`
	Cells int    `json:"cells"` // BRAM or LUTRAM cells (all read-port copies)
}

// Memory kinds as yosys sees them.
const (
	memRAM      = iota // one synchronous write port, synchronous reads (frame buffers)
	memRAMAsync        // one synchronous write port, asynchronous reads (FIFOs)
	memROM             // constant contents, synchronous read (weight ROMs)
	memROMAsync        // constant contents, asynchronous read (rescale constants)
)

// Memory mappings.
const (
	mapBRAM   = "bram"
	mapLUTRAM = "lutram"
	mapLogic  = "logic"
	mapFF     = "ff"
)

// memory is one memory of a planned engine. For a ROM, cols is its
// content's distinct bit columns that are not constant (what is left once
// yosys removes constant columns and merges identical ones) and nonzero
// its columns that are not all zeros (the width a block RAM must hold).
type memory struct {
	name          string
	kind          int
	depth, width  int
	reads         int
	cols, nonzero int
	// fieldBits is, per field (a lane's weight, a PE's multiplier), the
	// bits that are not zero in every word: the partial products a
	// multiplier by that field keeps; for a field that holds one value in
	// every word, fieldConst is true and fieldBits counts its one bits.
	fieldBits  []int
	fieldConst []bool
}

func (m memory) bits() int { return m.depth * m.width }

// mapped is a memory's predicted mapping.
type mapped struct {
	how      string
	cells    int // BRAM or LUTRAM cells, all read copies
	romLUTs  int // logic ROM: LUT6 (xilinx) or LUT4 (ice40) leaves before optimisation
	ffBits   int // ff: storage flip-flops
	muxInput int // ff: read multiplexer inputs (width x (depth-1) x reads)
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

// lutramCells is the LUTRAM cells (RAM32M: 32 x 6, RAM64M: 64 x 3) one
// read copy of a depth x width memory takes on xilinx.
func lutramCells(depth, width int) int {
	if depth <= 32 {
		return ceilDiv(width, 6)
	}
	return ceilDiv(depth, 64) * ceilDiv(width, 3)
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

// fifoLogic is the LUTs of a stream_fifo's pointers and flags.
const fifoLogic = 10

// mapMemory predicts where yosys puts a memory: the cheapest of soft
// logic, LUTRAM (xilinx) and block RAM by memory_libmap's costs, every
// read port a copy.
func mapMemory(t Target, m memory) mapped {
	reads := max(1, m.reads)
	rom := m.kind == memROM || m.kind == memROMAsync
	if m.depth <= 1 || rom && m.nonzero == 0 {
		// A one-word memory is registers (or a constant).
		if rom {
			return mapped{how: mapLogic}
		}
		return mapped{how: mapFF, ffBits: m.width}
	}
	width := m.width
	if rom {
		width = m.nonzero // yosys drops the all-zero columns first
	}
	best := mapped{how: mapFF}
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
		bestCost = float64(m.depth*width*reads) * c
		best = mapped{how: mapLogic, romLUTs: m.cols * romLeaves(m.depth, k) * reads}
	} else {
		// Soft logic costs every bit once per read port too.
		bestCost = float64(m.bits()*reads) * logicCostRAM
		best = mapped{how: mapFF, ffBits: m.bits(), muxInput: m.width * (m.depth - 1) * reads}
	}
	// LUTRAM (xilinx; RAMs only: ROMs are pruned from distributed RAM).
	if t == Xilinx && !rom {
		n := lutramCells(m.depth, m.width) * reads
		if c := float64(n * lutramCost); c < bestCost {
			best, bestCost = mapped{how: mapLUTRAM, cells: n}, c
			if m.depth > 64 {
				best.muxInput = m.width * (ceilDiv(m.depth, 64) - 1) * reads
			}
		}
	}
	// Block RAM: synchronous reads only.
	if m.kind == memRAM || m.kind == memROM {
		switch t {
		case Xilinx:
			n18, c18 := bestBRAM(m.depth, width, ramb18Shapes, ramb18Cost)
			n36, c36 := bestBRAM(m.depth, width, ramb36Shapes, ramb36Cost)
			if float64(c18*reads) < bestCost && c18 <= c36 {
				best, bestCost = mapped{how: mapBRAM, cells: n18 * reads}, float64(c18*reads)
			} else if float64(c36*reads) < bestCost {
				best, bestCost = mapped{how: mapBRAM, cells: n36 * reads}, float64(c36*reads)
			}
		case ICE40:
			n, c := bestBRAM(m.depth, width, ice40Shapes, ice40BRAMCost)
			if float64(c*reads) < bestCost {
				best, bestCost = mapped{how: mapBRAM, cells: n * reads}, float64(c*reads)
			}
		}
	}
	return best
}

// The terms of the LUT and flip-flop models. Each is a structural
// quantity of the plan; the models weigh them with coefficients fitted to
// `addergen synth model` measurements (testdata/net_measurements.json).
// The terms fall in parts that yosys keeps as separate modules (the design
// is not flattened before mapping), so each part is fitted to its own
// modules' cells: the PE module, the engine module, the FIFOs and the top.
const (
	lutPE      = iota // PE module: the PE's own estimate (synth.Estimate, L1, combinational), per PE
	lutPEDepth        // PE module: the same x log2(lanes): deep combinational trees cost more
	// engine module
	lutAcc    // accumulators: P x AccW (windows of more than one step)
	lutConst  // adder weight constants: P x AccW
	lutRound  // rescale rounding and clamp comparison: P x RW
	lutOut    // output clamp multiplexers: P x out bits
	lutMax    // max-pool comparators: channels x AccW
	lutROM    // leaves of the ROMs in soft logic (weights, rescale constants)
	lutLUTRAM // LUTRAM cells of the frame buffer
	lutMux    // read-multiplexer inputs of memories in flip-flops or deep LUTRAM
	lutAddr   // window position addresses and bounds: positions per cycle x coordinate bits
	lutGate   // padding gates on the window pixels: positions per cycle x pixel bits
	lutEngine // one per engine: control
	lutMult   // partial-product bits of multipliers in LUTs
	lutMultK  // adders of multipliers by constants in LUTs (a x (one bits - 1))
	lutFIFO   // FIFO modules: LUTRAM cells + pointer logic
	lutSerial // top: output serializer, classes x code bits
	nLUTTerms
)

const (
	ffControl = iota // engine: counters, coordinates, flags
	ffData           // engine: window pixels, weight words (when not held by a BRAM or DSP)
	ffAcc            // engine: accumulators, P x AccW
	ffSlots          // engine: output words, channels x out bits
	ffMem            // engine: memories mapped to flip-flops
	ffFIFO           // FIFO modules: pointers
	ffSerial         // top: the serializer's word and counter
	nFFTerms
)

// Which part (module kind) each term belongs to.
const (
	partPE = iota
	partEngine
	partFIFO
	partTop
)

var lutTermPart = [nLUTTerms]int{partPE, partPE, partEngine, partEngine, partEngine, partEngine, partEngine, partEngine, partEngine, partEngine, partEngine,
	partEngine, partEngine, partEngine, partEngine, partFIFO, partTop}
var ffTermPart = [nFFTerms]int{partEngine, partEngine, partEngine, partEngine, partEngine, partFIFO, partTop}

var lutTermNames = [nLUTTerms]string{"pe", "pe_depth", "acc", "const", "round", "out", "max", "rom", "lutram", "mux", "addr", "gate", "engine", "mult", "mult_const", "fifo", "serial"}
var ffTermNames = [nFFTerms]string{"control", "data", "acc", "slots", "mem", "fifo", "serial"}

// netModel weighs the terms for one target.
type netModel struct {
	lut [nLUTTerms]float64
	ff  [nFFTerms]float64
}

// netModels were fitted by least squares (relative, non-negative, pulled
// lightly toward structural priors) to the measurements in
// testdata/net_measurements.json and testdata/net_pe_measurements.json
// (yosys 0.23; see RESULTS.md), each part to its own modules' cells; `go
// test ./synth -run TestNetEstimate -fitnet` refits them.
var netModels = map[Target]netModel{
	Xilinx: {
		lut: [nLUTTerms]float64{1.172 /* pe */, 0.01825 /* pe_depth */, 2.827 /* acc */, 0 /* const */, 0 /* round */, 0.5733 /* out */, 3.159 /* max */, 1.296 /* rom */, 1 /* lutram */, 3.106 /* mux */, 2.534 /* addr */, 0.82 /* gate */, 33.84 /* engine */, 1.953 /* mult */, 2.298 /* mult_const */, 1.292 /* fifo */, 0.3673 /* serial */},
		ff:  [nFFTerms]float64{1.084 /* control */, 1.015 /* data */, 1.018 /* acc */, 0.8337 /* slots */, 0.7653 /* mem */, 1.302 /* fifo */, 1.001 /* serial */},
	},
	ICE40: {
		lut: [nLUTTerms]float64{0.9938 /* pe */, 0.09748 /* pe_depth */, 0.1288 /* acc */, 7.777 /* const */, 0 /* round */, 2.514 /* out */, 1.632 /* max */, 0.6761 /* rom */, 1 /* lutram */, 0.2336 /* mux */, 3.956 /* addr */, 1.563 /* gate */, 94.02 /* engine */, 1.998 /* mult */, 1.986 /* mult_const */, 2.585 /* fifo */, 0.8274 /* serial */},
		ff:  [nFFTerms]float64{1.037 /* control */, 1.111 /* data */, 0.8083 /* acc */, 1.218 /* slots */, 0.4728 /* mem */, 1.003 /* fifo */, 1.046 /* serial */},
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

// multiplier counts one product of an a-bit operand by a b-bit one: in
// DSPs when the design may use them and they fit; otherwise in LUTs, a
// partial product per nonzero bit of the ROM operand (a multiplier by a
// field that is always zero vanishes), or for a constant operand an adder
// per one bit beyond the first.
func (et *engineTerms) multiplier(dsp bool, a, b, nonzero int, constant bool) {
	if dsp {
		if d := dspsFor(a, b); d > 0 {
			// Kept even by a zero weight: the products of a dot product
			// are summed along the DSP cascade.
			et.dsps += d
			return
		}
	}
	if constant {
		et.lut[lutMultK] += float64(a * max(nonzero-1, 0))
		return
	}
	et.lut[lutMult] += float64(a * nonzero)
}

func log2f(n int) float64 { return math.Log2(float64(max(n, 1))) }

// romColumns returns the distinct non-constant bit columns and the
// columns that are not all zero of a ROM whose word r (of depth) packs
// the values val(r, f) of fields f < fields, w bits each (two's
// complement), as rtl's ROM files do, and per field the bits that are not
// zero in every word.
func romColumns(depth, fields, w int, val func(r, f int) int64) (cols, nonzero int, fieldBits []int, fieldConst []bool) {
	words := ceilDiv(depth, 64)
	seen := map[string]bool{}
	col := make([]uint64, words)
	fieldBits, fieldConst = make([]int, fields), make([]bool, fields)
	for f := 0; f < fields; f++ {
		if v, ok := constField(depth, f, val); ok {
			// A constant multiplier keeps a partial product per one bit of
			// its two's complement code (yosys does not recode it).
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

// engineROMs returns the ROMs of a planned engine with their contents'
// column statistics (rtl.PlanNet's layout: the weight ROM word of group g
// and step s holds, per PE p, window position u and channel c, the weight
// of output channel g*P+p at kernel position s*U+u; the rescale and
// weight-constant ROMs hold one value per PE, a word per group).
func engineROMs(l *quant.Layer, e *rtl.Engine) []memory {
	var out []memory
	if e.Reduce {
		wb := e.BIN
		if e.Conv {
			wb = e.WB
		}
		m := memory{name: "wrom", kind: memROM, depth: e.WRomD, width: e.WRomW, reads: 1}
		wt := l.Weight.Data
		m.cols, m.nonzero, m.fieldBits, m.fieldConst = romColumns(e.WRomD, e.P*e.LanesPE, wb, func(r, f int) int64 {
			g, st := r/e.T, r%e.T
			p, rest := f/e.LanesPE, f%e.LanesPE
			u, ch := rest/e.CIN, rest%e.CIN
			o, kk := g*e.P+p, st*e.U+u
			if o >= e.COUT || kk >= e.KK {
				return 0
			}
			return wt[(o*e.CIN+ch)*e.KK+kk]
		})
		out = append(out, m)
	}
	perChannel := func(name string, src []int64, w int) {
		m := memory{name: name, kind: memROMAsync, depth: e.G, width: e.P * w, reads: 1}
		m.cols, m.nonzero, m.fieldBits, m.fieldConst = romColumns(e.G, e.P, w, func(g, p int) int64 {
			if o := g*e.P + p; o < len(src) {
				return src[o]
			}
			return 0
		})
		out = append(out, m)
	}
	if e.HasRescale {
		perChannel("mrom", l.Rescale.M, e.MW)
		perChannel("brom", l.Rescale.B, e.BW)
	}
	if e.Adder {
		perChannel("crom", l.WeightConst, e.CWd)
	}
	return out
}

// regBits is the flip-flops of a counter or coordinate register: none
// when it only ever holds one value.
func regBits(w, maxVal int) int {
	if maxVal == 0 {
		return 0
	}
	return w
}

// planTerms measures one engine.
func planTerms(q *quant.Model, op Op, t Target, e *rtl.Engine) (*engineTerms, error) {
	et := &engineTerms{layer: e.Layer, module: e.Module, kind: e.Kind, pes: e.P, lanes: 1}
	l := q.Layers[e.Index]
	dsp := t == Xilinx && op == L1 // the MAC design is synthesized -nodsp, as synth model does
	var mems []memory
	fifoCtl := func(depth int) float64 { return float64(2 * (bits.Len(uint(max(depth, 2)-1)) + 1)) }
	if e.Add {
		// Residual add: a FIFO on the skip input, an adder, rounding and
		// clamp per channel, one output register.
		mems = append(mems, memory{name: "skip_fifo", kind: memRAMAsync, depth: e.FifoDepth, width: e.In2Bits, reads: 1})
		et.lut[lutRound] += float64(e.COUT * e.RW)
		et.lut[lutOut] += float64(e.COUT * e.BOUT)
		et.lut[lutEngine]++
		et.ff[ffFIFO] += fifoCtl(e.FifoDepth)
		et.ff[ffControl]++
		et.ff[ffSlots] += float64(e.OutBits)
		et.pes = 0
	} else {
		et.lanes = e.LanesPE
		if !e.Reduce {
			et.lanes = 1
		}
		// Frame buffer: one synchronous read port per window position.
		mems = append(mems, memory{name: "fb", kind: memRAM, depth: e.FBDepth, width: e.InBits, reads: e.U},
			memory{name: "ofifo", kind: memRAMAsync, depth: e.ODepth, width: e.OutBits, reads: 1})
		mems = append(mems, engineROMs(l, e)...)
		et.lut[lutEngine]++
		spatial := 2 * e.CW // the window's top-left corner
		if e.OH == 1 && e.OW == 1 {
			spatial = 0
		}
		if spatial > 0 {
			et.lut[lutAddr] += float64(e.U * e.CW)
		}
		if spatial > 0 || e.K > 1 {
			et.lut[lutGate] += float64(e.U * e.InBits)
		}
		et.lut[lutOut] += float64(e.P * e.BOUT)
		et.ff[ffControl] += float64(1 + e.FBAW + regBits(e.OHW, e.OHMax) + regBits(e.OWW, e.OWMax) + 2*regBits(e.GW, e.GMax) +
			regBits(e.StepW, e.StepMax) + spatial + e.OccW + 4 + 3*e.U)
		et.ff[ffFIFO] += fifoCtl(e.ODepth)
		et.ff[ffSlots] += float64(e.COUT * e.BOUT)
		if e.T > 1 {
			// The accumulators (a one-step window never reads them back).
			et.ff[ffAcc] += float64(e.P * e.AccW)
			if !e.Max {
				et.lut[lutAcc] += float64(e.P * e.AccW)
			}
		}
		if e.Reduce && e.G > 1 && e.T > 1 {
			// The weight address g*T + s.
			tb := bits.Len(uint(e.T))
			et.multiplier(dsp, e.GW, tb, tb, true)
		}
		roms := map[string]memory{}
		for _, m := range mems {
			roms[m.name] = m
		}
		if e.HasRescale {
			et.lut[lutRound] += float64(e.P * e.RW)
			mr := roms["mrom"]
			for p, nb := range mr.fieldBits {
				et.multiplier(dsp, e.AccW, e.MW, nb, mr.fieldConst[p])
			}
		}
		switch {
		case e.Adder:
			pe, err := Estimate(L1, t, rtl.PEConfig{Lanes: e.LanesPE, Width: e.BIN, Signed: e.InSigned, Pipeline: 0})
			if err != nil {
				return nil, fmt.Errorf("layer %s: PE: %w", e.Layer, err)
			}
			et.lut[lutConst] += float64(e.P * e.AccW)
			et.lut[lutPE] += float64(e.P * pe.LUTs)
			et.lut[lutPEDepth] += float64(e.P*pe.LUTs) * log2f(e.LanesPE)
		case e.Conv:
			// x (unsigned codes gain a sign bit) times signed weights, summed
			// over the lanes: in DSP cascades when allowed, else in LUTs.
			a := e.BIN
			if !e.InSigned {
				a++
			}
			wr := roms["wrom"]
			for p := 0; p < e.P; p++ {
				used := 0
				for f := p * e.LanesPE; f < (p+1)*e.LanesPE; f++ {
					et.multiplier(dsp, a, e.WB, wr.fieldBits[f], wr.fieldConst[f])
					if wr.fieldBits[f] > 0 {
						used++
					}
				}
				if used > 1 && (!dsp || dspsFor(a, e.WB) == 0) {
					// The sum of the products, in LUTs with them.
					et.lut[lutMult] += float64((used - 1) * e.AccW)
				}
			}
		case e.Max:
			et.lut[lutMax] += float64(e.P * e.AccW)
		}
	}
	for _, m := range mems {
		mp := mapMemory(t, m)
		et.mems = append(et.mems, MemEstimate{Name: m.name, Depth: m.depth, Width: m.width, Reads: m.reads, Map: mp.how, Cells: mp.cells})
		if m.kind == memRAMAsync { // a stream_fifo module
			switch mp.how {
			case mapLUTRAM:
				et.lut[lutFIFO] += float64(mp.cells + fifoLogic)
			case mapFF:
				et.lut[lutFIFO] += float64(fifoLogic) + float64(mp.muxInput)/4
				et.ff[ffFIFO] += float64(mp.ffBits)
			case mapBRAM:
				et.lut[lutFIFO] += float64(fifoLogic)
				et.brams += mp.cells
			}
			continue
		}
		switch mp.how {
		case mapBRAM:
			et.brams += mp.cells
		case mapLUTRAM:
			et.lut[lutLUTRAM] += float64(mp.cells)
			et.lut[lutMux] += float64(mp.muxInput)
		case mapLogic:
			et.lut[lutROM] += float64(mp.romLUTs)
		case mapFF:
			et.ff[ffMem] += float64(mp.ffBits)
			et.lut[lutMux] += float64(mp.muxInput)
		}
		// Read registers: a block RAM holds its own; a frame buffer
		// elsewhere keeps its pixel registers; a ROM in logic keeps one
		// flip-flop per distinct column (the rescale and weight-constant
		// ROMs are read through the registered group number, which yosys
		// turns into registers on their data).
		if mp.how == mapBRAM {
			continue
		}
		switch m.kind {
		case memRAM:
			et.ff[ffData] += float64(m.reads * m.width)
		case memROM, memROMAsync:
			if m.depth > 1 {
				et.ff[ffData] += float64(m.cols)
			}
		}
	}
	return et, nil
}

// topTerms measures what the top adds to the engines: the output
// serializer and the stream forks.
func topTerms(n *rtl.Net) *engineTerms {
	et := &engineTerms{}
	et.lut[lutSerial] += float64(n.OutCount * n.OutW)
	cw := max(1, bits.Len(uint(n.OutCount-1)))
	et.ff[ffSerial] += float64(1 + cw + n.OutCount*n.OutW)
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
// The plan (rtl.PlanNet) gives every engine's PEs, lanes, widths, frame
// buffer, ROMs and FIFO. Memories are mapped as yosys' memory_libmap
// would (block RAM, LUTRAM, soft logic or flip-flops, by its costs), DSPs
// are counted per multiplier wide enough for one, adder PEs cost what
// synth.Estimate predicts, and the rest is a linear model in structural
// terms fitted to measurements (see RESULTS.md). Meant to be within about
// 15% of yosys for LUTs and FFs.
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
		if e.Add {
			est.BufferBits += e.FifoDepth * e.In2Bits
		} else {
			est.BufferBits += e.FBDepth * e.InBits
		}
	}
	return est, nil
}

// romBits is an engine's ROM contents in bits, as emit-verilog's manifest
// counts them.
func romBits(e *rtl.Engine) int {
	n := 0
	if e.Reduce {
		n += e.WRomD * e.WRomW
	}
	if e.HasRescale {
		n += e.G * (e.MRomW + e.BRomW)
	}
	if e.Adder {
		n += e.G * e.CRomW
	}
	return n
}
