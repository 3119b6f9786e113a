package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/addergen/addergen/flow"
)

func newPackWeightsCmd(g *globalOpts) *cobra.Command {
	o := &packWeightsOpts{g: g}
	cmd := &cobra.Command{
		Use:   "pack-weights --model Q.json [hardware flags] --out W.bin [--design DIR]",
		Short: "Write the s_axis_w byte stream that loads a model into a runtime-weights design",
		Long: `Write the byte stream that loads a quantized model's weights and per-channel
constants into a design emitted with --weights-mode runtime: for every
memory in load order (manifest.json's weight_memories), every word from
address 0, its bits least significant first in 32-bit beats, each beat
little-endian (s_axis_w_tdata[7:0] first). Send the file's bytes as
s_axis_w beats, tlast on the last; the top lets images in once the load has
ended.

The hardware flags must be the ones the design was emitted with. --design
checks it: the folder's filelist.f and Verilog must be exactly what this
model and these flags render (the datapath widths come from the model's
ranges, so a model quantized with other weights often needs its own
design); the error names the first file that differs.`,
		Example: `  addergen emit-verilog --model q8.json --weights-mode runtime --parallel 4 --out rtl
  addergen pack-weights --model q8.json --parallel 4 --design rtl --out weights.bin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.OutOrStdout(), cmd.ErrOrStderr()) },
	}
	o.hw.register(cmd)
	// The stream is for runtime weights: the flag's default says so.
	if f := cmd.Flags().Lookup("weights-mode"); f != nil {
		f.DefValue = "runtime"
		_ = f.Value.Set("runtime")
	}
	cmd.Flags().StringVar(&o.model, "model", "", "quantized model file (addergen quantize)")
	cmd.Flags().StringVar(&o.out, "out", "", "the stream's bytes (e.g. weights.bin)")
	cmd.Flags().StringVar(&o.design, "design", "", "an emitted runtime-weights design folder to check against")
	cmd.Flags().BoolVar(&o.json, "json", false, "print a summary as one JSON object")
	return cmd
}

type packWeightsOpts struct {
	g      *globalOpts
	hw     netHWFlags
	model  string
	out    string
	design string
	json   bool
}

func (o *packWeightsOpts) run(stdout, stderr io.Writer) error {
	q, c, err := o.hw.load(o.model)
	if err != nil {
		return err
	}
	if o.out == "" {
		return usagef("--out is required")
	}
	if o.hw.mode != "runtime" {
		return usagef("--weights-mode %s: pack-weights packs for runtime weights only", o.hw.mode)
	}
	if o.design == "" && !o.g.quiet {
		fmt.Fprintln(stderr, "addergen: warning: pack-weights without --design: the stream fits only a design emitted from this model with these hardware flags (give --design DIR to check)")
	}
	b, n, err := flow.PackWeights(q, c, o.design)
	if errors.Is(err, flow.ErrDesignMismatch) {
		return usagef("--design %s: %s", o.design, strings.TrimPrefix(err.Error(), flow.ErrDesignMismatch.Error()+": "))
	}
	if err != nil {
		return o.hw.designErr(o.model, err)
	}
	if err := writeFileAtomic(o.out, b); err != nil {
		return usagef("--out %s: %v", o.out, err)
	}
	if o.json {
		return json.NewEncoder(stdout).Encode(map[string]any{"out": o.out, "bytes": len(b), "beats": n.WeightStreamBeats(), "memories": len(n.WMems), "top": n.Top})
	}
	if !o.g.quiet {
		fmt.Fprintf(stdout, "wrote %s: %d bytes, %d s_axis_w beats loading %d memories of %s\n", o.out, len(b), n.WeightStreamBeats(), len(n.WMems), n.Top)
	}
	return nil
}
