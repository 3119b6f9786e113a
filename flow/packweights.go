package flow

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
)

// ErrDesignMismatch is wrapped by PackWeights when the design folder was
// not rendered from the same hardware as the model and config give.
var ErrDesignMismatch = fmt.Errorf("the design differs")

// PackWeights returns the s_axis_w byte stream (rtl.Net.WeightStreamBytes:
// 32-bit beats, little-endian) that loads q's weights and per-channel
// constants into the runtime-weights design of q under c (c.WeightsMode is
// set to "runtime"), and the planned design.
//
// With design set (a folder addergen emit-verilog wrote), the folder's
// Verilog must be exactly what q and c render: filelist.f and every .v
// file it lists equal byte for byte. Only then do the stream's words fit
// the memories, and the datapath widths fit the new values (they are
// derived from the model's ranges). A model quantized again, with other
// weights, usually renders other widths: the error names the first file
// that differs. Errors: planning, ErrDesignMismatch, reading the folder.
func PackWeights(q *quant.Model, c rtl.NetConfig, design string) ([]byte, *rtl.Net, error) {
	c.WeightsMode = rtl.WeightsRuntime
	files, n, err := rtl.EmitNet(q, c)
	if err != nil {
		return nil, nil, err
	}
	if design != "" {
		if err := sameVerilog(files, design); err != nil {
			return nil, nil, err
		}
	}
	b, err := n.WeightStreamBytes()
	if err != nil {
		return nil, nil, err
	}
	return b, n, nil
}

// sameVerilog checks that the folder holds the rendered filelist.f and
// .v files, byte for byte.
func sameVerilog(files map[string][]byte, dir string) error {
	names := []string{"filelist.f"}
	for f := range files {
		if strings.HasSuffix(f, ".v") {
			names = append(names, f)
		}
	}
	sort.Strings(names[1:])
	for _, f := range names {
		have, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrDesignMismatch, unwrapPathErr(err))
		}
		if !bytes.Equal(have, files[f]) {
			return fmt.Errorf("%w: %s is not what this model and hardware config render (emit the design again, or quantize to the same widths)", ErrDesignMismatch, filepath.Join(dir, f))
		}
	}
	return nil
}
