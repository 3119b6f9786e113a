package testbench

import (
	"bufio"
	"context"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/sim"
)

// AXISFrame is one frame sent into the network top's s_axis: its beats in
// order, each a pixel's channel codes, with TLAST on the last beat only. A
// frame of the image's pixel count is well formed; a shorter one ends
// early (a short frame), a longer one late (a long frame).
type AXISFrame struct {
	Beats [][]int32
}

// AXISOptions control a protocol run (AXIS).
type AXISOptions struct {
	Idle  float64 // probability of an idle cycle on s_axis (0..0.9)
	Stall float64 // probability that m_axis is not ready in a cycle (0..0.9)
	Seed  uint64
	// Inject makes the bench's own s_axis source break the protocol once
	// (TDATA changes while TVALID is high and TREADY low), so that a test
	// sees the checker fire.
	Inject bool
	VCD    bool
	// WeightAbort (runtime weights): beats of an abandoned load (tlast on
	// the last) sent before the weight stream.
	WeightAbort int
}

// AXISResult is the outcome of a protocol run. Problems lists every
// failed check: protocol assertions, output values that differ from the
// simulator, wrong register values; it is empty when the run passed.
type AXISResult struct {
	Simulator  string
	Frames     int
	Outputs    int // m_axis beats compared
	Reads      int // AXI4-Lite reads checked
	ErrorReads int // reads of the ERROR register checked against the frames' errors
	ErrorSeen  int // ERROR reads that found a flag set
	Problems   []string
	Cycles     int
}

// FrameImages returns the images the network computes for frames, as the
// top's input framing forwards them: a frame's first pixels, completed
// with zero pixels when it is short, cut after the image's last pixel when
// it is long. The shape is [len(frames), C, H, W].
func FrameImages(q *quant.Model, frames []AXISFrame) sim.Codes {
	sh := q.Input.Shape
	C, H, W := sh[0], sh[1], sh[2]
	out := sim.Codes{Shape: []int{len(frames), C, H, W}, Data: make([]int32, len(frames)*C*H*W)}
	for f, fr := range frames {
		for p := 0; p < H*W && p < len(fr.Beats); p++ {
			for c := 0; c < C; c++ {
				out.Data[((f*C+c)*H*W)+p] = fr.Beats[p][c]
			}
		}
	}
	return out
}

type axisBench struct {
	topInst
	Beats, Commands, Outputs, Classes, MaxCycles int
	InTData1, OutTData, OutTData1, OutTMsb       int
	AWMsb                                        int
	InFile, CmdFile, LogFile                     string
	IdlePct, StallPct, IdleThresh, StallThresh   int
	SeedHex                                      string
	// Runtime weights: WAbort beats of an abandoned load, then the
	// WBeats-beat stream, both in WFile.
	Runtime        bool
	WFile          string
	WBeats, WAbort int
}

type axilCmd struct {
	op   int // 0 read, 1 write, 2 wait for the stream, 3 idle
	addr int
	data uint32
}

// RunAXIS streams frames through the network top emitted in dir (sources
// in compile order), under AXI-Stream and AXI4-Lite protocol checkers,
// with random TVALID/TREADY, and checks: every checker assertion; every
// m_axis beat against the simulator run on FrameImages(frames); every
// read of the ERROR register against the sticky flags the frames' TLAST
// errors and the bench's write-1-to-clear writes must leave; and the
// other registers (ID, VERSION, image and cycle counters, period,
// geometry).
func RunAXIS(ctx context.Context, simulator, dir string, n *rtl.Net, sources []string, frames []AXISFrame, o AXISOptions) (*AXISResult, error) {
	q := n.Model
	if o.Idle < 0 || o.Idle > 0.9 || o.Stall < 0 || o.Stall > 0.9 {
		return nil, fmt.Errorf("testbench: idle %.2f and stall %.2f must be in 0..0.9", o.Idle, o.Stall)
	}
	if len(frames) == 0 {
		return nil, fmt.Errorf("testbench: no frames")
	}
	C := q.Input.Shape[0]
	pix := n.Pixels()
	imgs := FrameImages(q, frames)
	want, err := sim.RunNet(q, imgs, sim.NetOptions{})
	if err != nil {
		return nil, err
	}
	// The input words {tlast, tdata}, and the beats whose TLAST is wrong.
	var hex strings.Builder
	type badBeat struct{ beat, flag int }
	var bad []badBeat
	beats := 0
	for f, fr := range frames {
		if len(fr.Beats) == 0 {
			return nil, fmt.Errorf("testbench: frame %d has no beats", f)
		}
		for i, b := range fr.Beats {
			if len(b) != C {
				return nil, fmt.Errorf("testbench: frame %d beat %d has %d channels, want %d", f, i, len(b), C)
			}
			last := i == len(fr.Beats)-1
			w, _ := new(big.Int).SetString(packInt64(int64s(b), q.Input.Bits), 16)
			if last {
				w.SetBit(w, n.InTData(), 1)
			}
			fmt.Fprintf(&hex, "%x\n", w)
			switch {
			case last && i < pix-1:
				bad = append(bad, badBeat{beats, rtl.ErrShortFrame})
			case i == pix-1 && !last:
				bad = append(bad, badBeat{beats, rtl.ErrLongFrame})
			}
			beats++
		}
	}
	slow := 1 / ((1 - o.Idle) * (1 - o.Stall))
	est := int(float64(n.PredictedCyclesPerImage*(len(frames)+1)+n.LatencyCycles+beats) * slow)
	// Poll ERROR through the stream, clearing the short-frame flag once
	// halfway; then read every register, clear each flag, read again.
	var cmds []axilCmd
	polls := 48
	for i := 0; i < polls; i++ {
		cmds = append(cmds, axilCmd{op: 0, addr: rtl.RegError}, axilCmd{op: 3, data: uint32(est / polls)})
		if i == polls/2 {
			cmds = append(cmds, axilCmd{op: 1, addr: rtl.RegError, data: rtl.ErrShortFrame})
		}
	}
	cmds = append(cmds, axilCmd{op: 2})
	for _, a := range []int{rtl.RegID, rtl.RegVersion, rtl.RegPixels, rtl.RegClasses, rtl.RegImagesIn, rtl.RegImagesOut,
		rtl.RegPeriod, rtl.RegError, rtl.RegCyclesLo, rtl.RegCyclesHi, rtl.RegCyclesLo, rtl.RegCyclesHi, rtl.RegWeights} {
		cmds = append(cmds, axilCmd{op: 0, addr: a})
	}
	cmds = append(cmds, axilCmd{op: 1, addr: rtl.RegError, data: rtl.ErrShortFrame}, axilCmd{op: 0, addr: rtl.RegError},
		axilCmd{op: 1, addr: rtl.RegError, data: rtl.ErrLongFrame}, axilCmd{op: 0, addr: rtl.RegError},
		axilCmd{op: 1, addr: rtl.RegID, data: 0xffffffff}, axilCmd{op: 0, addr: rtl.RegID},
		axilCmd{op: 0, addr: 0x3C})
	var cmdHex strings.Builder
	for _, c := range cmds {
		fmt.Fprintf(&cmdHex, "%011x\n", uint64(c.op)<<40|uint64(c.addr)<<32|uint64(c.data))
	}
	ti, err := newTopInst(n, "")
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	wBeats := 0
	if n.Runtime {
		hexw, nb, err := weightFile(n, o.WeightAbort)
		if err != nil {
			return nil, err
		}
		files["axis_weights.hex"], wBeats = hexw, nb
		est += nb + o.WeightAbort
	}
	b := axisBench{topInst: ti, Beats: beats, Commands: len(cmds), Outputs: len(frames) * n.OutCount, Classes: n.OutCount,
		MaxCycles: 4*est + 20000, InTData1: n.InTData() + 1, OutTData: n.OutTData, OutTData1: n.OutTData + 1,
		OutTMsb: n.OutTData - 1, AWMsb: rtl.TopAXILAddrBits - 1,
		InFile: "axis_in.hex", CmdFile: "axis_cmd.hex", LogFile: "axis_log.txt",
		IdlePct: int(o.Idle * 100), StallPct: int(o.Stall * 100),
		IdleThresh: int(o.Idle * 256), StallThresh: int(o.Stall * 256),
		SeedHex: fmt.Sprintf("%08x", uint32(o.Seed*2654435761+0x7654321)|1)}
	if n.Runtime {
		b.Runtime, b.WFile, b.WBeats, b.WAbort = true, "axis_weights.hex", wBeats, o.WeightAbort
	}
	tb, err := rtl.Render("tb_axis.v.tmpl", b)
	if err != nil {
		return nil, err
	}
	files["addergen_tb_axis.v"], files[b.InFile], files[b.CmdFile] = tb, []byte(hex.String()), []byte(cmdHex.String())
	if err := WriteFiles(dir, files); err != nil {
		return nil, err
	}
	ro := RunOptions{Top: "addergen_tb_axis", Sources: append(append([]string(nil), sources...), "addergen_tb_axis.v"),
		VCD: o.VCD, Timeout: 20 * time.Minute}
	if o.Inject {
		ro.PlusArgs = []string{"+inject"}
	}
	out, _, err := Run(ctx, simulator, dir, ro)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, b.LogFile))
	if err != nil {
		return nil, fmt.Errorf("%s: no log: %v\n%s", simulator, err, tail(out, 20))
	}
	res := &AXISResult{Simulator: simulator, Frames: len(frames)}
	problem := func(format string, a ...any) {
		if len(res.Problems) < 50 {
			res.Problems = append(res.Problems, fmt.Sprintf(format, a...))
		}
	}
	type rw struct {
		cycle, addr int
		data        uint64
		resp        int
	}
	var accepted []int // cycle of each accepted s_axis beat
	var outs []beat
	var lasts []int
	var reads, writes []rw
	done := false
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "I":
			c, _ := strconv.Atoi(f[1])
			accepted = append(accepted, c)
		case "O":
			c, _ := strconv.Atoi(f[1])
			outs = append(outs, beat{c, f[2]})
			if f[3] == "1" {
				lasts = append(lasts, c)
			}
		case "R", "W":
			c, _ := strconv.Atoi(f[1])
			a, _ := strconv.Atoi(f[2])
			d, err := strconv.ParseUint(f[3], 16, 64)
			if err != nil {
				problem("%s at cycle %d: data %s has unknown bits", f[0], c, f[3])
			}
			r, _ := strconv.Atoi(f[4])
			if f[0] == "R" {
				reads = append(reads, rw{c, a, d, r})
			} else {
				writes = append(writes, rw{c, a, d, r})
			}
		case "ASSERT":
			problem("checker: %s", strings.Join(f, " "))
		case "DONE":
			done = true
			res.Cycles, _ = strconv.Atoi(f[1])
		case "TIMEOUT":
			problem("timeout at cycle %s", f[1])
		}
	}
	if !done {
		problem("the bench did not finish")
	}
	if len(accepted) != beats {
		problem("%d s_axis beats accepted, want %d", len(accepted), beats)
	}
	if len(outs) != len(frames)*n.OutCount || len(lasts) != len(frames) {
		problem("m_axis: %d beats and %d TLASTs, want %d and %d", len(outs), len(lasts), len(frames)*n.OutCount, len(frames))
	}
	for i, bt := range outs {
		if i >= len(want.Output.Data) {
			break
		}
		res.Outputs++
		codes, err := unpackCodes(bt.data, 1, n.OutTData, n.OutSigned)
		if e := int64(want.Output.Data[i]); err != nil || codes[0] != e {
			problem("m_axis frame %d class %d (cycle %d): got %s, want %d", i/n.OutCount, i%n.OutCount, bt.cycle, bt.data, e)
		}
	}
	// The ERROR register: flags set the cycle after the faulty beat's
	// handshake (visible to a read whose AR handshake is later), cleared
	// by a write at its handshake (visible to later reads); a flag raised
	// in the cycle of a clearing write stays set.
	type ev struct {
		at, kind int // kind 0 clear, 1 set
		bits     int
	}
	var evs []ev
	for _, bb := range bad {
		if bb.beat < len(accepted) {
			evs = append(evs, ev{accepted[bb.beat] + 1, 1, bb.flag})
		}
	}
	for _, w := range writes {
		if w.resp != 0 {
			problem("write to 0x%02x: BRESP %d", w.addr, w.resp)
		}
		if w.addr == rtl.RegError {
			evs = append(evs, ev{w.cycle, 0, int(w.data) & 3})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool {
		if evs[i].at != evs[j].at {
			return evs[i].at < evs[j].at
		}
		return evs[i].kind < evs[j].kind
	})
	flags, next := 0, 0
	var cycLo []rw
	for _, r := range reads {
		res.Reads++
		for next < len(evs) && evs[next].at < r.cycle {
			if evs[next].kind == 0 {
				flags &^= evs[next].bits
			} else {
				flags |= evs[next].bits
			}
			next++
		}
		if r.resp != 0 {
			problem("read of 0x%02x: RRESP %d", r.addr, r.resp)
		}
		var exp uint64
		switch r.addr {
		case rtl.RegID:
			exp = uint64(rtl.TopID)
		case rtl.RegVersion:
			exp = uint64(rtl.TopVersion)
		case rtl.RegPixels:
			exp = uint64(pix)
		case rtl.RegClasses:
			exp = uint64(n.OutCount)
		case rtl.RegWeights:
			exp = 1 // ROM weights: loaded, no load seen
			if n.Runtime {
				exp = 1<<16 | uint64(min(o.WeightAbort, 1))<<8 | 1 // one load, the abandoned one
			}
		case rtl.RegImagesIn, rtl.RegImagesOut:
			exp = uint64(len(frames))
		case rtl.RegPeriod:
			if len(lasts) >= 2 {
				exp = uint64(lasts[len(lasts)-1] - lasts[len(lasts)-2])
			}
		case rtl.RegError:
			exp = uint64(flags)
			res.ErrorReads++
			if r.data != 0 {
				res.ErrorSeen++
			}
		case rtl.RegCyclesLo:
			cycLo = append(cycLo, r)
			continue
		case rtl.RegCyclesHi:
			exp = 0
		default:
			exp = 0
		}
		if r.data != exp {
			problem("read of 0x%02x at cycle %d: 0x%08x, want 0x%08x", r.addr, r.cycle, r.data, exp)
		}
	}
	if len(cycLo) != 2 {
		problem("%d reads of CYCLES_LO, want 2", len(cycLo))
	} else if d := cycLo[1].data - cycLo[0].data; d != uint64(cycLo[1].cycle-cycLo[0].cycle) || cycLo[0].data == 0 {
		problem("CYCLES_LO read %d and %d at cycles %d and %d: the counter does not count cycles",
			cycLo[0].data, cycLo[1].data, cycLo[0].cycle, cycLo[1].cycle)
	}
	return res, nil
}

func int64s(v []int32) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}
