package testbench

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/addergen/addergen/sim"
)

// Mismatch describes the first cycle where the RTL and the model disagree.
type Mismatch struct {
	Module        string  `json:"module"`
	Index         int     `json:"index"` // vector index (valid inputs counted from 0), -1 if none was expected
	Cycle         int     `json:"cycle"`
	X             []int32 `json:"x,omitempty"`
	W             []int32 `json:"w,omitempty"`
	ExpectedValid string  `json:"expected_valid"`
	GotValid      string  `json:"got_valid"`
	Expected      string  `json:"expected"` // decimal sum, "" when no valid output was expected
	Got           string  `json:"got"`      // decimal when the simulator printed known bits, else its raw hex
}

func (m *Mismatch) String() string {
	return fmt.Sprintf("%s vector %d (cycle %d): x=%v w=%v: expected valid=%s sum=%s, got valid=%s sum=%s",
		m.Module, m.Index, m.Cycle, m.X, m.W, m.ExpectedValid, m.Expected, m.GotValid, m.Got)
}

// Result is the outcome of one simulator run of a suite.
type Result struct {
	Simulator        string    `json:"simulator"`
	Vectors          int       `json:"vectors"`
	Mismatches       int       `json:"mismatches"`
	Checked          int       `json:"checked"` // valid outputs compared
	FirstMismatch    *Mismatch `json:"first_mismatch"`
	Seconds          float64   `json:"seconds"`
	VectorsPerSecond float64   `json:"vectors_per_second"`
	VCD              string    `json:"vcd,omitempty"`
}

// Run writes the suite into dir (an existing, empty work directory), runs
// it in the named simulator and compares every cycle. A VCD is written to
// dir/waves.vcd when vcd is set, and always when there is a mismatch.
func (s *PESuite) Run(ctx context.Context, simulator, dir string, vcd bool) (*Result, error) {
	files, err := s.Files()
	if err != nil {
		return nil, err
	}
	if err := WriteFiles(dir, files); err != nil {
		return nil, err
	}
	opts := RunOptions{Top: TopModule, Sources: s.Sources(), VCD: vcd}
	out, elapsed, err := Run(ctx, simulator, dir, opts)
	if err != nil {
		return nil, err
	}
	res, err := s.judge(simulator, out)
	if err != nil {
		return nil, err
	}
	res.Seconds = elapsed.Seconds()
	if res.Seconds > 0 {
		res.VectorsPerSecond = float64(res.Vectors) / res.Seconds
	}
	if res.Mismatches > 0 && !vcd {
		opts.VCD = true
		if _, _, err := Run(ctx, simulator, dir, opts); err != nil {
			return res, fmt.Errorf("rerun for VCD: %w", err)
		}
		vcd = true
	}
	if vcd {
		res.VCD = filepath.Join(dir, "waves.vcd")
	}
	return res, nil
}

func (s *PESuite) judge(simulator, out string) (*Result, error) {
	o := parseOutcome(out)
	res := &Result{Simulator: simulator, Vectors: s.Vectors()}
	byName := map[string]*peCase{}
	for _, c := range s.cases {
		byName[c.PE.Module] = c
		d, ok := o.Done[c.PE.Module]
		if !ok {
			why := ErrIncomplete.Error()
			if o.Timeout {
				why = "simulation timed out"
			}
			return nil, fmt.Errorf("%s: %s: no result for %s\n%s", simulator, why, c.PE.Module, tail(out, 20))
		}
		if d[0] != len(c.Inputs) {
			return nil, fmt.Errorf("%s: %s ran %d cycles, want %d", simulator, c.PE.Module, d[0], len(c.Inputs))
		}
		res.Mismatches += d[1]
		if d[1] == 0 && d[2] != c.Outputs {
			return nil, fmt.Errorf("%s: %s compared %d valid outputs, the model expects %d", simulator, c.PE.Module, d[2], c.Outputs)
		}
		res.Checked += d[2]
	}
	if len(o.Mismatches) != res.Mismatches {
		return nil, fmt.Errorf("%s: %d MISMATCH lines but DONE lines count %d", simulator, len(o.Mismatches), res.Mismatches)
	}
	if len(o.Mismatches) > 0 {
		m := o.Mismatches[0]
		c := byName[m.Case]
		if c == nil || m.Cycle < 0 || m.Cycle >= len(c.Inputs) {
			return nil, fmt.Errorf("%s: bad MISMATCH line for %s cycle %d", simulator, m.Case, m.Cycle)
		}
		res.FirstMismatch = c.describe(m)
	}
	return res, nil
}

func (c *peCase) describe(m simMismatch) *Mismatch {
	exp := c.Expected[m.Cycle]
	mm := &Mismatch{Module: m.Case, Cycle: m.Cycle, Index: exp.Tag, ExpectedValid: exp.Valid.String(), GotValid: m.Valid, Got: m.Sum}
	if v, err := strconv.ParseUint(m.Sum, 16, 64); err == nil {
		mm.Got = strconv.FormatUint(v, 10)
	}
	if exp.Valid == sim.High {
		mm.Expected = strconv.FormatUint(exp.Sum, 10)
		// Find the input that produced this output.
		n := 0
		for _, in := range c.Inputs {
			if !in.Valid {
				continue
			}
			if n == exp.Tag {
				mm.X, mm.W = in.X, in.W
				break
			}
			n++
		}
	}
	return mm
}
