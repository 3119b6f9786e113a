package synth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/testbench"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseStatRecorded parses real yosys 0.23 `stat -json` reports (see
// testdata/README.md) and tallies them per family.
func TestParseStatRecorded(t *testing.T) {
	tests := []struct {
		file       string
		target     Target
		pe         string
		wantPE     Counts
		wantDesign Counts
		peCells    int // distinct cell types in the PE
	}{
		{"xilinx_k16_w8_u_l1.stat.json", Xilinx, "adder_pe",
			Counts{LUTs: 258 + 8 + 56 + 1, FFs: 158, Carry: 95}, Counts{LUTs: 258 + 8 + 58 + 1 + 1, FFs: 430, Carry: 95}, 6},
		{"xilinx_k16_w8_u_mac_nodsp.stat.json", Xilinx, "mac_pe",
			Counts{LUTs: 475 + 147 + 224 + 193 + 1433, FFs: 270, Carry: 75}, Counts{LUTs: 476 + 147 + 226 + 193 + 1438, FFs: 550, Carry: 75}, 9},
		{"xilinx_k16_w8_u_mac_dsp.stat.json", Xilinx, "mac_pe",
			Counts{LUTs: 123, FFs: 134, Carry: 35, DSPs: 16}, Counts{LUTs: 124 + 2 + 5, FFs: 414, Carry: 35, DSPs: 16}, 4},
		{"ice40_k9_w8_u_l1.stat.json", ICE40, "adder_pe",
			Counts{LUTs: 232, FFs: 114, Carry: 150}, Counts{LUTs: 236, FFs: 257 + 12 + 5, Carry: 150}, 4},
		{"ice40_k9_w8_u_mac.stat.json", ICE40, "mac_pe",
			Counts{LUTs: 1590, FFs: 195, Carry: 129}, Counts{LUTs: 1597, FFs: 338 + 20 + 5, Carry: 129}, 4},
		{"ice40_k64_w8_u_mac.stat.json", ICE40, "mac_pe",
			Counts{LUTs: 11643, FFs: 1134, Carry: 937}, Counts{LUTs: 11650, FFs: 2155 + 22 + 7, Carry: 937}, 4},
	}
	for _, tt := range tests {
		st, err := ParseStatJSON(readTestdata(t, tt.file))
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if _, ok := st.Modules["synth_top"]; !ok || len(st.Modules) != 2 {
			t.Errorf("%s: modules %v, want the PE and synth_top", tt.file, keys(st.Modules))
		}
		pe := st.Modules[tt.pe]
		if len(pe) != tt.peCells {
			t.Errorf("%s: PE has %d cell types, want %d: %v", tt.file, len(pe), tt.peCells, pe)
		}
		got, other := Tally(tt.target, pe)
		if diff := cmp.Diff(tt.wantPE, got); diff != "" || other != nil {
			t.Errorf("%s: PE counts (-want +got):\n%s other: %v", tt.file, diff, other)
		}
		gotD, otherD := Tally(tt.target, st.Design)
		if diff := cmp.Diff(tt.wantDesign, gotD); diff != "" || otherD != nil {
			t.Errorf("%s: design counts (-want +got):\n%s other: %v", tt.file, diff, otherD)
		}
		// The wrapper's own module holds the PE as a (non-resource) cell.
		if _, other := Tally(tt.target, st.Modules["synth_top"]); len(other) != 1 || other[0] != tt.pe {
			t.Errorf("%s: wrapper's unclassified cells %v, want [%s]", tt.file, other, tt.pe)
		}
	}
}

func TestParseStatJSONErrors(t *testing.T) {
	for _, in := range []string{``, `{`, `{"modules": {}}`, `{"modules": {"\\a": {}, "\\b": {}}}`} {
		if _, err := ParseStatJSON([]byte(in)); err == nil {
			t.Errorf("ParseStatJSON(%q) succeeded", in)
		}
	}
	st, err := ParseStatJSON([]byte(`{"modules": {"\\m": {"num_cells_by_type": {"SB_LUT4": 3}}}}`))
	if err != nil || st.Design["SB_LUT4"] != 3 {
		t.Errorf("one-module report: %v, %v", st, err)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		t    Target
		cell string
		want Class
	}{
		{Xilinx, "LUT1", ClassLUT}, {Xilinx, "LUT6", ClassLUT}, {Xilinx, "LUT6_2", ClassLUT},
		{Xilinx, "SRL16E", ClassLUT}, {Xilinx, "SRLC32E", ClassLUT}, {Xilinx, "RAM32M", ClassLUT}, {Xilinx, "RAM64X1D", ClassLUT},
		{Xilinx, "FDRE", ClassFF}, {Xilinx, "FDSE", ClassFF}, {Xilinx, "FDCE", ClassFF}, {Xilinx, "FDPE", ClassFF},
		{Xilinx, "CARRY4", ClassCarry}, {Xilinx, "MUXCY", ClassCarry}, {Xilinx, "XORCY", ClassCarry},
		{Xilinx, "RAMB18E1", ClassBRAM}, {Xilinx, "RAMB36E1", ClassBRAM},
		{Xilinx, "DSP48E1", ClassDSP}, {Xilinx, "MUXF7", ClassMux}, {Xilinx, "MUXF8", ClassMux},
		{Xilinx, "IBUF", ClassIO}, {Xilinx, "OBUF", ClassIO}, {Xilinx, "BUFG", ClassIO},
		{Xilinx, "adder_pe", ClassOther}, {Xilinx, "SB_LUT4", ClassOther},
		{ICE40, "SB_LUT4", ClassLUT}, {ICE40, "SB_DFF", ClassFF}, {ICE40, "SB_DFFESR", ClassFF},
		{ICE40, "SB_CARRY", ClassCarry}, {ICE40, "SB_RAM40_4K", ClassBRAM}, {ICE40, "SB_MAC16", ClassDSP},
		{ICE40, "SB_IO", ClassIO}, {ICE40, "SB_GB", ClassIO}, {ICE40, "LUT4", ClassOther},
	}
	for _, tt := range tests {
		if got := Classify(tt.t, tt.cell); got != tt.want {
			t.Errorf("Classify(%s, %s) = %s, want %s", tt.t, tt.cell, got, tt.want)
		}
	}
}

// TestParseNextpnrRecorded parses real nextpnr-ice40 0.4 logs.
func TestParseNextpnrRecorded(t *testing.T) {
	tests := []struct {
		file    string
		want    PnR
		wantErr string
	}{
		{"ice40_k9_w8_u_l1.nextpnr.log", PnR{FmaxMHz: 108.80, Clock: "clk_i$SB_IO_IN_$glb_clk", TargetMHz: 250, LCs: 453, LCsAvail: 7680, RAMsAvail: 32, IOs: 13, GBs: 1}, ""},
		{"ice40_k9_w8_u_mac.nextpnr.log", PnR{FmaxMHz: 83.24, Clock: "clk_i$SB_IO_IN_$glb_clk", TargetMHz: 250, LCs: 1811, LCsAvail: 7680, RAMsAvail: 32, IOs: 13, GBs: 2}, ""},
		// Without --timing-allow-fail nextpnr ends with an ERROR line for the
		// missed target; that is still a measurement.
		{"ice40_k16_w8_u_l1_timing_error.nextpnr.log", PnR{FmaxMHz: 102.33, Clock: "clk_i$SB_IO_IN_$glb_clk", TargetMHz: 200, LCs: 755, LCsAvail: 7680, RAMsAvail: 32, IOs: 13, GBs: 1}, ""},
		{"ice40_k64_w8_u_mac_nofit.nextpnr.log", PnR{LCs: 12769, LCsAvail: 7680},
			"nextpnr-ice40: the design needs 12769 logic cells, the device has 7680: Unable to place cell"},
	}
	for _, tt := range tests {
		got, err := ParseNextpnrLog(string(readTestdata(t, tt.file)), "clk_i")
		if tt.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.file, err, tt.wantErr)
			}
			if got.LCs != tt.want.LCs || got.LCsAvail != tt.want.LCsAvail {
				t.Errorf("%s: LCs %d/%d, want %d/%d", tt.file, got.LCs, got.LCsAvail, tt.want.LCs, tt.want.LCsAvail)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if diff := cmp.Diff(tt.want, *got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.file, diff)
		}
	}
	if _, err := ParseNextpnrLog(string(readTestdata(t, "ice40_k9_w8_u_l1.nextpnr.log")), "sys_clk"); err == nil {
		t.Error("no error for a clock that is not in the log")
	}
	p, err := ParseNextpnrLog("Info: Max frequency for clock 'clk': 250.10 MHz (PASS at 200.00 MHz)\n", "")
	if err != nil || !p.Pass || p.FmaxMHz != 250.10 {
		t.Errorf("PASS line: %+v, %v", p, err)
	}
	if _, err := ParseNextpnrLog("", ""); err == nil {
		t.Error("empty log parsed")
	}
}

func TestErrorLine(t *testing.T) {
	got := errorLine(string(readTestdata(t, "yosys_syntax_error.log")))
	if want := "bad.v:2: syntax error, unexpected '=', expecting TOK_ID or '#' or '{'"; got != want {
		t.Errorf("errorLine = %q, want %q", got, want)
	}
	if got := errorLine("Info: fine\n"); got != "" {
		t.Errorf("errorLine of a clean log = %q", got)
	}
}

func TestScript(t *testing.T) {
	d := Design{Top: "synth_top", PE: "adder_pe", Sources: []string{"adder_pe.v", "synth_top.v"}}
	x := Script(d, Options{Target: Xilinx, NoDSP: true})
	for _, want := range []string{"read_verilog adder_pe.v\nread_verilog synth_top.v\n", "select -assert-none t:$dlatch",
		"synth_xilinx -family xc7 -top synth_top -nodsp\n", "tee -q -o stat.json stat -json\n"} {
		if !strings.Contains(x, want) {
			t.Errorf("xilinx script lacks %q:\n%s", want, x)
		}
	}
	if strings.Contains(x, "flatten") {
		t.Errorf("xilinx script flattens:\n%s", x)
	}
	i := Script(d, Options{Target: ICE40})
	if !strings.Contains(i, "synth_ice40 -noflatten -top synth_top\ntee -q -o stat.json stat -json\nflatten\nwrite_json netlist.json\n") {
		t.Errorf("ice40 script:\n%s", i)
	}
}

func TestParseOpsTarget(t *testing.T) {
	if ops, err := ParseOps("both"); err != nil || len(ops) != 2 || ops[0] != L1 || ops[1] != MAC {
		t.Errorf("ParseOps(both) = %v, %v", ops, err)
	}
	if _, err := ParseOps("add"); err == nil {
		t.Error("ParseOps(add) succeeded")
	}
	if _, err := ParseTarget("ecp5"); err == nil {
		t.Error("ParseTarget(ecp5) succeeded")
	}
}

func TestMissingTool(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Measure(context.Background(), Request{Target: ICE40, PnR: true,
		Jobs: []PEJob{{Op: L1, Config: rtl.PEConfig{Lanes: 2, Width: 4}}}})
	var mt *testbench.MissingToolError
	if !errors.As(err, &mt) || mt.Tool != "yosys" || !strings.Contains(err.Error(), "apt-get install -y yosys") {
		t.Fatalf("error %v, want yosys missing", err)
	}
}

// TestMeasureXilinx runs yosys itself on small PEs: L1 and MAC, the MAC
// with and without DSPs.
func TestMeasureXilinx(t *testing.T) {
	testutil.RequireTools(t, "yosys")
	// W=5: yosys maps products of at least 9 bits to DSP48E1s.
	c := rtl.PEConfig{Lanes: 4, Width: 5, Pipeline: rtl.PipelineAuto}
	keep := t.TempDir()
	m, err := Measure(context.Background(), Request{Target: Xilinx, WithDSP: true, KeepDir: keep,
		Jobs: []PEJob{{Op: L1, Config: c}, {Op: MAC, Config: c}}})
	if err != nil {
		t.Fatal(err)
	}
	l1, mac := m.Reports[0], m.Reports[1]
	if l1.Module != "adder_pe" || mac.Module != "mac_pe" || l1.Latency != 2 || mac.Latency != 2 || l1.SumWidth != 7 || mac.SumWidth != 12 {
		t.Errorf("reports: %+v / %+v", l1, mac)
	}
	// The wrapper adds the operand shift registers (2*K*W FFs) around the PE.
	for _, r := range m.Reports {
		if r.LUTs == 0 || r.FFs == 0 || r.Design.FFs < r.FFs+2*20 || r.Design.LUTs < r.LUTs || r.FmaxMHz != nil {
			t.Errorf("%s: implausible counts: PE %+v, design %+v", r.Module, r.Counts, r.Design)
		}
		if r.Dir == "" {
			t.Errorf("%s: no kept directory", r.Module)
		} else if _, err := os.Stat(filepath.Join(r.Dir, "yosys.log")); err != nil {
			t.Error(err)
		}
	}
	if l1.DSPs != 0 || mac.DSPs != 0 || mac.Synth != "synth_xilinx -family xc7 -top synth_top -nodsp" {
		t.Errorf("DSPs used without DSPs: L1 %d, MAC %d (%s)", l1.DSPs, mac.DSPs, mac.Synth)
	}
	if mac.WithDSP == nil || mac.WithDSP.DSPs != 4 {
		t.Errorf("MAC with DSPs: %+v, want 4 DSP48E1", mac.WithDSP)
	}
	r, ok := m.Ratio()
	if !ok || r <= 1 {
		t.Errorf("MAC/L1 LUT ratio %v %v, want > 1", r, ok)
	}
}

// TestMeasureICE40 runs yosys and nextpnr-ice40 on a small PE.
func TestMeasureICE40(t *testing.T) {
	testutil.RequireTools(t, "yosys", "nextpnr-ice40")
	m, err := Measure(context.Background(), Request{Target: ICE40, PnR: true, FreqMHz: 100,
		Jobs: []PEJob{{Op: L1, Config: rtl.PEConfig{Lanes: 3, Width: 4, Signed: true, Pipeline: 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	r := m.Reports[0]
	if r.FmaxMHz == nil || *r.FmaxMHz < 20 || *r.FmaxMHz > 1000 || r.FmaxError != "" {
		t.Fatalf("Fmax %v (%s)", r.FmaxMHz, r.FmaxError)
	}
	if r.LUTs == 0 || r.Carry == 0 || r.ICE40LCs < r.Design.LUTs || !strings.Contains(r.PnR, "--hx8k --package ct256") {
		t.Errorf("implausible: %+v", r)
	}
	if _, ok := m.Ratio(); ok {
		t.Error("ratio without a MAC")
	}
}

// TestMeasureICE40SpeedSchedule places and routes the PE (K=9,
// W=8, --pipeline auto) in both schedules with seed 1: the iCE40 speed
// schedule must be faster than one adder level per stage, and its
// flip-flops are exactly the plan's.
func TestMeasureICE40SpeedSchedule(t *testing.T) {
	testutil.RequireTools(t, "yosys", "nextpnr-ice40")
	area := rtl.PEConfig{Name: "pe_area", Lanes: 9, Width: 8, Pipeline: rtl.PipelineAuto}
	speed := rtl.PEConfig{Name: "pe_speed", Lanes: 9, Width: 8, Pipeline: rtl.PipelineAuto, Family: rtl.FamilyICE40}
	m, err := Measure(context.Background(), Request{Target: ICE40, PnR: true, FreqMHz: DefaultFreqMHz,
		Jobs: []PEJob{{Op: L1, Config: area}, {Op: L1, Config: speed}}})
	if err != nil {
		t.Fatal(err)
	}
	a, s := m.Reports[0], m.Reports[1]
	if a.FmaxMHz == nil || s.FmaxMHz == nil {
		t.Fatalf("no Fmax: %s / %s", a.FmaxError, s.FmaxError)
	}
	if s.Latency != 9 || *s.FmaxMHz <= *a.FmaxMHz*1.4 {
		t.Errorf("speed schedule: latency %d, %.1f MHz; area schedule %.1f MHz: want latency 9 and much faster", s.Latency, *s.FmaxMHz, *a.FmaxMHz)
	}
	est, err := Estimate(L1, ICE40, speed)
	if err != nil {
		t.Fatal(err)
	}
	if est.FFs != s.FFs {
		t.Errorf("speed schedule: %d FFs, the plan has %d", s.FFs, est.FFs)
	}
	t.Logf("K=9 W=8 seed 1: area schedule %.1f MHz (%d LUTs, %d FFs), speed schedule %.1f MHz (%d LUTs, %d FFs)",
		*a.FmaxMHz, a.LUTs, a.FFs, *s.FmaxMHz, s.LUTs, s.FFs)
}

// TestMeasureHandWritten synthesizes a hand-written PE and reports a
// yosys failure with its message.
func TestMeasureHandWritten(t *testing.T) {
	testutil.RequireTools(t, "yosys")
	c := rtl.PEConfig{Name: "naive_pe", Lanes: 4, Width: 4, Pipeline: 1}
	v, err := os.ReadFile(filepath.Join("testdata", "l1_naive_k4_w4_s_p1.v"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Measure(context.Background(), Request{Target: Xilinx, Jobs: []PEJob{{Op: L1, Config: c, Verilog: v, Latency: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Reports[0]; r.Module != "naive_pe" || r.LUTs == 0 || r.Latency != 1 {
		t.Errorf("report %+v", r)
	}
	_, err = Measure(context.Background(), Request{Target: Xilinx,
		Jobs: []PEJob{{Op: L1, Config: c, Verilog: []byte("module naive_pe(input wire a);\n assign = 1;\nendmodule\n")}}})
	if err == nil || !strings.Contains(err.Error(), "naive_pe.v:2: syntax error") {
		t.Errorf("error %v, want the yosys syntax error", err)
	}
}
