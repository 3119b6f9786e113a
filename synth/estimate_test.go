package synth

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"testing"

	"github.com/addergen/addergen/rtl"
	"gonum.org/v1/gonum/mat"
)

var fit = flag.Bool("fit", false, "refit the estimate's LUT models to testdata/measurements.json and print them")

// measurement is one recorded `addergen synth pe --json` result.
type measurement struct {
	Op       Op     `json:"op"`
	Target   Target `json:"target"`
	Lanes    int    `json:"lanes"`
	Width    int    `json:"width"`
	Signed   bool   `json:"signed"`
	Pipeline string `json:"pipeline"`
	LUTs     int    `json:"luts"`
	FFs      int    `json:"ffs"`
}

func (m measurement) config(t *testing.T) rtl.PEConfig {
	p, err := rtl.ParsePipeline(m.Pipeline)
	if err != nil {
		t.Fatal(err)
	}
	return rtl.PEConfig{Lanes: m.Lanes, Width: m.Width, Signed: m.Signed, Pipeline: p}
}

func loadMeasurements(t *testing.T) []measurement {
	var ms []measurement
	if err := json.Unmarshal(readTestdata(t, "measurements.json"), &ms); err != nil {
		t.Fatal(err)
	}
	if len(ms) < 20 {
		t.Fatalf("only %d measurements", len(ms))
	}
	return ms
}

// TestEstimate checks the analytical estimate against every recorded
// measurement: LUTs and FFs within 15%.
func TestEstimate(t *testing.T) {
	ms := loadMeasurements(t)
	if *fit {
		refit(t, ms)
	}
	worst := 0.0
	for _, m := range ms {
		got, err := Estimate(m.Op, m.Target, m.config(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []struct {
			what      string
			got, want int
		}{{"LUTs", got.LUTs, m.LUTs}, {"FFs", got.FFs, m.FFs}} {
			if q.what == "LUTs" && m.Pipeline != "auto" {
				// The LUT model is fitted to --pipeline auto; other register
				// placements change how yosys merges leaves into adders.
				t.Logf("%s %s K=%d W=%d pipeline %s: LUTs estimated %d, measured %d (not checked)",
					m.Op, m.Target, m.Lanes, m.Width, m.Pipeline, q.got, q.want)
				continue
			}
			e := 0.0
			if q.want != q.got {
				e = math.Abs(float64(q.got-q.want)) / float64(max(q.want, 1))
			}
			worst = max(worst, e)
			if e > 0.15 {
				t.Errorf("%s %s K=%d W=%d pipeline %s: %s estimated %d, measured %d (%.0f%% off)",
					m.Op, m.Target, m.Lanes, m.Width, m.Pipeline, q.what, q.got, q.want, 100*e)
			}
		}
	}
	t.Logf("%d measurements, worst error %.1f%%", len(ms), 100*worst)
}

// TestEstimateFFsExactOnICE40: iCE40 has no shift-register LUTs, so the
// plan's flip-flop count is exact.
func TestEstimateFFsExactOnICE40(t *testing.T) {
	for _, m := range loadMeasurements(t) {
		if m.Target != ICE40 {
			continue
		}
		got, err := Estimate(m.Op, m.Target, m.config(t))
		if err != nil {
			t.Fatal(err)
		}
		if got.FFs != m.FFs {
			t.Errorf("%s K=%d W=%d: FFs %d, measured %d", m.Op, m.Lanes, m.Width, got.FFs, m.FFs)
		}
	}
}

// speedMeasurements are `addergen synth pe --op l1 --no-pnr --json` of the
// iCE40 speed schedule (--pipeline auto --family ice40; unsigned lanes,
// yosys 0.23), kept here beside the recorded area-schedule measurements:
// the LUT model's speed term is fitted to them.
var speedMeasurements = []measurement{
	{Op: L1, Target: ICE40, Lanes: 9, Width: 4, Pipeline: "auto", LUTs: 159, FFs: 161},
	{Op: L1, Target: ICE40, Lanes: 9, Width: 8, Pipeline: "auto", LUTs: 303, FFs: 357},
	{Op: L1, Target: ICE40, Lanes: 16, Width: 4, Pipeline: "auto", LUTs: 282, FFs: 262},
	{Op: L1, Target: ICE40, Lanes: 16, Width: 8, Pipeline: "auto", LUTs: 538, FFs: 562},
	{Op: L1, Target: ICE40, Lanes: 64, Width: 4, Pipeline: "auto", LUTs: 1144, FFs: 1091},
	{Op: L1, Target: ICE40, Lanes: 64, Width: 8, Pipeline: "auto", LUTs: 2168, FFs: 2349},
	{Op: L1, Target: Xilinx, Lanes: 9, Width: 4, Pipeline: "auto", LUTs: 113, FFs: 138},
	{Op: L1, Target: Xilinx, Lanes: 9, Width: 8, Pipeline: "auto", LUTs: 221, FFs: 297},
	{Op: L1, Target: Xilinx, Lanes: 16, Width: 4, Pipeline: "auto", LUTs: 201, FFs: 252},
	{Op: L1, Target: Xilinx, Lanes: 16, Width: 8, Pipeline: "auto", LUTs: 389, FFs: 548},
	{Op: L1, Target: Xilinx, Lanes: 64, Width: 4, Pipeline: "auto", LUTs: 835, FFs: 1035},
	{Op: L1, Target: Xilinx, Lanes: 64, Width: 8, Pipeline: "auto", LUTs: 1599, FFs: 2267},
}

// TestEstimateSpeedSchedule checks the estimate of the iCE40 speed
// schedule against speedMeasurements: LUTs within 5% (the fit is within
// 1.2%), FFs within 15% on xilinx (SRLs) and exact on ice40.
func TestEstimateSpeedSchedule(t *testing.T) {
	worst := 0.0
	for _, m := range speedMeasurements {
		c := m.config(t)
		c.Family = rtl.FamilyICE40
		got, err := Estimate(m.Op, m.Target, c)
		if err != nil {
			t.Fatal(err)
		}
		e := math.Abs(float64(got.LUTs-m.LUTs)) / float64(m.LUTs)
		worst = max(worst, e)
		if e > 0.05 {
			t.Errorf("%s K=%d W=%d: LUTs estimated %d, measured %d (%.1f%% off)", m.Target, m.Lanes, m.Width, got.LUTs, m.LUTs, 100*e)
		}
		ef := math.Abs(float64(got.FFs-m.FFs)) / float64(m.FFs)
		if (m.Target == ICE40 && got.FFs != m.FFs) || ef > 0.15 {
			t.Errorf("%s K=%d W=%d: FFs estimated %d, measured %d", m.Target, m.Lanes, m.Width, got.FFs, m.FFs)
		}
	}
	t.Logf("%d measurements, worst LUT error %.1f%%", len(speedMeasurements), 100*worst)
}

func TestDelayChains(t *testing.T) {
	stages := [][]peRegView{
		{{"a_q1", "a", 8}, {"s_q1", "s", 1}, {"b_q1", "b", 4}},
		{{"a_q2", "a_q1", 8}, {"s_q2", "s_q1", 1}, {"n_q2", "n", 9}},
		{{"a_q3", "a_q2", 8}, {"m_q3", "s_q2", 1}},
		{{"a_q4", "a_q3", 8}},
	}
	// a: 4 stages of 8 bits; s: 3 stages of 1 bit (s_q1, s_q2, m_q3).
	ffs, srls := delayChains(stages)
	if ffs != 4*8+3 || srls != 8+1 {
		t.Errorf("delayChains = %d FFs, %d SRLs; want 35, 9", ffs, srls)
	}
}

func TestEstimateErrors(t *testing.T) {
	if _, err := Estimate(L1, "ecp5", rtl.PEConfig{Lanes: 4, Width: 4}); err == nil {
		t.Error("unknown target accepted")
	}
	if _, err := Estimate("add", Xilinx, rtl.PEConfig{Lanes: 4, Width: 4}); err == nil {
		t.Error("unknown op accepted")
	}
	if _, err := Estimate(L1, Xilinx, rtl.PEConfig{Lanes: 0, Width: 4}); err == nil {
		t.Error("bad config accepted")
	}
}

// refit solves the least-squares LUT models and prints them.
func refit(t *testing.T, ms []measurement) {
	for _, op := range []Op{L1, MAC} {
		for _, tg := range []Target{Xilinx, ICE40} {
			var x [][3]float64
			var y []float64
			for _, m := range ms {
				if m.Op != op || m.Target != tg {
					continue
				}
				f, err := PlanFeatures(op, m.config(t))
				if err != nil {
					t.Fatal(err)
				}
				v := float64(m.LUTs)
				if tg == Xilinx {
					v -= float64(f.SRLs)
				}
				if m.Pipeline != "auto" {
					continue // the LUT model is for the default pipelining
				}
				// Relative least squares: weight each row by 1/measured.
				w := 1 / float64(m.LUTs)
				r := f.lutTerms(op)
				x = append(x, [3]float64{w * r[0], w * r[1], w * r[2]})
				y = append(y, w*v)
			}
			c := solve3(t, x, y)
			fmt.Printf("%s %s: {%.4f, %.4f, %.4f}\n", op, tg, c[0], c[1], c[2])
		}
	}
}

// solve3 is the least-squares solution of x·c = y (gonum's QR).
func solve3(t *testing.T, x [][3]float64, y []float64) [3]float64 {
	t.Helper()
	a := mat.NewDense(len(x), 3, nil)
	for i, r := range x {
		a.SetRow(i, r[:])
	}
	var c mat.VecDense
	if err := c.SolveVec(a, mat.NewVecDense(len(y), y)); err != nil {
		t.Fatalf("least squares: %v", err)
	}
	return [3]float64{c.AtVec(0), c.AtVec(1), c.AtVec(2)}
}
