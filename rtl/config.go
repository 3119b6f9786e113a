package rtl

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
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
	// input pixel's channels (one window position per cycle). Below the
	// input channels it folds them: SIMD is the largest divisor of the
	// channels that fits. Above, it is rounded down to whole window
	// positions (a multiple of the channels), at most the whole window.
	Lanes int `json:"lanes,omitempty"`
	// MACAdders plans adder layers as multiply-accumulate engines (cost baseline).
	MACAdders bool `json:"mac_adders,omitempty"`
	// TargetCycles, when positive, picks the PEs and lanes of every
	// adder/conv engine without a per-layer override: the cheapest (lanes,
	// PEs and ring copies, see Engine.foldCost) whose issue cycles per image
	// meet it (FINN's target_fps folding).
	// Parallel, Lanes and Balance are then ignored for those engines.
	TargetCycles int `json:"target_cycles,omitempty"`
	// Family is the FPGA family the PEs' pipeline is scheduled for
	// (PEConfig.Family: "", "generic", "xilinx" or "ice40").
	Family string `json:"family,omitempty"`
	// Balance lowers the PEs and lanes of every adder/conv engine without a
	// per-layer override to the fewest that keep the network's predicted
	// cycles per image (Parallel and Lanes are then upper bounds).
	Balance bool `json:"balance,omitempty"`
	// AResetN gives the top an active-low synchronous reset input aresetn
	// (AXI's ARESETn) in place of the active-high rst_i.
	AResetN bool `json:"aresetn,omitempty"`
	// WeightMemory is where the weight ROMs go (FINN's ram_style): "auto"
	// (or empty) puts a ROM of at least WeightBlockDepth words and
	// WeightBlockBits bits in block RAM and leaves smaller ones to the
	// tool; "block" puts every one in block RAM; "logic" every one in
	// LUTs. It is the ROM's rom_style attribute, which yosys'
	// memory_libmap and Vivado honour.
	WeightMemory string `json:"weight_memory,omitempty"`
	// WeightsMode is "rom" (or empty: the weight and per-channel constant
	// memories are initialised from .hex files with $readmemh) or
	// "runtime": they have a write port, no initial contents, and are
	// loaded over the top's s_axis_w stream (Net.WeightStream, addergen
	// pack-weights); constant-weight and constant-rescale logic is then
	// not used, so that the weights, clamp constants, m and b can be
	// reloaded. What the Verilog fixes stays: the widths (from the
	// model's ranges), the rescale shift, the shift-add term format and
	// a folded preprocessing's pad codes.
	WeightsMode string `json:"weights_mode,omitempty"`
}

// Weights modes (NetConfig.WeightsMode).
const (
	WeightsROM     = "rom"
	WeightsRuntime = "runtime"
)

// Weight memory styles (NetConfig.WeightMemory).
const (
	WeightMemAuto  = "auto"
	WeightMemBlock = "block"
	WeightMemLogic = "logic"
)

// WeightMemories lists the valid NetConfig.WeightMemory values.
var WeightMemories = []string{WeightMemAuto, WeightMemBlock, WeightMemLogic}

// WeightBlockDepth and WeightBlockBits are the smallest weight ROM that
// "auto" puts in block RAM: 64 words (an eighth of a RAMB18 in 512 x 36,
// a quarter of an iCE40 SB_RAM40_4K in 256 x 16) holding at least one
// RAMB18's 18,432 bits. The tool's own cost model keeps such wide, shallow
// ROMs in LUTs (ResNet-20 at --target-cycles 20000: layer2's 72 x 1024-bit
// ROMs, 6 x 73,728 bits, 25 % of its weight bits); smaller ROMs are left
// to it.
const (
	WeightBlockDepth = 64
	WeightBlockBits  = 18432
)

// validWeightMemory reports whether s is a NetConfig.WeightMemory value.
func validWeightMemory(s string) bool {
	return s == "" || s == WeightMemAuto || s == WeightMemBlock || s == WeightMemLogic
}

// weightROMStyle returns the rom_style attribute of a weight ROM of depth
// words of width bits under the WeightMemory setting mem ("" leaves it to
// the tool).
func weightROMStyle(mem string, depth, width int) string {
	switch mem {
	case WeightMemBlock, WeightMemLogic:
		return mem
	}
	if depth >= WeightBlockDepth && depth*width >= WeightBlockBits {
		return WeightMemBlock
	}
	return ""
}

// LayerHW is a per-layer override of the hardware options.
type LayerHW struct {
	Parallel int `json:"parallel,omitempty"`
	// Lanes per PE: a divisor of the layer's input channels (SIMD) or a
	// multiple of them, at most kernel*kernel*channels (0: the network's
	// setting); see ValidLanes.
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
	if c.TargetCycles < 0 {
		return c, fmt.Errorf("target_cycles %d out of range: must be 0 or more", c.TargetCycles)
	}
	if c.WeightsMode != "" && c.WeightsMode != WeightsROM && c.WeightsMode != WeightsRuntime {
		return c, fmt.Errorf("weights_mode %q: want %s or %s", c.WeightsMode, WeightsROM, WeightsRuntime)
	}
	if !validWeightMemory(c.WeightMemory) {
		return c, fmt.Errorf("weight_memory %q: want one of %s", c.WeightMemory, strings.Join(WeightMemories, ", "))
	}
	if c.Family != "" && !ValidFamily(c.Family) {
		return c, fmt.Errorf("family %q: want one of %s", c.Family, strings.Join(Families, ", "))
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
