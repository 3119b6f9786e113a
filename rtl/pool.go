package rtl

import (
	"fmt"
	"os"
	"strings"

	"github.com/addergen/addergen/quant"
)

// poolStreams reports whether layer l is a max pool that planPool builds:
// a K x K window with stride K (non-overlapping), no padding, over a
// [C, H, W] map, with the output format equal to the input's (max pool
// codes pass through unchanged: quant/FORMAT.md).
func poolStreams(q *quant.Model, l *quant.Layer) bool {
	if strings.Contains(os.Getenv("AG_NOPOOL"), l.Name) {
		return false
	}
	if l.Op != quant.OpMaxPool2d || l.Kernel < 1 || l.Stride != l.Kernel || l.Padding != 0 {
		return false
	}
	in := q.InAct(l, 0)
	return len(q.InShape(l, 0)) == 3 && len(l.OutShape) == 3 && in.Bits == l.Out.Bits && in.Signed == l.Out.Signed
}

// planPool plans a streaming max pool, as FINN's StreamingMaxPool_Batch
// does it: each input pixel is compared once, as it arrives in raster
// order. The K pixels of a window's row reduce into a running maximum h
// (one register of C codes); at the window row's last column h meets the
// line word of its output column, a partial maximum over the window's
// earlier rows (a line of OW words of C codes, read synchronously a cycle
// ahead), which is written back or, at the window's last row, leaves as
// the output pixel. The line holds OW*C*B bits where a window ring holds
// (K-1) rows and K pixels, and more so that consecutive maps overlap:
// the LeNet demo's pool1 holds 14 words of 48 bits instead of 86.
//
// Rows and columns past OH*K and OW*K (floor mode) are read and dropped.
// The engine takes a beat every cycle; only a beat that completes an
// output pixel waits for an output credit (a free FIFO slot), so the pool
// stalls its producer only under backpressure and consecutive maps
// overlap without a stall. (Gating every beat on a credit stalled conv1 of
// the LeNet demo a cycle in two output pixels: 882 cycles an image
// against 784, Verilator.)
func planPool(q *quant.Model, idx int, l *quant.Layer) (*Engine, error) {
	in := q.InAct(l, 0)
	ish := q.InShape(l, 0)
	e := &Engine{Module: "l" + fmt.Sprint(idx) + "_" + sanitize(l.Name), Layer: l.Name, Index: idx,
		Kind: kindMax, Max: true, PoolStream: true,
		BIN: in.Bits, InSigned: in.Signed, BOUT: l.Out.Bits, OutSigned: l.Out.Signed, roms: map[string]string{}}
	e.CIN, e.H, e.W = ish[0], ish[1], ish[2]
	e.COUT, e.OH, e.OW = l.OutShape[0], l.OutShape[1], l.OutShape[2]
	if e.COUT != e.CIN || e.OH != e.H/l.Kernel || e.OW != e.W/l.Kernel || e.OH < 1 || e.OW < 1 {
		return nil, fmt.Errorf("max pool %d x %d stride %d: output shape %v does not follow from input %v",
			l.Kernel, l.Kernel, l.Stride, l.OutShape, ish)
	}
	e.K, e.S, e.KK = l.Kernel, l.Kernel, l.Kernel*l.Kernel
	e.P, e.G, e.U, e.SIMD, e.CF = e.COUT, 1, 1, e.CIN, 1
	e.T, e.TP = e.KK, e.KK // input beats per output pixel
	e.LanesPE = e.SIMD
	e.InBits, e.InMsb = e.CIN*e.BIN, e.CIN*e.BIN-1
	e.OutBits, e.OutMsb = e.COUT*e.BOUT, e.COUT*e.BOUT-1
	e.LineDepth, e.LAW = e.OW, widthFor(e.OW-1)
	e.LCW, e.WMax = widthFor(e.W-1), e.W-1
	e.IHW, e.HMax = widthFor(e.H-1), e.H-1
	e.KW, e.KMax = widthFor(e.K-1), e.K-1
	e.ColIn, e.RowIn = e.OW*e.K, e.OH*e.K
	e.ColTail, e.RowTail = e.ColIn < e.W, e.RowIn < e.H
	e.HW = e.H * e.W
	e.AccW, e.RW = e.BIN, e.BIN
	// From a beat's acceptance: the running maximum and the line read
	// (1), the combined maximum (2), the FIFO write (3); the FIFO shows it
	// the cycle after.
	e.IssueToCapture = 2
	e.Tail = 3
	// Credits: an output every K beats at most, each held Tail+1 cycles
	// from its last beat to leaving the FIFO when the consumer keeps up.
	e.ODepth = max(2, ceilDiv(e.Tail+1, e.K))
	e.OccW = widthFor(e.ODepth)
	e.LoadCycles = e.H * e.W
	e.ComputeCycles = e.H*e.W + e.Tail
	return e, nil
}

// streams reports whether the engine streams its input pixel by pixel
// with no window ring: a residual add or a streaming pool.
func (e *Engine) streams() bool { return e.Add || e.PoolStream }
