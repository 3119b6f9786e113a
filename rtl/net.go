package rtl

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"
	"strings"

	"github.com/addergen/addergen/fixedpoint"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/templates"
)

// NetConfig holds the hardware options of a whole-network design.
type NetConfig struct {
	// Top is the top module's name (default "addernet").
	Top string `json:"top,omitempty"`
	// Parallel is the default number of processing elements per adder or
	// conv engine: output channels computed at once (default 4).
	Parallel int `json:"parallel,omitempty"`
	// Layers overrides settings per layer, by quantized layer name.
	Layers map[string]LayerHW `json:"layers,omitempty"`
	// Lanes is the lanes per PE of every adder/conv engine: 0 means one
	// input pixel's channels (one window position per cycle); otherwise it is
	// rounded down to whole window positions (a multiple of the input
	// channels), at least one position and at most the whole window.
	Lanes int `json:"lanes,omitempty"`
	// MACAdders plans adder layers as multiply-accumulate engines (cost baseline).
	MACAdders bool `json:"mac_adders,omitempty"`
	// Balance lowers the PEs and lanes of every adder/conv engine without a
	// per-layer override to the fewest that keep the network's predicted
	// cycles per image (Parallel and Lanes are then upper bounds).
	Balance bool `json:"balance,omitempty"`
}

// LayerHW is a per-layer override of the hardware options.
type LayerHW struct {
	Parallel int `json:"parallel,omitempty"`
	// Lanes per PE: a multiple of the layer's input channels, at most
	// kernel*kernel*channels (0: the network's setting).
	Lanes int `json:"lanes,omitempty"`
}

// DefaultParallel is the PEs per engine when nothing else is said.
const DefaultParallel = 4

// ParseNetConfig reads a hardware config file's JSON, refusing unknown
// fields.
func ParseNetConfig(data []byte) (NetConfig, error) {
	var c NetConfig
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return c, errors.New("trailing data after the JSON object")
	}
	if c.Top != "" && !LegalName(c.Top) {
		return c, fmt.Errorf("top %q is not a legal Verilog module name", c.Top)
	}
	if c.Parallel < 0 || c.Parallel > 4096 {
		return c, fmt.Errorf("parallel %d out of range: must be 1..4096 (or absent)", c.Parallel)
	}
	if c.Lanes < 0 || c.Lanes > 1<<16 {
		return c, fmt.Errorf("lanes %d out of range: must be 0..65536", c.Lanes)
	}
	names := make([]string, 0, len(c.Layers))
	for n := range c.Layers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		l := c.Layers[n]
		if l.Parallel < 0 || l.Parallel > 4096 {
			return c, fmt.Errorf("layer %q: parallel %d out of range: must be 1..4096 (or absent)", n, l.Parallel)
		}
		if l.Lanes < 0 || l.Lanes > 1<<16 {
			return c, fmt.Errorf("layer %q: lanes %d out of range: must be 0..65536", n, l.Lanes)
		}
	}
	return c, nil
}

// Engine kinds.
const (
	kindAdder = "adder"
	kindConv  = "conv"
	kindMax   = "maxpool"
	kindAvg   = "avgpool"
	kindScale = "scale"
	kindReLU  = "relu"
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

	// Window unrolling: U window positions (U*CIN lanes) per cycle, in T
	// steps per window; WinLanes says which position each lane covers at
	// each step.
	U, T            int
	StepW, StepMax  int
	WinLanes        []winLane
	XEffBits, XEMsb int // U*InBits: the PE input word
	LanesPE         int // U*CIN
	ODepth, OccW    int // output FIFO depth and the credit counter's width
	LdW, LdPadC     int // the loaded-pixel counter (0..FBDepth) and its zero extension to CW
	KLit            string

	// Counter widths.
	FBDepth, FBAW, FBAMsb int
	CW, CMsb              int // signed width of row/column coordinates
	OHW, OWW, GW, KW      int // widths of the oh, ow, g, ki/kj counters
	OHMax, OWMax, GMax    int
	KMax                  int
	SLit, PadLit          string // coordinate constants as sized literals
	HLit, WLit, ZeroLit   string
	KPadC                 int // zero bits extending ki/kj to CW
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
	WAW      int // weight ROM address width

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

	swapped bool // add: the skip input is the model's input 0

	// Cycle model.
	LoadCycles    int // beats in (one per input pixel)
	ComputeCycles int // cycles of the RUN/WAIT/EMIT phases per image

	// ROM contents, rendered into files.
	roms map[string]string
}

// engineTail is the cycles from an engine's last issue to its last output
// beat on m_*: stage A, stage B, the capture, the FIFO.
const engineTail = 3

// winLane is one window-position lane of an engine: at step S it reads
// kernel position (KI, KJ), or nothing at steps not listed.
type winLane struct {
	U     int
	Cases []winCase
}

type winCase struct{ S, KI, KJ int }

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
	if c.Balance {
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
	n := &Net{Top: c.Top, Model: q}
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
		e, err := planEngine(q, i, l, par, lanes, exact, c.MACAdders)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", l.Name, err)
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
	// Every window engine's output FIFO is a stream_fifo.
	n.Prims = []string{"stream_serialize", "stream_fifo"}
	if n.Forks > 0 {
		n.Prims = append(n.Prims, "stream_fork")
	}
	n.predict()
	return n, nil
}

// predict fills the cycle model (see timing).
func (n *Net) predict() {
	n.PredictedCyclesPerImage, n.LatencyCycles = n.timing(nil)
}

// timing is the cycle model: per image, the cycles between images in steady
// state and the latency of one image from its first pixel in to its last
// class out. override, when set, gives an engine other compute figures
// (for balancing).
//
// An engine loads its input map as its producer emits it and issues an
// output row as soon as the input rows under its windows are loaded (the
// last row waits for the whole map); it accepts the next map only after
// the map's last issue. In steady state the engines upstream of the
// slowest one wait on it with their next map loaded, so they emit at their
// own issue rate r_p (G·T cycles per output pixel; one for the network
// input), and for each engine e, from its first input beat:
//
//	first issue  F_e = beats of the input rows its first output row needs x r_p
//	last issue   W_e = max(beats_p x r_p + the last row's issue cycles, F_e + C_e)
//
// with C_e = OH·OW·G·T issue cycles. An engine cannot take the next image
// before W_e has passed: the slowest W_e plus the pipeline tail is the
// period. The latency follows one image through an empty pipeline, each
// engine emitting over its window W_e - F_e.
func (n *Net) timing(override func(e *Engine) (g, t int, ok bool)) (period, latency int) {
	inPixels := n.Model.Input.Shape[1] * n.Model.Input.Shape[2]
	type span struct {
		rate     float64 // issue cycles per output beat, unblocked
		beats    int     // output beats per image
		window   float64 // first image: cycles from the first output beat to the last
		firstOut float64 // first image: time of the first output beat
	}
	spans := map[int]span{-1: {rate: 1, beats: inPixels, window: float64(inPixels)}}
	root := func(j int) int {
		for j >= 0 && n.Model.Layers[j].Op == quant.OpFlatten {
			j = n.Model.Layers[j].InputIndex()[0]
		}
		return j
	}
	worst, last := 0.0, span{}
	for _, e := range n.Engines {
		up := spans[root(n.Model.Layers[e.Index].InputIndex()[0])]
		if e.Add {
			for _, j := range n.Model.Layers[e.Index].InputIndex() {
				o := spans[root(j)]
				up.rate = max(up.rate, o.rate)
				if o.firstOut+o.window > up.firstOut+up.window {
					up.firstOut, up.window = o.firstOut, o.window
				}
			}
		}
		g, t := e.G, e.T
		if override != nil {
			if og, ot, ok := override(e); ok {
				g, t = og, ot
			}
		}
		upBeats := float64(max(1, up.beats))
		firstPerBeat := up.window / upBeats // first image: beats spread over the producer's window
		var steady, first, firstSteady, gt float64
		if e.Add {
			// An add engine streams: one output per input pixel pair.
			gt = 1
			c := float64(e.ComputeCycles)
			steady = max(upBeats*up.rate, c)
			first, firstSteady = firstPerBeat, up.rate
		} else {
			gt = float64(g * t)
			needRows := min(e.H, max(1, e.K-e.PAD))
			if e.OH == 1 {
				needRows = e.H // the only row waits for the whole map
			}
			need := float64(needRows * e.W)
			c := float64(e.OH*e.OW) * gt
			lastRow := float64(e.OW) * gt
			firstSteady = need * up.rate
			steady = max(upBeats*up.rate+lastRow, firstSteady+c)
			first = need * firstPerBeat
			_ = firstSteady
		}
		worst = max(worst, steady)
		// First image: the window this engine emits over.
		var w float64
		if e.Add {
			w = max(up.window, float64(e.ComputeCycles))
		} else {
			w = max(up.window+float64(e.OW)*gt, first+float64(e.OH*e.OW)*gt) - first
		}
		sp := span{rate: max(gt, 1), beats: e.OH * e.OW, window: w, firstOut: up.firstOut + first + gt + engineTail}
		spans[e.Index] = sp
		last = sp
	}
	period = int(math.Ceil(worst)) + engineTail
	latency = int(math.Ceil(last.firstOut+last.window)) + n.OutCount
	return period, latency
}

// planEngine plans one layer's engine with par PEs of lanes lanes each
// (lanes 0: one window position per cycle). With exact, lanes must be a
// whole number of window positions; otherwise it is rounded down to one.
func planEngine(q *quant.Model, idx int, l *quant.Layer, par, lanes int, exact, macAdders bool) (*Engine, error) {
	inAct := q.InAct(l, 0)
	ish := q.InShape(l, 0)
	e := &Engine{Module: "l" + fmt.Sprint(idx) + "_" + sanitize(l.Name), Layer: l.Name, Index: idx,
		BIN: inAct.Bits, InSigned: inAct.Signed, BOUT: l.Out.Bits, OutSigned: l.Out.Signed, roms: map[string]string{}}
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

	// Window unrolling: U positions per cycle (reducing engines only).
	e.U = 1
	if e.Reduce && lanes > 0 {
		if exact && (lanes%e.CIN != 0 || lanes > e.KK*e.CIN) {
			return nil, fmt.Errorf("lanes %d: must be a multiple of the %d input channels, at most %d (the whole %dx%d window)",
				lanes, e.CIN, e.KK*e.CIN, e.K, e.K)
		}
		e.U = min(e.KK, max(1, lanes/e.CIN))
	}
	e.T = (e.KK + e.U - 1) / e.U
	e.StepMax = e.T - 1
	e.StepW = widthFor(e.StepMax)
	e.LanesPE = e.U * e.CIN
	e.XEffBits = e.U * e.InBits
	e.XEMsb = e.XEffBits - 1
	for u := 0; u < e.U; u++ {
		wl := winLane{U: u}
		for st := 0; st < e.T; st++ {
			if t := st*e.U + u; t < e.KK {
				wl.Cases = append(wl.Cases, winCase{S: st, KI: t / e.K, KJ: t % e.K})
			}
		}
		e.WinLanes = append(e.WinLanes, wl)
	}

	e.FBDepth = e.H * e.W
	e.FBAW = clog2(e.FBDepth)
	e.FBAMsb = e.FBAW - 1
	maxCoord := (max(e.H, e.W) + e.K + e.S + e.PAD) * (e.W + 1)
	e.CW = bits.Len(uint(maxCoord)) + 2
	e.CMsb = e.CW - 1
	e.OHMax, e.OWMax, e.GMax, e.KMax = e.OH-1, e.OW-1, e.G-1, e.K-1
	e.OHW, e.OWW, e.GW, e.KW = widthFor(e.OHMax), widthFor(e.OWMax), widthFor(e.GMax), widthFor(e.KMax)
	e.SLit, e.PadLit = slit(e.CW, int64(e.S)), slit(e.CW, int64(e.PAD))
	e.HLit, e.WLit, e.ZeroLit = slit(e.CW, int64(e.H)), slit(e.CW, int64(e.W)), slit(e.CW, 0)
	e.KPadC = e.CW - e.KW
	e.LdW = widthFor(e.FBDepth)
	e.LdPadC = e.CW - e.LdW
	e.KLit = slit(e.CW, int64(e.K))
	if e.LdPadC < 1 {
		return nil, fmt.Errorf("internal error: coordinate width %d does not hold the map size %d", e.CW, e.FBDepth)
	}
	e.FBLast = e.FBDepth - 1

	// Accumulator range, by interval arithmetic over the input format.
	xiv := inAct.Interval()
	var acc fixedpoint.Interval
	switch {
	case e.Adder:
		if inAct.Signed {
			return nil, fmt.Errorf("adder layer with a signed input is not supported by the RTL generator yet")
		}
		e.PEModule = e.Module + "_pe"
		e.PEW = SumWidth(e.LanesPE, e.BIN)
		if e.BIN < MinWidth || e.BIN > MaxWidth {
			return nil, fmt.Errorf("adder lanes of %d bits: the PE needs %d..%d", e.BIN, MinWidth, MaxWidth)
		}
		e.LaneBits = e.LanesPE * e.BIN
		// Exactly KK*CIN terms of at most 2^BIN-1 (lanes past the window
		// read x = w = 0).
		lanes := fixedpoint.Interval{Lo: 0, Hi: int64(e.KK*e.CIN) * (int64(1)<<e.BIN - 1)}
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

	// ROMs.
	if e.Reduce {
		e.WRomFile = e.Module + "_w.hex"
		wb := e.BIN
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
			for st := 0; st < e.T; st++ {
				vals := make([]int64, 0, e.P*e.LanesPE)
				for p := 0; p < e.P; p++ {
					o := g*e.P + p
					for u := 0; u < e.U; u++ {
						kk := st*e.U + u
						for ch := 0; ch < e.CIN; ch++ {
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
		e.MRomW, e.BRomW = e.P*e.MW, e.P*e.BW
		e.MRomMsb, e.BRomMsb = e.MRomW-1, e.BRomW-1
		e.MRomFile = perChannel(e.Module+"_m.hex", l.Rescale.M, e.MW)
		e.BRomFile = perChannel(e.Module+"_b.hex", l.Rescale.B, e.BW)
	}
	if e.Adder {
		e.CRomW, e.CRomMsb = e.P*e.CWd, e.P*e.CWd-1
		e.CRomFile = perChannel(e.Module+"_c.hex", l.WeightConst, e.CWd)
	}

	// Output FIFO: deep enough for one pixel a cycle (a credit returns
	// about four cycles after the last issue), two beats for one-pixel maps.
	e.ODepth = 4
	if e.OH*e.OW == 1 {
		e.ODepth = 2
	}
	e.OccW = widthFor(e.ODepth)

	// Cycle model: G*T issue cycles per output pixel, back to back, and the
	// last pixel's way through the datapath and the FIFO.
	e.LoadCycles = e.H * e.W
	e.ComputeCycles = e.OH*e.OW*e.G*e.T + engineTail
	return e, nil
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
	e.ComputeCycles = e.OH * e.OW
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

// StreamInfo lists every layer output stream the top exposes for checking,
// in model order (flatten aliases excluded).
func (n *Net) StreamInfo() []NetStreamInfo {
	var out []NetStreamInfo
	for _, e := range n.Engines {
		l := n.Model.Layers[e.Index]
		out = append(out, NetStreamInfo{Layer: l.Name, Index: e.Index, Instance: "u_" + e.Module,
			Channels: e.COUT, Pixels: e.OH * e.OW, Bits: e.BOUT, Signed: e.OutSigned})
	}
	return out
}

// NetManifest is the JSON description of a network design.
type NetManifest struct {
	Top                     string          `json:"top"`
	Modules                 []string        `json:"modules"`
	Files                   []string        `json:"files"`
	PredictedCyclesPerImage int             `json:"predicted_cycles_per_image"`
	LatencyCycles           int             `json:"latency_cycles"`
	InputBits               int             `json:"input_tdata_bits"`
	OutputBits              int             `json:"output_tdata_bits"`
	OutputCodeBits          int             `json:"output_code_bits"`
	OutputSigned            bool            `json:"output_signed"`
	Classes                 int             `json:"classes"`
	PEs                     int             `json:"pes"`
	Lanes                   int             `json:"lanes"`
	ROMBits                 int             `json:"rom_bits"`
	BufferBits              int             `json:"buffer_bits"`
	Layers                  []LayerManifest `json:"layers"`
	Generator               string          `json:"generator"`
	// Estimate is an analytical resource estimate of the design. rtl
	// leaves it empty; the CLI fills it from synth.EstimateNet.
	Estimate *NetCostEstimate `json:"estimate,omitempty"`
}

// NetCostEstimate is a predicted resource count of a network design for
// one FPGA family.
type NetCostEstimate struct {
	Target string `json:"target"`
	LUTs   int    `json:"luts"`
	FFs    int    `json:"ffs"`
	BRAMs  int    `json:"brams"`
	DSPs   int    `json:"dsps"`
}

// LayerManifest describes one engine.
type LayerManifest struct {
	Layer         string `json:"layer"`
	Module        string `json:"module"`
	Kind          string `json:"kind"`
	PEs           int    `json:"pes"`
	LanesPerPE    int    `json:"lanes_per_pe"`
	ComputeCycles int    `json:"compute_cycles"`
	LoadCycles    int    `json:"load_cycles"`
	ROMBits       int    `json:"rom_bits"`
	BufferBits    int    `json:"buffer_bits"`
}

// EmitNet renders the network design: one module per file, the ROM files,
// filelist.f and manifest.json. It writes nothing.
func EmitNet(q *quant.Model, c NetConfig) (map[string][]byte, *Net, error) {
	n, err := PlanNet(q, c)
	if err != nil {
		return nil, nil, err
	}
	files := map[string][]byte{}
	var order []string
	add := func(name string, data []byte) {
		files[name] = data
		order = append(order, name)
	}
	for _, p := range n.Prims {
		add(p+".v", templates.Primitive(p))
	}
	man := NetManifest{Top: n.Top, PredictedCyclesPerImage: n.PredictedCyclesPerImage, LatencyCycles: n.LatencyCycles,
		InputBits: n.InBits, OutputBits: n.OutTData, OutputCodeBits: n.OutW, OutputSigned: n.OutSigned, Classes: n.OutCount,
		Generator: Generator}
	for _, e := range n.Engines {
		if e.Adder {
			pf, _, err := EmitPE(PEConfig{Name: e.PEModule, Lanes: e.LanesPE, Width: e.BIN, Signed: e.InSigned, Pipeline: 0})
			if err != nil {
				return nil, nil, fmt.Errorf("layer %s: %w", e.Layer, err)
			}
			add(e.PEModule+".v", pf[e.PEModule+".v"])
			man.Modules = append(man.Modules, e.PEModule)
		}
		tmplName := "engine.v.tmpl"
		if e.Add {
			tmplName = "engine_add.v.tmpl"
		}
		v, err := Render(tmplName, e)
		if err != nil {
			return nil, nil, err
		}
		add(e.Module+".v", v)
		man.Modules = append(man.Modules, e.Module)
		romBits := 0
		names := make([]string, 0, len(e.roms))
		for f := range e.roms {
			names = append(names, f)
		}
		sort.Strings(names)
		for _, f := range names {
			files[f] = []byte(e.roms[f])
			romBits += strings.Count(e.roms[f], "\n") * romWidth(e, f)
		}
		lm := LayerManifest{Layer: e.Layer, Module: e.Module, Kind: e.Kind, PEs: e.P, LanesPerPE: e.LanesPE,
			ComputeCycles: e.ComputeCycles, LoadCycles: e.LoadCycles, ROMBits: romBits, BufferBits: e.FBDepth * e.InBits}
		if e.Add {
			lm.BufferBits = e.FifoDepth * e.In2Bits
		}
		if !e.Reduce {
			lm.LanesPerPE = 1
		}
		man.Layers = append(man.Layers, lm)
		man.PEs += lm.PEs
		man.Lanes += lm.PEs * lm.LanesPerPE
		man.ROMBits += romBits
		man.BufferBits += lm.BufferBits
	}
	top, err := Render("net_top.v.tmpl", n)
	if err != nil {
		return nil, nil, err
	}
	add(n.Top+".v", top)
	man.Modules = append(man.Modules, n.Top)
	man.Files = append([]string(nil), order...)
	files["filelist.f"] = []byte(strings.Join(order, "\n") + "\n")
	j, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	files["manifest.json"] = append(j, '\n')
	return files, n, nil
}

func romWidth(e *Engine, f string) int {
	switch f {
	case e.WRomFile:
		return e.WRomW
	case e.MRomFile:
		return e.MRomW
	case e.BRomFile:
		return e.BRomW
	case e.CRomFile:
		return e.CRomW
	}
	return 0
}

// balance returns c with a per-layer override for every adder/conv engine
// that has none: the fewest PEs times window positions (the engine's
// lanes in total) whose compute cycles keep every producer/consumer pair
// within the period that c predicts unbalanced. The period is unchanged;
// the engines off the critical pair shrink.
func balance(q *quant.Model, c NetConfig) (NetConfig, error) {
	c.Balance = false
	n, err := PlanNet(q, c)
	if err != nil {
		return c, err
	}
	period := n.PredictedCyclesPerImage
	type pu struct{ p, u int }
	chosen := map[*Engine]pu{}
	override := func(e *Engine) (int, int, bool) {
		c, ok := chosen[e]
		if !ok {
			return 0, 0, false
		}
		return (e.COUT + c.p - 1) / c.p, (e.KK + c.u - 1) / c.u, true
	}
	layers := map[string]LayerHW{}
	for name, o := range c.Layers {
		layers[name] = o
	}
	for _, e := range n.Engines {
		if !e.Reduce {
			continue
		}
		if o, ok := c.Layers[e.Layer]; ok && (o.Parallel > 0 || o.Lanes > 0) {
			continue
		}
		best := pu{e.P, e.U}
		for p := 1; p <= e.P; p++ {
			for u := 1; u <= e.U; u++ {
				if p*u > best.p*best.u || p*u == best.p*best.u && p >= best.p {
					continue
				}
				chosen[e] = pu{p, u}
				if got, _ := n.timing(override); got <= period {
					best = pu{p, u}
				}
			}
		}
		chosen[e] = best
		layers[e.Layer] = LayerHW{Parallel: best.p, Lanes: best.u * e.CIN}
	}
	c.Layers = layers
	return c, nil
}
