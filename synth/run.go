package synth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/addergen/addergen/testbench"
)

// HX8K device flags for nextpnr-ice40.
var (
	NextpnrDevice  = []string{"--hx8k", "--package", "ct256"}
	DefaultFreqMHz = 250.0
	DefaultTimeout = 20 * time.Minute
)

// Tool names and the Debian packages that provide them.
var toolPackages = map[string]string{
	"yosys":         "yosys",
	"nextpnr-ice40": "nextpnr-ice40",
}

// LookTool finds an external tool or returns a *testbench.MissingToolError
// naming its Debian package.
func LookTool(tool string) (string, error) {
	p, err := exec.LookPath(tool)
	if err != nil {
		pkg := toolPackages[tool]
		if pkg == "" {
			pkg = tool
		}
		return "", &testbench.MissingToolError{Tool: tool, Package: pkg}
	}
	return p, nil
}

// Tools lists the executables a run for the target needs.
func Tools(t Target, pnr bool) []string {
	if t == ICE40 && pnr {
		return []string{"yosys", "nextpnr-ice40"}
	}
	return []string{"yosys"}
}

// Design is a set of Verilog sources with a wrapper on top of one PE.
type Design struct {
	Top     string            // the wrapper (top) module
	PE      string            // the PE module whose own cells are reported
	Files   map[string][]byte // file name -> Verilog
	Sources []string          // Verilog files in read order (names in Files)
}

// Options control one synthesis run.
type Options struct {
	Target  Target
	NoDSP   bool          // xilinx: synth_xilinx -nodsp (multipliers in LUTs)
	PnR     bool          // ice40: place and route in nextpnr-ice40 for Fmax
	FreqMHz float64       // nextpnr --freq; 0 means DefaultFreqMHz
	Seed    int           // nextpnr --seed; 0 means 1
	Seeds   int           // place and route with seeds Seed..Seed+Seeds-1 and keep the best; 0 means 1
	Timeout time.Duration // per tool run; 0 means DefaultTimeout
	Dir     string        // existing work directory for sources, scripts and logs
}

// Result is one synthesis run's outcome.
type Result struct {
	Target      Target
	SynthCmd    string         // the yosys synthesis command, e.g. "synth_xilinx -family xc7 -nodsp"
	PE          Counts         // the PE module's own cells
	PECells     map[string]int // the PE module's cells by type
	Design      Counts         // the whole wrapped design
	DesignCells map[string]int
	PnR         *PnR      // nextpnr results (ice40 with PnR): the best seed's
	Seeds       []float64 // Fmax of every seed tried, in seed order
	PnRErr      error     // nextpnr failed (the synthesis numbers still stand)
	PnRCmd      string    // the nextpnr command line
	YosysTime   time.Duration
}

// SynthCommand returns the yosys synthesis command used for the options.
func SynthCommand(o Options, top string) string {
	switch o.Target {
	case Xilinx:
		s := "synth_xilinx -family xc7 -top " + top
		if o.NoDSP {
			s += " -nodsp"
		}
		return s
	case ICE40:
		return "synth_ice40 -noflatten -top " + top
	}
	return ""
}

// Script returns the yosys script for a design. The PE is kept as its own
// module (no flattening), checked for latches before synthesis, and the
// per-module statistics are written to stat.json; for iCE40 the mapped
// design is then flattened and written to netlist.json for nextpnr.
func Script(d Design, o Options) string {
	var b strings.Builder
	for _, s := range d.Sources {
		fmt.Fprintf(&b, "read_verilog %s\n", s)
	}
	fmt.Fprintf(&b, "hierarchy -check -top %s\n", d.Top)
	b.WriteString("proc\ncheck -assert\nselect -assert-none t:$dlatch t:$adlatch t:$dlatchsr\n")
	b.WriteString(SynthCommand(o, d.Top) + "\n")
	b.WriteString("tee -q -o stat.json stat -json\n")
	if o.Target == ICE40 {
		b.WriteString("flatten\nwrite_json netlist.json\n")
	}
	return b.String()
}

// Run synthesizes d with yosys in o.Dir and, for iCE40 with o.PnR, places
// and routes it with nextpnr-ice40. A nextpnr failure (a design too large
// for the device, say) is returned in Result.PnRErr, not as an error.
func Run(ctx context.Context, d Design, o Options) (*Result, error) {
	o, err := o.check()
	if err != nil {
		return nil, err
	}
	res := &Result{Target: o.Target, SynthCmd: SynthCommand(o, d.Top)}
	st, took, err := runYosys(ctx, d, o, Script(d, o))
	if err != nil {
		return nil, err
	}
	res.YosysTime = took
	pe, ok := st.Modules[d.PE]
	if !ok {
		return nil, fmt.Errorf("yosys statistics hold no module %s (modules: %s)", d.PE, strings.Join(keys(st.Modules), ", "))
	}
	res.PECells, res.DesignCells = pe, st.Design
	var other []string
	res.PE, other = Tally(o.Target, pe)
	if len(other) > 0 {
		return nil, fmt.Errorf("PE module %s holds cells that are not %s primitives: %s", d.PE, o.Target, strings.Join(other, ", "))
	}
	res.Design, _ = Tally(o.Target, st.Design)

	if o.Target == ICE40 && o.PnR {
		seeds := max(1, o.Seeds)
		seed := o.Seed
		if seed == 0 {
			seed = 1
		}
		for i := 0; i < seeds; i++ {
			p, cmd, err := pnr(ctx, o, seed+i)
			res.PnRCmd = cmd
			if err != nil {
				// A failed seed ends the sweep: the design does not fit
				// or the tool broke; seeds would not change that.
				res.PnR, res.PnRErr = nil, err
				break
			}
			res.Seeds = append(res.Seeds, p.FmaxMHz)
			if res.PnR == nil || p.FmaxMHz > res.PnR.FmaxMHz {
				res.PnR = p
			}
		}
	}
	return res, nil
}

// pnr places and routes netlist.json with one seed; the log is
// nextpnr.log (nextpnr_sN.log for seeds after the first).
func pnr(ctx context.Context, o Options, seed int) (*PnR, string, error) {
	freq := o.FreqMHz
	if freq == 0 {
		freq = DefaultFreqMHz
	}
	logName := "nextpnr.log"
	if seed != max(1, o.Seed) {
		logName = fmt.Sprintf("nextpnr_s%d.log", seed)
	}
	argv := append([]string{"nextpnr-ice40"}, NextpnrDevice...)
	argv = append(argv, "--json", "netlist.json", "--freq", fmt.Sprintf("%g", freq),
		"--seed", fmt.Sprint(seed), "--timing-allow-fail", "--log", logName, "-q")
	cmd := strings.Join(argv, " ")
	err := tool(ctx, o.Dir, o.Timeout, logName, argv...)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return nil, cmd, err
	}
	log, rerr := os.ReadFile(filepath.Join(o.Dir, logName))
	if rerr != nil {
		return nil, cmd, fmt.Errorf("nextpnr-ice40 wrote no log: %v", firstNonNil(err, rerr))
	}
	p, perr := ParseNextpnrLog(string(log), "clk_i")
	if perr != nil {
		return nil, cmd, perr
	}
	if err != nil {
		return nil, cmd, err
	}
	return p, cmd, nil
}

func firstNonNil(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// tool runs argv in dir with a timeout. On failure the error quotes the
// tool's first ERROR line (or the tail of its log) and names the log.
func tool(ctx context.Context, dir string, timeout time.Duration, logName string, argv ...string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("%s timed out after %v (log: %s): %w", argv[0], timeout, filepath.Join(dir, logName), context.DeadlineExceeded)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", argv[0], ctx.Err())
	}
	if err == nil {
		return nil
	}
	log, _ := os.ReadFile(filepath.Join(dir, logName))
	msg := errorLine(string(log))
	if msg == "" {
		msg = errorLine(out.String())
	}
	if msg == "" {
		msg = lastLines(out.String()+string(log), 5)
	}
	return fmt.Errorf("%s failed (%v): %s (log: %s)", argv[0], err, msg, filepath.Join(dir, logName))
}

// errorLine returns the first "ERROR:" line of a tool log without the
// marker, keeping a source location before it ("f.v:2: syntax error").
func errorLine(log string) string {
	for _, l := range strings.Split(log, "\n") {
		if i := strings.Index(l, "ERROR:"); i >= 0 {
			return strings.TrimSpace(l[:i] + strings.TrimSpace(l[i+len("ERROR:"):]))
		}
	}
	return ""
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// check validates o's target, fills the default timeout, and checks that
// the tools o needs are on PATH.
func (o Options) check() (Options, error) {
	if o.Target != Xilinx && o.Target != ICE40 {
		return o, fmt.Errorf("synth: target %q unknown", o.Target)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	for _, t := range Tools(o.Target, o.PnR) {
		if _, err := LookTool(t); err != nil {
			return o, err
		}
	}
	return o, nil
}

// runYosys writes d's files and the script into o.Dir, runs yosys there and
// parses the statistics the script writes to stat.json.
func runYosys(ctx context.Context, d Design, o Options, script string) (*Stat, time.Duration, error) {
	return runYosysAs(ctx, d, o, script, "synth", "stat.json")
}

// runYosysAs runs script as NAME.ys with its log in NAME.log and parses
// the statistics it writes to statFile.
func runYosysAs(ctx context.Context, d Design, o Options, script, name, statFile string) (*Stat, time.Duration, error) {
	for _, n := range keys(d.Files) {
		if err := os.WriteFile(filepath.Join(o.Dir, n), d.Files[n], 0o644); err != nil {
			return nil, 0, err
		}
	}
	ys, logName := name+".ys", "yosys.log"
	if name != "synth" {
		logName = "yosys_" + name + ".log"
	}
	if err := os.WriteFile(filepath.Join(o.Dir, ys), []byte(script), 0o644); err != nil {
		return nil, 0, err
	}
	start := time.Now()
	if err := tool(ctx, o.Dir, o.Timeout, logName, "yosys", "-q", "-l", logName, "-s", ys); err != nil {
		return nil, 0, err
	}
	took := time.Since(start)
	b, err := os.ReadFile(filepath.Join(o.Dir, statFile))
	if err != nil {
		return nil, 0, fmt.Errorf("yosys wrote no statistics: %w", err)
	}
	st, err := ParseStatJSON(b)
	if err != nil {
		return nil, 0, err
	}
	return st, took, nil
}
