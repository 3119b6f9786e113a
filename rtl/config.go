package rtl

import (
	"encoding/json"
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
	// input pixel's channels (one window position per cycle); otherwise it is
	// rounded down to whole window positions (a multiple of the input
	// channels), at least one position and at most the whole window.
	Lanes int `json:"lanes,omitempty"`
	// MACAdders plans adder layers as multiply-accumulate engines (cost baseline).
	MACAdders bool `json:"mac_adders,omitempty"`
	// TargetCycles, when positive, picks the PEs and lanes of every
	// adder/conv engine without a per-layer override: the fewest lanes in
	// all whose issue cycles per image meet it (FINN's target_fps folding).
	// Parallel, Lanes and Balance are then ignored for those engines.
	TargetCycles int `json:"target_cycles,omitempty"`
	// Family is the FPGA family the PEs' pipeline is scheduled for
	// (PEConfig.Family: "", "generic", "xilinx" or "ice40").
	Family string `json:"family,omitempty"`
	// Balance lowers the PEs and lanes of every adder/conv engine without a
	// per-layer override to the fewest that keep the network's predicted
	// cycles per image (Parallel and Lanes are then upper bounds).
	Balance bool `json:"balance,omitempty"`
}

// LayerHW is a per-layer override of the hardware options.
type LayerHW struct {
	Parallel int `json:"parallel,omitempty"`
	// Lanes per PE: a multiple of the layer's input channels, at most
	// kernel*kernel*channels (0: the network's setting).
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
