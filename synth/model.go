package synth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
)

// HX8K resources (ct256), for the "does not fit" check before placement.
const (
	HX8KLCs  = 7680
	HX8KRAMs = 32
)

// XC7Z020 resources (Zynq-7020 datasheet DS190: 53,200 LUTs, 106,400
// flip-flops, 140 RAMB36 = 280 RAMB18, 220 DSP48E1), the Xilinx part the
// README compares designs on, for the Xilinx fit check.
const (
	XC7Z020LUTs    = 53200
	XC7Z020FFs     = 106400
	XC7Z020RAMB18s = 280
	XC7Z020DSPs    = 220
)

// ModelRequest is a measurement of a whole network design: the network is
// emitted by rtl.EmitNet once per op (MAC: NetConfig.MACAdders) and
// synthesized as it is, top module and all.
type ModelRequest struct {
	Model   *quant.Model
	Config  rtl.NetConfig
	Ops     []Op
	Target  Target
	PnR     bool    // ice40: place and route for Fmax when the design fits
	FreqMHz float64 // nextpnr target frequency
	Seed    int
	Timeout time.Duration
	// NoDSP: synthesize the L1 design with synth_xilinx -nodsp too (the
	// MAC design always is, as in synth pe).
	NoDSP bool
	// KeepDir keeps each op's work directory as KeepDir/<op>.
	KeepDir string
}

// ModelReport is the measurement of one network design.
type ModelReport struct {
	Op       Op     `json:"op"`
	Target   Target `json:"target"`
	Top      string `json:"top"`
	Parallel int    `json:"parallel"`
	Engines  int    `json:"engines"`
	PEs      int    `json:"pes"` // processing elements of the reducing engines
	Counts
	FmaxMHz *float64 `json:"fmax_mhz"`
	Fits    *bool    `json:"fits,omitempty"` // whether the design fits an HX8K (ice40, by place and route when run) or an xc7z020 (xilinx: LUTs, FFs, RAMB18s, DSPs)
	FitNote string   `json:"fit_note,omitempty"`
	// LogicDepth is the longest register-to-register path in cells after
	// synth_xilinx -flatten (xilinx only).
	LogicDepth int            `json:"logic_depth_cells,omitempty"`
	FmaxError  string         `json:"fmax_error,omitempty"`
	ICE40LCs   int            `json:"ice40_lcs,omitempty"`
	Cells      map[string]int `json:"cells"`
	Other      []string       `json:"other_cells,omitempty"` // cells that are no resource of the family
	Synth      string         `json:"synth"`
	PnR        string         `json:"pnr,omitempty"`
	// Routed: the cells of the netlist that was placed and routed (ice40:
	// PnRSynth, flattened abc9), beside Counts from the hierarchical
	// synthesis.
	Routed   *Counts `json:"routed,omitempty"`
	PnRSynth string  `json:"pnr_synth,omitempty"`
	YosysSec float64 `json:"yosys_seconds"`
	Dir      string  `json:"dir,omitempty"`
}

// ModelMeasurement holds one report per op, in request order.
type ModelMeasurement struct {
	Reports []*ModelReport
}

// Ratio returns MAC LUTs / L1 LUTs when the measurement holds both.
func (m *ModelMeasurement) Ratio() (float64, bool) { return macToL1(m.Reports) }

func (r *ModelReport) opLUTs() (Op, int) { return r.Op, r.LUTs }

// NetDesign renders the network for an op: the files of rtl.EmitNet (ROM
// .hex files included, which $readmemh reads relative to the working
// directory) and the Verilog sources in filelist.f order.
func NetDesign(q *quant.Model, c rtl.NetConfig, op Op) (Design, *rtl.Net, error) {
	switch op {
	case L1:
		c.MACAdders = false
	case MAC:
		c.MACAdders = true
	default:
		return Design{}, nil, fmt.Errorf("synth: op %q unknown", op)
	}
	files, n, err := rtl.EmitNet(q, c)
	if err != nil {
		return Design{}, nil, err
	}
	d := Design{Top: n.Top, PE: n.Top, Files: files}
	for _, l := range strings.Split(string(files["filelist.f"]), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			d.Sources = append(d.Sources, l)
		}
	}
	if len(d.Sources) == 0 {
		return Design{}, nil, fmt.Errorf("synth: the network design has an empty filelist.f")
	}
	return d, n, nil
}

// ModelScript is Script with the mapped design flattened before the
// statistics: yosys 0.23's stat -json writes invalid JSON for a hierarchy
// whose submodules are instantiated more than once, and the whole design's
// totals are what a network measurement reports. The per-module figures
// (each engine, each PE module once) are written as text to
// stat_modules.txt first, for a kept work directory.
//
// For xilinx it then measures the logic depth: the flip-flops, block RAMs
// and SRLs are deleted and yosys ltp finds the longest path in cells
// (ltp.txt), the register-to-register depth the network-hardware review
// measured (a DSP48E1 counts as one cell, its internal registers as none).
func ModelScript(d Design, o Options) string {
	s := strings.Replace(Script(d, o), "tee -q -o stat.json", "tee -q -o stat_modules.txt stat\nflatten\ntee -q -o stat.json", 1)
	if o.Target == Xilinx {
		s += "delete t:FD* t:RAMB* t:SRL*\ntee -q -o ltp.txt ltp -noff\n"
	}
	return s
}

// PnRSynthCommand is the yosys command whose netlist nextpnr-ice40 places
// and routes for a whole network: the design flattened and mapped by abc9
// (delay-driven) with -dff. Measured on the README's small iCE40 network,
// against the hierarchical synth_ice40 -noflatten netlist: 91.9 -> 102.9
// MHz at seed 3, 97.5 -> 109.1 MHz at seed 1, 11 % fewer LUTs; abc9
// without flattening reached 95.3 MHz at seed 3. The hierarchical
// synthesis (ModelScript) still gives the reported counts and the
// per-module figures the estimator is fit on.
func PnRSynthCommand(top string) string { return "synth_ice40 -abc9 -dff -top " + top }

// PnRScript is the yosys script of the netlist that is placed and routed
// (PnRSynthCommand): statistics in stat_pnr.json, netlist in netlist.json.
func PnRScript(d Design) string {
	var b strings.Builder
	for _, s := range d.Sources {
		fmt.Fprintf(&b, "read_verilog %s\n", s)
	}
	fmt.Fprintf(&b, "hierarchy -check -top %s\nproc\n%s\n", d.Top, PnRSynthCommand(d.Top))
	b.WriteString("tee -q -o stat_pnr.json stat -json\nwrite_json netlist.json\n")
	return b.String()
}

var ltpRe = regexp.MustCompile(`Longest topological path in \S+ \(length=(\d+)\)`)

// readLTP returns the path length ltp.txt in dir reports.
func readLTP(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "ltp.txt"))
	if err != nil {
		return 0, err
	}
	sm := ltpRe.FindSubmatch(b)
	if sm == nil {
		return 0, fmt.Errorf("%s: no longest path in yosys ltp output", filepath.Join(dir, "ltp.txt"))
	}
	return strconv.Atoi(string(sm[1]))
}

// ModelResult is one network synthesis run's outcome.
type ModelResult struct {
	Counts   Counts
	Cells    map[string]int
	Other    []string
	SynthCmd string
	PnR      *PnR
	PnRErr   error
	PnRCmd   string
	// Routed counts the cells of the netlist nextpnr placed (ice40 with
	// PnR: PnRSynthCmd, flattened), beside Counts from the hierarchical
	// synthesis.
	Routed      *Counts
	PnRSynthCmd string
	Fits        *bool
	// LogicDepth is the longest register-to-register path in cells
	// (xilinx, see ModelScript); 0 when not measured.
	LogicDepth int
	// FitNote says why a design does not fit its device, "" when it does.
	FitNote   string
	YosysTime time.Duration
}

// RunDesign synthesizes a whole design in o.Dir and reports the totals of
// the design (all modules below the top). For ice40 with o.PnR it places
// and routes with nextpnr-ice40 when the synthesized cells can fit an
// HX8K; a design that does not fit is reported in Fits and PnRErr, not as
// an error.
func RunDesign(ctx context.Context, d Design, o Options) (*ModelResult, error) {
	o, err := o.check()
	if err != nil {
		return nil, err
	}
	res := &ModelResult{SynthCmd: SynthCommand(o, d.Top)}
	st, took, err := runYosys(ctx, d, o, ModelScript(d, o))
	if err != nil {
		return nil, err
	}
	res.YosysTime = took
	res.Cells = st.Design
	res.Counts, res.Other = Tally(o.Target, st.Design)
	if o.Target == Xilinx {
		if res.LogicDepth, err = readLTP(o.Dir); err != nil {
			return nil, err
		}
		c := res.Counts
		ramb18 := res.Cells["RAMB18E1"] + 2*res.Cells["RAMB36E1"]
		fits := c.LUTs <= XC7Z020LUTs && c.FFs <= XC7Z020FFs && ramb18 <= XC7Z020RAMB18s && c.DSPs <= XC7Z020DSPs
		res.Fits = &fits
		if !fits {
			res.FitNote = fmt.Sprintf("does not fit an xc7z020: %d LUTs, %d FFs, %d RAMB18 (a RAMB36 is two), %d DSP48E1; the device has %d, %d, %d and %d",
				c.LUTs, c.FFs, ramb18, c.DSPs, XC7Z020LUTs, XC7Z020FFs, XC7Z020RAMB18s, XC7Z020DSPs)
		}
		return res, nil
	}
	fits := res.Counts.LUTs <= HX8KLCs && res.Counts.FFs <= HX8KLCs && res.Counts.BRAMs <= HX8KRAMs
	res.Fits = &fits
	if !fits {
		res.PnRErr = fmt.Errorf("does not fit an HX8K: %d LUTs, %d FFs, %d SB_RAM40_4K; the device has %d logic cells and %d RAMs",
			res.Counts.LUTs, res.Counts.FFs, res.Counts.BRAMs, HX8KLCs, HX8KRAMs)
		return res, nil
	}
	if !o.PnR {
		return res, nil
	}
	pst, _, err := runYosysAs(ctx, d, o, PnRScript(d), "pnr", "stat_pnr.json")
	if err != nil {
		return nil, err
	}
	routed, _ := Tally(o.Target, pst.Design)
	res.Routed = &routed
	res.PnRSynthCmd = PnRSynthCommand(d.Top)
	seed := o.Seed
	if seed == 0 {
		seed = 1
	}
	o.Seed = seed
	p, cmd, err := pnr(ctx, o, seed)
	res.PnRCmd = cmd
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			res.PnRErr = err
			return res, nil
		}
		if p != nil && p.LCsAvail > 0 && p.LCs > p.LCsAvail || notFit(err.Error()) {
			f := false
			res.Fits = &f
			res.PnRErr = fmt.Errorf("does not fit an HX8K: %v", err)
		} else {
			res.PnRErr = err
		}
		return res, nil
	}
	res.PnR = p
	return res, nil
}

// notFit tells whether a nextpnr error is about the device's capacity.
func notFit(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{"no bels remaining", "than available", "too many", "does not fit", "unable to place"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// MeasureModel emits and synthesizes the network once per requested op
// (in parallel, up to the number of CPUs).
func MeasureModel(ctx context.Context, req ModelRequest) (*ModelMeasurement, error) {
	if _, err := ParseTarget(string(req.Target)); err != nil {
		return nil, err
	}
	if req.Model == nil {
		return nil, fmt.Errorf("synth: no model")
	}
	if len(req.Ops) == 0 {
		return nil, fmt.Errorf("synth: no op to measure")
	}
	for _, t := range Tools(req.Target, req.PnR) {
		if _, err := LookTool(t); err != nil {
			return nil, err
		}
	}
	m := &ModelMeasurement{}
	designs := make([]Design, len(req.Ops))
	opts := make([]Options, len(req.Ops))
	for i, op := range req.Ops {
		d, n, err := NetDesign(req.Model, req.Config, op)
		if err != nil {
			return nil, err
		}
		rep := &ModelReport{Op: op, Target: req.Target, Top: n.Top, Parallel: req.Config.Parallel, Engines: len(n.Engines)}
		if rep.Parallel == 0 {
			rep.Parallel = rtl.DefaultParallel
		}
		for _, e := range n.Engines {
			if e.Reduce {
				rep.PEs += e.P
			}
		}
		m.Reports = append(m.Reports, rep)
		designs[i] = d
		o := Options{Target: req.Target, PnR: req.PnR, FreqMHz: req.FreqMHz, Seed: req.Seed, Timeout: req.Timeout}
		o.NoDSP = req.Target == Xilinx && (op == MAC || req.NoDSP)
		dir, err := workDir(req.KeepDir, string(op))
		if err != nil {
			for _, q := range opts[:i] {
				if req.KeepDir == "" {
					os.RemoveAll(q.Dir)
				}
			}
			return nil, err
		}
		o.Dir = dir
		if req.KeepDir != "" {
			rep.Dir = dir
		}
		opts[i] = o
	}
	results := make([]*ModelResult, len(req.Ops))
	errs := make([]error, len(req.Ops))
	sem := make(chan struct{}, max(1, runtime.NumCPU()))
	var wg sync.WaitGroup
	for i := range req.Ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = RunDesign(ctx, designs[i], opts[i])
		}()
	}
	wg.Wait()
	for i, o := range opts {
		if req.KeepDir == "" && errs[i] == nil {
			os.RemoveAll(o.Dir)
		}
	}
	for i, op := range req.Ops {
		if errs[i] != nil {
			return nil, fmt.Errorf("synth model %s %s: %w", op, req.Target, errs[i])
		}
		res, rep := results[i], m.Reports[i]
		rep.Counts, rep.Cells, rep.Other, rep.Synth = res.Counts, res.Cells, res.Other, res.SynthCmd
		rep.Fits, rep.PnR, rep.YosysSec = res.Fits, res.PnRCmd, res.YosysTime.Seconds()
		rep.LogicDepth, rep.FitNote = res.LogicDepth, res.FitNote
		rep.Routed, rep.PnRSynth = res.Routed, res.PnRSynthCmd
		if res.PnR != nil {
			f := res.PnR.FmaxMHz
			rep.FmaxMHz, rep.ICE40LCs = &f, res.PnR.LCs
		}
		if res.PnRErr != nil {
			rep.FmaxError = res.PnRErr.Error()
		}
	}
	return m, nil
}
