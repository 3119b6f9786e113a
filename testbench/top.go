package testbench

import (
	"fmt"
	"strings"

	"github.com/addergen/addergen/rtl"
)

// topInst is what a bench needs to instantiate a network top: its ports'
// widths, its reset and its parameter overrides.
type topInst struct {
	Top       string
	TopParams string // "#(.WEIGHTS_DIR (\"dir\")) " or empty
	ResetPort string
	AResetN   bool
	InTData   int
	InTMsb    int
	AW        int
}

// newTopInst describes n's top. weightsDir, when not empty, overrides the
// top's WEIGHTS_DIR (the folder of its ROM files).
func newTopInst(n *rtl.Net, weightsDir string) (topInst, error) {
	t := topInst{Top: n.Top, ResetPort: n.ResetPort(), AResetN: n.AResetN, InTData: n.InTData(),
		InTMsb: n.InTData() - 1, AW: rtl.TopAXILAddrBits}
	if weightsDir != "" && n.HasROMs() {
		lit, err := verilogString(weightsDir)
		if err != nil {
			return t, fmt.Errorf("testbench: weights folder: %w", err)
		}
		t.TopParams = fmt.Sprintf("#(.WEIGHTS_DIR (%s)) ", lit)
	}
	return t, nil
}

// verilogString quotes s as a Verilog string literal. It refuses the
// characters a path seldom holds and a literal would need escaped.
func verilogString(s string) (string, error) {
	if strings.ContainsAny(s, "\"\\\n\r\t") {
		return "", fmt.Errorf("%q holds a quote, backslash or control character", s)
	}
	return `"` + s + `"`, nil
}
