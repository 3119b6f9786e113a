// Package prove checks generated arithmetic units against hand-written
// behavioural references for all inputs, with yosys and yosys-abc.
//
// A proof builds a miter: the generated unit (rendered by package rtl, never
// edited) and a reference module written here (ref/*.v and the Go text in
// this package, not produced from templates/), driven by the same inputs,
// with one output "trigger" that is 1 when they disagree on a legal input.
// yosys flattens the miter to an and-inverter graph (techmap; aigmap;
// write_aiger) and yosys-abc proves the trigger constant 0:
//
//   - combinational miters: "iprove" (fraiging + SAT), then, if it aborts or
//     gives up, "dc2; iprove", then "&cec -m";
//   - pipelined PEs that are balanced feed-forward pipelines (balance.go:
//     every path from x_i, w_i to sum_o crosses exactly latency plain
//     registers and no control): sum_o as a combinational miter with the
//     registers made wires, valid_o alone as a sequential one;
//   - other sequential miters (and any pipelined PE whose split proof did
//     not end PROVEN): "bmc3" over latency+3 frames to find a failure, then
//     "ind" (k-induction) with k = latency+2 for the proof, then the same
//     after "dc2". A PE pipeline is feed-forward, so every state after
//     latency cycles is a function of the last latency inputs, and the
//     induction is complete.
//
// Results are PROVEN (the prover said the trigger is unreachable), FAILED
// (the prover gave a counterexample, which is re-simulated with Icarus
// Verilog before it is reported) or UNKNOWN (timeout, resource limit, or an
// unreproduced counterexample; Result.Reason says which). Nothing is reported
// PROVEN unless yosys-abc printed its proof line.
//
// Engines were picked by measurement on the 2-core machine (README, "What is
// proven"): for a combinational K=9 W=8 signed PE, iprove took 27 s against a
// left-to-right reference and 5 s against the pairwise one, &cec -m 54 s,
// dprove 28 s, &fraig did not finish in 120 s; for the pipelined K=9 W=8
// (latency 4) PE, ind -F 5 took 15 s, pdr and dprove did not finish in 100 s.
package prove

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Status is the outcome of one proof.
type Status string

// The three outcomes. Only PROVEN claims anything for all inputs.
const (
	Proven  Status = "PROVEN"
	Failed  Status = "FAILED"
	Unknown Status = "UNKNOWN"
)

// DefaultTimeout bounds one prover run when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Minute

// Options control one proof.
type Options struct {
	// Timeout bounds the prover (yosys-abc) run; zero means DefaultTimeout.
	// When it expires the result is UNKNOWN with the reason "timeout".
	Timeout time.Duration
	// WorkDir, when set, keeps the miter, scripts and logs there (created if
	// missing); otherwise a temporary folder is used and removed.
	WorkDir string
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

// workDir returns the folder to build in and a cleanup function.
func (o Options) workDir() (string, func(), error) {
	if o.WorkDir != "" {
		if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
			return "", nil, fmt.Errorf("prove: work dir: %w", err)
		}
		return o.WorkDir, func() {}, nil
	}
	d, err := os.MkdirTemp("", "addergen-prove-")
	if err != nil {
		return "", nil, fmt.Errorf("prove: work dir: %w", err)
	}
	return d, func() { os.RemoveAll(d) }, nil
}

// engineRun is the outcome of the prover on one AIGER miter.
type engineRun struct {
	status Status
	reason string
	engine string
	cex    map[string][]frameBits // port name -> per-frame bits (LSB first)
	frame  int                    // frame of the failure (0 for combinational)
}

// frameBits is one port's value in one frame, bit i at index i.
type frameBits []bool

// uint returns the bits from lo (n bits) as an unsigned number.
func (f frameBits) uint(lo, n int) uint64 {
	var v uint64
	for i := 0; i < n; i++ {
		if lo+i < len(f) && f[lo+i] {
			v |= 1 << i
		}
	}
	return v
}

// buildAIG writes files into dir and runs yosys to flatten the miter top
// into dir/miter.aig (with its input map dir/miter.map). pre, when not
// empty, is a yosys command run right after flatten (the balanced
// pipeline's register removal).
func buildAIG(ctx context.Context, dir string, files map[string][]byte, top, pre string) error {
	var names []string
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), text, 0o644); err != nil {
			return fmt.Errorf("prove: %w", err)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	script := fmt.Sprintf(`read_verilog -sv %s
hierarchy -check -top %s
proc
flatten
%s
opt_clean
memory
opt
techmap
opt -fast
dffunmap
aigmap
write_aiger -zinit -map miter.map miter.aig
`, strings.Join(names, " "), top, pre)
	if err := os.WriteFile(filepath.Join(dir, "miter.ys"), []byte(script), 0o644); err != nil {
		return fmt.Errorf("prove: %w", err)
	}
	cmd := exec.CommandContext(ctx, "yosys", "-q", "-l", "yosys.log", "-s", "miter.ys")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("prove: yosys (building the miter in %s): %v: %s", dir, err, firstLine(out))
	}
	return nil
}

// attempt is one prover script on miter.aig.
type attempt struct {
	engine string
	script string
}

// attempts lists the prover scripts tried in order, each on what the
// previous left undecided or crashed on (yosys-abc 0.23's iprove aborts on
// some miters, e.g. K=16 W=8 signed, where dc2 first avoids the abort).
// seqLatency < 0 means a combinational miter: iprove, dc2 then iprove,
// then &cec -m. Otherwise bmc3 over latency+3 frames (the miter's first
// cycle is its reset, so a sample's result appears latency+1 cycles after
// the start at the earliest) then k-induction with k = latency+2, and the
// same after dc2.
func attempts(seqLatency int) []attempt {
	if seqLatency < 0 {
		return []attempt{
			{"yosys-abc iprove", "read_aiger miter.aig; strash; iprove; write_cex -n cex.txt"},
			{"yosys-abc dc2; iprove", "read_aiger miter.aig; strash; dc2; iprove; write_cex -n cex.txt"},
			{"yosys-abc &cec -m", "read_aiger miter.aig; strash; &get -n; &cec -m; write_cex -n cex.txt"},
		}
	}
	f, k := seqLatency+3, seqLatency+2
	return []attempt{
		{fmt.Sprintf("yosys-abc bmc3 -F %d, ind -F %d", f, k), fmt.Sprintf("read_aiger miter.aig; strash; bmc3 -F %d; write_cex -n cex.txt; ind -F %d", f, k)},
		{fmt.Sprintf("yosys-abc dc2; bmc3 -F %d, ind -F %d", f, k), fmt.Sprintf("read_aiger miter.aig; strash; dc2; bmc3 -F %d; write_cex -n cex.txt; ind -F %d", f, k)},
	}
}

// runABC runs the prover on dir/miter.aig (see attempts) within timeout
// in all.
func runABC(ctx context.Context, dir string, seqLatency int, timeout time.Duration) (engineRun, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var reasons []string
	for i, a := range attempts(seqLatency) {
		r, undecided, err := runAttempt(ctx, dir, i, a, seqLatency >= 0, timeout)
		if err != nil || !undecided {
			return r, err
		}
		reasons = append(reasons, r.reason)
	}
	return engineRun{status: Unknown, engine: attempts(seqLatency)[0].engine, reason: strings.Join(reasons, "; ")}, nil
}

// runAttempt runs one prover script. undecided is true when the script
// neither proved nor disproved (nor timed out): the next may.
func runAttempt(ctx context.Context, dir string, i int, a attempt, seq bool, timeout time.Duration) (r engineRun, undecided bool, err error) {
	_ = os.Remove(filepath.Join(dir, "cex.txt"))
	cmd := exec.CommandContext(ctx, "yosys-abc", "-c", a.script)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	out, runErr := cmd.CombinedOutput()
	_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("abc%d.log", i)), out, 0o644)
	r = engineRun{engine: a.engine}
	if ctx.Err() == context.DeadlineExceeded {
		r.status, r.reason = Unknown, fmt.Sprintf("timeout: not decided in %s (last engine %s)", timeout, a.engine)
		return r, false, nil
	}
	if runErr != nil {
		var ee *exec.ExitError
		if !errors.As(runErr, &ee) {
			return r, false, fmt.Errorf("prove: yosys-abc: %w", runErr)
		}
		r.status, r.reason = Unknown, fmt.Sprintf("%s exited with %v: %s", a.engine, runErr, lastLine(out))
		return r, true, nil
	}
	text := string(out)
	var proven, failed bool
	if !seq {
		proven = strings.Contains(text, "UNSATISFIABLE") || strings.Contains(text, "Networks are equivalent")
		failed = !proven && (strings.Contains(text, "SATISFIABLE") || strings.Contains(text, "NOT EQUIVALENT"))
	} else {
		failed = strings.Contains(text, "was asserted in frame")
		proven = !failed && strings.Contains(text, "Networks are equivalent")
	}
	switch {
	case proven:
		r.status = Proven
		return r, false, nil
	case failed:
		r.status = Failed
		cex, frame, err := readCex(dir)
		if err != nil {
			return r, false, err
		}
		r.cex, r.frame = cex, frame
		return r, false, nil
	}
	r.status, r.reason = Unknown, fmt.Sprintf("%s undecided: %s", a.engine, lastLine(out))
	return r, true, nil
}

// readCex reads dir/cex.txt (abc's "piNNN@F=v" lines) with dir/miter.map
// (yosys's "input INDEX BIT NAME" lines) into per-port, per-frame bits, and
// returns the last frame (the one where the trigger rose).
func readCex(dir string) (map[string][]frameBits, int, error) {
	type pin struct {
		name string
		bit  int
	}
	pins := map[int]pin{}
	mf, err := os.ReadFile(filepath.Join(dir, "miter.map"))
	if err != nil {
		return nil, 0, fmt.Errorf("prove: %w", err)
	}
	for _, line := range strings.Split(string(mf), "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] == "input" {
			idx, e1 := strconv.Atoi(f[1])
			bit, e2 := strconv.Atoi(f[2])
			if e1 == nil && e2 == nil {
				pins[idx] = pin{f[3], bit}
			}
		}
	}
	cf, err := os.ReadFile(filepath.Join(dir, "cex.txt"))
	if err != nil {
		return nil, 0, fmt.Errorf("prove: the prover reported a failure but wrote no counterexample: %w", err)
	}
	cex := map[string][]frameBits{}
	last := 0
	sc := bufio.NewScanner(bytes.NewReader(cf))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "pi") {
			continue
		}
		var idx, frame, val int
		if _, err := fmt.Sscanf(line, "pi%d@%d=%d", &idx, &frame, &val); err != nil {
			continue
		}
		p, ok := pins[idx]
		if !ok {
			continue // an uninitialized register's value (write_aiger -zinit)
		}
		last = max(last, frame)
		fr := cex[p.name]
		for len(fr) <= frame {
			fr = append(fr, nil)
		}
		for len(fr[frame]) <= p.bit {
			fr[frame] = append(fr[frame], false)
		}
		fr[frame][p.bit] = val == 1
		cex[p.name] = fr
	}
	if len(cex) == 0 {
		return nil, 0, errors.New("prove: the counterexample file names no input")
	}
	return cex, last, nil
}

// unreproduced is the reason of an UNKNOWN whose prover counterexample
// showed no difference when re-simulated: a FAILED needs both.
func unreproduced(dir string) string {
	return "the prover's counterexample did not reproduce in Icarus Verilog (see " + dir + ")"
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[i+1:])
	}
	return s
}
