package flow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/synth"
	"github.com/addergen/addergen/testbench"
)

// CountsOf is c as a report's resource counts.
func CountsOf(c synth.Counts) Counts {
	return Counts{LUTs: c.LUTs, FFs: c.FFs, BRAMs: c.BRAMs, DSPs: c.DSPs}
}

// Cost plans the network design of q under c (rtl.PlanNet: cycles per
// image, latency) and estimates its L1 cost on target t
// (synth.EstimateNet: LUTs, FFs, BRAMs, DSPs, PEs, ROM and buffer bits;
// instant). Errors come from planning and from the estimate.
func Cost(q *quant.Model, c rtl.NetConfig, t synth.Target) (*rtl.Net, *synth.NetEstimate, error) {
	n, err := rtl.PlanNet(q, c)
	if err != nil {
		return nil, nil, err
	}
	est, err := synth.EstimateNet(q, c, synth.L1, t)
	if err != nil {
		return nil, nil, err
	}
	return n, est, nil
}

// MeasureOptions are the tool settings of Measure.
type MeasureOptions struct {
	Target synth.Target
	// Timeout limits each tool run; Seed is nextpnr's placement seed (on
	// ice40, which is also placed and routed for Fmax).
	Timeout time.Duration
	Seed    int
}

// Measure synthesizes the L1 network design of q under c with yosys (and
// on ice40 places and routes it) and returns its report: counts and Fmax
// (MHz, nil when not routed). Errors: *testbench.MissingToolError for a
// missing tool, tool failures and timeouts.
func Measure(ctx context.Context, q *quant.Model, c rtl.NetConfig, o MeasureOptions) (*synth.ModelReport, error) {
	m, err := synth.MeasureModel(ctx, synth.ModelRequest{Model: q, Config: c, Ops: []synth.Op{synth.L1}, Target: o.Target,
		PnR: o.Target == synth.ICE40, FreqMHz: synth.DefaultFreqMHz, Seed: o.Seed, Timeout: o.Timeout})
	if err != nil {
		return nil, err
	}
	return m.Reports[0], nil
}

// PECost is the cost of one L1 PE against the same-shape MAC PE.
type PECost struct {
	L1, MAC *synth.PEReport
	// Ratio is MAC LUTs / L1 LUTs (nil when L1 has none).
	Ratio *float64
}

// CostPE synthesizes the unsigned L1 PE of lanes lanes of width bits
// (pipelined, rtl.PipelineAuto) and the same-shape MAC PE with yosys for
// target. Errors: an invalid PE shape ("PE K=.. W=..: ..."),
// *testbench.MissingToolError for a missing tool, and tool failures (one
// line, "synth pe: ...").
func CostPE(ctx context.Context, lanes, width int, target synth.Target) (*PECost, error) {
	req := synth.Request{Target: target, Timeout: synth.DefaultTimeout}
	for _, op := range []synth.Op{synth.L1, synth.MAC} {
		c := rtl.PEConfig{Lanes: lanes, Width: width, Signed: false, Pipeline: rtl.PipelineAuto}
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("PE K=%d W=%d: %w", lanes, width, err)
		}
		req.Jobs = append(req.Jobs, synth.PEJob{Op: op, Config: c})
	}
	m, err := synth.Measure(ctx, req)
	if err != nil {
		var mt *testbench.MissingToolError
		if errors.As(err, &mt) {
			return nil, mt
		}
		return nil, fmt.Errorf("synth pe: %v", OneLine(err))
	}
	pc := &PECost{L1: m.Reports[0], MAC: m.Reports[1]}
	if r, ok := m.Ratio(); ok {
		pc.Ratio = &r
	}
	return pc, nil
}
