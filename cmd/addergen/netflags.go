package main

import (
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
)

// netHWFlags are the hardware options of a whole-network design, shared by
// emit-verilog, verify and synth model.
type netHWFlags struct {
	lanes    int
	parallel int
	balance  bool
	target   int
	family   string
	config   string
	top      string
	aresetn  bool
	weights  string
	mode     string
}

func (f *netHWFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntVar(&f.lanes, "lanes", 0, "lanes per PE of adder/conv engines: below the input channels they fold them (SIMD, the largest divisor that fits), above they are rounded down to whole window positions; 0 means one position (all input channels)")
	fl.IntVar(&f.parallel, "parallel", rtl.DefaultParallel, "PEs per adder/conv engine (output channels computed at once)")
	fl.BoolVar(&f.balance, "balance", false, "lower each adder/conv engine's PEs and lanes to the fewest that keep the predicted cycles per image (--parallel and --lanes become upper bounds)")
	fl.IntVar(&f.target, "target-cycles", 0, "pick PEs and lanes (SIMD) of every adder/conv engine without a --config override: the cheapest (lanes, PEs, ring copies) that meet this many cycles per image (as FINN's target_fps); 0 keeps --parallel/--lanes")
	fl.StringVar(&f.family, "family", "", "FPGA family the engines' PE pipelines are scheduled for: generic, xilinx or ice40")
	fl.StringVar(&f.config, "config", "", "hardware config JSON with per-layer overrides, e.g. {\"layers\": {\"conv2\": {\"parallel\": 8}}}")
	fl.StringVar(&f.top, "top", "addernet", "top module name")
	fl.StringVar(&f.weights, "weight-memory", rtl.WeightMemAuto, "where the weight ROMs go (FINN's ram_style): auto (block RAM from 64 words deep and 18,432 bits, smaller ones as the tool decides), block (every one in block RAM) or logic (LUTs)")
	fl.StringVar(&f.mode, "weights-mode", rtl.WeightsROM, "rom: weights and constants in ROMs read from .hex files ($readmemh); runtime: RAMs with no initial contents, loaded over the top's s_axis_w stream (addergen pack-weights writes it)")
	fl.BoolVar(&f.aresetn, "aresetn", false, "give the top an active-low synchronous reset aresetn (AXI's ARESETn) instead of the active-high rst_i")
}

func (f *netHWFlags) netConfig() (rtl.NetConfig, error) {
	var c rtl.NetConfig
	if f.config != "" {
		data, err := os.ReadFile(f.config)
		if err != nil {
			return c, usagef("--config %s: %v", f.config, unwrapPath(err))
		}
		if c, err = rtl.ParseNetConfig(data); err != nil {
			return c, usagef("--config %s: %v", f.config, err)
		}
	}
	if f.lanes < 0 || f.lanes > 1<<16 {
		return c, usagef("--lanes %d out of range: must be 0..65536", f.lanes)
	}
	if c.Lanes == 0 {
		c.Lanes = f.lanes
	}
	c.Balance = c.Balance || f.balance
	c.AResetN = c.AResetN || f.aresetn
	if f.target < 0 {
		return c, usagef("--target-cycles %d out of range: must be 0 or more", f.target)
	}
	if c.TargetCycles == 0 {
		c.TargetCycles = f.target
	}
	if f.family != "" && !rtl.ValidFamily(f.family) {
		return c, usagef("--family %q: want one of %s", f.family, strings.Join(rtl.Families, ", "))
	}
	if c.Family == "" {
		c.Family = f.family
	}
	if f.weights != rtl.WeightMemAuto && f.weights != rtl.WeightMemBlock && f.weights != rtl.WeightMemLogic {
		return c, usagef("--weight-memory %q: want one of %s", f.weights, strings.Join(rtl.WeightMemories, ", "))
	}
	if c.WeightMemory == "" {
		c.WeightMemory = f.weights
	}
	if f.mode != rtl.WeightsROM && f.mode != rtl.WeightsRuntime {
		return c, usagef("--weights-mode %q: want %s or %s", f.mode, rtl.WeightsROM, rtl.WeightsRuntime)
	}
	if c.WeightsMode == "" {
		c.WeightsMode = f.mode
	}
	if f.parallel < 1 || f.parallel > 4096 {
		return c, usagef("--parallel %d out of range: must be 1..4096", f.parallel)
	}
	if c.Parallel == 0 {
		c.Parallel = f.parallel
	}
	if c.Top == "" {
		c.Top = f.top
	}
	if !rtl.LegalName(c.Top) {
		return c, usagef("--top %q is not a legal Verilog module name", c.Top)
	}
	return c, nil
}

// designErr blames the right input for an error planning the design of
// model: the --config file for a fault in its per-layer overrides (such
// errors start "hardware config:"), --model otherwise.
func (f *netHWFlags) designErr(model string, err error) error {
	if rest, ok := strings.CutPrefix(err.Error(), "hardware config: "); ok && f.config != "" {
		return usagef("--config %s: %s (model %s)", f.config, rest, model)
	}
	return usagef("--model %s: %v", model, err)
}

// load loads --model (loadQuantized), then the hardware options
// (netConfig).
func (f *netHWFlags) load(model string) (*quant.Model, rtl.NetConfig, error) {
	q, err := loadQuantized(model)
	if err != nil {
		return nil, rtl.NetConfig{}, err
	}
	c, err := f.netConfig()
	return q, c, err
}

// loadQuantized loads --model as a quantized model file.
func loadQuantized(path string) (*quant.Model, error) {
	if path == "" {
		return nil, usagef("--model is required: a quantized model file written by addergen quantize")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, usagef("--model %s: %v", path, unwrapPath(err))
	}
	if !quant.IsQuantized(path) {
		return nil, usagef("--model %s is not a quantized model: run addergen quantize first", path)
	}
	q, err := quant.Load(path)
	if err != nil {
		return nil, usagef("--model %s: %v", path, err)
	}
	return q, nil
}
