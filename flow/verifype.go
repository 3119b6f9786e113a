package flow

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/testbench"
)

// VerifyPEReport is the JSON printed by addergen verify pe --json.
type VerifyPEReport struct {
	Vectors       int                 `json:"vectors"`
	Mismatches    int                 `json:"mismatches"`
	Simulator     string              `json:"simulator"`
	FirstMismatch *testbench.Mismatch `json:"first_mismatch"`
	Module        string              `json:"module"`
	Lanes         int                 `json:"lanes"`
	Width         int                 `json:"width"`
	Signed        bool                `json:"signed"`
	SumWidth      int                 `json:"sum_width"`
	Latency       int                 `json:"latency"`
	Seed          uint64              `json:"seed"`
	Runs          []*testbench.Result `json:"runs"`
}

// VerifyPEOptions are the bench settings of VerifyPE.
type VerifyPEOptions struct {
	// Simulators run the bench in turn (testbench.Icarus, Verilator);
	// Simulator names them in the report ("both" for the two).
	Simulators []string
	Simulator  string
	// Vectors random vectors from Seed follow the edge cases.
	Vectors int
	Seed    uint64
	// Keep is the folder to keep each bench and build in (a subfolder per
	// simulator when there are several); "" means a temporary folder per
	// simulator, removed when its run matches.
	Keep string
	// VCD dumps a waveform of each run (Result.VCD, in its work folder).
	VCD bool
	// Each (nil: none) is called after each simulator's run, while its
	// work folder is still there, with the report so far (the PE's
	// description; not yet this run), the simulator, its result and the
	// folder; it may change the result (say, where the VCD now is). An
	// error from it stops VerifyPE (the folder is kept) and is returned.
	Each func(rep *VerifyPEReport, sim string, res *testbench.Result, dir string) error
}

// VerifyPE verifies the L1 PE of c against its cycle-true Go model in each
// simulator: random vectors plus edge cases, idle gaps and a reset pulse
// mid-stream, valid_o and sum_o compared on every cycle. Mismatches are a
// result (Mismatches, FirstMismatch: the first simulator's that has one),
// not an error. Errors: an invalid PE (c), a Keep folder that cannot be
// made (*DirError), a bench that cannot be built or run ("verify pe in
// SIM: ..."), and Each's.
func VerifyPE(ctx context.Context, c rtl.PEConfig, o VerifyPEOptions) (*VerifyPEReport, error) {
	suite, err := testbench.NewPESuite([]testbench.PECase{{Config: c, Vectors: o.Vectors, Seed: o.Seed}})
	if err != nil {
		return nil, err
	}
	p := suite.PEs()[0]
	rep := &VerifyPEReport{Vectors: suite.Vectors(), Simulator: o.Simulator, Module: p.Module, Lanes: p.Lanes,
		Width: p.Width, Signed: p.Signed, SumWidth: p.SumWidth, Latency: p.Latency, Seed: o.Seed}
	for _, s := range o.Simulators {
		dir, cleanup, err := peWorkDir(o.Keep, s, len(o.Simulators) > 1)
		if err != nil {
			return nil, err
		}
		res, err := suite.Run(ctx, s, dir, o.VCD)
		if err != nil {
			cleanup(false)
			return nil, fmt.Errorf("verify pe in %s: %w", s, err)
		}
		if o.Each != nil {
			if err := o.Each(rep, s, res, dir); err != nil {
				cleanup(false)
				return nil, err
			}
		}
		cleanup(res.Mismatches == 0)
		rep.Runs = append(rep.Runs, res)
		rep.Mismatches += res.Mismatches
		if rep.FirstMismatch == nil {
			rep.FirstMismatch = res.FirstMismatch
		}
	}
	return rep, nil
}

// peWorkDir returns the folder for one simulator's run and a cleanup
// function: keep (or keep/sim with sub) is made and always kept; a
// temporary folder is removed by cleanup(true) only.
func peWorkDir(keep, sim string, sub bool) (string, func(ok bool), error) {
	if keep != "" {
		dir := keep
		if sub {
			dir = filepath.Join(dir, sim)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, &DirError{Dir: keep, Err: unwrapPathErr(err)}
		}
		return dir, func(bool) {}, nil
	}
	dir, err := os.MkdirTemp("", "addergen-verify-"+sim+"-")
	if err != nil {
		return "", nil, err
	}
	return dir, func(ok bool) {
		if ok {
			os.RemoveAll(dir)
		}
	}, nil
}
