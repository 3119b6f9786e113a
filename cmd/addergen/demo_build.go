package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/synth"
)

// The demo's bitstream step (hooked into demo.go at four marked lines):
// the iCE40-HX8K bitstream of the shipped small model, as
// `addergen build --target ice40-hx8k` makes it, written to
// DIR/bitstream/, when yosys, nextpnr-ice40 and icepack are on PATH; a
// line in the report says why when it is skipped. It adds a few minutes
// (place and route), so --bitstream=false turns it off.

// demoBitstreamTarget is the board the demo builds for.
const demoBitstreamTarget = "ice40-hx8k"

// demoBitstream is the bitstream part of the demo report.
type demoBitstream struct {
	Target  string             `json:"target"`
	Model   string             `json:"model"`
	Dir     string             `json:"dir,omitempty"`     // "bitstream", when built
	Skipped string             `json:"skipped,omitempty"` // why it was not built
	Report  *synth.BuildReport `json:"report,omitempty"`
}

func registerDemoBitstream(fl *pflag.FlagSet, on *bool) {
	fl.BoolVar(on, "bitstream", true, "also build the iCE40-HX8K bitstream of the shipped small model "+defaultBuildModel+" (as addergen build; a few minutes) when yosys, nextpnr-ice40 and icepack are present")
}

// bitstream builds the shipped small model's bitstream into
// files["bitstream/..."] and records it in the report.
func (d *demoRun) bitstream(ctx context.Context, files map[string][]byte) error {
	b := &demoBitstream{Target: demoBitstreamTarget, Model: defaultBuildModel}
	d.rep.Bitstream = b
	if !d.o.bitstream {
		b.Skipped = "turned off (--bitstream=false)"
		return nil
	}
	for _, t := range synth.BuildTools {
		if _, err := synth.LookTool(t); err != nil {
			b.Skipped = err.Error()
			return nil
		}
	}
	d.begin("build bitstream")
	q, _, err := quant.Builtin(defaultBuildModel)
	if err != nil {
		return err
	}
	board, err := synth.ParseBoard(demoBitstreamTarget)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "addergen-demo-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	stop := d.spin("build the " + board.Device + " bitstream of " + defaultBuildModel + " (yosys, nextpnr-ice40, icepack)")
	rep, out, err := synth.Build(ctx, synth.BuildRequest{Model: q, ModelName: defaultBuildModel, Board: board,
		Config: rtl.NetConfig{TargetCycles: defaultBuildTargetCycles, Family: "ice40", Parallel: rtl.DefaultParallel, Top: "addernet"}, Dir: work})
	stop()
	if err != nil {
		return fmt.Errorf("bitstream: %v", oneLineErr(err))
	}
	for n, data := range out {
		files["bitstream/"+n] = data
	}
	b.Dir, b.Report = "bitstream", rep
	d.end("build bitstream")
	return nil
}

// bitstreamRows are the summary rows of the bitstream step.
func bitstreamRows(r *demoReport) [][2]string {
	b := r.Bitstream
	if b == nil {
		return nil
	}
	if b.Report == nil {
		return [][2]string{{"bitstream (" + b.Target + ")", "skipped: " + b.Skipped}}
	}
	p := b.Report
	return [][2]string{{"bitstream (" + b.Target + ")", fmt.Sprintf("%s: %d/%d LCs, %d/%d RAMs, %.1f MHz post-route (seed %d), %s/%s",
		b.Model, p.LCs, p.LCsAvail, p.RAMs, p.RAMsAvail, p.FmaxMHz, p.KeptSeed, b.Dir, p.Bitstream)}}
}
