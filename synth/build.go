package synth

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
)

// Board is an iCE40 device in one package that `addergen build` makes
// bitstreams for.
type Board struct {
	Name    string   // the --target value, e.g. "ice40-hx8k"
	Device  string   // the part, e.g. "iCE40HX8K"
	Package string   // nextpnr's package name, e.g. "ct256"
	Nextpnr []string // nextpnr-ice40's device and package flags
	LCs     int      // logic cells (ICESTORM_LC)
	RAMs    int      // 4 kbit block RAMs (ICESTORM_RAM, SB_RAM40_4K)
	// TargetCycles is addergen build's default --target-cycles on the
	// board: the shipped small model folded so that it fits (HX8K: 8000,
	// 6,158 of 7,680 logic cells; UP5K: 40000, every engine at its
	// narrowest, 4,864 of 5,280 with the status slave tied off).
	TargetCycles int
	// DSPs is the SB_MAC16 multiplier blocks (UP5K: 8; HX8K: none).
	// With some, synthesis maps multipliers into them (synth_ice40 -dsp).
	DSPs int
	// Pins are the package's user I/O pins in the order the pin template
	// assigns them; the first is ClockPin.
	Pins      []string
	ClockPin  string
	ClockNote string // why the clock goes to ClockPin
}

// Boards are the targets of Build. The pin lists are the packages' I/O
// pins from icestorm's chipdb (chipdb-8k.txt .pins ct256, chipdb-5k.txt
// .pins sg48); the UP5K's pins 39, 40 and 41 are left out: they are the
// open-drain RGB LED drivers, which take no ordinary I/O cell.
var Boards = []Board{
	{
		Name: "ice40-hx8k", Device: "iCE40HX8K", Package: "ct256",
		Nextpnr: []string{"--hx8k", "--package", "ct256"}, LCs: HX8KLCs, RAMs: HX8KRAMs, TargetCycles: 8000,
		ClockPin: "J3", ClockNote: "the 12 MHz oscillator of Lattice's iCE40-HX8K breakout board, a global buffer input",
		Pins: moveFirst("J3", strings.Fields(`A1 A2 A5 A6 A7 A9 A10 A11 A15 A16 B1 B2 B3 B4 B5 B6 B7 B8 B9 B10 B11 B12 B13 B14 B15
			B16 C1 C2 C3 C4 C5 C6 C7 C8 C9 C10 C11 C12 C13 C14 C16 D1 D2 D3 D4 D5 D6 D7 D8 D9 D10 D11 D13 D14 D15 D16 E2 E3
			E4 E5 E6 E9 E10 E11 E13 E14 E16 F1 F2 F3 F4 F5 F7 F9 F11 F12 F13 F14 F15 F16 G1 G2 G3 G4 G5 G10 G11 G12 G13 G14
			G15 G16 H1 H2 H3 H4 H5 H6 H11 H12 H13 H14 H16 J1 J2 J3 J4 J5 J10 J11 J12 J13 J14 J15 J16 K1 K3 K4 K5 K9 K11 K12
			K13 K14 K15 K16 L1 L3 L4 L5 L6 L7 L9 L10 L11 L12 L13 L14 L16 M1 M2 M3 M4 M5 M6 M7 M8 M9 M11 M12 M13 M14 M15 M16
			N2 N3 N4 N5 N6 N7 N9 N10 N12 N16 P1 P2 P4 P5 P6 P7 P8 P9 P10 P11 P12 P13 P14 P15 P16 R1 R2 R3 R4 R5 R6 R9 R10
			R11 R12 R14 R15 R16 T1 T2 T3 T5 T6 T7 T8 T9 T10 T11 T13 T14 T15 T16`)),
	},
	{
		Name: "ice40-up5k", Device: "iCE40UP5K", Package: "sg48",
		Nextpnr: []string{"--up5k", "--package", "sg48"}, LCs: 5280, RAMs: 30, DSPs: 8, TargetCycles: 40000,
		ClockPin: "35", ClockNote: "the 12 MHz oscillator of the iCEBreaker board, a global buffer input",
		Pins: moveFirst("35", strings.Fields(`2 3 4 6 9 10 11 12 13 14 15 16 17 18 19 20 21 23 25 26 27 28 31 32 34 35 36 37 38
			42 43 44 45 46 47 48`)),
	},
}

func moveFirst(p string, pins []string) []string {
	i := slices.Index(pins, p)
	if i < 0 {
		panic("synth: clock pin " + p + " not in the pin list")
	}
	return append([]string{p}, slices.Delete(pins, i, i+1)...)
}

// BoardNames returns the names of Boards.
func BoardNames() []string {
	var out []string
	for _, b := range Boards {
		out = append(out, b.Name)
	}
	return out
}

// ParseBoard returns the board named s.
func ParseBoard(s string) (Board, error) {
	for _, b := range Boards {
		if b.Name == s {
			return b, nil
		}
	}
	return Board{}, fmt.Errorf("target %q unknown: want %s", s, strings.Join(BoardNames(), " or "))
}

// BuildRequest is one bitstream build of a quantized network.
type BuildRequest struct {
	Model     *quant.Model
	ModelName string // for the report: the file or built-in name
	Config    rtl.NetConfig
	Board     Board
	// NoAXILite ties the AXI4-Lite status slave's inputs to 0 in the
	// synthesis script and leaves its ports off the pins: the network
	// runs, the status registers cannot be read. The RTL is unchanged.
	NoAXILite bool
	FreqMHz   float64 // nextpnr --freq; 0 means DefaultFreqMHz
	Seed      int     // the first nextpnr seed; 0 means 1
	Seeds     int     // seeds Seed..Seed+Seeds-1; 0 means 1
	Timeout   time.Duration
	// PCF is the user's pin constraints; nil means the generated template
	// (which the build then uses and returns).
	PCF []byte
	// Dir is an existing, empty work directory.
	Dir string
	// Progress, when set, is told of each step.
	Progress func(msg string)
}

// BuildSeed is one nextpnr run.
type BuildSeed struct {
	Seed    int      `json:"seed"`
	FmaxMHz *float64 `json:"fmax_mhz"` // nil when the seed failed
	Error   string   `json:"error,omitempty"`
	Seconds float64  `json:"seconds"`
	Log     string   `json:"log"`
}

// BuildReport is the outcome of Build, written as build.json.
type BuildReport struct {
	Board      string `json:"target"`
	Device     string `json:"device"`
	Package    string `json:"package"`
	Model      string `json:"model"`
	Top        string `json:"top"`
	AXILite    bool   `json:"axi_lite_on_pins"`
	Engines    int    `json:"engines"`
	PEs        int    `json:"pes"`
	Cycles     int    `json:"cycles_per_image"` // predicted, steady state
	Synth      string `json:"synth"`
	SynthCells Counts `json:"synth_cells"` // after yosys: LUTs, FFs, carries, RAMs
	// Post-route utilisation of the kept seed (nextpnr's report).
	LCs       int     `json:"lcs"`
	LCsAvail  int     `json:"lcs_available"`
	RAMs      int     `json:"rams"`
	RAMsAvail int     `json:"rams_available"`
	IOs       int     `json:"ios"`
	IOsAvail  int     `json:"ios_available"` // the package's user I/O pins
	GBs       int     `json:"global_buffers"`
	TargetMHz float64 `json:"target_mhz"`
	// FmaxMHz is the median post-route Fmax over the seeds that routed;
	// the bitstream is the one of the seed that gave it (KeptSeed; with
	// an even count, the lower middle one).
	FmaxMHz  float64     `json:"fmax_mhz"`
	KeptSeed int         `json:"kept_seed"`
	Seeds    []BuildSeed `json:"seeds"`
	// ExtraSeeds counts the seeds tried past the requested ones because
	// none of those found a legal placement (at most ExtraPlacementSeeds).
	ExtraSeeds int      `json:"extra_seeds,omitempty"`
	ImagesPerS float64  `json:"images_per_second"` // FmaxMHz·1e6 / Cycles
	Bitstream  string   `json:"bitstream"`
	BinBytes   int      `json:"bitstream_bytes"`
	PCF        string   `json:"pcf"`
	UserPCF    bool     `json:"user_pcf"`
	YosysSec   float64  `json:"yosys_seconds"`
	NextpnrCmd string   `json:"nextpnr"`
	IcepackSec float64  `json:"icepack_seconds"`
	Files      []string `json:"files"`
}

// ExtraPlacementSeeds is how many seeds past the requested ones Build
// tries, one after another, while no seed has found a legal placement.
const ExtraPlacementSeeds = 4

// seedPlacement reports whether a nextpnr error is a placement that failed
// at this seed (the placer's legaliser), as opposed to a design with more
// cells than the device (notFit), which no seed places.
func seedPlacement(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{"failed to expand region", "unable to find legal placement", "legal placement"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// BuildTools are the executables Build runs.
var BuildTools = []string{"yosys", "nextpnr-ice40", "icepack"}

func init() {
	toolPackages["icepack"] = "fpga-icestorm"
}

// BuildError is a request that cannot be built (too many pins, too many
// cells for the device), found before or after synthesis; its message
// says which and by how much.
type BuildError struct{ Msg string }

func (e *BuildError) Error() string { return e.Msg }

// Build emits the network, synthesizes it whole with yosys synth_ice40,
// places and routes it with nextpnr-ice40 on the board's device and pins
// (once per seed), and packs the median seed's result with icepack. It
// returns the report and the output files (NAME.bin, NAME.pcf, build.json,
// the tool logs and the yosys script) by name; it writes only into
// req.Dir. A design that cannot fit the package's pins or the device's
// cells is a *BuildError.
func Build(ctx context.Context, req BuildRequest) (*BuildReport, map[string][]byte, error) {
	if req.Model == nil {
		return nil, nil, fmt.Errorf("synth: build: no model")
	}
	if req.Seeds < 0 || req.Seed < 0 {
		return nil, nil, fmt.Errorf("synth: build: negative seed or seed count")
	}
	seeds, seed := max(1, req.Seeds), req.Seed
	if seed == 0 {
		seed = 1
	}
	freq := req.FreqMHz
	if freq == 0 {
		freq = DefaultFreqMHz
	}
	timeout := req.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	c := req.Config
	if c.Family == "" {
		c.Family = "ice40"
	}
	d, n, err := NetDesign(req.Model, c, L1)
	if err != nil {
		return nil, nil, err
	}
	b := req.Board
	rep := &BuildReport{Board: b.Name, Device: b.Device, Package: b.Package, Model: req.ModelName, Top: n.Top,
		AXILite: !req.NoAXILite, Engines: len(n.Engines), Cycles: n.PredictedCyclesPerImage,
		LCsAvail: b.LCs, RAMsAvail: b.RAMs, IOsAvail: len(b.Pins), TargetMHz: freq, UserPCF: req.PCF != nil}
	for _, e := range n.Engines {
		if e.Reduce {
			rep.PEs += e.P
		}
	}

	// Pins first: no tool can help a design with more ports than pins.
	ports := buildPorts(n, req.NoAXILite)
	if bits := portBits(ports); bits > len(b.Pins) {
		msg := fmt.Sprintf("the top %s needs %d I/O pins (%s); the %s package of the %s has %d user I/O pins",
			n.Top, bits, portSummary(ports), b.Package, b.Device, len(b.Pins))
		if !req.NoAXILite {
			if s := portBits(buildPorts(n, true)); s <= len(b.Pins) {
				msg += fmt.Sprintf("; --no-axi-lite ties the AXI4-Lite status slave off and needs %d", s)
			}
		}
		return nil, nil, &BuildError{msg}
	}
	// Then the analytical estimate (within about 10 % of yosys on iCE40):
	// a design far too large is refused before minutes of synthesis.
	if est, err := EstimateNet(req.Model, c, L1, ICE40); err == nil {
		t := est.Total
		if float64(t.LUTs) > 1.25*float64(b.LCs) || float64(t.FFs) > 1.25*float64(b.LCs) || t.BRAMs > b.RAMs {
			return nil, nil, &BuildError{fmt.Sprintf("the design does not fit the %s: an estimated %d LUTs, %d flip-flops and %d SB_RAM40_4K against %d logic cells and %d RAMs; raise --target-cycles or lower --parallel",
				b.Device, t.LUTs, t.FFs, t.BRAMs, b.LCs, b.RAMs)}
		}
	}
	pcfName := n.Top + ".pcf"
	pcf := req.PCF
	if pcf == nil {
		if pcf, err = RenderPCF(b, n.Top, ports); err != nil {
			return nil, nil, err
		}
	} else if err := CheckPCF(pcf, ports); err != nil {
		return nil, nil, &PCFError{err}
	}
	for _, t := range BuildTools {
		if _, err := LookTool(t); err != nil {
			return nil, nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(req.Dir, pcfName), pcf, 0o644); err != nil {
		return nil, nil, err
	}
	progress := func(format string, a ...any) {
		if req.Progress != nil {
			req.Progress(fmt.Sprintf(format, a...))
		}
	}

	// Synthesis.
	o := Options{Target: ICE40, Timeout: timeout, Dir: req.Dir}
	script := BuildScript(d, req.NoAXILite, b.DSPs > 0)
	rep.Synth = buildSynthCommand(d.Top, b.DSPs > 0)
	progress("yosys: synthesizing %s for %s", n.Top, b.Device)
	st, took, err := runYosys(ctx, d, o, script)
	if err != nil {
		return nil, nil, err
	}
	rep.YosysSec = took.Seconds()
	rep.SynthCells, _ = Tally(ICE40, st.Design)
	if sc := rep.SynthCells; sc.LUTs > b.LCs || sc.FFs > b.LCs || sc.BRAMs > b.RAMs || sc.DSPs > b.DSPs {
		return nil, nil, &BuildError{fmt.Sprintf("the design does not fit the %s: yosys maps it to %d LUTs, %d flip-flops, %d SB_RAM40_4K and %d SB_MAC16; the device has %d logic cells, %d RAMs and %d SB_MAC16; raise --target-cycles or lower --parallel",
			b.Device, sc.LUTs, sc.FFs, sc.BRAMs, sc.DSPs, b.LCs, b.RAMs, b.DSPs)}
	}

	// Place and route, once per seed. --opt-timing (nextpnr's timing
	// optimisation after placement) raised the shipped model's median Fmax
	// over seeds 1-3 from 83.5 to 88.5 MHz.
	type routed struct {
		p        *PnR
		asc, log string
		cmd      string
	}
	var ok []routed
	last := seed + seeds - 1
	for s := seed; s <= last; s++ {
		logName, asc := fmt.Sprintf("nextpnr_s%d.log", s), fmt.Sprintf("s%d.asc", s)
		argv := append([]string{"nextpnr-ice40"}, b.Nextpnr...)
		argv = append(argv, "--json", "netlist.json", "--pcf", pcfName, "--freq", fmt.Sprintf("%g", freq),
			"--seed", fmt.Sprint(s), "--timing-allow-fail", "--opt-timing", "--asc", asc, "--log", logName, "-q")
		if s < seed+seeds {
			progress("nextpnr-ice40: placing and routing, seed %d (%d of %d)", s, s-seed+1, seeds)
		} else {
			progress("nextpnr-ice40: placing and routing, seed %d (no seed has found a legal placement yet: extra seed %d of at most %d)", s, s-seed-seeds+1, ExtraPlacementSeeds)
		}
		start := time.Now()
		err := tool(ctx, req.Dir, timeout, logName, argv...)
		bs := BuildSeed{Seed: s, Seconds: time.Since(start).Seconds(), Log: logName}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		var p *PnR
		lb, rerr := os.ReadFile(filepath.Join(req.Dir, logName))
		if rerr == nil {
			var perr error
			p, perr = ParseNextpnrLog(string(lb), "clk_i")
			if err == nil {
				err = perr
			}
		} else if err == nil {
			err = rerr
		}
		if err != nil {
			bs.Error = err.Error()
			rep.Seeds = append(rep.Seeds, bs)
			// nextpnr prints the utilisation before it packs and places:
			// more cells than the device has is a design that does not fit.
			if p != nil && p.LCsAvail > 0 && (p.LCs > p.LCsAvail || p.RAMs > p.RAMsAvail) {
				return nil, nil, &BuildError{fmt.Sprintf("the design does not fit the %s: it needs %d logic cells and %d block RAMs, the device has %d and %d; raise --target-cycles or lower --parallel",
					b.Device, p.LCs, p.RAMs, p.LCsAvail, p.RAMsAvail)}
			}
			if seedPlacement(err.Error()) {
				// The placer found no legal placement at this seed:
				// a nearly full device places at some seeds and not
				// others (the shipped model on the UP5K: 92 % of
				// its cells, seeds 1 and 3 fail, 4 routes). While
				// no seed has routed, try the next one.
				if s == last && len(ok) == 0 && rep.ExtraSeeds < ExtraPlacementSeeds {
					last++
					rep.ExtraSeeds++
				}
				if s < last {
					continue
				}
				if len(ok) == 0 {
					return nil, nil, &BuildError{fmt.Sprintf("the design does not fit the %s: no legal placement at seeds %d to %d (%v)", b.Device, seed, last, err)}
				}
				continue
			}
			if notFit(err.Error()) {
				return nil, nil, &BuildError{fmt.Sprintf("the design does not fit the %s: %v", b.Device, err)}
			}
			continue
		}
		f := p.FmaxMHz
		bs.FmaxMHz = &f
		rep.Seeds = append(rep.Seeds, bs)
		ok = append(ok, routed{p, asc, logName, strings.Join(argv, " ")})
	}
	if len(ok) == 0 {
		return nil, nil, fmt.Errorf("nextpnr-ice40 routed none of %d seeds: %s", seeds, rep.Seeds[0].Error)
	}
	sorted := slices.Clone(ok)
	slices.SortStableFunc(sorted, func(a, b routed) int {
		switch {
		case a.p.FmaxMHz < b.p.FmaxMHz:
			return -1
		case a.p.FmaxMHz > b.p.FmaxMHz:
			return 1
		}
		return 0
	})
	kept := sorted[(len(sorted)-1)/2]
	p := kept.p
	rep.NextpnrCmd = kept.cmd
	rep.FmaxMHz, rep.LCs, rep.RAMs, rep.IOs, rep.GBs = p.FmaxMHz, p.LCs, p.RAMs, p.IOs, p.GBs
	for _, bs := range rep.Seeds {
		if bs.Log == kept.log {
			rep.KeptSeed = bs.Seed
		}
	}
	if rep.Cycles > 0 {
		rep.ImagesPerS = p.FmaxMHz * 1e6 / float64(rep.Cycles)
	}

	// Pack.
	binName := n.Top + ".bin"
	progress("icepack: packing seed %d", rep.KeptSeed)
	start := time.Now()
	if err := tool(ctx, req.Dir, timeout, "icepack.log", "icepack", kept.asc, binName); err != nil {
		return nil, nil, err
	}
	rep.IcepackSec = time.Since(start).Seconds()
	bin, err := os.ReadFile(filepath.Join(req.Dir, binName))
	if err != nil {
		return nil, nil, fmt.Errorf("icepack wrote no bitstream: %w", err)
	}
	if len(bin) == 0 {
		return nil, nil, errors.New("icepack wrote an empty bitstream")
	}
	rep.Bitstream, rep.BinBytes, rep.PCF = binName, len(bin), pcfName

	files := map[string][]byte{binName: bin, pcfName: pcf, "synth.ys": []byte(script)}
	names := []string{"yosys.log"}
	for _, bs := range rep.Seeds {
		names = append(names, bs.Log)
	}
	for _, nm := range names {
		if data, err := os.ReadFile(filepath.Join(req.Dir, nm)); err == nil {
			files[nm] = data
		}
	}
	for nm := range files {
		rep.Files = append(rep.Files, nm)
	}
	rep.Files = append(rep.Files, "build.json")
	slices.Sort(rep.Files)
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	files["build.json"] = append(js, '\n')
	return rep, files, nil
}

// BuildScript is the yosys script of a bitstream build: the design read,
// checked for latches, optionally with the AXI4-Lite slave's ports turned
// into tied-off wires (inputs 0; the slave is then optimized away),
// synthesized flat (PnRSynthCommand: synth_ice40 -abc9 -dff, with -dsp when the device has
// SB_MAC16 blocks), its cell statistics written to stat.json and the netlist to
// netlist.json for nextpnr.
func BuildScript(d Design, noAXILite, dsp bool) string {
	var b strings.Builder
	for _, s := range d.Sources {
		fmt.Fprintf(&b, "read_verilog %s\n", s)
	}
	fmt.Fprintf(&b, "hierarchy -check -top %s\n", d.Top)
	b.WriteString("proc\ncheck -assert\nselect -assert-none t:$dlatch t:$adlatch t:$dlatchsr\n")
	if noAXILite {
		fmt.Fprintf(&b, "delete -port %s/s_axi_*\nsetundef -undriven -zero %s/s_axi_*\n", d.Top, d.Top)
	}
	fmt.Fprintf(&b, "%s -json netlist.json\n", buildSynthCommand(d.Top, dsp))
	b.WriteString("tee -q -o stat.json stat -json\n")
	return b.String()
}

// buildSynthCommand is PnRSynthCommand, with -dsp (multipliers into
// SB_MAC16 blocks) for a device that has them.
func buildSynthCommand(top string, dsp bool) string {
	if dsp {
		return strings.Replace(PnRSynthCommand(top), "synth_ice40 ", "synth_ice40 -dsp ", 1)
	}
	return PnRSynthCommand(top)
}

// buildPorts is the top's ports that go to pins.
func buildPorts(n *rtl.Net, noAXILite bool) []rtl.TopPort {
	var out []rtl.TopPort
	for _, p := range n.TopPorts() {
		if noAXILite && p.Bus == "s_axi" {
			continue
		}
		out = append(out, p)
	}
	return out
}

func portBits(ps []rtl.TopPort) int {
	s := 0
	for _, p := range ps {
		s += p.Width
	}
	return s
}

// portSummary counts the pins per interface: "clk_i 1, rst_i 1, s_axis 11, ...".
func portSummary(ps []rtl.TopPort) string {
	var order []string
	n := map[string]int{}
	for _, p := range ps {
		if _, ok := n[p.Bus]; !ok {
			order = append(order, p.Bus)
		}
		n[p.Bus] += p.Width
	}
	parts := make([]string, len(order))
	for i, b := range order {
		parts[i] = fmt.Sprintf("%s %d", b, n[b])
	}
	return strings.Join(parts, ", ")
}

//go:embed templates/pcf.tmpl
var pcfFS embed.FS

var pcfTmpl = template.Must(template.New("pcf.tmpl").Option("missingkey=error").ParseFS(pcfFS, "templates/pcf.tmpl"))

type pcfView struct {
	Top, Board, Device, Package, ClockPin, ClockNote string
	Used, Avail                                      int
	Groups                                           []pcfGroup
}

type pcfGroup struct {
	Title string
	Lines []pcfLine
}

type pcfLine struct{ Port, Pin string }

var busTitles = map[string]string{
	"clk_i":   "clock",
	"rst_i":   "reset, synchronous, active high",
	"aresetn": "reset, synchronous, active low (ARESETn)",
	"s_axis":  "AXI4-Stream in: pixels",
	"m_axis":  "AXI4-Stream out: class scores",
	"s_axi":   "AXI4-Lite status slave",
}

// RenderPCF assigns the ports, bit by bit, to the board's pins in order
// (the clock to the clock pin) and prints the pin-constraint template.
func RenderPCF(b Board, top string, ports []rtl.TopPort) ([]byte, error) {
	v := pcfView{Top: top, Board: b.Name, Device: b.Device, Package: b.Package, ClockPin: b.ClockPin,
		ClockNote: b.ClockNote, Avail: len(b.Pins)}
	if len(ports) == 0 || ports[0].Name != "clk_i" {
		return nil, fmt.Errorf("synth: the top's first port is not clk_i")
	}
	next := 0
	for _, p := range ports {
		if len(v.Groups) == 0 || v.Groups[len(v.Groups)-1].Title != busTitles[p.Bus] {
			t := busTitles[p.Bus]
			if t == "" {
				t = p.Bus
			}
			v.Groups = append(v.Groups, pcfGroup{Title: t})
		}
		g := &v.Groups[len(v.Groups)-1]
		for i := 0; i < p.Width; i++ {
			if next == len(b.Pins) {
				return nil, fmt.Errorf("synth: %d pins are not enough for the ports of %s", len(b.Pins), top)
			}
			name := p.Name
			if p.Width > 1 {
				name = fmt.Sprintf("%s[%d]", p.Name, i)
			}
			g.Lines = append(g.Lines, pcfLine{name, b.Pins[next]})
			next++
		}
	}
	v.Used = next
	var buf bytes.Buffer
	if err := pcfTmpl.Execute(&buf, v); err != nil {
		return nil, err
	}
	buf.WriteString("\n")
	return buf.Bytes(), nil
}

// PCFError is pin constraints (BuildRequest.PCF) that do not match the
// top's ports.
type PCFError struct{ Err error }

func (e *PCFError) Error() string { return e.Err.Error() }
func (e *PCFError) Unwrap() error { return e.Err }

// CheckPCF checks pin constraints against the ports that go to pins:
// every set_io names a port bit (PORT, or PORT[i] for a bus), every port
// bit is constrained exactly once, and no pin is given twice. Other
// commands (set_frequency, ...) are left to nextpnr. The error names the
// line.
func CheckPCF(pcf []byte, ports []rtl.TopPort) error {
	bits := map[string]bool{}
	var order []string
	for _, p := range ports {
		if p.Width == 1 {
			bits[p.Name] = false
			order = append(order, p.Name)
			continue
		}
		for i := 0; i < p.Width; i++ {
			n := fmt.Sprintf("%s[%d]", p.Name, i)
			bits[n] = false
			order = append(order, n)
		}
	}
	pins := map[string]int{}
	for i, line := range strings.Split(string(pcf), "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "set_io" {
			continue
		}
		var args []string
		for k := 1; k < len(f); k++ {
			switch {
			case f[k] == "-nowarn":
			case strings.HasPrefix(f[k], "-"):
				k++ // an option with a value: -pullup yes, -pullup_resistor 10K
			default:
				args = append(args, f[k])
			}
		}
		if len(args) != 2 {
			return fmt.Errorf("line %d: want set_io PORT PIN, got %q", i+1, strings.TrimSpace(line))
		}
		port, pin := args[0], args[1]
		done, ok := bits[port]
		switch {
		case !ok:
			return fmt.Errorf("line %d: %s is not a port of the top (a bus bit is PORT[i])", i+1, port)
		case done:
			return fmt.Errorf("line %d: %s is constrained twice", i+1, port)
		}
		if prev, ok := pins[pin]; ok {
			return fmt.Errorf("line %d: pin %s is already given on line %d", i+1, pin, prev)
		}
		bits[port], pins[pin] = true, i+1
	}
	var missing []string
	for _, n := range order {
		if !bits[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		more := ""
		if len(missing) > 4 {
			more = fmt.Sprintf(" and %d more", len(missing)-4)
			missing = missing[:4]
		}
		return fmt.Errorf("no pin for %s%s", strings.Join(missing, ", "), more)
	}
	return nil
}
