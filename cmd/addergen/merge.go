package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/flow"
)

type mergeOpts struct {
	g      *globalOpts
	json   bool
	output string
	out    string
}

func newMergeCmd(g *globalOpts) *cobra.Command {
	o := &mergeOpts{g: g}
	cmd := &cobra.Command{
		Use:   "merge S1.json ... Sn.json [--json] [--output Y.npy] [--out DIR]",
		Short: "Combine the results of a verify, compare or sweep run split with --shard i/n",
		Long: `Combine the JSON reports of the n shards of one verify, compare or sweep run
(each run with --shard i/n --json, on any machines, by any batch system)
into the report one unsharded run gives: the same JSON fields, the same
numbers bit for bit (counts, accuracies, SQNR and errors, design points and
Pareto fronts) and, for verify with --output, the same logits. Measured
rates (images per second, verify's measured cycles per image) are combined
from the shards' measurements.

The shards may be given in any order. merge refuses a missing shard, a
shard given twice, shards of different splits (overlapping slices) and
shards of different runs (their flags differ), naming the files.

--output Y.npy (verify) concatenates the shards' --output logits, found at
the path each shard recorded or beside its JSON file. --out DIR (compare,
sweep) writes the files the command writes into its --out folder. The exit
code is the command's: 1 when the merged verify has mismatches or the
merged compare fails its --max-drop.`,
		Example: `  # four shards of a verify run, then one report and one logits file
  for i in 1 2 3 4; do addergen verify --model q8.json --data mnist --images 1000 --shard $i/4 --json --output y.$i.npy > s$i.json; done
  addergen merge s1.json s2.json s3.json s4.json --json --output y.npy

  # a sharded sweep (each shard's sweep.json), merged into out/sweep
  addergen merge out/sweep-*/sweep.json --out out/sweep`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(args, cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.json, "json", false, "print the merged report as one JSON object, as the command's --json does")
	fl.StringVar(&o.output, "output", "", "verify: write the merged logits (the shards' --output, concatenated) to this .npy")
	fl.StringVar(&o.out, "out", "", "compare, sweep: write the command's report files into this folder")
	return cmd
}

func (o *mergeOpts) run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("merge needs the shards' JSON reports: addergen merge S1.json ... Sn.json")
	}
	if o.out != "" {
		if err := checkOutDir("--out", o.out); err != nil {
			return err
		}
	}
	m, err := flow.ReadShards(args)
	if err != nil {
		return usageError{err}
	}
	if o.output != "" && m.Command != flow.CmdVerify {
		return usagef("--output: %s has no logits to merge (only verify writes --output)", m.Command)
	}
	if o.out != "" && m.Command == flow.CmdVerify {
		return usagef("--out: verify writes no report folder (use --json and --output)")
	}
	switch m.Command {
	case flow.CmdVerify:
		return o.verify(m, stdout)
	case flow.CmdCompare:
		return printCompare(stdout, m.Compare, o.out, o.json, o.g.quiet, verdictErr(m.Compare.Verdict(m.MaxDrop())))
	default: // sweep
		if o.out != "" {
			return writeSweep(stdout, m.Sweep, o.out, o.json, o.g.quiet)
		}
		if o.json {
			j, err := json.MarshalIndent(m.Sweep, "", "  ")
			if err != nil {
				return err
			}
			_, err = stdout.Write(append(j, '\n'))
			return err
		}
		printSweep(stdout, m.Sweep, o.g.quiet)
		return nil
	}
}

func (o *mergeOpts) verify(m *flow.Merged, stdout io.Writer) error {
	rep := m.Verify
	if o.output != "" {
		if rep.Mismatches > 0 {
			return usagef("--output %s: the shards have %d mismatches and wrote no logits", o.output, rep.Mismatches)
		}
		y, err := m.MergeLogits()
		if err != nil {
			return usageError{err}
		}
		if err := dataset.WriteNPY(o.output, y); err != nil {
			return usagef("--output %s: %v", o.output, err)
		}
	}
	if err := writeVerifyNet(stdout, rep, o.json, o.g.quiet); err != nil {
		return err
	}
	if rep.Mismatches > 0 {
		return checkFailed{fmt.Sprintf("verify: %d mismatches (first: %s)", rep.Mismatches, rep.FirstMismatch)}
	}
	return nil
}
