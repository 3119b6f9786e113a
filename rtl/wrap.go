package rtl

import "fmt"

// WrapDefaultName is the synthesis wrapper's module name when
// WrapConfig.Module is empty.
const WrapDefaultName = "synth_top"

// WrapDefaultSerialBits is the number of x and w bits the wrapper shifts in
// per cycle when WrapConfig.SerialBits is 0.
const WrapDefaultSerialBits = 4

// WrapConfig describes a synthesis wrapper around one module with the PE
// ports (clk_i, rst_i, valid_i, x_i, w_i, valid_o, sum_o).
type WrapConfig struct {
	Module     string // wrapper module name; defaults to WrapDefaultName
	PE         string // the wrapped module
	LaneBits   int    // width of x_i and w_i (K*W)
	SumWidth   int    // width of sum_o
	SerialBits int    // bits of x and of w shifted in per cycle; 0 means WrapDefaultSerialBits
}

// Wrap is the planned synthesis wrapper: a few pins in and out, so that
// pin count never limits a PE's synthesis or placement. x_i and w_i come
// from shift registers loaded SerialBits bits per cycle; sum_o is captured
// in a register and reduced by XOR to one output bit, which depends on
// every sum bit, so no part of the PE can be optimised away. Every path
// into and out of the PE starts and ends at a register.
type Wrap struct {
	Module     string
	PE         string
	LaneBits   int
	LaneMsb    int
	SumWidth   int
	SumMsb     int
	SerialBits int
	SerialMsb  int
	Shift      bool // LaneBits > SerialBits: a shift register; else loaded in one cycle
	KeepMsb    int  // LaneBits-SerialBits-1: the bits kept when shifting
}

// PlanWrap validates c and computes the wrapper.
func PlanWrap(c WrapConfig) (*Wrap, error) {
	if c.Module == "" {
		c.Module = WrapDefaultName
	}
	if c.SerialBits == 0 {
		c.SerialBits = WrapDefaultSerialBits
	}
	for _, n := range []string{c.Module, c.PE} {
		if !identRe.MatchString(n) || verilogKeywords[n] {
			return nil, fmt.Errorf("wrap: %q is not a legal Verilog module name", n)
		}
	}
	if c.Module == c.PE {
		return nil, fmt.Errorf("wrap: wrapper and wrapped module are both named %q", c.PE)
	}
	if c.LaneBits < 1 || c.SumWidth < 1 || c.SerialBits < 1 {
		return nil, fmt.Errorf("wrap: lane bits %d, sum width %d, serial bits %d: all must be positive", c.LaneBits, c.SumWidth, c.SerialBits)
	}
	b := min(c.SerialBits, c.LaneBits)
	return &Wrap{
		Module:     c.Module,
		PE:         c.PE,
		LaneBits:   c.LaneBits,
		LaneMsb:    c.LaneBits - 1,
		SumWidth:   c.SumWidth,
		SumMsb:     c.SumWidth - 1,
		SerialBits: b,
		SerialMsb:  b - 1,
		Shift:      c.LaneBits > b,
		KeepMsb:    c.LaneBits - b - 1,
	}, nil
}

// EmitWrap renders the wrapper: NAME.v. It writes nothing.
func EmitWrap(c WrapConfig) (map[string][]byte, *Wrap, error) {
	w, err := PlanWrap(c)
	if err != nil {
		return nil, nil, err
	}
	v, err := Render("synth_wrap.v.tmpl", w)
	if err != nil {
		return nil, nil, err
	}
	return map[string][]byte{w.Module + ".v": v}, w, nil
}
