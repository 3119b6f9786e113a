package synth

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/addergen/addergen/rtl"
)

// Op is the arithmetic of a processing element.
type Op string

// Ops.
const (
	L1  Op = "l1"  // sum |x - w| (rtl.EmitPE)
	MAC Op = "mac" // sum x * w (rtl.EmitMAC)
)

// ParseOps parses an --op value: l1, mac or both.
func ParseOps(s string) ([]Op, error) {
	switch s {
	case "l1":
		return []Op{L1}, nil
	case "mac":
		return []Op{MAC}, nil
	case "both":
		return []Op{L1, MAC}, nil
	}
	return nil, fmt.Errorf("op %q unknown: want l1, mac or both", s)
}

// PEJob is one PE to measure.
type PEJob struct {
	Op     Op
	Config rtl.PEConfig // Name empty: "adder_pe" for L1, "mac_pe" for MAC
	// Verilog, when set, is a hand-written PE (module Config.Name) with the
	// PE ports, synthesized instead of the generated one: for trying out
	// variants. Config still gives the port widths (and Op the sum width).
	Verilog []byte
	Latency int // the hand-written PE's latency, for the report only
}

// Request is a measurement of one PE shape for one target.
type Request struct {
	Jobs    []PEJob
	Target  Target
	PnR     bool    // ice40: run nextpnr for Fmax
	FreqMHz float64 // nextpnr target frequency
	Seed    int     // first nextpnr seed (0 means 1)
	Seeds   int     // seeds to try, keeping the best Fmax (0 means 1)
	Timeout time.Duration
	// KeepDir, when set, keeps every run's sources, script, logs and
	// netlists in KeepDir/<op>[_dsp]; otherwise they go in temporary
	// directories that are removed.
	KeepDir string
	// WithDSP: for a MAC on xilinx, also synthesize with DSPs (the main
	// figures are always without, synth_xilinx -nodsp).
	WithDSP bool
}

// PEReport is the measurement of one PE.
type PEReport struct {
	Op       Op     `json:"op"`
	Target   Target `json:"target"`
	Module   string `json:"module"`
	Lanes    int    `json:"lanes"`
	Width    int    `json:"width"`
	Signed   bool   `json:"signed"`
	SumWidth int    `json:"sum_width"`
	Latency  int    `json:"latency"`
	Counts
	FmaxMHz     *float64       `json:"fmax_mhz"`             // ice40: the best over the seeds tried
	FmaxSeeds   []float64      `json:"fmax_seeds,omitempty"` // ice40: Fmax for each seed, from the first
	FmaxError   string         `json:"fmax_error,omitempty"`
	Cells       map[string]int `json:"cells"`
	Design      Counts         `json:"design"`
	DesignCells map[string]int `json:"design_cells"`
	ICE40LCs    int            `json:"ice40_lcs,omitempty"` // packed logic cells of the whole design after placement
	Synth       string         `json:"synth"`
	PnR         string         `json:"pnr,omitempty"`
	// WithDSP is the same MAC synthesized with DSPs allowed (xilinx).
	WithDSP *DSPReport `json:"with_dsp,omitempty"`
	Dir     string     `json:"dir,omitempty"` // the kept work directory
}

// DSPReport is a MAC PE's resources when synthesized with DSP blocks.
type DSPReport struct {
	Counts
	Cells map[string]int `json:"cells"`
	Synth string         `json:"synth"`
}

// Measurement is the outcome of a Request: one report per job, in order.
type Measurement struct {
	Reports []*PEReport
}

// Ratio returns MAC LUTs / L1 LUTs when the measurement holds both.
func (m *Measurement) Ratio() (float64, bool) { return macToL1(m.Reports) }

func (r *PEReport) opLUTs() (Op, int) { return r.Op, r.LUTs }

// macToL1 returns the MAC report's LUTs over the L1 report's, when both
// are there.
func macToL1[R interface{ opLUTs() (Op, int) }](reports []R) (float64, bool) {
	l1, mac := -1, -1
	for _, r := range reports {
		switch op, luts := r.opLUTs(); op {
		case L1:
			l1 = luts
		case MAC:
			mac = luts
		}
	}
	if l1 <= 0 || mac < 0 {
		return 0, false
	}
	return float64(mac) / float64(l1), true
}

// design renders a job's PE and its wrapper.
func (j PEJob) design() (Design, *PEReport, error) {
	c := j.Config
	rep := &PEReport{Op: j.Op, Lanes: c.Lanes, Width: c.Width, Signed: c.Signed}
	var files map[string][]byte
	switch j.Op {
	case L1:
		if c.Name == "" {
			c.Name = "adder_pe"
		}
		f, p, err := rtl.EmitPE(c)
		if err != nil {
			return Design{}, nil, err
		}
		files, rep.Module, rep.SumWidth, rep.Latency = f, p.Module, p.SumWidth, p.Latency
	case MAC:
		if c.Name == "" {
			c.Name = rtl.MACDefaultName
		}
		f, m, err := rtl.EmitMAC(c)
		if err != nil {
			return Design{}, nil, err
		}
		files, rep.Module, rep.SumWidth, rep.Latency = f, m.Module, m.SumWidth, m.Latency
	default:
		return Design{}, nil, fmt.Errorf("synth: op %q unknown", j.Op)
	}
	if j.Verilog != nil {
		files = map[string][]byte{rep.Module + ".v": j.Verilog}
		rep.Latency = j.Latency
	}
	top := rtl.WrapDefaultName
	if rep.Module == top {
		top += "_wrap"
	}
	wf, _, err := rtl.EmitWrap(rtl.WrapConfig{Module: top, PE: rep.Module, LaneBits: c.Lanes * c.Width, SumWidth: rep.SumWidth})
	if err != nil {
		return Design{}, nil, err
	}
	d := Design{Top: top, PE: rep.Module, Files: map[string][]byte{}, Sources: []string{rep.Module + ".v", top + ".v"}}
	d.Files[rep.Module+".v"] = files[rep.Module+".v"]
	d.Files[top+".v"] = wf[top+".v"]
	return d, rep, nil
}

type runSpec struct {
	job  int
	dsp  bool // the with-DSP companion run of a MAC
	name string
	d    Design
	o    Options
}

// Measure synthesizes every job of the request (runs go in parallel, up to
// the number of CPUs) and reports each PE's own resources, the whole
// design's, and (ice40 with PnR) the wrapped design's Fmax.
func Measure(ctx context.Context, req Request) (*Measurement, error) {
	if _, err := ParseTarget(string(req.Target)); err != nil {
		return nil, err
	}
	for _, tool := range Tools(req.Target, req.PnR) {
		if _, err := LookTool(tool); err != nil {
			return nil, err
		}
	}
	m := &Measurement{}
	var runs []runSpec
	for i, j := range req.Jobs {
		d, rep, err := j.design()
		if err != nil {
			return nil, err
		}
		rep.Target = req.Target
		m.Reports = append(m.Reports, rep)
		o := Options{Target: req.Target, PnR: req.PnR, FreqMHz: req.FreqMHz, Seed: req.Seed, Seeds: req.Seeds, Timeout: req.Timeout}
		if j.Op == MAC && req.Target == Xilinx {
			o.NoDSP = true
			if req.WithDSP {
				od := o
				od.NoDSP = false
				runs = append(runs, runSpec{job: i, dsp: true, name: string(j.Op) + "_dsp", d: d, o: od})
			}
		}
		runs = append(runs, runSpec{job: i, name: string(j.Op), d: d, o: o})
	}
	for i := range runs {
		r := &runs[i]
		dir, err := workDir(req.KeepDir, r.name)
		if err != nil {
			for _, q := range runs[:i] {
				if req.KeepDir == "" {
					os.RemoveAll(q.o.Dir)
				}
			}
			return nil, err
		}
		r.o.Dir = dir
		if req.KeepDir != "" && !r.dsp {
			m.Reports[r.job].Dir = dir
		}
	}
	results := make([]*Result, len(runs))
	errs := make([]error, len(runs))
	sem := make(chan struct{}, max(1, runtime.NumCPU()))
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = Run(ctx, runs[i].d, runs[i].o)
		}()
	}
	wg.Wait()
	// Temporary directories go, except those of failed runs, whose logs
	// the errors name.
	for i, r := range runs {
		if req.KeepDir == "" && errs[i] == nil {
			os.RemoveAll(r.o.Dir)
		}
	}
	for i, r := range runs {
		if errs[i] != nil {
			return nil, fmt.Errorf("synth %s %s: %w", r.name, req.Target, errs[i])
		}
		res, rep := results[i], m.Reports[r.job]
		if r.dsp {
			rep.WithDSP = &DSPReport{Counts: res.PE, Cells: res.PECells, Synth: res.SynthCmd}
			continue
		}
		rep.Counts, rep.Cells, rep.Design, rep.DesignCells, rep.Synth = res.PE, res.PECells, res.Design, res.DesignCells, res.SynthCmd
		rep.PnR = res.PnRCmd
		if res.PnR != nil {
			f := res.PnR.FmaxMHz
			rep.FmaxMHz = &f
			rep.ICE40LCs = res.PnR.LCs
			rep.FmaxSeeds = res.Seeds
		}
		if res.PnRErr != nil {
			rep.FmaxError = res.PnRErr.Error()
		}
	}
	return m, nil
}

// workDir returns the directory for one run: KeepDir/name (created), or a
// new temporary directory.
func workDir(keep, name string) (string, error) {
	if keep != "" {
		dir := filepath.Join(keep, name)
		return dir, os.MkdirAll(dir, 0o755)
	}
	return os.MkdirTemp("", "addergen-synth-"+name+"-")
}
