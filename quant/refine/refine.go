// Package refine is the part of post-training quantization that needs the
// bit-exact simulator (sim), which package quant cannot import (sim
// imports quant): [BiasCorrect] moves rescale constants b (through
// quant.Model.AdjustB), [AutoBits] chooses per-layer widths, and
// [Quantize] is the whole pipeline of `addergen quantize`. Nothing here
// changes an integer formula.
package refine

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/sim"
)

// BiasReport says what BiasCorrect did.
type BiasReport struct {
	// Images is the number of calibration images used, Runs the passes
	// (groups of adder layers, each measured on a simulation that includes
	// the corrections before it), Layers the adder layers corrected.
	Images, Runs, Layers int
	// MaxShift is the largest |mean accumulator shift| removed from a
	// layer (real accumulator units).
	MaxShift float64
}

// positionStride subsamples output positions: every positionStride-th
// (image, position) pair is measured.
const positionStride = 3

// BiasCorrect is empirical bias correction with the quantized network's
// own activations (Nagel et al., "Data-free quantization through weight
// equalization and bias correction", ICCV 2019, §4.2, empirical variant):
// for every adder layer, the mean per output channel δ of
// s·acc_q − Σ|x − w|, where acc_q is the layer's exact integer accumulator
// on the input codes the simulator produces (so upstream quantization
// error, after upstream corrections, is included) and Σ|x − w| the float
// accumulator on the float net's input, is removed through b
// (b[o] −= round(m[o]·δ[o]/s)).
//
// The adder layers are split, in order, into `runs` consecutive groups;
// each group is measured on one simulator run that already includes the
// corrections of the groups before it. With runs >= the number of adder
// layers this is exactly sequential (each layer sees its corrected
// upstream); fewer runs are cheaper and approximate within a group. The
// simulation is incremental (one full run, then after each group only
// the layers from its first up to the inputs of the next group are run
// again), so exact sequential correction costs about one simulation of
// the images.
//
// q must come from quant.Quantize without its own bias correction
// (Config.BiasPasses > 0 tells Quantize to leave b uncorrected). x holds
// calibration inputs [N, C, H, W] as the float net expects them
// (preprocessed); the first `images` are used (all when images <= 0).
//
// Errors: runs < 1, a shape mismatch, a simulator error, or a correction
// that does not fit (quant.Model.AdjustB).
func BiasCorrect(net *model.Net, q *quant.Model, x dataset.Tensor, images, runs int) (*BiasReport, error) {
	if runs < 1 {
		return nil, fmt.Errorf("refine: runs %d, want >= 1", runs)
	}
	if len(x.Shape) != 4 || x.Shape[0] < 1 {
		return nil, fmt.Errorf("refine: calibration data has shape %v, want [N C H W]", x.Shape)
	}
	n := x.Shape[0]
	if images > 0 {
		n = min(n, images)
	}
	per := x.Len() / x.Shape[0]
	x = dataset.Tensor{Shape: append([]int{n}, x.Shape[1:]...), Data: x.Data[:n*per]}
	fouts, err := net.ForwardAll(x)
	if err != nil {
		return nil, fmt.Errorf("refine: float forward: %w", err)
	}
	codes, _, err := q.EncodeInput(x)
	if err != nil {
		return nil, fmt.Errorf("refine: %w", err)
	}
	in := sim.Codes{Shape: slices.Clone(x.Shape), Data: codes}
	var adders []int
	for i, l := range q.Layers {
		if l.Op == quant.OpAdder2d {
			adders = append(adders, i)
		}
	}
	rep := &BiasReport{Images: n, Layers: len(adders)}
	runs = min(runs, len(adders))
	// One full simulation, then only what a correction makes stale:
	// layers are in topological order, so correcting layer k changes the
	// outputs of layers >= k only. outs[j] is up to date for j <= valid.
	sn, err := sim.Prepare(q)
	if err != nil {
		return nil, err
	}
	full, err := sn.Run(in, sim.NetOptions{KeepAll: true})
	if err != nil {
		return nil, err
	}
	outs := full.Layers
	valid := len(q.Layers) - 1
	for r := range runs {
		group := adders[r*len(adders)/runs : (r+1)*len(adders)/runs]
		need := -1
		for _, li := range group {
			need = max(need, slices.Max(q.Layers[li].InputIndex()))
		}
		if need > valid {
			if sn, err = sim.Prepare(q); err != nil {
				return nil, err
			}
			if err := rerun(sn, in, outs, valid+1, need); err != nil {
				return nil, err
			}
			valid = need
		}
		rep.Runs++
		for _, li := range group {
			l := q.Layers[li]
			ia := l.InputIndex()[0]
			var cx []int32
			var fx dataset.Tensor
			if ia < 0 {
				cx, fx = codes, x
			} else {
				cx = outs[ia].Data
				fi := net.Index(q.Layers[ia].Ref())
				if fi < 0 {
					return nil, fmt.Errorf("refine: layer %s: no float layer %s", l.Name, q.Layers[ia].Ref())
				}
				fx = fouts[fi]
			}
			fl := net.Layer(l.Name)
			if fl == nil {
				return nil, fmt.Errorf("refine: no float layer %s", l.Name)
			}
			in := q.InAct(l, 0)
			delta := accShift(l, fl, cx, fx, in)
			db := make([]int64, len(delta))
			for o, d := range delta {
				rep.MaxShift = max(rep.MaxShift, math.Abs(d))
				db[o] = -int64(math.RoundToEven(float64(l.Rescale.M[o]) * d / chanScale(l, in, o)))
			}
			if err := q.AdjustB(l.Name, db); err != nil {
				return nil, fmt.Errorf("refine: %w", err)
			}
		}
		valid = min(valid, group[0]-1)
	}
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("refine: internal error: %w", err)
	}
	return rep, nil
}

// rerun recomputes, image by image in parallel, the outputs of layers
// from..to (in order) of the prepared net into outs, from the input codes
// in and the outputs of earlier layers already in outs.
func rerun(sn *sim.Net, in sim.Codes, outs []sim.Codes, from, to int) error {
	q := sn.Model()
	N := in.Shape[0]
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range min(N, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= N {
					return
				}
				for j := from; j <= to; j++ {
					var ins [][]int32
					for _, k := range q.Layers[j].InputIndex() {
						if k < 0 {
							ins = append(ins, in.Sample(i))
						} else {
							ins = append(ins, outs[k].Sample(i))
						}
					}
					y, _, err := sn.RunLayer(j, ins...)
					if err != nil {
						mu.Lock()
						firstErr = cmp.Or(firstErr, err)
						mu.Unlock()
						return
					}
					copy(outs[j].Sample(i), y)
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// chanScale returns the scale of output channel o's accumulator of adder
// layer l with input format in: its operands' (quant.Layer.Operand).
func chanScale(l *quant.Layer, in quant.Act, o int) float64 {
	return l.Operand(in, o).Scale
}

// accShift returns, per output channel o of adder layer l, the mean over a
// subsample of (image, output position) of s_o·acc_q − acc_f: acc_q the
// exact integer accumulator (Σ|view(cx) − w| + weight_const, zero padding
// is code 0, view the channel's group view quant.ViewCode) on input codes
// cx of format in, s_o = chanScale, acc_f = Σ|x − w| of the float layer fl
// on float inputs fx [N, C, H, W].
func accShift(l *quant.Layer, fl *model.Layer, cx []int32, fx dataset.Tensor, in quant.Act) []float64 {
	N, C, H, W := fx.Shape[0], fx.Shape[1], fx.Shape[2], fx.Shape[3]
	K, S, P := l.Kernel, l.Stride, l.Padding
	O := l.Channels()
	OH, OW := l.OutShape[1], l.OutShape[2]
	R := C * K * K
	wq := l.Weight.Data
	wf := fl.W.Value.Data
	sum := make([]float64, O)
	cnt := 0
	px := make([]int32, R)
	pf := make([]float64, R)
	for img := range N {
		for oh := range OH {
			for ow := range OW {
				if (img*OH*OW+oh*OW+ow)%positionStride != 0 {
					continue
				}
				for c := range C {
					for i := range K {
						y := oh*S - P + i
						for j := range K {
							xx := ow*S - P + j
							r := (c*K+i)*K + j
							if y >= 0 && y < H && xx >= 0 && xx < W {
								k := ((img*C+c)*H+y)*W + xx
								px[r], pf[r] = cx[k], fx.Data[k]
							} else {
								px[r], pf[r] = 0, 0
							}
						}
					}
				}
				for o := range O {
					var aq int64
					wo := wq[o*R : (o+1)*R]
					g, op := l.Shift(o), l.Operand(in, o)
					for r, v := range px {
						d := quant.ViewCode(int64(v), g, op) - wo[r]
						if d < 0 {
							d = -d
						}
						aq += d
					}
					aq += l.WeightConst[o]
					var af float64
					wfo := wf[o*R : (o+1)*R]
					for r, v := range pf {
						af += math.Abs(v - wfo[r])
					}
					sum[o] += float64(aq)*chanScale(l, in, o) - af
				}
				cnt++
			}
		}
	}
	for o := range sum {
		sum[o] /= float64(max(1, cnt))
	}
	return sum
}
