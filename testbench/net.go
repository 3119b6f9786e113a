package testbench

import (
	"bufio"
	"context"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/addergen/addergen/internal/report"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/sim"
)

// NetRunOptions control a whole-network RTL run.
type NetRunOptions struct {
	Idle  float64 // probability of an idle cycle on the input stream (0..0.9)
	Stall float64 // probability that the output is not ready in a cycle (0..0.9)
	Seed  uint64
	VCD   bool // dump waves.vcd for the whole run
	// DesignDir, when set, is the folder holding the emitted design (its
	// sources and ROM files), an absolute path: the bench is written into
	// and run from dir, reads the sources from DesignDir, and sets the
	// top's WEIGHTS_DIR to it. Empty: the design is in dir.
	DesignDir string
	// WeightAbort > 0 (runtime weights only) first sends that many beats
	// of the weight stream with s_axis_w_tlast on the last of them, a
	// load abandoned early, then the whole stream: the loader must drop
	// the partial load and take the next one whole.
	WeightAbort int
}

// NetMismatch is the first value where the RTL and the simulator differ.
type NetMismatch struct {
	Layer    string `json:"layer"`
	Image    int    `json:"image"`
	Channel  int    `json:"channel"`
	Row      int    `json:"row"`
	Col      int    `json:"col"`
	Expected int64  `json:"expected"`
	Got      string `json:"got"`
	Cycle    int    `json:"cycle"`
	What     string `json:"what,omitempty"` // set for stream-level faults (missing or extra beats)
}

func (m *NetMismatch) String() string {
	if m.What != "" {
		return fmt.Sprintf("layer %s image %d: %s", m.Layer, m.Image, m.What)
	}
	return fmt.Sprintf("layer %s image %d channel %d at (%d,%d), cycle %d: expected %d, got %s",
		m.Layer, m.Image, m.Channel, m.Row, m.Col, m.Cycle, m.Expected, m.Got)
}

// NetResult is the outcome of a network RTL run.
type NetResult struct {
	Simulator     string       `json:"simulator"`
	Images        int          `json:"images"`
	Values        int          `json:"values"` // layer output values compared
	Mismatches    int          `json:"mismatches"`
	FirstMismatch *NetMismatch `json:"first_mismatch"`
	Cycles        int          `json:"cycles"`
	// CyclesPerImage is the mean spacing of the images' last outputs in
	// clock cycles: the steady-state throughput. It needs two images; with
	// one it is not measured (NaN, JSON null), never 0.
	CyclesPerImage report.Num `json:"cycles_per_image"`
	LatencyCycles  int        `json:"latency_cycles"`
	Seconds        float64    `json:"seconds"`
	// ImagesPerSec is simulated images per wall-clock second (null when
	// the run took no measurable time).
	ImagesPerSec report.Num `json:"images_per_second"`
	VCD          string     `json:"vcd,omitempty"`
	// Logits are the RTL's output codes, [Images, classes].
	Logits sim.Codes `json:"-"`
}

type netMonitor struct {
	Stream string
	Index  int
}

// netBench is the view of tb_net.v.tmpl: only what the design fixes, so
// that the bench's source (and a compiled model of it) is the same for
// every run of one design. What changes per run is in netArgs.
type netBench struct {
	topInst
	PixelsPerImage  int
	InBits, OutTMsb int
	InFile, LogFile string
	Monitors        []netMonitor
	// Runtime weights: the bench first streams WBeats beats of WFile
	// (one 32-bit hex beat per line, rtl.Net.WeightStream) into s_axis_w.
	Runtime bool
	WFile   string
	WBeats  int
}

// netArgsFile holds a run's plusargs in the work directory (one per
// line), for DumpAround's rerun.
const netArgsFile = "net_args.txt"

// netArgs returns the bench's plusargs of a run: input beats and m_axis
// beats, the cycle limit, the LFSR seed and the idle and stall thresholds.
func netArgs(beats, outs, maxCycles int, o NetRunOptions) []string {
	return []string{
		fmt.Sprintf("+beats=%d", beats),
		fmt.Sprintf("+outs=%d", outs),
		fmt.Sprintf("+maxcyc=%d", maxCycles),
		fmt.Sprintf("+seed=%08x", uint32(o.Seed*2654435761+0x1234567)|1),
		fmt.Sprintf("+idle=%d", int(o.Idle*256)),
		fmt.Sprintf("+stall=%d", int(o.Stall*256)),
	}
}

// RunNet streams the input codes (a batch [N, C, H, W]) through the
// emitted design in dir (files already written there, sources in
// compile order) and compares every layer's output stream, value by value,
// with the simulator's result want (run with KeepAll).
func RunNet(ctx context.Context, simulator, dir string, n *rtl.Net, sources []string, in sim.Codes, want *sim.NetResult, o NetRunOptions) (*NetResult, error) {
	q := n.Model
	N := in.Shape[0]
	C, H, W := q.Input.Shape[0], q.Input.Shape[1], q.Input.Shape[2]
	var hex strings.Builder
	for img := 0; img < N; img++ {
		x := in.Sample(img)
		vals := make([]int64, C)
		for h := 0; h < H; h++ {
			for w := 0; w < W; w++ {
				for c := 0; c < C; c++ {
					vals[c] = int64(x[(c*H+h)*W+w])
				}
				hex.WriteString(packInt64(vals, q.Input.Bits))
				hex.WriteByte('\n')
			}
		}
	}
	if o.DesignDir != "" && !filepath.IsAbs(o.DesignDir) {
		return nil, fmt.Errorf("testbench: design folder %q is not an absolute path", o.DesignDir)
	}
	ti, err := newTopInst(n, o.DesignDir)
	if err != nil {
		return nil, err
	}
	b := netBench{
		topInst: ti, PixelsPerImage: H * W,
		InBits: n.InBits, OutTMsb: n.OutTData - 1,
		InFile: "net_in.hex", LogFile: "net_log.txt",
	}
	if o.Idle < 0 || o.Idle > 0.9 || o.Stall < 0 || o.Stall > 0.9 {
		return nil, fmt.Errorf("testbench: idle %.2f and stall %.2f must be in 0..0.9", o.Idle, o.Stall)
	}
	slow := 1 / ((1 - o.Idle) * (1 - o.Stall))
	maxCycles := int(float64(n.PredictedCyclesPerImage*(N+2)+n.LatencyCycles)*slow*2) + 10000
	files := map[string][]byte{}
	if n.Runtime {
		hexw, beats, err := weightFile(n, o.WeightAbort)
		if err != nil {
			return nil, err
		}
		b.Runtime, b.WFile, b.WBeats = true, "net_weights.hex", beats
		files[b.WFile] = hexw
		maxCycles += int(float64(beats)*slow*2) + 100
	}
	args := netArgs(N*H*W, N*n.OutCount, maxCycles, o)
	if n.Runtime {
		args = append(args, fmt.Sprintf("+wabort=%d", o.WeightAbort))
	}
	for _, e := range n.Engines {
		b.Monitors = append(b.Monitors, netMonitor{Stream: e.Dst, Index: e.Index})
	}
	tb, err := rtl.Render("tb_net.v.tmpl", b)
	if err != nil {
		return nil, err
	}
	files["addergen_tb_net.v"], files[b.InFile] = tb, []byte(hex.String())
	files[netArgsFile] = []byte(strings.Join(args, "\n") + "\n")
	if err := WriteFiles(dir, files); err != nil {
		return nil, err
	}
	srcs := designSources(o.DesignDir, sources)
	srcs = append(srcs, "addergen_tb_net.v")
	ro := RunOptions{Top: "addergen_tb_net", Sources: srcs, Args: args, VCD: o.VCD, Timeout: 60 * time.Minute,
		Optimize: optimizeNet(dir, srcs, n.PredictedCyclesPerImage, N)}
	out, elapsed, err := Run(ctx, simulator, dir, ro)
	if err != nil {
		return nil, err
	}
	log, err := os.ReadFile(filepath.Join(dir, b.LogFile))
	if err != nil {
		return nil, fmt.Errorf("%s: no log: %v\n%s", simulator, err, tail(out, 20))
	}
	res, err := judgeNet(n, want, string(log), N)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", simulator, err)
	}
	res.Simulator = simulator
	res.Seconds = elapsed.Seconds()
	res.ImagesPerSec = report.Ratio(float64(N), res.Seconds)
	if o.VCD {
		res.VCD = filepath.Join(dir, "waves.vcd")
	}
	return res, nil
}

// Thresholds of optimizeNet, in simulated cycles × bytes of Verilog.
const (
	optimizeWork       = 2e12 // always
	optimizeWorkCached = 5e10 // when compiled models are cached
)

// optimizeNet decides whether a network bench's Verilator model is built
// optimised (RunOptions.Optimize): for more than 4 images (as before), or
// when the run's work, estimated as simulated cycles × bytes of Verilog,
// repays the slower build. Measured on the 2-core machine for ResNet-20
// at 8 bits (951 kB of Verilog, 36,864 cycles per image): the -O3 build
// took 215 s of CPU against about 80 s unoptimised and ran 2 images in
// 2.5 s of CPU against 14.7 s, so without a cache it repays from about 20
// images (work ≈ 7·10¹¹); with the model cache the build is paid once per
// design and reused by every later run (shards, reruns, regressions), so
// a smaller run already counts (ResNet-20 from 2 images, work 7·10¹⁰;
// LeNet-sized test benches of a few images, about 10¹⁰, stay quick to
// build).
func optimizeNet(dir string, sources []string, cyclesPerImage, images int) bool {
	if images > 4 {
		return true
	}
	var bytes int64
	for _, src := range sources {
		if !filepath.IsAbs(src) {
			src = filepath.Join(dir, src)
		}
		if st, err := os.Stat(src); err == nil {
			bytes += st.Size()
		}
	}
	work := float64(cyclesPerImage) * float64(images) * float64(bytes)
	return work >= optimizeWork || VerilatorCacheDir() != "" && work >= optimizeWorkCached
}

// DumpAround reruns the bench already in dir under Icarus with a VCD
// limited to a window of cycles around cycle. Icarus is used whatever
// simulator found the mismatch: the design is the same.
func DumpAround(ctx context.Context, dir string, sources []string, cycle int) (string, error) {
	srcs := append(append([]string(nil), sources...), "addergen_tb_net.v")
	start := max(1, cycle-2000)
	if err := CheckSimulator(Icarus); err != nil {
		return "", err
	}
	argv := append([]string{"iverilog", "-g2005", "-o", "vcd.vvp", "-s", "addergen_tb_net"}, srcs...)
	if out, err := command(ctx, dir, argv); err != nil {
		return "", fmt.Errorf("iverilog: %v\n%s", err, tail(out, 20))
	}
	args, err := os.ReadFile(filepath.Join(dir, netArgsFile))
	if err != nil {
		return "", fmt.Errorf("no plusargs of the run: %v", err)
	}
	argv = append([]string{"vvp", "-n", "vcd.vvp", "+vcd", fmt.Sprintf("+vcd_start=%d", start), fmt.Sprintf("+vcd_stop=%d", cycle+200)}, strings.Fields(string(args))...)
	if out, err := command(ctx, dir, argv); err != nil {
		return "", fmt.Errorf("vvp: %v\n%s", err, tail(out, 20))
	}
	return filepath.Join(dir, "waves.vcd"), nil
}

type beat struct {
	cycle int
	data  string
}

func judgeNet(n *rtl.Net, want *sim.NetResult, log string, N int) (*NetResult, error) {
	q := n.Model
	beats := map[int][]beat{}
	var outs []beat
	var lasts []int
	done, timeout := false, false
	badInput, badWeights := -1, -1
	res := &NetResult{Images: N}
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 4 && f[0] == "L":
			idx, _ := strconv.Atoi(f[1])
			cyc, _ := strconv.Atoi(f[2])
			beats[idx] = append(beats[idx], beat{cyc, f[3]})
		case len(f) == 4 && f[0] == "O":
			cyc, _ := strconv.Atoi(f[1])
			outs = append(outs, beat{cyc, f[2]})
			if f[3] == "1" {
				lasts = append(lasts, cyc)
			}
		case len(f) == 2 && f[0] == "DONE":
			done = true
			res.Cycles, _ = strconv.Atoi(f[1])
		case len(f) == 2 && f[0] == "TIMEOUT":
			timeout = true
		case len(f) == 2 && f[0] == "BADINPUT":
			badInput, _ = strconv.Atoi(f[1])
		case len(f) == 2 && f[0] == "BADWEIGHTS":
			badWeights, _ = strconv.Atoi(f[1])
		}
	}
	if badInput >= 0 {
		return nil, fmt.Errorf("the bench's input file ended at beat %d", badInput)
	}
	if badWeights >= 0 {
		return nil, fmt.Errorf("the bench's weight file ended at beat %d", badWeights)
	}
	if timeout || !done {
		return nil, fmt.Errorf("the design did not deliver all %d logits (timeout=%v): %d of %d output beats", N*n.OutCount, timeout, len(outs), N*n.OutCount)
	}
	mism := func(m *NetMismatch) {
		res.Mismatches++
		if res.FirstMismatch == nil || m.Cycle < res.FirstMismatch.Cycle {
			res.FirstMismatch = m
		}
	}
	for _, e := range n.Engines {
		l := q.Layers[e.Index]
		got := beats[e.Index]
		per := e.OH * e.OW
		exp := want.Layers[e.Index]
		if len(got) != N*per {
			mism(&NetMismatch{Layer: l.Name, Image: min(len(got)/per, N-1), Cycle: lastCycle(got),
				What: fmt.Sprintf("%d beats on the output stream, want %d", len(got), N*per)})
		}
		for bi, bt := range got {
			if bi >= N*per {
				break
			}
			img, pix := bi/per, bi%per
			h, w := pix/e.OW, pix%e.OW
			codes, err := unpackCodes(bt.data, e.COUT, e.BOUT, e.OutSigned)
			xs := exp.Sample(img)
			for c := 0; c < e.COUT; c++ {
				res.Values++
				e := int64(xs[(c*per)+pix])
				if err != nil || codes[c] != e {
					g := "x"
					if err == nil {
						g = strconv.FormatInt(codes[c], 10)
					}
					mism(&NetMismatch{Layer: l.Name, Image: img, Channel: c, Row: h, Col: w, Expected: e, Got: g, Cycle: bt.cycle})
				}
			}
		}
	}
	// The m_axis stream: one class per beat, tlast on the last.
	res.Logits = sim.Codes{Shape: []int{N, n.OutCount}, Data: make([]int32, N*n.OutCount)}
	if len(outs) != N*n.OutCount || len(lasts) != N {
		mism(&NetMismatch{Layer: "m_axis", What: fmt.Sprintf("%d beats and %d tlasts, want %d and %d", len(outs), len(lasts), N*n.OutCount, N)})
	}
	for i, bt := range outs {
		if i >= N*n.OutCount {
			break
		}
		codes, err := unpackCodes(bt.data, 1, n.OutTData, n.OutSigned)
		e := int64(want.Output.Data[i])
		res.Values++
		if err != nil || codes[0] != e {
			g := "x"
			if err == nil {
				g = strconv.FormatInt(codes[0], 10)
			}
			mism(&NetMismatch{Layer: "m_axis", Image: i / n.OutCount, Channel: i % n.OutCount, Expected: e, Got: g, Cycle: bt.cycle})
			continue
		}
		res.Logits.Data[i] = int32(codes[0])
	}
	res.CyclesPerImage = report.Unmeasured()
	if len(lasts) > 1 {
		res.CyclesPerImage = report.Num(float64(lasts[len(lasts)-1]-lasts[0]) / float64(len(lasts)-1))
	}
	if len(lasts) > 0 {
		res.LatencyCycles = lasts[0] - 4
	}
	return res, nil
}

func lastCycle(b []beat) int {
	if len(b) == 0 {
		return 0
	}
	return b[len(b)-1].cycle
}

// unpackCodes splits a hex word into n codes of w bits (code i at bits
// [i*w +: w]), sign-extending when signed.
func unpackCodes(hexs string, n, w int, signed bool) ([]int64, error) {
	v, ok := new(big.Int).SetString(hexs, 16)
	if !ok {
		return nil, fmt.Errorf("unknown bits in %q", hexs)
	}
	out := make([]int64, n)
	mask := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(w)), big.NewInt(1))
	for i := 0; i < n; i++ {
		f := new(big.Int).And(new(big.Int).Rsh(v, uint(i*w)), mask).Uint64()
		x := int64(f)
		if signed && w < 64 && f>>(w-1)&1 == 1 {
			x = int64(f) - int64(1)<<w
		}
		out[i] = x
	}
	return out, nil
}

// packInt64 packs codes into one hex word, code i at bits [i*w +: w].
func packInt64(v []int64, w int) string {
	v32 := make([]int32, len(v))
	for i, x := range v {
		v32[i] = int32(x)
	}
	return packLanes(v32, w)
}

// Top1 returns the arg-max class of each row of logits codes [N, classes]
// (the first on ties).
func Top1(c sim.Codes) []int {
	n, k := c.Shape[0], c.Shape[1]
	out := make([]int, n)
	for i := 0; i < n; i++ {
		row := c.Data[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		out[i] = best
	}
	return out
}

// designSources returns sources as paths from the bench's folder: as they
// are when the design is in that folder (designDir empty), else joined to
// designDir.
func designSources(designDir string, sources []string) []string {
	out := make([]string, len(sources))
	for i, s := range sources {
		if designDir != "" {
			s = filepath.Join(designDir, s)
		}
		out[i] = s
	}
	return out
}

// NetSources returns the Verilog sources of an emitted design in compile
// order (its filelist.f).
func NetSources(files map[string][]byte) []string {
	return strings.Fields(string(files["filelist.f"]))
}

// weightFile returns the bench's weight file for runtime weights (one
// 32-bit hex beat per line): abort beats of an abandoned load, carrying
// other data (the stream's first beats inverted, so that a word it wrote
// would show), then the whole stream (rtl.Net.WeightStream); and the
// stream's length. Errors: the stream's, or abort outside [0, length).
func weightFile(n *rtl.Net, abort int) ([]byte, int, error) {
	beats, err := n.WeightStream()
	if err != nil {
		return nil, 0, err
	}
	if abort < 0 || abort >= len(beats) {
		return nil, 0, fmt.Errorf("testbench: weight abort after %d beats: the stream has %d", abort, len(beats))
	}
	var wh strings.Builder
	for i := range abort {
		fmt.Fprintf(&wh, "%08x\n", ^beats[i])
	}
	for _, v := range beats {
		fmt.Fprintf(&wh, "%08x\n", v)
	}
	return []byte(wh.String()), len(beats), nil
}
