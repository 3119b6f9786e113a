package main

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/addergen/addergen/rtl"
)

// peFlags are the flags that describe one L1 processing element; emit-verilog
// pe, verify pe and synth pe share them.
type peFlags struct {
	lanes    int
	width    int
	unsigned bool
	pipeline string
	family   string
	name     string
}

// register adds the PE flags to cmd, --family defaulting to generic.
func (f *peFlags) register(cmd *cobra.Command) {
	f.registerFamily(cmd, rtl.FamilyGeneric, "FPGA family --pipeline auto schedules for: "+strings.Join(rtl.Families, ", ")+
		" (generic and xilinx: one adder level per stage; ice40: short carry chains for speed)")
}

// registerFamily adds the PE flags with the given --family default and help.
func (f *peFlags) registerFamily(cmd *cobra.Command, family, familyHelp string) {
	fl := cmd.Flags()
	fl.IntVar(&f.lanes, "lanes", 0, "number of lanes K (1..4096)")
	fl.IntVar(&f.width, "width", 0, "bits per lane operand W (2..16)")
	fl.BoolVar(&f.unsigned, "unsigned", false, "lanes are unsigned (default two's complement)")
	fl.StringVar(&f.pipeline, "pipeline", "auto", "register stages: auto (one adder level per stage) or N (0 = combinational)")
	fl.StringVar(&f.family, "family", family, familyHelp)
	fl.StringVar(&f.name, "name", "adder_pe", "Verilog module name")
	_ = cmd.MarkFlagRequired("lanes")
	_ = cmd.MarkFlagRequired("width")
}

// config validates the flags and returns the PE configuration, with errors
// that name the flag at fault.
func (f *peFlags) config() (rtl.PEConfig, error) {
	p, err := rtl.ParsePipeline(f.pipeline)
	if err != nil {
		return rtl.PEConfig{}, usagef("--pipeline: %v", err)
	}
	c := rtl.PEConfig{Name: f.name, Lanes: f.lanes, Width: f.width, Signed: !f.unsigned, Pipeline: p, Family: f.family}
	if err := c.Validate(); err != nil {
		var fe *rtl.FieldError
		if errors.As(err, &fe) {
			return c, usagef("--%s: %v", fe.Field, fe.Msg)
		}
		return c, usageError{err}
	}
	return c, nil
}
