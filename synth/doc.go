// Package synth measures processing elements with the open FPGA tools:
// yosys (synth_xilinx, synth_ice40) for resource counts and nextpnr-ice40
// for the maximum clock frequency on an iCE40 HX8K.
//
// A PE is never synthesized alone: a generated wrapper (rtl.EmitWrap)
// feeds x_i and w_i from serial-in shift registers and reduces sum_o to one
// registered pin, so that pin count does not limit the design and nothing
// can be optimised away. The wrapper and the PE stay separate modules
// (synth_xilinx without -flatten, synth_ice40 -noflatten), so the PE's own
// cells are reported apart from the whole design's. Fmax comes from the
// whole wrapped design, flattened after synthesis, in nextpnr.
//
// Counts follow one convention per family (see Tally):
//
//	          LUTs                      FFs        carry            BRAMs        DSPs
//	xilinx    LUT1..LUT6, SRL*, LUTRAM  FD*        CARRY4/8, MUXCY  RAMB18/36*   DSP48*
//	ice40     SB_LUT4                   SB_DFF*    SB_CARRY         SB_RAM40_4K  SB_MAC16
//
// Xilinx carries are CARRY4 (or CARRY8) primitives of 4 (8) bits each;
// iCE40 carries are SB_CARRY cells of one bit each.
//
// Parsers work on recorded tool outputs (testdata/) so that they are tested
// without the tools; Run needs yosys and, for iCE40 Fmax, nextpnr-ice40.
//
// Estimate predicts a PE's LUTs and FFs from its plan with a model fitted
// to the measurements in RESULTS.md. EstimateNet does the same for a whole
// network design (what MeasureModel and `addergen synth model` measure):
// LUTs, FFs, block RAMs and DSPs per engine and in total, from rtl.PlanNet's
// engines, the contents of their ROMs, yosys' memory-mapping costs and a
// linear model fitted to testdata/net_measurements.json. The command in
// ./variants writes the experimental PE variants measured there.
//
// Build (`addergen build`) makes an iCE40 bitstream of a whole network:
// yosys synth_ice40 (flat), nextpnr-ice40 on a Board's device and pins
// (once per seed, the median kept) and icepack. Its pin constraints come
// from RenderPCF (templates/pcf.tmpl, printed from Go-computed data) or
// the user (checked by CheckPCF); a design with more port bits than the
// package has pins, or more cells than the device, is a *BuildError.
package synth
