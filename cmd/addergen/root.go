package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes, documented in the README.
const (
	exitOK     = 0 // everything passed
	exitFailed = 1 // a check failed (a mismatch, an accuracy bound)
	exitUsage  = 2 // bad usage, bad input, or a missing tool: the check could not run
)

// usageError marks an error caused by the user's flags or input files.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// checkFailed marks a run that completed but whose check failed (exit 1).
type checkFailed struct{ msg string }

func (e checkFailed) Error() string { return e.msg }

// groupRunE makes a command that only groups subcommands refuse unknown
// arguments (exit 2) instead of printing help and succeeding.
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unknown command %q for %q (see %s --help)", args[0], cmd.CommandPath(), cmd.CommandPath())
	}
	return cmd.Help()
}

// globalOpts are the flags every command shares.
type globalOpts struct {
	quiet   bool
	verbose bool
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globalOpts{}
	root := &cobra.Command{
		Use:   "addergen",
		Short: "Take a trained AdderNet to verified hardware",
		Long:  "addergen turns trained AdderNets (L1-distance networks) into fixed-point models,\nsynthesizable Verilog, and proofs that the Verilog matches a bit-exact simulator.",
		Example: `  # the whole flow on the built-in trained LeNet-5, report in out/demo
  addergen demo --out out/demo

  # step by step: quantize, compare, emit, verify in Verilator, cost
  addergen quantize --model lenet5-adder-mnist --calib mnist --bits 8 --out q8.json
  addergen compare --model lenet5-adder-mnist --quantized q8.json --data mnist --out cmp
  addergen emit-verilog --model q8.json --out rtl --parallel 8
  addergen verify --model q8.json --rtl rtl --data mnist --images 100 --simulator verilator
  addergen synth pe --lanes 16 --width 8 --unsigned --target xilinx`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().BoolVarP(&g.quiet, "quiet", "q", false, "print only results and errors")
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "print progress details")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	root.AddCommand(
		newEmitVerilogCmd(g),
		newVerifyCmd(g),
		newVersionCmd(g),
		newDemoCmd(g),
		newSynthCmd(g),
		newInferCmd(g),
		newTrainCmd(g),
		newQuantizeCmd(g),
		newCompareCmd(g),
		newSweepCmd(g),
		newMergeCmd(g),
		newProveCmd(g),
		newBuildCmd(g),
		newPackWeightsCmd(g),
	)
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Example = `  # bash, for this shell only
  source <(addergen completion bash)

  # zsh, for every new shell
  addergen completion zsh > "${fpath[1]}/_addergen"`
		for _, sh := range c.Commands() {
			sh.Example = "  addergen completion " + sh.Name() + " > addergen." + sh.Name()
		}
	}
	return root
}

// Execute runs the CLI and returns the process exit code.
func Execute(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "addergen: %v\n", err)
	var ue usageError
	var cf checkFailed
	switch {
	case errors.As(err, &cf):
		return exitFailed
	default:
		_ = errors.As(err, &ue)
		return exitUsage
	}
}
