package rtl

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/templates"
)

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
	Top                     string   `json:"top"`
	Modules                 []string `json:"modules"`
	Files                   []string `json:"files"`
	PredictedCyclesPerImage int      `json:"predicted_cycles_per_image"`
	LatencyCycles           int      `json:"latency_cycles"`
	InputBits               int      `json:"input_tdata_bits"` // s_axis_tdata width: the pixel padded to whole bytes
	InputPixelBits          int      `json:"input_pixel_bits"` // the pixel's bits, tdata[input_pixel_bits-1:0]
	PixelsPerImage          int      `json:"pixels_per_image"` // s_axis beats per image
	OutputBits              int      `json:"output_tdata_bits"`
	OutputCodeBits          int      `json:"output_code_bits"`
	OutputSigned            bool     `json:"output_signed"`
	Classes                 int      `json:"classes"`
	// Reset is the top's reset port: "rst_i" (active high) or "aresetn"
	// (active low); both synchronous.
	Reset string `json:"reset"`
	// WeightsDirParam is the top's parameter naming the folder of the ROM
	// files ("" when the design has none).
	WeightsDirParam string `json:"weights_dir_parameter,omitempty"`
	// ROMs are the ROM files ($readmemh) in name order (none with
	// runtime weights).
	ROMs []string `json:"roms"`
	// WeightsMode is "rom" or "runtime" (NetConfig.WeightsMode); with
	// runtime weights WeightStreamBeats is the s_axis_w beats of one
	// load and WeightMemories the memories it fills, in order.
	WeightsMode       string              `json:"weights_mode"`
	WeightStreamBeats int                 `json:"weight_stream_beats,omitempty"`
	WeightMemories    []WeightMemManifest `json:"weight_memories,omitempty"`
	// IPXACT is the IP-XACT (IEEE 1685-2009) component description of
	// the top, FuseSoC the FuseSoC CAPI2 core file.
	IPXACT  string `json:"ip_xact"`
	FuseSoC string `json:"fusesoc_core"`
	PEs     int    `json:"pes"`
	Lanes   int    `json:"lanes"`
	// ROMBits is the bits of the weight and per-channel constant
	// memories: ROMs, or with runtime weights the RAMs the stream loads.
	ROMBits int `json:"rom_bits"`
	// BufferBits is every activation memory with a write port: the line
	// buffers (ring rows times copies), output FIFOs and skip FIFOs.
	BufferBits int `json:"buffer_bits"`
	// LaneUtilization is Net.LaneUtilization.
	LaneUtilization float64 `json:"lane_utilization"`
	// TargetCycles echoes the --target-cycles the design was folded for.
	TargetCycles int             `json:"target_cycles,omitempty"`
	Layers       []LayerManifest `json:"layers"`
	Generator    string          `json:"generator"`
	// Estimate is an analytical resource estimate of the design. rtl
	// leaves it empty; the CLI fills it from synth.EstimateNet.
	Estimate *NetCostEstimate `json:"estimate,omitempty"`
}

// WeightMemManifest is one memory of the runtime weight stream.
type WeightMemManifest struct {
	Module string `json:"module"`
	Memory string `json:"memory"`
	Depth  int    `json:"depth"`
	Width  int    `json:"width"`
	Beats  int    `json:"beats_per_word"`
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
	SIMD          int    `json:"simd,omitempty"`
	Positions     int    `json:"positions,omitempty"` // window positions per step (U)
	RingPixels    int    `json:"ring_pixels,omitempty"`
	RingCopies    int    `json:"ring_copies,omitempty"` // always 1: U > 1 banks the ring instead
	RingBanks     int    `json:"ring_banks,omitempty"`  // banks of the ring (U > 1), else 1
	RingPitch     int    `json:"ring_pitch,omitempty"`  // ring slots per map row (W, or the banked pitch)
	LineBufBits   int    `json:"line_buffer_bits"`
	FIFOBits      int    `json:"fifo_bits"`
	BufferBits    int    `json:"buffer_bits"`                       // LineBufBits + FIFOBits
	Latency       int    `json:"pipeline_latency_cycles,omitempty"` // last issue to last output beat
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
		InputBits: n.InTData(), InputPixelBits: n.InBits, PixelsPerImage: n.Pixels(), Reset: n.ResetPort(), OutputBits: n.OutTData, OutputCodeBits: n.OutW, OutputSigned: n.OutSigned, Classes: n.OutCount,
		Generator: Generator, LaneUtilization: math.Round(n.LaneUtilization()*1e4) / 1e4, TargetCycles: n.TargetCycles}
	if n.HasROMs() {
		man.WeightsDirParam = "WEIGHTS_DIR"
	}
	man.WeightsMode = WeightsROM
	if n.Runtime {
		man.WeightsMode, man.WeightStreamBeats = WeightsRuntime, n.WeightStreamBeats()
		for _, m := range n.WMems {
			man.WeightMemories = append(man.WeightMemories, WeightMemManifest{Module: m.Engine.Module, Memory: m.Name, Depth: m.Depth, Width: m.Width, Beats: m.Beats})
		}
	}
	for _, e := range n.Engines {
		if e.Adder {
			pf, _, err := EmitPE(PEConfig{Name: e.PEModule, Lanes: e.LanesPE, Width: e.OB, Signed: e.InSigned, Pipeline: PipelineAuto, Family: e.Family})
			if err != nil {
				return nil, nil, fmt.Errorf("layer %s: %w", e.Layer, err)
			}
			add(e.PEModule+".v", pf[e.PEModule+".v"])
			man.Modules = append(man.Modules, e.PEModule)
		}
		tmplName := "engine.v.tmpl"
		switch {
		case e.Add:
			tmplName = "engine_add.v.tmpl"
		case e.PoolStream:
			tmplName = "engine_pool.v.tmpl"
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
			if !e.Runtime {
				files[f] = []byte(e.roms[f])
				man.ROMs = append(man.ROMs, f)
			}
			romBits += strings.Count(e.roms[f], "\n") * romWidth(e, f)
		}
		lm := LayerManifest{Layer: e.Layer, Module: e.Module, Kind: e.Kind, PEs: e.P, LanesPerPE: e.LanesPE,
			ComputeCycles: e.ComputeCycles, LoadCycles: e.LoadCycles, ROMBits: romBits, Latency: e.Tail}
		lm.LineBufBits, lm.FIFOBits = e.LineBufferBits(), e.FIFOBits()
		lm.BufferBits = lm.LineBufBits + lm.FIFOBits
		if !e.streams() {
			lm.SIMD, lm.Positions, lm.RingPixels, lm.RingCopies = e.SIMD, e.U, e.RingDepth, 1
			lm.RingBanks, lm.RingPitch = e.NB, e.WP
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
	tv, err := n.topView()
	if err != nil {
		return nil, nil, err
	}
	top, err := Render("net_top.v.tmpl", tv)
	if err != nil {
		return nil, nil, err
	}
	add(n.Top+".v", top)
	man.Modules = append(man.Modules, n.Top)
	man.Files = append([]string(nil), order...)
	files["filelist.f"] = []byte(strings.Join(order, "\n") + "\n")
	sort.Strings(man.ROMs)
	if man.ROMs == nil {
		man.ROMs = []string{} // runtime weights: none, listed as []
	}
	ipx, err := Render("component.xml.tmpl", n.ipxact(order, man.ROMs))
	if err != nil {
		return nil, nil, err
	}
	core, err := Render("fusesoc.core.tmpl", n.core(order, man.ROMs))
	if err != nil {
		return nil, nil, err
	}
	man.IPXACT, man.FuseSoC = IPXACTFile, n.Top+".core"
	files[man.IPXACT] = ipx
	files[man.FuseSoC] = core
	j, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	files["manifest.json"] = append(j, '\n')
	return files, n, nil
}

// romWidth returns the word width of the engine memory whose contents
// are the file f (0 for a file that is no memory's).
func romWidth(e *Engine, f string) int {
	for _, m := range e.Mems {
		if m.File == f {
			return m.Width
		}
	}
	return 0
}

// LineBufferBits is the bits of the engine's line buffer: RingDepth
// slots of InBits (one copy, banked when U > 1), or a streaming pool's
// line of LineDepth partial maxima.
func (e *Engine) LineBufferBits() int {
	switch {
	case e.Add:
		return 0
	case e.PoolStream:
		return e.LineDepth * e.InBits
	}
	return e.RingDepth * e.InBits
}

// FIFOBits is the bits of the engine's FIFOs: its output FIFO, and the
// skip FIFO of an add.
func (e *Engine) FIFOBits() int {
	if e.Add {
		return e.FifoDepth*e.In2Bits + e.ODepth*e.OutBits
	}
	return e.ODepth * e.OutBits
}
