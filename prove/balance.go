package prove

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// A pipelined PE is proven in two parts when its data path is a balanced
// feed-forward pipeline (checkBalanced):
//
//   - sum_o: every path from x_i and w_i to sum_o crosses exactly latency
//     plain registers (no enable, no reset) and touches no control input,
//     so sum_o at cycle t is F(x, w at cycle t - latency), F being the
//     netlist with its registers replaced by wires (a retiming of the
//     combinational logic, Leiserson and Saxe 1991). F against the
//     reference is a combinational miter: iprove, as for an unpipelined PE.
//   - valid_o: the valid-only sequential miter (bmc3 and k-induction over
//     the latency), a circuit of a few flip-flops once the sums are gone.
//
// Measured on the 2-core machine (README, What is proven): K=32 W=8
// unsigned (latency 5) did not finish in 10 minutes by bmc3 and induction
// over the whole miter.

// dffWireMap is a techmap file that replaces every plain $dff by a wire.
const dffWireMap = `module \$dff (CLK, D, Q);
    parameter WIDTH = 1;
    parameter CLK_POLARITY = 1'b1;
    input CLK;
    input [WIDTH-1:0] D;
    output [WIDTH-1:0] Q;
    assign Q = D;
endmodule
`

// Register depths of a netlist bit (balance): >= 0 registers after the
// data inputs; depthAny for constants and undriven bits; depthCtl for bits
// that depend on a control input or an FF with an enable or reset;
// depthMixed for bits that combine different depths.
const (
	depthAny   = -1
	depthCtl   = -2
	depthMixed = -3
)

type ysNetlist struct {
	Modules map[string]struct {
		Ports map[string]struct {
			Direction string `json:"direction"`
			Bits      []any  `json:"bits"`
		} `json:"ports"`
		Cells map[string]struct {
			Type           string            `json:"type"`
			PortDirections map[string]string `json:"port_directions"`
			Connections    map[string][]any  `json:"connections"`
		} `json:"cells"`
	} `json:"modules"`
}

// checkBalanced reads the yosys JSON netlist js (proc; flatten; opt_clean,
// no opt_dff: registers are still $dff) and checks that every bit of the
// module's output port out lies exactly lat plain $dff registers after the
// data input ports, with no cell on the way mixing bits of different
// depth or of a control port (every input port not in data, but clk).
func checkBalanced(js []byte, module string, data []string, out string, lat int) error {
	var nl ysNetlist
	if err := json.Unmarshal(js, &nl); err != nil {
		return fmt.Errorf("yosys netlist: %w", err)
	}
	m, ok := nl.Modules[module]
	if !ok {
		return fmt.Errorf("yosys netlist: no module %s", module)
	}
	depth := map[int]int{}
	bitDepth := func(b any) (int, bool) {
		switch v := b.(type) {
		case float64:
			d, ok := depth[int(v)]
			return d, ok
		default: // "0", "1", "x", "z": constants
			return depthAny, true
		}
	}
	var outBits []any
	for name, p := range m.Ports {
		switch {
		case p.Direction == "output":
			if name == out {
				outBits = p.Bits
			}
			continue
		case name == "clk_i":
			continue
		}
		d := depthCtl
		if slices.Contains(data, name) {
			d = 0
		}
		for _, b := range p.Bits {
			if v, ok := b.(float64); ok {
				depth[int(v)] = d
			}
		}
	}
	if outBits == nil {
		return fmt.Errorf("module %s has no output %s", module, out)
	}
	names := make([]string, 0, len(m.Cells))
	for n := range m.Cells {
		names = append(names, n)
	}
	slices.Sort(names)
	done := map[string]bool{}
	for progress := true; progress; {
		progress = false
		for _, n := range names {
			c := m.Cells[n]
			if done[n] {
				continue
			}
			ready := true
			for port, dir := range c.PortDirections {
				if dir != "input" || (c.Type == "$dff" && port == "CLK") {
					continue
				}
				for _, b := range c.Connections[port] {
					if _, ok := bitDepth(b); !ok {
						ready = false
					}
				}
			}
			if !ready {
				continue
			}
			done[n], progress = true, true
			set := func(bits []any, d int) {
				for _, b := range bits {
					if v, ok := b.(float64); ok {
						depth[int(v)] = d
					}
				}
			}
			switch {
			case c.Type == "$dff":
				for i, b := range c.Connections["D"] {
					d, _ := bitDepth(b)
					if d >= 0 {
						d++
					}
					set(c.Connections["Q"][i:i+1], d)
				}
			case strings.Contains(c.Type, "dff") || strings.Contains(c.Type, "latch") || strings.HasPrefix(c.Type, "$mem"):
				// Registers with an enable or a reset, latches, memories:
				// state the retiming argument does not cover.
				for port, dir := range c.PortDirections {
					if dir == "output" {
						set(c.Connections[port], depthCtl)
					}
				}
			default:
				merged := depthAny
				for port, dir := range c.PortDirections {
					if dir != "input" {
						continue
					}
					for _, b := range c.Connections[port] {
						d, _ := bitDepth(b)
						switch {
						case d == depthAny || d == merged:
						case merged == depthAny:
							merged = d
						default:
							merged = depthMixed
						}
					}
				}
				for port, dir := range c.PortDirections {
					if dir == "output" {
						set(c.Connections[port], merged)
					}
				}
			}
		}
	}
	if len(done) != len(names) {
		return fmt.Errorf("%d of %d cells are in a loop or read an undriven bit: not a feed-forward pipeline", len(names)-len(done), len(names))
	}
	for i, b := range outBits {
		d, ok := bitDepth(b)
		switch {
		case !ok:
			return fmt.Errorf("%s[%d] is undriven", out, i)
		case d == depthAny || d == lat:
		case d == depthMixed:
			return fmt.Errorf("%s[%d] depends on bits of different register depth or on control: not a balanced pipeline", out, i)
		case d == depthCtl:
			return fmt.Errorf("%s[%d] depends on a control input or a register with an enable or reset", out, i)
		default:
			return fmt.Errorf("%s[%d] lies %d registers after the inputs, not %d", out, i, d, lat)
		}
	}
	return nil
}

// balancedPE writes dut into dir, has yosys write its netlist as JSON and
// checks it with checkBalanced for the PE contract's ports.
func balancedPE(ctx context.Context, dir, module string, dut []byte, lat int) error {
	if err := os.WriteFile(filepath.Join(dir, "dut.v"), dut, 0o644); err != nil {
		return fmt.Errorf("prove: %w", err)
	}
	script := fmt.Sprintf("read_verilog -sv dut.v\nhierarchy -check -top %s\nproc\nflatten\nopt_clean\nwrite_json dut.json\n", module)
	if err := os.WriteFile(filepath.Join(dir, "balance.ys"), []byte(script), 0o644); err != nil {
		return fmt.Errorf("prove: %w", err)
	}
	cmd := exec.CommandContext(ctx, "yosys", "-q", "-l", "balance.log", "-s", "balance.ys")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("prove: yosys (the PE's netlist in %s): %v: %s", dir, err, firstLine(out))
	}
	js, err := os.ReadFile(filepath.Join(dir, "dut.json"))
	if err != nil {
		return fmt.Errorf("prove: %w", err)
	}
	return checkBalanced(js, module, []string{"x_i", "w_i"}, "sum_o", lat)
}
