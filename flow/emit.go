package flow

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/addergen/addergen/internal/outdir"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/synth"
)

// Emit renders the whole-network design of q under c (rtl.EmitNet) and adds
// the analytical xilinx cost estimate (synth.EstimateNet) to manifest.json
// as "estimate". It returns the files (slash paths relative to the output
// folder → contents; it writes nothing) and the planned design. Errors
// come from planning (a hardware config that does not fit q starts
// "hardware config:") and from the estimate.
func Emit(q *quant.Model, c rtl.NetConfig) (map[string][]byte, *rtl.Net, error) {
	files, n, err := rtl.EmitNet(q, c)
	if err != nil {
		return nil, nil, err
	}
	est, err := synth.EstimateNet(q, c, synth.L1, synth.Xilinx)
	if err != nil {
		return nil, nil, err
	}
	var man rtl.NetManifest
	if err := json.Unmarshal(files["manifest.json"], &man); err != nil {
		return nil, nil, fmt.Errorf("manifest.json: %w", err)
	}
	man.Estimate = &rtl.NetCostEstimate{Target: string(est.Target), LUTs: est.Total.LUTs, FFs: est.Total.FFs,
		BRAMs: est.Total.BRAMs, DSPs: est.Total.DSPs}
	b, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	files["manifest.json"] = append(b, '\n')
	return files, n, nil
}

// EngineLanes is the lanes of one PE of e: its lanes per PE for an
// engine that reduces over lanes (adder, conv), else 1.
func EngineLanes(e *rtl.Engine) int {
	if e.Reduce {
		return e.LanesPE
	}
	return 1
}

// BufferBits is the activation buffer bits of n: every engine's line
// buffer and FIFO bits.
func BufferBits(n *rtl.Net) int {
	bits := 0
	for _, e := range n.Engines {
		bits += e.LineBufferBits() + e.FIFOBits()
	}
	return bits
}

// ReadDesign reads the design that addergen emit-verilog wrote into dir and
// plans it for q: each adder/conv engine's parallelism and lanes come from
// dir/manifest.json (over c), and the plan must reproduce the manifest's
// top, modules and predicted cycles, or dir was emitted from another model
// or generator. It returns dir's files (name → contents, without the
// outdir marker and subfolders) and the plan. Errors are *DirError naming
// dir.
func ReadDesign(q *quant.Model, c rtl.NetConfig, dir string) (map[string][]byte, *rtl.Net, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, nil, dirErrf(dir, "%v (emit the design with addergen emit-verilog)", unwrapPathErr(err))
	}
	var man rtl.NetManifest
	if err := json.Unmarshal(b, &man); err != nil {
		return nil, nil, dirErrf(dir, "manifest.json: %v", err)
	}
	c.AResetN = man.Reset == "aresetn"
	c.Layers = map[string]rtl.LayerHW{}
	for _, l := range man.Layers {
		if l.Kind == "adder" || l.Kind == "conv" {
			c.Layers[l.Layer] = rtl.LayerHW{Parallel: l.PEs, Lanes: l.LanesPerPE}
		}
	}
	planned, n, err := rtl.EmitNet(q, c)
	if err != nil {
		return nil, nil, dirErrf(dir, "the manifest does not fit --model: %v", err)
	}
	var got rtl.NetManifest
	if err := json.Unmarshal(planned["manifest.json"], &got); err != nil {
		return nil, nil, err
	}
	if got.Top != man.Top || got.PredictedCyclesPerImage != man.PredictedCyclesPerImage || strings.Join(got.Modules, " ") != strings.Join(man.Modules, " ") {
		return nil, nil, dirErrf(dir, "the design was not emitted from --model (manifest top %s, %d cycles per image; the model plans top %s, %d cycles per image)",
			man.Top, man.PredictedCyclesPerImage, got.Top, got.PredictedCyclesPerImage)
	}
	files := map[string][]byte{}
	list, err := os.ReadFile(filepath.Join(dir, "filelist.f"))
	if err != nil {
		return nil, nil, dirErrf(dir, "%v", unwrapPathErr(err))
	}
	files["filelist.f"] = list
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, dirErrf(dir, "%v", err)
	}
	for _, e := range entries {
		if e.IsDir() || e.Name() == outdir.Marker {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, nil, dirErrf(dir, "%v", err)
		}
		files[e.Name()] = b
	}
	return files, n, nil
}
