package flow

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/report"
	"github.com/addergen/addergen/sim"
)

// Commands that take --shard.
const (
	CmdVerify  = "verify"
	CmdCompare = "compare"
	CmdSweep   = "sweep"
)

// Merged is the result of merging the shard reports of one run: exactly
// one of Verify, Compare and Sweep is set, as Command says, and it holds
// no Shard (or State): it is the report one unsharded run prints.
type Merged struct {
	Command string
	Verify  *VerifyReport
	Compare *CompareReport
	Sweep   *SweepReport
	// Files are the shard files in shard order; Infos their shard objects.
	Files []string
	Infos []*Info
}

// ReadShards reads the shard reports at paths (the --json output of
// verify, compare or sweep run with --shard i/n, or sweep's
// DIR/sweep.json) and merges them with MergeReports. Errors are one line
// and name the file.
func ReadShards(paths []string) (*Merged, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("no shard files given: name the JSON reports of the shards (S1.json ... Sn.json)")
	}
	raw := make([][]byte, len(paths))
	infos := make([]*Info, len(paths))
	for k, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", p, unwrapPath(err))
		}
		var head struct {
			Shard *Info `json:"shard"`
		}
		if err := json.Unmarshal(b, &head); err != nil {
			return nil, fmt.Errorf("%s: not a JSON report: %v", p, err)
		}
		raw[k], infos[k] = b, head.Shard
	}
	order, err := CheckCover(paths, infos)
	if err != nil {
		return nil, err
	}
	m := &Merged{Command: infos[0].Command}
	for _, k := range order {
		m.Files = append(m.Files, paths[k])
		m.Infos = append(m.Infos, infos[k])
	}
	strict := func(k int, v any) error {
		d := json.NewDecoder(bytes.NewReader(raw[k]))
		d.DisallowUnknownFields()
		if err := d.Decode(v); err != nil {
			return fmt.Errorf("%s: not a %s report: %v", paths[k], m.Command, err)
		}
		return nil
	}
	switch m.Command {
	case CmdVerify:
		var reps []*VerifyReport
		for _, k := range order {
			r := &VerifyReport{}
			if err := strict(k, r); err != nil {
				return nil, err
			}
			reps = append(reps, r)
		}
		m.Verify, err = MergeVerify(m.Files, reps)
	case CmdCompare:
		var reps []*CompareReport
		for _, k := range order {
			r := &CompareReport{}
			if err := strict(k, r); err != nil {
				return nil, err
			}
			reps = append(reps, r)
		}
		m.Compare, err = MergeCompare(m.Files, reps)
	case CmdSweep:
		var reps []*SweepReport
		for _, k := range order {
			r := &SweepReport{}
			if err := strict(k, r); err != nil {
				return nil, err
			}
			reps = append(reps, r)
		}
		m.Sweep, err = MergeSweep(m.Files, reps)
	default:
		return nil, fmt.Errorf("%s: shard of command %q: merge knows verify, compare and sweep", m.Files[0], m.Command)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// MergeVerify merges the reports of verify's shards, in shard order
// (names name them for errors), into the report of one run over all the
// images. Counts, accuracies, the first mismatch (the first shard's that
// has one; image numbers are global) and the predicted cycles are those
// of one run. The measurements are combined: cycles_per_image is the
// shards' summed output spacing over their summed gaps (each shard's
// stream starts from reset, so it is close to, not bit-equal to, one
// run's), latency_cycles the first shard's, images_per_second the images
// over the summed simulation times.
func MergeVerify(names []string, reps []*VerifyReport) (*VerifyReport, error) {
	out := &VerifyReport{}
	first := reps[0]
	var rtlOK, simOK, span, gaps int
	var secs float64
	labeled := first.State != nil && first.State.RTLCorrect != nil
	for k, r := range reps {
		if r.State == nil || r.Shard == nil {
			return nil, fmt.Errorf("%s: verify report without shard state (run verify with --shard i/n --json)", names[k])
		}
		if r.Images != r.Shard.End-r.Shard.Start {
			return nil, fmt.Errorf("%s: %d images, but shard %d/%d holds %d", names[k], r.Images, r.Shard.Index, r.Shard.Count, r.Shard.End-r.Shard.Start)
		}
		if r.Simulator != first.Simulator || r.PredictedCyclesPerImage != first.PredictedCyclesPerImage {
			return nil, fmt.Errorf("%s ran %s (%d predicted cycles per image), %s %s (%d): shards of different runs",
				names[k], r.Simulator, r.PredictedCyclesPerImage, names[0], first.Simulator, first.PredictedCyclesPerImage)
		}
		if (r.State.RTLCorrect != nil) != labeled || (r.State.SimCorrect != nil) != labeled {
			return nil, fmt.Errorf("%s and %s disagree on whether the data has labels", names[0], names[k])
		}
		out.Images += r.Images
		out.Mismatches += r.Mismatches
		out.Values += r.Values
		if out.FirstMismatch == nil && r.FirstMismatch != nil {
			out.FirstMismatch = r.FirstMismatch
		}
		if labeled {
			rtlOK += *r.State.RTLCorrect
			simOK += *r.State.SimCorrect
		}
		span += r.State.CycleSpan
		gaps += r.State.CycleGaps
		secs += r.State.Seconds
	}
	out.PredictedCyclesPerImage = first.PredictedCyclesPerImage
	out.LatencyCycles = first.LatencyCycles
	out.Simulator = first.Simulator
	out.CyclesPerImage = report.Unmeasured()
	if gaps > 0 {
		out.CyclesPerImage = report.Num(float64(span) / float64(gaps))
	}
	if labeled {
		r, s := report.Ratio(float64(rtlOK), float64(out.Images)), report.Ratio(float64(simOK), float64(out.Images))
		out.RTLTop1, out.SimTop1 = &r, &s
	}
	out.ImagesPerSecond = report.Ratio(float64(out.Images), secs)
	return out, nil
}

// MergeCompare merges the reports of compare's shards, in shard order,
// into the report of one run over all the data (sim.MergeComparisons):
// bit for bit the same figures except the measured throughputs. The
// top-1 drop and the --max-drop verdict are recomputed; Files is empty
// (merge writes its own files).
func MergeCompare(names []string, reps []*CompareReport) (*CompareReport, error) {
	first := reps[0]
	var parts []*sim.Comparison
	for k, r := range reps {
		if r.Comparison == nil || r.Comparison.State == nil {
			return nil, fmt.Errorf("%s: compare report without state (run compare with --shard i/n --json)", names[k])
		}
		if r.Samples != r.Shard.End-r.Shard.Start {
			return nil, fmt.Errorf("%s: %d samples, but shard %d/%d holds %d", names[k], r.Samples, r.Shard.Index, r.Shard.Count, r.Shard.End-r.Shard.Start)
		}
		if r.Name != first.Name || r.Model != first.Model || r.Quantized != first.Quantized || r.Data != first.Data || r.Weights != first.Weights {
			return nil, fmt.Errorf("%s compares %s (%s) on %s, %s %s (%s) on %s: shards of different runs",
				names[k], r.Model, r.Quantized, r.Data, names[0], first.Model, first.Quantized, first.Data)
		}
		parts = append(parts, r.Comparison)
	}
	cmp, err := sim.MergeComparisons(parts)
	if err != nil {
		return nil, fmt.Errorf("%s ...: %v", names[0], err)
	}
	out := &CompareReport{Model: first.Model, Weights: first.Weights, Quantized: first.Quantized, Data: first.Data,
		Name: first.Name, Config: first.Config, Comparison: cmp}
	maxDrop := -1.0
	if v, ok := first.Shard.Flags["max-drop"]; ok {
		if maxDrop, err = strconv.ParseFloat(v, 64); err != nil {
			return nil, fmt.Errorf("%s: shard flag --max-drop %q: %v", names[0], v, err)
		}
	}
	if cmp.Labeled {
		drop := cmp.FloatTop1 - cmp.SimTop1
		out.Top1Drop = &drop
		if maxDrop >= 0 {
			pass := float64(drop) <= maxDrop+1e-9
			out.Pass = &pass
		}
	}
	return out, nil
}

// MaxDrop returns the --max-drop of a compare run (negative: none).
func (m *Merged) MaxDrop() float64 {
	if v, ok := m.Infos[0].Flags["max-drop"]; ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return -1
}

// MergeSweep merges the reports of sweep's shards, in shard order, into
// the report of one sweep over all the points: the points concatenated
// (the order one run gives) with the Pareto fronts marked over all of
// them, and Seconds summed. Files is empty (merge writes its own files).
func MergeSweep(names []string, reps []*SweepReport) (*SweepReport, error) {
	first := reps[0]
	out := *first
	out.Points, out.Seconds, out.Files, out.Shard = nil, 0, nil, nil
	for k, r := range reps {
		same := r.Model == first.Model && r.Weights == first.Weights && r.Name == first.Name && r.Data == first.Data &&
			r.Images == first.Images && r.Calib == first.Calib && r.CalibImages == first.CalibImages && r.Target == first.Target &&
			r.Cost == first.Cost && r.Balance == first.Balance && slices.Equal(r.Lanes, first.Lanes) &&
			slices.Equal(r.Bits, first.Bits) && slices.Equal(r.Parallel, first.Parallel) && sameNum(r.FloatTop1, first.FloatTop1)
		if !same {
			return nil, fmt.Errorf("%s and %s are sweeps of different runs (model, data, grid or float top-1 differ)", names[0], names[k])
		}
		if len(r.Points) != r.Shard.End-r.Shard.Start {
			return nil, fmt.Errorf("%s: %d points, but shard %d/%d holds %d", names[k], len(r.Points), r.Shard.Index, r.Shard.Count, r.Shard.End-r.Shard.Start)
		}
		out.Points = append(out.Points, r.Points...)
		out.Seconds += r.Seconds
	}
	if want := len(first.Bits) * len(first.Parallel) * len(first.Lanes); len(out.Points) != want || first.Shard.Total != want {
		return nil, fmt.Errorf("%s ...: %d points merged, the grid has %d", names[0], len(out.Points), want)
	}
	MarkPareto(out.Points)
	return &out, nil
}

func sameNum(a, b report.Num) bool {
	return a == b || math.IsNaN(float64(a)) && math.IsNaN(float64(b))
}

// FileSHA256 returns the hex SHA-256 of the file at path.
func FileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// MergeLogits concatenates the shards' --output logits (verify) in shard
// order into the logits of one run, [images, classes]. Each shard's file
// is found at its recorded absolute path or, failing that, by its base
// name beside the shard's JSON file (for results copied off the
// machines); its SHA-256 must match the one recorded.
func (m *Merged) MergeLogits() (dataset.Tensor, error) {
	var out dataset.Tensor
	for k, in := range m.Infos {
		if in.Output == "" {
			return out, fmt.Errorf("%s: shard %d/%d wrote no logits (run it with --output)", m.Files[k], in.Index, in.Count)
		}
		path := in.Output
		if _, err := os.Stat(path); err != nil {
			path = filepath.Join(filepath.Dir(m.Files[k]), filepath.Base(in.Output))
		}
		sum, err := FileSHA256(path)
		if err != nil {
			return out, fmt.Errorf("%s: shard %d/%d logits %s: %v", m.Files[k], in.Index, in.Count, in.Output, unwrapPath(err))
		}
		if sum != in.OutputSHA256 {
			return out, fmt.Errorf("%s: shard %d/%d logits %s changed since the shard wrote them (SHA-256 differs)", m.Files[k], in.Index, in.Count, path)
		}
		t, err := dataset.ReadNPY(path)
		if err != nil {
			return out, fmt.Errorf("%s: %v", m.Files[k], err)
		}
		if len(t.Shape) != 2 || t.Shape[0] != in.End-in.Start || k > 0 && t.Shape[1] != out.Shape[1] {
			return out, fmt.Errorf("%s: logits %s have shape %v, want [%d classes]", m.Files[k], path, t.Shape, in.End-in.Start)
		}
		if k == 0 {
			out.Shape = []int{0, t.Shape[1]}
		}
		out.Shape[0] += t.Shape[0]
		out.Data = append(out.Data, t.Data...)
	}
	return out, nil
}
