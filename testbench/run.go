package testbench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Simulator names.
const (
	Icarus    = "iverilog"
	Verilator = "verilator"
)

// Simulators lists the supported simulators.
var Simulators = []string{Icarus, Verilator}

// ParseSimulators turns a --simulator value (iverilog, verilator, both)
// into the list of simulators to run.
func ParseSimulators(s string) ([]string, error) {
	switch s {
	case Icarus, Verilator:
		return []string{s}, nil
	case "both":
		return []string{Icarus, Verilator}, nil
	}
	return nil, fmt.Errorf("simulator %q unknown: want iverilog, verilator or both", s)
}

// MissingToolError says a required external tool is not installed.
type MissingToolError struct{ Tool, Package string }

func (e *MissingToolError) Error() string {
	return fmt.Sprintf("%s not found on PATH: install it (Debian/Ubuntu: apt-get install -y %s)", e.Tool, e.Package)
}

// LookTool finds an external tool, returning a MissingToolError naming the
// Debian package that provides it.
func LookTool(tool string) (string, error) {
	p, err := exec.LookPath(tool)
	if err != nil {
		pkg := tool
		switch tool {
		case "vvp":
			pkg = "iverilog"
		}
		return "", &MissingToolError{Tool: tool, Package: pkg}
	}
	return p, nil
}

// CheckSimulator reports whether the named simulator's executables exist.
func CheckSimulator(name string) error {
	tools := map[string][]string{Icarus: {"iverilog", "vvp"}, Verilator: {"verilator"}}[name]
	if tools == nil {
		return fmt.Errorf("simulator %q unknown", name)
	}
	for _, t := range tools {
		if _, err := LookTool(t); err != nil {
			return err
		}
	}
	if name == Verilator {
		out, err := exec.Command("verilator", "--version").Output()
		if err != nil {
			return fmt.Errorf("verilator --version: %v", err)
		}
		var major int
		if _, err := fmt.Sscanf(string(out), "Verilator %d", &major); err == nil && major < 5 {
			return fmt.Errorf("found %s; addergen needs Verilator 5 or newer (--binary --timing)", strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// RunOptions control one simulation.
type RunOptions struct {
	Top     string   // top module
	Sources []string // Verilog files relative to the work directory, in order
	VCD     bool     // dump waves.vcd in the work directory
	Timeout time.Duration
	// PlusArgs are passed to the simulation run (e.g. "+inject").
	PlusArgs []string
	// Optimize compiles Verilator's C++ with optimisation (for long runs);
	// short benches compile faster without.
	Optimize bool
	// Args are the run's plusargs (+name=value), given to the compiled
	// bench at run time: one compiled model serves runs that differ only
	// in them.
	Args []string
}

// Run compiles and runs Sources in dir with the named simulator and
// returns the simulation's standard output and the run time (excluding the
// build).
func Run(ctx context.Context, simulator, dir string, o RunOptions) (string, time.Duration, error) {
	if err := CheckSimulator(simulator); err != nil {
		return "", 0, err
	}
	if o.Timeout == 0 {
		o.Timeout = 20 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var build, run []string
	var cached, key string // Verilator: the cached model, or where to store it
	switch simulator {
	case Icarus:
		build = append([]string{"iverilog", "-g2005", "-o", "sim.vvp", "-s", o.Top}, o.Sources...)
		run = []string{"vvp", "-n", "sim.vvp"}
	case Verilator:
		build = append(append([]string{"verilator"}, VerilatorFlags(o)...), o.Sources...)
		run = []string{filepath.Join("obj_dir", "vsim")}
		if cache := VerilatorCacheDir(); cache != "" {
			var err error
			if key, err = modelKey(dir, o); err == nil {
				if p := filepath.Join(cache, key, "vsim"); isExecutable(p) {
					cached, build, run = p, nil, []string{p}
					now := time.Now()
					_ = os.Chtimes(filepath.Join(cache, key), now, now) // recently used: kept by pruning
				}
			}
		}
	default:
		return "", 0, fmt.Errorf("simulator %q unknown", simulator)
	}
	if o.VCD {
		run = append(run, "+vcd")
	}
	run = append(run, o.PlusArgs...)
	run = append(run, o.Args...)
	if build != nil {
		if out, err := command(ctx, dir, build); err != nil {
			return "", 0, fmt.Errorf("%s build failed: %v\n%s", simulator, err, tail(out, 40))
		}
		if simulator == Verilator && key != "" {
			storeModel(VerilatorCacheDir(), key, filepath.Join(dir, "obj_dir", "vsim"))
		}
	}
	start := time.Now()
	out, err := command(ctx, dir, run)
	elapsed := time.Since(start)
	if err != nil {
		if cached != "" {
			err = fmt.Errorf("%v (cached model %s)", err, cached)
		}
		return out, elapsed, fmt.Errorf("%s run failed: %v\n%s", simulator, err, tail(out, 40))
	}
	return out, elapsed, nil
}

// VerilatorFlags returns the verilator command line (without the
// sources) that Run uses for o: a --binary --timing build of o.Top into
// obj_dir/vsim; with o.Optimize, -O3, --x-assign fast and the C++ at -O2
// (long runs), else the C++ unoptimised (short benches build faster);
// --trace with o.VCD.
//
// --x-initial stays at its default (unique): initial values come from
// one function, so a run with +verilator+rand+reset+2 would randomise
// them; --x-initial fast would let the compiler pick and can hide a
// missing reset. --x-assign fast only affects explicit X assignments,
// which the generated RTL does not make, and every value is compared
// with the simulator, so results stay exact. No --threads: measured on
// the 2-core machine it made the LeNet and ResNet-20 benches slower (see
// the README's Benchmarks).
func VerilatorFlags(o RunOptions) []string {
	jobs := strconv.Itoa(runtime.NumCPU())
	f := []string{"--binary", "--timing", "-j", jobs, "-Wno-fatal", "-Wno-lint", "-Wno-style",
		"--top-module", o.Top, "-Mdir", "obj_dir", "-o", "vsim"}
	if o.Optimize {
		f = append(f, "-O3", "--x-assign", "fast", "-MAKEFLAGS", "OPT_FAST=-O2 OPT_SLOW=-O1 OPT_GLOBAL=-O1")
	} else {
		f = append(f, "-MAKEFLAGS", "OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0")
	}
	if o.VCD {
		f = append(f, "--trace")
	}
	return f
}

func command(ctx context.Context, dir string, argv []string) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s: %w", argv[0], ctx.Err())
	}
	return buf.String(), err
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// WriteFiles writes files into dir (which must exist).
func WriteFiles(dir string, files map[string][]byte) error {
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

var (
	mismatchRe = regexp.MustCompile(`^MISMATCH (\S+) cycle=(\d+) valid=(\S+) sum=(\S+)$`)
	doneRe     = regexp.MustCompile(`^DONE (\S+) cycles=(\d+) mismatches=(\d+) checked=(\d+)$`)
)

// simMismatch is one MISMATCH line from a testbench.
type simMismatch struct {
	Case  string
	Cycle int
	Valid string
	Sum   string
}

// simOutcome is the parsed output of a PE suite simulation.
type simOutcome struct {
	Mismatches []simMismatch     // in simulation order
	Done       map[string][3]int // case -> cycles, mismatch count, outputs checked
	Timeout    bool
}

func parseOutcome(out string) simOutcome {
	o := simOutcome{Done: map[string][3]int{}}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := mismatchRe.FindStringSubmatch(line); m != nil {
			cyc, _ := strconv.Atoi(m[2])
			o.Mismatches = append(o.Mismatches, simMismatch{Case: m[1], Cycle: cyc, Valid: m[3], Sum: m[4]})
		} else if m := doneRe.FindStringSubmatch(line); m != nil {
			cyc, _ := strconv.Atoi(m[2])
			n, _ := strconv.Atoi(m[3])
			chk, _ := strconv.Atoi(m[4])
			o.Done[m[1]] = [3]int{cyc, n, chk}
		} else if line == "TIMEOUT" {
			o.Timeout = true
		}
	}
	return o
}

// ErrIncomplete says a simulation ended without every case reporting.
var ErrIncomplete = errors.New("simulation ended before every case reported DONE")
