package flow

import (
	"context"
	"fmt"
	"os"

	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/synth"
)

// BuildModel is the built-in quantized model `addergen build` (and the
// demo's bitstream step) builds without --model: the small 12×12 MNIST
// AdderNet trained with addergen train (model/pretrained/README.md).
const BuildModel = "small12-adder-mnist-q8"

// BuildTargetCycles is the cycles-per-image target the small model is
// built at (--target-cycles of addergen build).
const BuildTargetCycles = 8000

// DemoBitstreamTarget is the board the demo's bitstream step builds for.
const DemoBitstreamTarget = "ice40-hx8k"

// DemoBitstream is the bitstream part of the demo report.
type DemoBitstream struct {
	Target  string             `json:"target"`
	Model   string             `json:"model"`
	Dir     string             `json:"dir,omitempty"`     // "bitstream", when built
	Skipped string             `json:"skipped,omitempty"` // why it was not built
	Report  *synth.BuildReport `json:"report,omitempty"`
}

// bitstream builds BuildModel's iCE40-HX8K bitstream as addergen build
// does (synth.Build) into files["bitstream/..."] and records it in the
// report. It is skipped, with the reason in the report, when
// o.Bitstream is off or yosys, nextpnr-ice40 or icepack is missing.
func (d *demoRun) bitstream(ctx context.Context, files map[string][]byte) error {
	b := &DemoBitstream{Target: DemoBitstreamTarget, Model: BuildModel}
	d.rep.Bitstream = b
	if !d.o.Bitstream {
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
	q, _, err := quant.Builtin(BuildModel)
	if err != nil {
		return err
	}
	board, err := synth.ParseBoard(DemoBitstreamTarget)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "addergen-demo-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	d.p.Start("build the "+board.Device+" bitstream of "+BuildModel+" (yosys, nextpnr-ice40, icepack)", -1)
	rep, out, err := synth.Build(ctx, synth.BuildRequest{Model: q, ModelName: BuildModel, Board: board,
		Config: rtl.NetConfig{TargetCycles: BuildTargetCycles, Family: "ice40", Parallel: rtl.DefaultParallel, Top: "addernet"}, Dir: work})
	d.p.Finish()
	if err != nil {
		return fmt.Errorf("bitstream: %v", OneLine(err))
	}
	for n, data := range out {
		files["bitstream/"+n] = data
	}
	b.Dir, b.Report = "bitstream", rep
	d.end("build bitstream")
	return nil
}

// bitstreamRows are the summary rows of the bitstream step.
func bitstreamRows(r *DemoReport) [][2]string {
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
