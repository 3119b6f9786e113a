package main

import (
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/flow"
)

// shardUsage is the --shard flag's help.
const shardUsage = "run only the i-th of n contiguous slices of the %s (i/n, 1 ≤ i ≤ n); --json then holds what addergen merge needs to combine the n shards"

// outputOnlyFlags name where results go, not what a run computes: shards
// of one run may differ in them.
var outputOnlyFlags = []string{"shard", "json", "output", "out", "keep", "vcd", "quiet", "verbose", "help"}

// runFlags returns the flags that define cmd's run (all but
// outputOnlyFlags), name → value, for a shard's report.
func runFlags(cmd *cobra.Command) map[string]string {
	m := map[string]string{}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !slices.Contains(outputOnlyFlags, f.Name) {
			m[f.Name] = f.Value.String()
		}
	})
	return m
}

// parseShard parses a command's --shard value (usage error on bad input).
func parseShard(s string) (flow.Shard, error) {
	sh, err := flow.ParseShard("--shard", s)
	if err != nil {
		return sh, usageError{err}
	}
	return sh, nil
}

// selectShard narrows set to the images shard sh selects and returns the
// first one's index in the whole set, and the whole set's size.
func selectShard(sh flow.Shard, set *dataset.Set) (start, total int, err error) {
	total = set.X.Shape[0]
	lo, hi, err := sh.Select("--shard", total, "images")
	if err != nil {
		return 0, 0, usageError{err}
	}
	if lo == 0 && hi == total {
		return 0, total, nil
	}
	per := set.X.Len() / total
	set.X = dataset.Tensor{Shape: append([]int{hi - lo}, set.X.Shape[1:]...), Data: set.X.Data[lo*per : hi*per]}
	if set.Labels != nil {
		set.Labels = set.Labels[lo:hi]
	}
	return lo, total, nil
}

// recordOutput notes the shard's --output file (absolute path and
// SHA-256) in its shard info.
func recordOutput(in *flow.Info, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	sum, err := flow.FileSHA256(abs)
	if err != nil {
		return err
	}
	in.Output, in.OutputSHA256 = abs, sum
	return nil
}
