package synth

import (
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/addergen/addergen/internal/nettest"
	"github.com/addergen/addergen/rtl"
)

func TestParseBoard(t *testing.T) {
	for _, b := range Boards {
		got, err := ParseBoard(b.Name)
		if err != nil || got.Name != b.Name {
			t.Errorf("ParseBoard(%q) = %v, %v", b.Name, got.Name, err)
		}
		if b.Pins[0] != b.ClockPin {
			t.Errorf("%s: first pin %s, want the clock pin %s", b.Name, b.Pins[0], b.ClockPin)
		}
		seen := map[string]bool{}
		for _, p := range b.Pins {
			if seen[p] {
				t.Errorf("%s: pin %s listed twice", b.Name, p)
			}
			seen[p] = true
		}
	}
	if n := len(Boards[0].Pins); n != 206 {
		t.Errorf("ice40-hx8k ct256: %d pins, want 206 (icestorm chipdb-8k.txt)", n)
	}
	if n := len(Boards[1].Pins); n != 36 {
		t.Errorf("ice40-up5k sg48: %d pins, want 36 (39 I/O less the 3 RGB drivers)", n)
	}
	if _, err := ParseBoard("ice40-hx1k"); err == nil || !strings.Contains(err.Error(), "ice40-hx8k or ice40-up5k") {
		t.Errorf("unknown board: %v", err)
	}
}

func tinyBuildNet(t *testing.T) *rtl.Net {
	t.Helper()
	_, n, err := NetDesign(nettest.Tiny(t), rtl.NetConfig{Family: "ice40"}, L1)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRenderPCF checks that the pin template names every port bit of the
// top exactly once, on distinct package pins, the clock on the board's
// clock pin, and that nextpnr's syntax is kept (set_io PORT PIN).
func TestRenderPCF(t *testing.T) {
	n := tinyBuildNet(t)
	for _, noAXIL := range []bool{false, true} {
		b := Boards[0]
		ports := buildPorts(n, noAXIL)
		pcf, err := RenderPCF(b, n.Top, ports)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for _, p := range ports {
			if p.Width == 1 {
				want[p.Name] = true
			}
			for i := 0; i < p.Width && p.Width > 1; i++ {
				want[p.Name+"["+itoa(i)+"]"] = true
			}
		}
		re := regexp.MustCompile(`^set_io (\S+) (\S+)$`)
		pins := map[string]bool{}
		got := 0
		for _, l := range strings.Split(string(pcf), "\n") {
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			m := re.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("line %q is not set_io PORT PIN", l)
			}
			if !want[m[1]] {
				t.Errorf("port %s: not a port bit of the top, or listed twice", m[1])
			}
			delete(want, m[1])
			if pins[m[2]] {
				t.Errorf("pin %s used twice", m[2])
			}
			pins[m[2]] = true
			if m[1] == "clk_i" && m[2] != b.ClockPin {
				t.Errorf("clk_i on %s, want %s", m[2], b.ClockPin)
			}
			got++
		}
		if len(want) > 0 {
			t.Errorf("port bits without a pin: %v", want)
		}
		if got != portBits(ports) {
			t.Errorf("%d set_io lines, %d port bits", got, portBits(ports))
		}
		if hasAXIL := strings.Contains(string(pcf), "s_axi_awaddr[0]"); hasAXIL == noAXIL {
			t.Errorf("noAXILite %v: AXI4-Lite pins present %v", noAXIL, hasAXIL)
		}
		if !strings.Contains(string(pcf), "TEMPLATE") {
			t.Error("the pin file does not say it is a template")
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestBuildScriptTiesAXILiteOff(t *testing.T) {
	d := Design{Top: "addernet", Sources: []string{"a.v", "addernet.v"}}
	with, without := BuildScript(d, false, false), BuildScript(d, true, false)
	if strings.Contains(with, "s_axi") {
		t.Errorf("script with the AXI4-Lite slave touches it:\n%s", with)
	}
	for _, s := range []string{"delete -port addernet/s_axi_*", "setundef -undriven -zero addernet/s_axi_*"} {
		if !strings.Contains(without, s) {
			t.Errorf("script without the slave lacks %q:\n%s", s, without)
		}
	}
	for _, s := range []string{"read_verilog a.v\nread_verilog addernet.v\n", "synth_ice40 -abc9 -dff -top addernet -json netlist.json", "stat -json"} {
		if !strings.Contains(with, s) {
			t.Errorf("script lacks %q:\n%s", s, with)
		}
	}
}

// TestBuildRefusesBeforeTools: a top with more port bits than the
// package's pins, and a design far larger than the device, are refused
// before any tool runs (PATH is empty), with the numbers.
func TestBuildRefusesBeforeTools(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	q := nettest.Tiny(t)
	up5k, _ := ParseBoard("ice40-up5k")
	_, _, err := Build(t.Context(), BuildRequest{Model: q, Board: up5k, Dir: t.TempDir()})
	var be *BuildError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "user I/O pins") || !strings.Contains(err.Error(), "--no-axi-lite") {
		t.Errorf("UP5K with the AXI4-Lite pins: %v", err)
	}
	// Without the slave the pins fit; the next refusal is the missing tool.
	_, _, err = Build(t.Context(), BuildRequest{Model: q, Board: up5k, NoAXILite: true, Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("UP5K stream pins only, no tools: %v", err)
	}
}

func TestParseNextpnrLogUtilisation(t *testing.T) {
	b, err := os.ReadFile("testdata/ice40_k9_w8_u_l1.nextpnr.log")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseNextpnrLog(string(b), "clk_i")
	if err != nil {
		t.Fatal(err)
	}
	if p.LCsAvail != 7680 || p.RAMsAvail != 32 || p.IOs == 0 {
		t.Errorf("parsed %+v: want 7680 LCs, 32 RAMs available and some SB_IO", p)
	}
}

func TestCheckPCF(t *testing.T) {
	n := tinyBuildNet(t)
	ports := buildPorts(n, true)
	good, err := RenderPCF(Boards[0], n.Top, ports)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPCF(good, ports); err != nil {
		t.Fatalf("the generated template: %v", err)
	}
	if err := CheckPCF(append([]byte("set_frequency clk_i 50\n"), good...), ports); err != nil {
		t.Errorf("set_frequency refused: %v", err)
	}
	opts := strings.Replace(string(good), "set_io rst_i", "set_io -nowarn -pullup yes rst_i", 1)
	if err := CheckPCF([]byte(opts), ports); err != nil {
		t.Errorf("set_io options refused: %v", err)
	}
	for _, tc := range []struct{ pcf, want string }{
		{string(good) + "set_io nosuch B2\n", "nosuch is not a port"},
		{string(good) + "set_io rst_i B2\n", "rst_i is constrained twice"},
		{strings.Replace(string(good), "set_io rst_i A1", "set_io rst_i J3", 1), "pin J3 is already given"},
		{strings.Replace(string(good), "set_io rst_i A1", "", 1), "no pin for rst_i"},
		{strings.Replace(string(good), "set_io rst_i A1", "set_io rst_i", 1), "want set_io PORT PIN"},
		{"", "no pin for clk_i"},
	} {
		if err := CheckPCF([]byte(tc.pcf), ports); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want %q, got %v", tc.want, err)
		}
	}
}
