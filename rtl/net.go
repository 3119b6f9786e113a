package rtl

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/addergen/addergen/quant"
)

// Engine is the plan of one streaming layer engine. Every engine has the
// same stream ports: one beat per pixel carrying all channels.
type Engine struct {
	Module, Layer, Kind string
	Index               int    // layer index in the quantized model
	Src, Dst            string // wire prefixes of the input and output streams in the top
	Src2                string // second input (add)
	Add                 bool
	BIN2                int
	InSigned2           bool
	In2Bits, In2Msb     int
	FifoDepth           int
	SkipLead            int // add: beats the skip branch may lead the main one (see sizeSkipFIFOs)
	A0, A1              int
	X2Pad               int
	Reduce              bool
	Adder, Conv         bool
	Max, Avg, ReLUOnly  bool

	CIN, H, W, COUT, OH, OW, K, S, PAD, KK int
	P, G                                   int
	BIN, BOUT                              int
	InSigned, OutSigned                    bool
	InBits, InMsb, OutBits, OutMsb         int

	// Folding (FINN's MVAU terms): SIMD input channels per window position
	// and CF = CIN/SIMD channel folds; U window positions per step (U > 1
	// only when SIMD = CIN), TP = ceil(KK/U) position steps; T = TP*CF steps
	// per output pixel and output-channel fold. WinLanes says which position
	// each lane covers at each position step.
	U, T            int
	SIMD, CF, TP    int
	PSW, PSMax      int // the position-step counter
	CFW, CFMax      int // the channel-fold counter
	StepW, StepMax  int
	WinLanes        []winLane
	XEffBits, XEMsb int // U*SIMD*BIN: the PE input word
	SB, SBMsb       int // SIMD*BIN: one lane group's slice of a pixel
	// Group-wise scales (an adder layer with operand views,
	// quant.Layer.Grouped): OB is the PE operand width (BIN otherwise);
	// Views the distinct view shifts, each a registered copy of the lanes'
	// slices (SBO = SIMD*OB bits each, XOBits = U*SBO a PE's operand
	// word); VW the bits of a PE's view select in vrom (one row per
	// output-channel fold, VRomW = P*VW bits), 0 with a single view.
	Grouped        bool
	OB             int
	Views          []engineView
	VW             int
	SBO, SBOMsb    int
	XOBits, XOMsb  int
	VRomFile       string
	VRomW, VRomMsb int
	VRomSel        int
	ViewIdx        []int64 // per output channel: its view's Idx
	LanesPE        int     // U*SIMD

	// Line buffer: a ring of RingDepth slots, one input pixel each, with
	// pixel-granular flow control (FINN's sliding-window buffer: (K-1) rows
	// and K pixels under a window, plus RingSlack). Addresses are counters
	// and constants mod RingDepth, never multiplies.
	//
	// With U > 1 window positions a step the ring is one copy split into
	// NB = 2^BankBits banks (slot a in bank a mod NB, word a / NB), and a
	// map row takes WP >= W slots (the pitch, WP = K mod NB): position
	// (ki, kj) then lies ki*WP+kj = ki*K+kj slots after the window's
	// corner, mod NB, so the U consecutive positions of a step fall in U
	// distinct banks, each read once a cycle. Lane u reads bank
	// (corner + ps*U + u) mod NB: a rotation of the bank words.
	RingDepth, RingLast, RingSlack int
	Banked                         bool
	NB, BankBits, BankDepth, QW    int       // banks, log2, words per bank, word-address width
	QW1, BKeyW                     int       // QW+1; the width of {ps, corner bank}
	WP, HWP                        int       // row pitch in slots, and H*WP: a map's slots
	Skip, SkipM1, LCW, WMax        int       // slots a row's last pixel takes (WP-W+1); loader column width, W-1
	HeldMaxSkip                    int       // RingDepth - Skip: room for a row's last pixel
	BankCases                      []bankSel // per bank: its word offset at each (step, corner bank)
	RotCases                       []rotCase // per step: (ps*U) mod NB
	// The lanes' rotation of the NB bank words is a logarithmic rotator:
	// stage S moves by 2^S words when bit S of the rotation is set
	// (log2 NB stages of 2:1 multiplexers, shared by the lanes, instead of
	// an NB:1 multiplexer per lane); RotLast is the last stage's vector.
	RotStages []rotStage
	RotLast   int
	RotUnused bool // U < NB: the last stage's words past U are not read
	// CFCases lists the input-channel folds 0..CF-1: the SIMD slice is
	// selected by a case over them (an ideal CF:1 multiplexer; the
	// indexed part-select x[cf*SB +: SB] becomes a logarithmic shifter
	// over the whole word when SB is not a power of two: 2,477 LUTs for
	// 120 x 8 against about 360, yosys 0.23 synth_xilinx).
	CFCases []int
	// PadWords, if set, is the SIMD slice (hex, SB bits) that a padded
	// window position reads in each input-channel fold: the layer's pad
	// codes (quant.Layer.PadCode). Nil: padding reads code 0.
	PadWords []string
	// SliceEarly: a small unbanked ring (RingDepth <= lutRAMDepth, a LUT
	// RAM or flip-flops, read asynchronously) with CF > 1 folds selects
	// the SIMD slice before the read register, which then holds SB bits,
	// not the whole pixel (fc2 of the LeNet demo: 120 flip-flops instead
	// of 960). Larger rings keep the registered read a block RAM needs.
	SliceEarly       bool
	RAW, RAW1        int // ring address width, and one more for the wrap compare
	PXW, PXWm1, PXW1 int // pixel-count width (0..2*H*W), minus and plus one
	HW, HWMax        int // pixels per input map, and minus one
	OHMaxM1          int
	// The reader's terminal flags (registers set a step ahead): XOne is 1
	// when counter X has one value (its flag is always set), XMaxM1 its
	// last value but one; LK0, PixL0, RowL0, MapL0 are the first step's
	// "last of its window (pixel, row, map)" flags.
	CFOne, PSOne, GOne, OWOne, OHOne  int
	CFMaxM1, PSMaxM1, GMaxM1, OWMaxM1 int
	LK0, PixL0, RowL0, MapL0          int
	// The first column step's release of a row: RowFree0 is the first
	// row's (S*WP - PAD*WP > 0), Dcol0 = max(0, S-PAD) the columns the
	// window leaves at a row's first step, RelC0 = RowFree0 * Dcol0.
	RowFree0, Dcol0, RelC0    int
	ODepthM1                  int // ODepth - 1: the credit register's compare
	Need0                     int // input rows the first output row needs
	NeedP0, NeedP0M1, NeedP0S int // input pixels the first output pixel needs, minus one, plus S
	HWPS                      int // HWP + S
	RowEnd0, Nrwc1, NrwcCap   int // rows needed*WP of row 0; what row 1's first pixel needs; its cap
	SW, PadW                  int // S*WP and PAD*WP (ring slots)
	Coln0                     int // min(W, K-PAD): the columns a row's first window needs
	Top0Addr                  int // ring offset of pixel (-PAD, -PAD) from the map's pixel 0
	ColStepAddr               int // S mod RingDepth
	RowStepAddr               int // (S*WP) mod RingDepth
	MapStepAddr               int // (H*WP) mod RingDepth
	// RingDepth minus each step (1..RingDepth): an address at or past it
	// wraps.
	ColWrap, RowWrap, MapWrap int
	Top1Addr                  int // the second map's pixel (-PAD, -PAD), mod RingDepth

	// Pipeline: PartLatency cycles of PE or products and tree, PostLatency
	// cycles after the accumulator; IssueToCapture from a pixel's last issue
	// to its entry into the output FIFO.
	PartLatency, PostLatency, IssueToCapture int
	TagW, PostTagW                           int
	ZeroAccLit                               string

	// ViewStage: a grouped adder engine registers its lanes' slices (stage
	// A3) before the views' rounding adders, one cycle more from issue to
	// capture (an iCE40 HX8K build had its critical path through the block
	// RAM read, the fold select and the rounding adder in one stage).
	ViewStage bool

	// Constants instead of multipliers: ConstW when the weight ROM is one
	// word (every product is by a constant: canonical signed digits summed
	// per shift, then in a registered tree of ConstN words per PE, see
	// constDot; ConstLatency cycles in all), ConstM when the rescale
	// ROM is one row (G = 1: the same for x*m, ConstMN words, MLatency
	// cycles of tree before the stage-G register).
	ConstW, ConstM  bool
	WeightROM, MROM bool // the weight and m ROMs exist (not constants)
	// ShiftM: every M has at most two signed digits (quant's NoMultipliers),
	// so the m ROM holds two [en, neg, shift] terms of MTW bits per PE and
	// the rescale is two barrel shifts and an add: no multiplier.
	ShiftM   bool
	SHW, MTW int
	// Stream: one window over the whole map (global pooling, or a
	// classifier with every output channel at once): each position issues
	// as its pixel arrives, so the ring holds a few pixels, not the map.
	Stream bool
	PSPad  int
	// PoolStream: a max pool with stride K and no padding, built as
	// FINN's StreamingMaxPool (see planPool): no ring and no reader, a
	// line of LineDepth = OW partial maxima instead.
	PoolStream       bool
	LineDepth, LAW   int // partial-max line words (OW) and its address width
	IHW, HMax        int // the input row counter's width, H-1
	ColIn, RowIn     int // OW*K and OH*K: the columns and rows the pool reads (floor mode)
	ColTail, RowTail bool
	// DSPProducts and DSPRescale mark the multiplies yosys maps to DSPs
	// (conv products with a weight ROM; rescales that are neither constant
	// nor shift-adds): their input registers stay in the fabric.
	DSPProducts, DSPRescale bool
	ConstN, ConstMN         int
	ConstMPEs               []constPE
	ConstDots               []constDot
	ConstLatency            int
	MLatency                int
	Family                  string // PE schedule family
	ODepth, OccW            int    // output FIFO depth and the credit counter's width
	LdW, LdPadC             int    // the loaded-pixel counter (0..FBDepth) and its zero extension to CW
	KLit                    string

	// Counter widths.
	FBDepth, FBAW, FBAMsb int
	CW, CMsb              int // signed width of row/column coordinates
	OHW, OWW, GW, KW      int // widths of the oh, ow, g, ki/kj counters
	OHMax, OWMax, GMax    int
	KMax                  int
	SLit, PadLit          string   // coordinate constants as sized literals
	RowOk0, ColOk0        string   // K bits, MSB first: window rows (columns) inside the map at ihb = iwb = -PAD
	RowNext, ColNext      []okCase // per output row (column) but the last: the next one's window rows (columns) inside the map
	FBLast                int
	GPad32, KPad32        int
	XPad, WPad, CPad      int // sign/zero extension of x, w, const to AccW
	TPad, MPad, BPad      int // sign extension of total, m, b to RW

	// Processing elements.
	PEModule string
	PEW      int
	LaneBits int // per-PE lanes in the weight word (CIN*BIN or CIN*WB)
	WB       int // conv weight bits
	WRomFile string
	WRomW    int
	WRomMsb  int
	WRomD    int
	// Runtime: the engine's memories (Mems) have a write port (wr_sel_i,
	// wr_addr_i, wr_data_i of WSelW, WAddrW and WDataW bits) and no
	// initial contents (NetConfig.WeightsMode "runtime").
	Runtime               bool
	Mems                  []EngineMem
	WSelExpr              string // the top's wr_sel_i connection (Net.wrSelExpr)
	WSelW, WAddrW, WDataW int
	WRomSel, CRomSel      int // each memory's bit of wr_sel_i
	MRomSel, BRomSel      int
	// WRomStyle is the weight ROM's rom_style attribute: "block", "logic"
	// or "" (the tool decides); NetConfig.WeightMemory.
	WRomStyle string
	WAW       int // weight ROM address width

	AccW, AccMsb int
	AccPadPE     int // zero bits extending the PE sum to AccW

	HasRescale          bool
	MW, BW, CWd, RW     int
	MRomFile, BRomFile  string
	CRomFile            string
	MRomW, BRomW, CRomW int
	MRomMsb, BRomMsb    int
	CRomMsb             int
	RMsb                int
	Shift               int
	HalfLit             string
	RemMsb              int
	Rounding            string
	OutLoLit, OutHiLit  string
	ProdW, ProdPad      int // a conv lane's product width, and its sign extension to AccW
	// Saturation by bit tests (setSat): values with bits [RW-1:SatN] all
	// zero (or all equal, SatSigned) are in range.
	SatBits, SatSigned bool
	SatN               int

	swapped bool // add: the skip input is the model's input 0

	// Cycle model.
	LoadCycles    int // beats in (one per input pixel)
	ComputeCycles int // issue cycles per image plus the pipeline tail
	Tail          int // cycles from the last issue to the last output beat on m_*

	// ROM contents, rendered into files.
	roms map[string]string
}

// Net is the plan of a whole-network design.
type Net struct {
	Top                     string
	Engines                 []*Engine
	Streams                 []*netStream
	InBits                  int
	InMsb                   int
	OutCount                int // classes on the output stream
	OutW                    int // bits per class code
	OutTData                int // tdata width (OutW rounded up to bytes)
	OutSigned               bool
	OutSignedInt            int
	OutTMsb                 int
	OutSrc                  *netStream
	Forks                   int
	Input                   *netStream
	Prims                   []string
	Model                   *quant.Model
	PredictedCyclesPerImage int
	LatencyCycles           int
	TargetCycles            int  // the NetConfig.TargetCycles it was folded for
	AResetN                 bool // NetConfig.AResetN: the top's reset is aresetn
	// Runtime weights (NetConfig.WeightsMode "runtime"): every engine
	// memory is loaded over s_axis_w in the order of WMems.
	Runtime bool
	WMems   []WeightMem
}

type netStream struct {
	Name      string // wire prefix
	Bits, Msb int
	Layer     int // producing layer index, -1 for the input
	Engine    *Engine
	Alias     bool
	Fork      *netFork // set when two layers read the stream
	taken     int
}

// netFork broadcasts a stream read by two layers.
type netFork struct {
	Name      string
	Bits, Msb int
	Out       [2]string
}

// NetStreamInfo describes one layer's output stream for checking.
type NetStreamInfo struct {
	Layer    string
	Index    int
	Instance string // hierarchical instance name of the engine in the top
	Channels int
	Pixels   int // beats per image
	Bits     int // bits per code
	Signed   bool
}

func clog2(n int) int {
	if n <= 1 {
		return 1
	}
	return bits.Len(uint(n - 1))
}

func widthFor(n int) int { return max(1, bits.Len(uint(n))) }

// slit prints v as a sized signed Verilog literal of width w.
func slit(w int, v int64) string {
	if v < 0 {
		return fmt.Sprintf("-%d'sd%d", w, uint64(-v))
	}
	return fmt.Sprintf("%d'sd%d", w, v)
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// PlanNet plans the hardware for a quantized model.
func PlanNet(q *quant.Model, c NetConfig) (*Net, error) {
	target := c.TargetCycles
	if c.TargetCycles > 0 {
		t, err := fold(q, c)
		if err != nil {
			return nil, err
		}
		c = t
	} else if c.Balance {
		b, err := balance(q, c)
		if err != nil {
			return nil, err
		}
		c = b
	}
	if c.Top == "" {
		c.Top = "addernet"
	}
	if !identRe.MatchString(c.Top) || verilogKeywords[c.Top] {
		return nil, fmt.Errorf("top %q is not a legal Verilog module name", c.Top)
	}
	if c.Parallel == 0 {
		c.Parallel = DefaultParallel
	}
	if c.Parallel < 1 || c.Parallel > 4096 {
		return nil, fmt.Errorf("parallel %d out of range: must be 1..4096", c.Parallel)
	}
	if c.Lanes < 0 || c.Lanes > 1<<16 {
		return nil, fmt.Errorf("lanes %d out of range: must be 0..65536", c.Lanes)
	}
	if !validWeightMemory(c.WeightMemory) {
		return nil, fmt.Errorf("weight memory %q: want one of %s", c.WeightMemory, strings.Join(WeightMemories, ", "))
	}
	if c.WeightsMode != "" && c.WeightsMode != WeightsROM && c.WeightsMode != WeightsRuntime {
		return nil, fmt.Errorf("weights mode %q: want %s or %s", c.WeightsMode, WeightsROM, WeightsRuntime)
	}
	runtime := c.WeightsMode == WeightsRuntime
	for name, o := range c.Layers {
		if q.Layer(name) == nil {
			return nil, fmt.Errorf("hardware config: layer %q is not in the model", name)
		}
		if o.Parallel < 0 || o.Parallel > 4096 {
			return nil, fmt.Errorf("hardware config: layer %q: parallel %d out of range", name, o.Parallel)
		}
		if o.Lanes < 0 || o.Lanes > 1<<16 {
			return nil, fmt.Errorf("hardware config: layer %q: lanes %d out of range", name, o.Lanes)
		}
	}
	n := &Net{Top: c.Top, Model: q, TargetCycles: target, AResetN: c.AResetN}
	in := q.Input
	if len(in.Shape) != 3 {
		return nil, fmt.Errorf("input shape %v: the RTL needs [C, H, W]", in.Shape)
	}
	n.Input = &netStream{Name: "in", Bits: in.Shape[0] * in.Bits, Layer: -1}
	n.Input.Msb = n.Input.Bits - 1
	n.InBits, n.InMsb = n.Input.Bits, n.Input.Bits-1
	streams := make([]*netStream, len(q.Layers))
	// Count the readers of every layer output (through flatten aliases) so
	// that streams read twice get a fork.
	readers := map[int]int{}
	root := func(j int) int {
		for j >= 0 && q.Layers[j].Op == quant.OpFlatten {
			j = q.Layers[j].InputIndex()[0]
		}
		return j
	}
	for _, l := range q.Layers {
		if l.Op == quant.OpFlatten {
			continue
		}
		for _, j := range l.InputIndex() {
			readers[root(j)]++
		}
	}
	for j, c := range readers {
		if c > 2 {
			name := "input"
			if j >= 0 {
				name = q.Layers[j].Name
			}
			return nil, fmt.Errorf("layer %s is read by %d layers; the RTL generator forks a stream at most two ways", name, c)
		}
	}
	src := func(l *quant.Layer, i int) *netStream {
		j := l.InputIndex()[i]
		if j < 0 {
			return n.Input
		}
		return streams[j]
	}
	// wire returns the wire prefix a reader of s uses: s itself, or one of
	// its fork outputs.
	wire := func(s *netStream) string {
		if s.Fork == nil {
			return s.Name
		}
		s.taken++
		return s.Fork.Out[s.taken-1]
	}
	addFork := func(s *netStream, j int) {
		if readers[j] == 2 {
			s.Fork = &netFork{Name: "u_fork_" + strings.TrimPrefix(s.Name, "s_"), Bits: s.Bits, Msb: s.Msb,
				Out: [2]string{s.Name + "_f0", s.Name + "_f1"}}
			n.Forks++
		}
	}
	addFork(n.Input, -1)
	for i, l := range q.Layers {
		if l.Op == quant.OpAdd {
			e, err := planAdd(q, i, l, src(l, 0), src(l, 1))
			if err != nil {
				return nil, fmt.Errorf("layer %s: %w", l.Name, err)
			}
			e.Src, e.Src2 = wire(src(l, 0)), wire(src(l, 1))
			if e.swapped {
				e.Src, e.Src2 = e.Src2, e.Src
			}
			n.Engines = append(n.Engines, e)
			st := &netStream{Name: "s_" + sanitize(l.Name), Bits: e.OutBits, Msb: e.OutMsb, Layer: i, Engine: e}
			e.Dst = st.Name
			addFork(st, i)
			streams[i] = st
			n.Streams = append(n.Streams, st)
			continue
		}
		if len(l.Inputs) != 1 {
			return nil, fmt.Errorf("layer %s: op %s with %d inputs is not supported by the RTL generator", l.Name, l.Op, len(l.Inputs))
		}
		if l.Op == quant.OpFlatten {
			s := src(l, 0)
			ish := q.InShape(l, 0)
			if len(ish) == 3 && (ish[1] != 1 || ish[2] != 1) {
				return nil, fmt.Errorf("layer %s: flatten of a %v map is not supported by the RTL generator (only [C,1,1])", l.Name, ish)
			}
			streams[i] = &netStream{Name: s.Name, Bits: s.Bits, Msb: s.Msb, Layer: i, Engine: s.Engine, Alias: true}
			continue
		}
		par, lanes, exact := c.Parallel, c.Lanes, false
		if o, ok := c.Layers[l.Name]; ok {
			if o.Parallel > 0 {
				par = o.Parallel
			}
			if o.Lanes > 0 {
				lanes, exact = o.Lanes, true
			}
		}
		var e *Engine
		var err error
		if poolStreams(q, l) {
			e, err = planPool(q, i, l)
		} else {
			e, err = planEngine(q, i, l, par, lanes, exact, c.MACAdders, c.Family, runtime)
		}
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", l.Name, err)
		}
		if e.WeightROM {
			e.WRomStyle = weightROMStyle(c.WeightMemory, e.WRomD, e.WRomW)
		}
		s := src(l, 0)
		if s.Bits != e.InBits {
			return nil, fmt.Errorf("layer %s: input stream is %d bits, engine expects %d", l.Name, s.Bits, e.InBits)
		}
		e.Src = wire(s)
		n.Engines = append(n.Engines, e)
		st := &netStream{Name: "s_" + sanitize(l.Name), Bits: e.OutBits, Msb: e.OutMsb, Layer: i, Engine: e}
		e.Dst = st.Name
		addFork(st, i)
		streams[i] = st
		n.Streams = append(n.Streams, st)
	}
	last := q.Output()
	n.OutSrc = streams[len(streams)-1]
	if n.OutSrc.Engine == nil {
		return nil, fmt.Errorf("the model has no engine to produce its output")
	}
	sh := last.OutShape
	if len(sh) == 3 && (sh[1] != 1 || sh[2] != 1) {
		return nil, fmt.Errorf("output shape %v: the RTL output must be [F] or [C,1,1]", sh)
	}
	n.OutCount = sh[0]
	n.OutW = last.Out.Bits
	n.OutTData = (n.OutW + 7) / 8 * 8
	n.OutSigned = last.Out.Signed
	n.OutSignedInt = 0
	if n.OutSigned {
		n.OutSignedInt = 1
	}
	n.OutTMsb = n.OutTData - 1
	// Every window engine's output FIFO is a stream_fifo; the top's
	// framing check, input register slice and status slave are
	// axis_frame_check, stream_skid and axil_status.
	n.Prims = []string{"axis_frame_check", "stream_skid", "axil_status", "stream_serialize", "stream_fifo", "pipe_delay"}
	for _, e := range n.Engines {
		if e.Conv || e.ConstM {
			n.Prims = append(n.Prims, "sum_tree")
			break
		}
	}
	if n.Forks > 0 {
		n.Prims = append(n.Prims, "stream_fork")
	}
	n.Runtime = runtime
	for _, e := range n.Engines {
		for _, m := range e.Mems {
			n.WMems = append(n.WMems, WeightMem{Engine: e, EngineMem: m, Index: len(n.WMems), Beats: ceilDiv(m.Width, WeightBeatBits)})
		}
	}
	if runtime && len(n.WMems) == 0 {
		return nil, fmt.Errorf("weights mode runtime: the design has no memory to load")
	}
	for _, e := range n.Engines {
		if e.Runtime && len(e.Mems) > 0 {
			e.WSelExpr = n.wrSelExpr(e)
		} else {
			e.Runtime = false // nothing to load: an engine without memories
		}
	}
	n.sizeSkipFIFOs()
	p0, _ := n.timing(nil)
	n.sizeRings(max(p0, target))
	n.predict()
	return n, nil
}
