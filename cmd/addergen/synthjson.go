package main

import (
	"encoding/json"
	"errors"
	"io"

	"github.com/addergen/addergen/testbench"
)

// toolUsage turns a missing-tool error into a usage error (exit 2, one
// line naming the tool); other errors pass through.
func toolUsage(err error) error {
	var mt *testbench.MissingToolError
	if errors.As(err, &mt) {
		return usagef("%v", mt)
	}
	return err
}

// synthPair is the JSON printed for --op both: L1 and MAC side by side.
type synthPair[R any] struct {
	L1    R        `json:"l1"`
	MAC   R        `json:"mac"`
	Ratio *float64 `json:"ratio"` // MAC LUTs / L1 LUTs
}

// writeSynthJSON prints one report as a JSON object, or (for --op both)
// the pair with the ratio of MAC LUTs to L1 LUTs.
func writeSynthJSON[R any](w io.Writer, reports []R, ratio float64, hasRatio bool) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if len(reports) == 1 {
		return enc.Encode(reports[0])
	}
	p := synthPair[R]{L1: reports[0], MAC: reports[1]}
	if hasRatio {
		p.Ratio = &ratio
	}
	return enc.Encode(p)
}
