package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/sim"
	"github.com/addergen/addergen/testbench"
)

// Version is addergen's release version.
const Version = "0.1.0"

type versionOpts struct {
	json bool
}

func newVersionCmd(g *globalOpts) *cobra.Command {
	o := &versionOpts{}
	cmd := &cobra.Command{
		Use:   "version [--json]",
		Short: "Print addergen's version, the simulator kernel it runs, and the versions of the external tools it found",
		Example: `  addergen version
  addergen version --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.OutOrStdout()) },
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print one JSON object")
	return cmd
}

// toolVersions maps each external tool to the first line of its version
// output, or "not found".
func toolVersions() [][2]string {
	tools := []struct{ name, flag string }{
		{"iverilog", "-V"}, {"verilator", "--version"}, {"yosys", "-V"}, {"nextpnr-ice40", "--version"},
	}
	var out [][2]string
	for _, t := range tools {
		v := "not found"
		if path, err := exec.LookPath(t.name); err == nil {
			b, _ := exec.Command(path, t.flag).CombinedOutput()
			v = strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
			if v == "" {
				v = "found at " + path + " (no version printed)"
			}
		}
		out = append(out, [2]string{t.name, v})
	}
	return out
}

func (o *versionOpts) run(stdout io.Writer) error {
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = s.Value[:12]
			}
		}
	}
	tv := toolVersions()
	if o.json {
		m := map[string]string{"addergen": Version, "revision": rev, "go": runtime.Version(), "sim_kernel": sim.Kernel(), "float_kernel": model.FloatKernel(),
			"verilator_cache": testbench.VerilatorCacheDir()}
		for _, t := range tv {
			m[t[0]] = t[1]
		}
		return json.NewEncoder(stdout).Encode(m)
	}
	fmt.Fprintf(stdout, "addergen %s", Version)
	if rev != "" {
		fmt.Fprintf(stdout, " (%s)", rev)
	}
	fmt.Fprintf(stdout, ", %s\n", runtime.Version())
	fmt.Fprintf(stdout, "  %-14s %s\n", "sim kernel", sim.Kernel())
	fmt.Fprintf(stdout, "  %-14s %s\n", "float kernel", model.FloatKernel())
	cache := testbench.VerilatorCacheDir()
	if cache == "" {
		cache = "off"
	}
	fmt.Fprintf(stdout, "  %-14s %s\n", "model cache", cache)
	for _, t := range tv {
		fmt.Fprintf(stdout, "  %-14s %s\n", t[0], t[1])
	}
	return nil
}
