package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/addergen/addergen/prove"
	"github.com/addergen/addergen/rtl"
)

// proveFlags are the flags every prove command shares.
type proveFlags struct {
	json    bool
	timeout time.Duration
	keep    string
}

func (f *proveFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.json, "json", false, "print the result as one JSON object")
	fl.DurationVar(&f.timeout, "timeout", prove.DefaultTimeout, "time limit of one prover run (the result is UNKNOWN when it expires)")
	fl.StringVar(&f.keep, "keep", "", "keep the miter, scripts and prover logs in this directory")
}

func (f *proveFlags) options(sub string) (prove.Options, error) {
	if f.timeout <= 0 {
		return prove.Options{}, usagef("--timeout %s out of range: must be positive", f.timeout)
	}
	o := prove.Options{Timeout: f.timeout}
	if f.keep != "" {
		o.WorkDir = f.keep
		if sub != "" {
			o.WorkDir = f.keep + "/" + sub
		}
	}
	return o, nil
}

// verdict turns the proofs' statuses into the exit: nil when all are
// PROVEN, a failed check (exit 1) otherwise.
func verdict(statuses ...prove.Status) error {
	failed, unknown := 0, 0
	for _, s := range statuses {
		switch s {
		case prove.Failed:
			failed++
		case prove.Unknown:
			unknown++
		}
	}
	if failed+unknown == 0 {
		return nil
	}
	return checkFailed{fmt.Sprintf("prove: %d of %d not proven (%d FAILED, %d UNKNOWN)", failed+unknown, len(statuses), failed, unknown)}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

type proveModelOpts struct {
	g     *globalOpts
	pf    proveFlags
	hw    netHWFlags
	model string
	only  string
}

func newProveCmd(g *globalOpts) *cobra.Command {
	o := &proveModelOpts{g: g}
	cmd := &cobra.Command{
		Use:   "prove --model Q.json [--parallel P] [--lanes L] [--balance] [--target-cycles N] [--family F] [--json]",
		Short: "Prove generated arithmetic equal to a behavioural reference for all inputs",
		Long: `Prove, for all inputs, that generated arithmetic units equal hand-written
behavioural references, with yosys (miter, AIGER) and yosys-abc (iprove for
combinational units; bmc3 and k-induction over the latency for pipelined
PEs, valid_o timing included).

With --model it plans the network as emit-verilog does (same hardware
flags) and proves every distinct L1 PE configuration its adder engines use
and every engine's rescale (x m, + b, round, saturate), then prints a table
of configuration, result and seconds. Subcommands prove one unit.

Each result is PROVEN (the prover said so), FAILED (with a counterexample
re-simulated in Icarus Verilog) or UNKNOWN (a timeout or resource limit,
with the reason). Exit 0 only when everything is PROVEN; 1 otherwise.`,
		Example: `  # every PE and rescale of the LeNet demo design
  addergen prove --model q8.json --parallel 16 --lanes 150 --balance

  # one PE, pipelined, as JSON
  addergen prove pe --lanes 9 --width 8 --pipeline auto --json

  # the rounding step in every mode; the rescales of one layer
  addergen prove round --width 24 --shift 12
  addergen prove rescale --model q8.json --layer conv2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.hw.register(cmd)
	o.pf.register(cmd)
	cmd.Flags().StringVar(&o.model, "model", "", "quantized model file (addergen quantize)")
	cmd.Flags().StringVar(&o.only, "only", "", "prove only the pe or the rescale units")
	cmd.AddCommand(newProvePECmd(g), newProveRescaleCmd(g), newProveRoundCmd(g))
	return cmd
}

// proveTable is the JSON of prove --model and prove rescale.
type proveTable struct {
	Model   string             `json:"model,omitempty"`
	Result  prove.Status       `json:"result"`
	Seconds float64            `json:"seconds"`
	Items   []prove.ItemResult `json:"items"`
}

func (o *proveModelOpts) run(ctx context.Context, stdout, stderr io.Writer) error {
	if o.only != "" && o.only != "pe" && o.only != "rescale" {
		return usagef("--only %q: want pe or rescale", o.only)
	}
	n, items, opts, err := collectModel(o.model, &o.hw, &o.pf)
	if err != nil {
		return err
	}
	var keep []prove.Item
	for _, it := range items {
		if o.only == "" || it.Kind == o.only {
			keep = append(keep, it)
		}
	}
	return runTable(ctx, n, keep, o.model, opts, o.pf, o.g, stdout, stderr)
}

// collectModel checks the flags, loads the quantized model and lists
// its units to prove (prove.Collect), with errors naming the flag or file.
func collectModel(model string, hw *netHWFlags, pf *proveFlags) (*rtl.Net, []prove.Item, prove.Options, error) {
	opts, err := pf.options("")
	if err != nil {
		return nil, nil, opts, err
	}
	cfg, err := hw.netConfig()
	if err != nil {
		return nil, nil, opts, err
	}
	q, err := loadQuantized(model)
	if err != nil {
		return nil, nil, opts, err
	}
	n, items, err := prove.Collect(q, cfg)
	if err != nil {
		return nil, nil, opts, hw.designErr(model, err)
	}
	return n, items, opts, nil
}

// runTable proves items one at a time, printing progress on stderr, then
// the table (or one JSON object) on stdout.
func runTable(ctx context.Context, n *rtl.Net, items []prove.Item, model string, opts prove.Options, pf proveFlags, g *globalOpts,
	stdout, stderr io.Writer) error {
	t := proveTable{Model: model, Result: prove.Proven}
	var statuses []prove.Status
	for i, it := range items {
		o := opts
		if o.WorkDir != "" {
			o.WorkDir = fmt.Sprintf("%s/%02d_%s", opts.WorkDir, i, it.Kind)
		}
		r, err := prove.ProveItem(ctx, n, it, o)
		if err != nil {
			return err
		}
		if !g.quiet && !pf.json {
			fmt.Fprintf(stderr, "%-8s %-7s %7.1f s  %s\n", r.Result, it.Kind, r.Seconds, it.Config)
		}
		t.Items = append(t.Items, r)
		t.Seconds += r.Seconds
		statuses = append(statuses, r.Result)
		if r.Result != prove.Proven && t.Result != prove.Failed {
			t.Result = r.Result
		}
	}
	if pf.json {
		if err := printJSON(stdout, t); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "kind\tconfiguration\tlayers\tresult\tseconds")
		for _, r := range t.Items {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f\n", r.Kind, r.Config, strings.Join(r.Layers, ","), r.Result, r.Seconds)
			if r.Reason != "" {
				fmt.Fprintf(tw, "\t  reason: %s\t\t\t\n", r.Reason)
			}
			if r.Counterexample != "" {
				fmt.Fprintf(tw, "\t  counterexample: %s\t\t\t\n", r.Counterexample)
			}
		}
		tw.Flush()
		fmt.Fprintf(stdout, "%s: %d unit(s) in %.1f s\n", t.Result, len(t.Items), t.Seconds)
	}
	return verdict(statuses...)
}

type provePEOpts struct {
	g  *globalOpts
	pe peFlags
	pf proveFlags
}

func newProvePECmd(g *globalOpts) *cobra.Command {
	o := &provePEOpts{g: g}
	cmd := &cobra.Command{
		Use:   "pe --lanes K --width W [--unsigned] [--pipeline auto|N] [--family F] [--json] [--timeout D]",
		Short: "Prove one L1 PE equal to sum |x - w| for all inputs (valid_o timing included)",
		Long: `Generate the PE and a hand-written behavioural reference (a loop of |x - w|
in 32-bit integers, delayed by the PE's latency), build a miter and prove
that sum_o and valid_o agree for every input sequence after a reset.
Prints PROVEN, FAILED with the input lanes, the expected sum and the sum
the PE gave (re-simulated in Icarus Verilog), or UNKNOWN with the reason.`,
		Example: `  addergen prove pe --lanes 9 --width 8 --pipeline 0
  addergen prove pe --lanes 16 --width 8 --unsigned --pipeline auto --family ice40 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.pe.config()
			if err != nil {
				return err
			}
			opts, err := o.pf.options("")
			if err != nil {
				return err
			}
			r, err := prove.PE(cmd.Context(), c, opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if o.pf.json {
				if err := printJSON(out, r); err != nil {
					return err
				}
			} else {
				sign := "signed"
				if !r.Signed {
					sign = "unsigned"
				}
				fmt.Fprintf(out, "%s  PE K=%d W=%d %s pipeline %s (%s), latency %d: %.1f s (%s)\n",
					r.Result, r.Lanes, r.Width, sign, r.Pipeline, r.Family, r.Latency, r.Seconds, r.Engine)
				if r.Reason != "" {
					fmt.Fprintf(out, "reason: %s\n", r.Reason)
				}
				if r.Counterexample != nil {
					fmt.Fprintf(out, "counterexample: %s\n", r.Counterexample)
				}
			}
			return verdict(r.Result)
		},
	}
	o.pe.register(cmd)
	o.pf.register(cmd)
	return cmd
}

type proveRescaleOpts struct {
	g     *globalOpts
	pf    proveFlags
	hw    netHWFlags
	model string
	layer string
}

func newProveRescaleCmd(g *globalOpts) *cobra.Command {
	o := &proveRescaleOpts{g: g}
	cmd := &cobra.Command{
		Use:   "rescale --model Q.json [--layer NAME] [--parallel P] [--lanes L] [--balance] [--target-cycles N] [--json]",
		Short: "Prove the rescale units of a network against quant/FORMAT.md for all accumulator values",
		Long: `Plan the network as emit-verilog does and prove each engine's rescale
(x m or the shift-add of --no-multipliers, + b, round, saturate), rendered
alone from the engine's own widths and rounding text, equal to
sat(round_r(acc*m + b, sh)) for every accumulator value in the layer's range
and every output channel's m and b. --layer restricts it to one layer.`,
		Example: `  addergen prove rescale --model q8.json
  addergen prove rescale --model q8nm.json --layer conv2 --parallel 4 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, items, opts, err := collectModel(o.model, &o.hw, &o.pf)
			if err != nil {
				return err
			}
			var keep []prove.Item
			for _, it := range items {
				if it.Kind == "rescale" && (o.layer == "" || it.Layers[0] == o.layer) {
					keep = append(keep, it)
				}
			}
			if len(keep) == 0 {
				if o.layer != "" {
					return usagef("--layer %q: no rescale of that name in %s", o.layer, o.model)
				}
				return usagef("--model %s: no layer with a multiply-and-add rescale", o.model)
			}
			return runTable(cmd.Context(), n, keep, o.model, opts, o.pf, o.g, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.hw.register(cmd)
	o.pf.register(cmd)
	cmd.Flags().StringVar(&o.model, "model", "", "quantized model file (addergen quantize)")
	cmd.Flags().StringVar(&o.layer, "layer", "", "prove only this layer's rescale")
	return cmd
}

type proveRoundOpts struct {
	g        *globalOpts
	pf       proveFlags
	width    int
	shift    int
	rounding string
}

// roundTable is the JSON of prove round.
type roundTable struct {
	Result  prove.Status        `json:"result"`
	Seconds float64             `json:"seconds"`
	Units   []*prove.UnitResult `json:"units"`
}

func newProveRoundCmd(g *globalOpts) *cobra.Command {
	o := &proveRoundOpts{g: g}
	cmd := &cobra.Command{
		Use:   "round --width RW --shift SH [--rounding all|half-up|half-even|floor|toward-zero] [--json]",
		Short: "Prove the engines' rounding step against quant/FORMAT.md for all inputs",
		Long: `Render the rounding step the engines print (templates/round.v.tmpl) for
RW-bit signed values shifted right by SH, and prove it equal to
round_r(p, SH) of quant/FORMAT.md for every p that fits RW-1 signed bits
(the engines keep one spare bit for the rounding term), in each mode.`,
		Example: `  addergen prove round --width 24 --shift 12
  addergen prove round --width 40 --shift 25 --rounding half-even --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := o.pf.options("")
			if err != nil {
				return err
			}
			modes := []string{o.rounding}
			if o.rounding == "all" {
				modes = []string{"half-up", "half-even", "floor", "toward-zero"}
			}
			t := roundTable{Result: prove.Proven}
			var statuses []prove.Status
			for _, m := range modes {
				r, err := prove.Round(cmd.Context(), o.width, o.shift, m, opts)
				var fe *rtl.FieldError
				if errors.As(err, &fe) {
					return usagef("--%s: %v", fe.Field, fe.Msg)
				}
				if err != nil {
					return err
				}
				t.Units = append(t.Units, r)
				t.Seconds += r.Seconds
				statuses = append(statuses, r.Result)
				if r.Result != prove.Proven && t.Result != prove.Failed {
					t.Result = r.Result
				}
			}
			out := cmd.OutOrStdout()
			if o.pf.json {
				if err := printJSON(out, t); err != nil {
					return err
				}
			} else {
				for _, r := range t.Units {
					fmt.Fprintf(out, "%s  round %s, %d bits, shift %d: %.1f s\n", r.Result, r.Rounding, r.Width, r.Shift, r.Seconds)
					if r.Reason != "" {
						fmt.Fprintf(out, "reason: %s\n", r.Reason)
					}
					if r.Counterexample != nil {
						fmt.Fprintf(out, "counterexample: %s\n", r.Counterexample)
					}
				}
			}
			return verdict(statuses...)
		},
	}
	o.pf.register(cmd)
	fl := cmd.Flags()
	fl.IntVar(&o.width, "width", 0, "bits of the value rounded (RW, 2..64)")
	fl.IntVar(&o.shift, "shift", 0, "right shift (0..RW-2)")
	fl.StringVar(&o.rounding, "rounding", "all", "rounding mode: all, half-up, half-even, floor or toward-zero")
	_ = cmd.MarkFlagRequired("width")
	_ = cmd.MarkFlagRequired("shift")
	return cmd
}
