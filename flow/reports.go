package flow

import (
	"github.com/addergen/addergen/internal/report"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/sim"
	"github.com/addergen/addergen/synth"
	"github.com/addergen/addergen/testbench"
)

// VerifyReport is the JSON printed by addergen verify --model --json.
type VerifyReport struct {
	Images        int                    `json:"images"`
	Mismatches    int                    `json:"mismatches"`
	FirstMismatch *testbench.NetMismatch `json:"first_mismatch"`
	// CyclesPerImage is measured from the spacing of the images' outputs:
	// null with fewer than two images (it cannot be measured).
	CyclesPerImage          report.Num  `json:"cycles_per_image"`
	PredictedCyclesPerImage int         `json:"predicted_cycles_per_image"`
	LatencyCycles           int         `json:"latency_cycles"`
	RTLTop1                 *report.Num `json:"rtl_top1"`
	SimTop1                 *report.Num `json:"sim_top1"`
	Simulator               string      `json:"simulator"`
	Values                  int         `json:"values"`
	ImagesPerSecond         report.Num  `json:"images_per_second"`
	VCD                     string      `json:"vcd,omitempty"`
	// Shard and State are set by a run with --shard only.
	Shard *Info        `json:"shard,omitempty"`
	State *VerifyState `json:"state,omitempty"`
}

// VerifyState is what a verify shard's report holds beyond the report
// for merging: the counts behind the accuracies and the measurements
// behind the rates.
type VerifyState struct {
	// RTLCorrect and SimCorrect count correct top-1 predictions (null
	// without labels).
	RTLCorrect *int `json:"rtl_correct"`
	SimCorrect *int `json:"sim_correct"`
	// CycleSpan is the cycles between the first and last image's last
	// output beat, over CycleGaps = images − 1 spacings.
	CycleSpan int `json:"cycle_span"`
	CycleGaps int `json:"cycle_gaps"`
	// Seconds is the simulation's run time (without the build).
	Seconds float64 `json:"seconds"`
}

// CompareReport is the JSON report of addergen compare (report.json, and
// stdout with --json).
type CompareReport struct {
	Model     string       `json:"model"`
	Weights   string       `json:"weights,omitempty"`
	Quantized string       `json:"quantized"`
	Data      string       `json:"data"`
	Name      string       `json:"name"`
	Config    quant.Config `json:"config"`
	*sim.Comparison
	Top1Drop *report.Num `json:"top1_drop,omitempty"`
	Pass     *bool       `json:"pass,omitempty"`
	Files    []string    `json:"files,omitempty"`
	// Shard is set by a run with --shard only (the comparison's State
	// too).
	Shard *Info `json:"shard,omitempty"`
}

// Counts are a design's resources.
type Counts struct {
	LUTs  int `json:"luts"`
	FFs   int `json:"ffs"`
	BRAMs int `json:"brams"`
	DSPs  int `json:"dsps"`
}

// SweepPoint is one (bits, parallel, lanes) design of a sweep.
// Accuracies are in percent.
type SweepPoint struct {
	Bits     int `json:"bits"`
	Parallel int `json:"parallel"`
	Lanes    int `json:"lanes"`
	// Top1 is the simulator's top-1 on the data; Agreement its top-1
	// agreement with the float model.
	Top1      report.Num `json:"top1"`
	Agreement report.Num `json:"agreement"`
	// The cost the point is ranked by: the estimate, or yosys with --synth.
	Counts
	Cost     string   `json:"cost"`
	Estimate Counts   `json:"estimate"`
	Measured *Counts  `json:"measured,omitempty"`
	FmaxMHz  *float64 `json:"fmax_mhz,omitempty"`
	// From the cycle model (rtl.PlanNet).
	CyclesPerImage int `json:"cycles_per_image"`
	LatencyCycles  int `json:"latency_cycles"`
	PEs            int `json:"pes"`
	ROMBits        int `json:"rom_bits"`
	BufferBits     int `json:"buffer_bits"`
	// Pareto: not dominated in (top-1 up, LUTs down); Pareto3D: not
	// dominated in (top-1 up, LUTs down, cycles per image down).
	Pareto   bool `json:"pareto"`
	Pareto3D bool `json:"pareto_3d"`
}

// SweepReport is sweep.json (and stdout with addergen sweep --json).
type SweepReport struct {
	Model       string       `json:"model"`
	Weights     string       `json:"weights,omitempty"`
	Name        string       `json:"name"`
	Data        string       `json:"data"`
	Images      int          `json:"images"`
	Calib       string       `json:"calib"`
	CalibImages int          `json:"calib_images"`
	Target      synth.Target `json:"target"`
	Cost        string       `json:"cost"` // "estimate" or "yosys"
	Lanes       []int        `json:"lanes"`
	Balance     bool         `json:"balance"`
	Bits        []int        `json:"bits"`
	Parallel    []int        `json:"parallel"`
	FloatTop1   report.Num   `json:"float_top1"`
	Points      []SweepPoint `json:"points"`
	Seconds     float64      `json:"seconds"`
	Files       []string     `json:"files"`
	// Shard is set by a run with --shard only; Points then holds the
	// shard's slice of the points (in the order bits, parallel, lanes).
	Shard *Info `json:"shard,omitempty"`
}

// MarkPareto sets Pareto and Pareto3D on every point.
func MarkPareto(ps []SweepPoint) {
	dominates := func(a, b *SweepPoint, cycles bool) bool {
		if a.Top1 < b.Top1 || a.LUTs > b.LUTs || cycles && a.CyclesPerImage > b.CyclesPerImage {
			return false
		}
		return a.Top1 > b.Top1 || a.LUTs < b.LUTs || cycles && a.CyclesPerImage < b.CyclesPerImage
	}
	for i := range ps {
		ps[i].Pareto, ps[i].Pareto3D = true, true
		for j := range ps {
			if i == j {
				continue
			}
			if dominates(&ps[j], &ps[i], false) {
				ps[i].Pareto = false
			}
			if dominates(&ps[j], &ps[i], true) {
				ps[i].Pareto3D = false
			}
		}
	}
}
