package synth

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Target is an FPGA family with a yosys synthesis script.
type Target string

// Targets.
const (
	Xilinx Target = "xilinx" // yosys synth_xilinx (7-series cells)
	ICE40  Target = "ice40"  // yosys synth_ice40; nextpnr-ice40 on an HX8K
)

// ParseTarget parses a --target value.
func ParseTarget(s string) (Target, error) {
	switch t := Target(s); t {
	case Xilinx, ICE40:
		return t, nil
	}
	return "", fmt.Errorf("target %q unknown: want xilinx or ice40", s)
}

// Counts are the resources of a design in one family's primitives.
type Counts struct {
	LUTs  int `json:"luts"`
	FFs   int `json:"ffs"`
	Carry int `json:"carry"`
	BRAMs int `json:"brams"`
	DSPs  int `json:"dsps"`
}

// Stat is a parsed yosys `stat -json` report: cell counts by type, per
// module and for the whole design (the top module with its hierarchy).
type Stat struct {
	Modules map[string]map[string]int // module name (without yosys' leading backslash) -> cell type -> count
	Design  map[string]int            // the whole design below the top, hierarchy flattened
}

type statJSON struct {
	Modules map[string]struct {
		Cells map[string]int `json:"num_cells_by_type"`
	} `json:"modules"`
	Design *struct {
		Cells map[string]int `json:"num_cells_by_type"`
	} `json:"design"`
}

// ParseStatJSON parses the output of yosys' `stat -json` (as written by
// `tee -o FILE stat -json`).
func ParseStatJSON(b []byte) (*Stat, error) {
	var s statJSON
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parse yosys stat -json: %w", err)
	}
	if len(s.Modules) == 0 {
		return nil, fmt.Errorf("parse yosys stat -json: no modules")
	}
	st := &Stat{Modules: map[string]map[string]int{}}
	for name, m := range s.Modules {
		st.Modules[strings.TrimPrefix(name, `\`)] = cleanCells(m.Cells)
	}
	if s.Design != nil {
		st.Design = cleanCells(s.Design.Cells)
	} else if len(st.Modules) == 1 {
		// yosys omits "design" for a design of one module.
		for _, c := range st.Modules {
			st.Design = c
		}
	} else {
		return nil, fmt.Errorf("parse yosys stat -json: %d modules and no design totals", len(st.Modules))
	}
	return st, nil
}

func cleanCells(in map[string]int) map[string]int {
	out := make(map[string]int, len(in))
	for t, n := range in {
		out[strings.TrimPrefix(t, `\`)] = n
	}
	return out
}

// Class is what a primitive counts as.
type Class string

// Classes of primitives. Submodule instances and anything unknown are
// ClassOther; I/O buffers and clock buffers are ClassIO.
const (
	ClassLUT   Class = "lut"
	ClassFF    Class = "ff"
	ClassCarry Class = "carry"
	ClassBRAM  Class = "bram"
	ClassDSP   Class = "dsp"
	ClassMux   Class = "mux" // Xilinx MUXF7/F8/F9: wide-function muxes in a slice, not LUTs
	ClassIO    Class = "io"
	ClassOther Class = "other"
)

// Classify says what a cell type counts as in the target family.
func Classify(t Target, cell string) Class {
	switch t {
	case Xilinx:
		switch {
		case cell == "CARRY4" || cell == "CARRY8" || cell == "MUXCY" || cell == "XORCY":
			return ClassCarry
		case strings.HasPrefix(cell, "LUT") || cell == "INV" ||
			strings.HasPrefix(cell, "SRL") || // shift registers in SLICEM LUTs
			strings.HasPrefix(cell, "RAM32") || strings.HasPrefix(cell, "RAM64") ||
			strings.HasPrefix(cell, "RAM128") || strings.HasPrefix(cell, "RAM256"): // LUTRAM
			return ClassLUT
		case strings.HasPrefix(cell, "FD") || strings.HasPrefix(cell, "LD"):
			return ClassFF
		case strings.HasPrefix(cell, "RAMB"):
			return ClassBRAM
		case strings.HasPrefix(cell, "DSP48"):
			return ClassDSP
		case strings.HasPrefix(cell, "MUXF"):
			return ClassMux
		case strings.HasPrefix(cell, "IBUF") || strings.HasPrefix(cell, "OBUF") ||
			strings.HasPrefix(cell, "IOBUF") || strings.HasPrefix(cell, "BUFG"):
			return ClassIO
		}
	case ICE40:
		switch {
		case cell == "SB_LUT4":
			return ClassLUT
		case strings.HasPrefix(cell, "SB_DFF"):
			return ClassFF
		case cell == "SB_CARRY":
			return ClassCarry
		case strings.HasPrefix(cell, "SB_RAM40_4K") || cell == "SB_SPRAM256KA":
			return ClassBRAM
		case cell == "SB_MAC16":
			return ClassDSP
		case strings.HasPrefix(cell, "SB_IO") || strings.HasPrefix(cell, "SB_GB"):
			return ClassIO
		}
	}
	return ClassOther
}

// Tally sums cells into Counts for the target family. Cells that are
// neither resources nor I/O (submodule instances, unknown primitives) are
// returned by name in other.
func Tally(t Target, cells map[string]int) (c Counts, other []string) {
	for cell, n := range cells {
		switch Classify(t, cell) {
		case ClassLUT:
			c.LUTs += n
		case ClassFF:
			c.FFs += n
		case ClassCarry:
			c.Carry += n
		case ClassBRAM:
			c.BRAMs += n
		case ClassDSP:
			c.DSPs += n
		case ClassOther:
			other = append(other, cell)
		}
	}
	sort.Strings(other)
	return c, other
}
