package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/addergen/addergen/flow"
	"github.com/addergen/addergen/rtl"
)

func newEmitVerilogCmd(g *globalOpts) *cobra.Command {
	o := &emitNetOpts{g: g}
	cmd := &cobra.Command{
		Use:   "emit-verilog --model Q.json --out DIR [--parallel P] [--config HW.json]",
		Short: "Generate synthesizable Verilog for a quantized network (or, with pe, one PE)",
		Long: `Generate synthesizable Verilog for a whole quantized network: one module per
file, the weight ROM files ($readmemh, read from the top's WEIGHTS_DIR
parameter, "." by default), filelist.f (compile order), component.xml
(IP-XACT 1685-2009 for Vivado's IP catalog), TOP.core (FuseSoC) and
manifest.json (top, modules, ports, predicted cycles per image, latency, and
the counts that drive cost). The top is an AXI4-Stream slave and master
with an AXI4-Lite status slave (see README). The subcommand pe generates one
L1 processing element.`,
		Example: `  addergen quantize --model lenet5-adder-mnist --calib mnist --bits 8 --out q8.json
  addergen emit-verilog --model q8.json --out build/lenet --parallel 4
  addergen emit-verilog --model q8.json --out build/lenet --config hw.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return groupRunE(cmd, args)
			}
			if o.model == "" {
				return usagef("--model is required (or use the pe subcommand)")
			}
			return o.run(cmd.OutOrStdout())
		},
	}
	o.hw.register(cmd)
	cmd.Flags().StringVar(&o.model, "model", "", "quantized model file (addergen quantize)")
	cmd.Flags().StringVar(&o.out, "out", "", "output directory")
	cmd.Flags().BoolVar(&o.json, "json", false, "print manifest.json")
	cmd.AddCommand(newEmitPECmd(g))
	return cmd
}

type emitNetOpts struct {
	g     *globalOpts
	hw    netHWFlags
	model string
	out   string
	json  bool
}

// run emits the whole-network design.
func (o *emitNetOpts) run(stdout io.Writer) error {
	q, c, err := o.hw.load(o.model)
	if err != nil {
		return err
	}
	files, n, err := flow.Emit(q, c)
	if err != nil {
		return o.hw.designErr(o.model, err)
	}
	if o.out == "" {
		return usagef("--out is required")
	}
	if _, err := writeOutDir("--out", o.out, "emit-verilog", files); err != nil {
		return err
	}
	if o.json {
		_, err := stdout.Write(files["manifest.json"])
		return err
	}
	if !o.g.quiet {
		fmt.Fprintf(stdout, "%s: %d engines, %d files in %s; predicted %d cycles per image, latency about %d cycles; lane utilisation %.1f%%; %d activation buffer bits\n",
			n.Top, len(n.Engines), len(files), o.out, n.PredictedCyclesPerImage, n.LatencyCycles, 100*n.LaneUtilization(), flow.BufferBits(n))
		for _, e := range n.Engines {
			fmt.Fprintf(stdout, "  %-26s %-8s %3d PE(s) x %4d lanes  %7d cycles/image  %8d buffer bits\n", e.Module, e.Kind, e.P, flow.EngineLanes(e), e.ComputeCycles, e.LineBufferBits()+e.FIFOBits())
		}
	}
	return nil
}

type emitPEOpts struct {
	g    *globalOpts
	pe   peFlags
	out  string
	json bool
}

func newEmitPECmd(g *globalOpts) *cobra.Command {
	o := &emitPEOpts{g: g}
	cmd := &cobra.Command{
		Use:   "pe --lanes K --width W [--unsigned] [--pipeline auto|N] [--name NAME] --out DIR",
		Short: "Generate one L1 processing element (adder tree computing sum |x - w|)",
		Long: `Generate one L1 processing element: sum over K lanes of |x_k - w_k|, exact,
on an adder tree whose every operand is sized by its exact range.

Writes DIR/NAME.v and DIR/NAME.json (module, lanes, width, signed, sum_width,
latency). Nothing is written unless every flag is valid.`,
		Example: `  # 16 unsigned 8-bit lanes, pipelined one adder level per stage
  addergen emit-verilog pe --lanes 16 --width 8 --unsigned --out build/pe

  # combinational 9-lane signed PE named l1_pe9
  addergen emit-verilog pe --lanes 9 --width 8 --pipeline 0 --name l1_pe9 --out build/pe`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.OutOrStdout()) },
	}
	o.pe.register(cmd)
	cmd.Flags().StringVar(&o.out, "out", "", "output directory (created if missing)")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the PE description as JSON")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func (o *emitPEOpts) run(stdout io.Writer) error {
	c, err := o.pe.config()
	if err != nil {
		return err
	}
	files, p, err := rtl.EmitPE(c)
	if err != nil {
		return err
	}
	paths, err := writeOutDir("--out", o.out, "emit-verilog pe", files)
	if err != nil {
		return err
	}
	if o.json {
		return json.NewEncoder(stdout).Encode(p.Manifest())
	}
	if !o.g.quiet {
		sign := "signed"
		if !p.Signed {
			sign = "unsigned"
		}
		fmt.Fprintf(stdout, "%s: K=%d W=%d %s, sum width %d, latency %d, %d adders in %d levels\n",
			p.Module, p.Lanes, p.Width, sign, p.SumWidth, p.Latency, p.Adders, p.Levels)
		for _, path := range paths {
			fmt.Fprintf(stdout, "wrote %s\n", path)
		}
	}
	return nil
}
