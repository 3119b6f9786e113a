package rtl

import "fmt"

// RescaleUnit is one engine's rescale, y = sat(round_r(tot*m + b, sh)),
// rendered alone as a combinational module (templates/rescale_unit.v.tmpl)
// so that package prove can check it for all inputs. Its widths, literals
// and rounding text are the engine's own (Engine fields, and the shared
// "round" define of templates/round.v.tmpl); the engine adds a register
// after each stage.
//
// Ports: tot_i (AccW bits signed: the accumulator plus the adder constant),
// m_i (MW bits signed) or, with ShiftM, mt_i (2*MTW bits: two [en, neg,
// shift] terms as rtl.ShiftTerms packs them), b_i (BW bits signed; with
// ShiftM the b of ShiftTerms), y_o (RW bits signed, within
// [OutLoLit, OutHiLit]).
type RescaleUnit struct {
	Module             string
	AccW, AccMsb       int
	RW, RMsb           int
	MW, MMsb           int
	BW, BMsb           int
	TPad, MPad, BPad   int
	ShiftM             bool
	SHW, MTW, MTMsb    int
	Shift              int
	HalfLit            string
	RemMsb             int
	Rounding           string
	OutLoLit, OutHiLit string
}

// RescaleUnit returns the rescale of e as a standalone module named
// module. It fails for an engine without a multiply-and-add rescale
// (pooling, ReLU, add) and for an illegal module name.
func (e *Engine) RescaleUnit(module string) (*RescaleUnit, error) {
	if !e.HasRescale {
		return nil, fmt.Errorf("rtl: engine %s (%s) has no rescale", e.Module, e.Layer)
	}
	if !LegalName(module) {
		return nil, fmt.Errorf("rtl: %q is not a legal Verilog module name", module)
	}
	return &RescaleUnit{
		Module: module,
		AccW:   e.AccW, AccMsb: e.AccMsb,
		RW: e.RW, RMsb: e.RMsb,
		MW: e.MW, MMsb: e.MW - 1,
		BW: e.BW, BMsb: e.BW - 1,
		TPad: e.TPad, MPad: e.MPad, BPad: e.BPad,
		ShiftM: e.ShiftM, SHW: e.SHW, MTW: e.MTW, MTMsb: 2*e.MTW - 1,
		Shift: e.Shift, HalfLit: e.HalfLit, RemMsb: e.RemMsb, Rounding: e.Rounding,
		OutLoLit: e.OutLoLit, OutHiLit: e.OutHiLit,
	}, nil
}

// Verilog renders the unit's module.
func (u *RescaleUnit) Verilog() ([]byte, error) { return Render("rescale_unit.v.tmpl", u) }

// RoundUnit is the rounding step alone, q = round_r(prod, Shift) on RW-bit
// signed values (templates/round_unit.v.tmpl, printing the engines'
// shared "round" define).
type RoundUnit struct {
	Module   string
	RW, RMsb int
	Shift    int
	HalfLit  string
	RemMsb   int
	Rounding string
}

// PlanRound plans the rounding step for an rw-bit value (2..64) shifted
// right by shift (0..rw-2, leaving the engines' spare bit for the rounding
// term) with the rounding mode named as in quant (half-up, half-even,
// floor, toward-zero). Errors name the field at fault ("width", "shift",
// "rounding", "name") as a *FieldError.
func PlanRound(module string, rw, shift int, rounding string) (*RoundUnit, error) {
	if rw < 2 || rw > 64 {
		return nil, fieldErrorf("width", "width %d out of range: must be 2..64", rw)
	}
	if shift < 0 || shift > rw-2 {
		return nil, fieldErrorf("shift", "shift %d out of range: must be 0..%d for width %d", shift, rw-2, rw)
	}
	if err := checkRounding(rounding); err != nil {
		return nil, fieldErrorf("rounding", "%v", err)
	}
	if !LegalName(module) {
		return nil, fieldErrorf("name", "name %q is not a legal Verilog module name", module)
	}
	half := int64(0)
	if shift > 0 {
		half = int64(1) << (shift - 1)
	}
	return &RoundUnit{Module: module, RW: rw, RMsb: rw - 1, Shift: shift, HalfLit: slit(rw, half), RemMsb: shift - 1, Rounding: rounding}, nil
}

// Verilog renders the unit's module.
func (u *RoundUnit) Verilog() ([]byte, error) { return Render("round_unit.v.tmpl", u) }
