package model

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/addergen/addergen/dataset"
)

// Forward runs a batch x of shape [N, C, H, W] through the net and returns
// the last layer's output, [N, ...OutShape]. Images are processed in
// parallel, each by one goroutine, so results do not depend on
// scheduling.
func (n *Net) Forward(x dataset.Tensor) (dataset.Tensor, error) {
	outs, err := n.run(x, false)
	if err != nil {
		return dataset.Tensor{}, err
	}
	return outs[len(outs)-1], nil
}

// ForwardAll is like Forward but returns every layer's output: element i
// is the output of Layers[i], of shape [N, ...Layers[i].OutShape].
func (n *Net) ForwardAll(x dataset.Tensor) ([]dataset.Tensor, error) {
	return n.run(x, true)
}

// scratch holds one worker's buffers and im2col workspace.
type scratch struct {
	// vals are Forward's reused buffers (fastPlan.steps); ForwardAll
	// writes every layer's output to its result instead.
	vals [][]float64
	col  []float64
	xq   []float64 // convFast's padded, stride-phase-split input
	tsum []float64 // the channel sum of xq's planes
	// unpad holds a step.padFor step's output before writePadded.
	unpad []float64
}

func (n *Net) run(x dataset.Tensor, all bool) ([]dataset.Tensor, error) {
	if len(x.Shape) != 4 || !slices.Equal(x.Shape[1:], n.Input) {
		return nil, fmt.Errorf("model: input has shape %v, want [N %d %d %d]", x.Shape, n.Input[0], n.Input[1], n.Input[2])
	}
	N := x.Shape[0]
	inSize := numel(n.Input)
	if N < 0 || len(x.Data) != N*inSize {
		return nil, fmt.Errorf("model: input shape %v holds %d values but Data has %d", x.Shape, N*inSize, len(x.Data))
	}
	if err := n.checkParams(); err != nil {
		return nil, err
	}
	outs := make([]dataset.Tensor, len(n.Layers))
	for i, l := range n.Layers {
		if all || i == len(n.Layers)-1 {
			outs[i] = dataset.Tensor{
				Shape: append([]int{N}, l.OutShape...),
				Data:  make([]float64, N*numel(l.OutShape)),
			}
		}
	}
	pl := n.plan()
	var es []epilogue
	if !all {
		es = pl.epilogues()
	}
	workers := min(runtime.GOMAXPROCS(0), N)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := pl.getScratch(n, all)
			defer pl.putScratch(s, all)
			for {
				i := int(next.Add(1)) - 1
				if i >= N {
					return
				}
				xi := x.Data[i*inSize : (i+1)*inSize]
				if all {
					n.forwardOne(s, pl.convs, xi, outs, i)
					continue
				}
				y := outs[len(outs)-1]
				sz := len(y.Data) / N
				n.forwardSteps(s, pl, es, xi, y.Data[i*sz:(i+1)*sz])
			}
		}()
	}
	wg.Wait()
	return outs, nil
}

func (n *Net) newScratch(all bool, p *fastPlan) *scratch {
	s := &scratch{}
	if !all {
		for _, size := range p.bufSize {
			s.vals = append(s.vals, make([]float64, size))
		}
	}
	maxCol, maxQ, maxT := 0, 0, 0
	for _, l := range n.Layers {
		if l.Op == OpConv2d || l.Op == OpAdder2d {
			maxCol = max(maxCol, colTile*l.InC*l.Kernel*l.Kernel)
			if simdFloat {
				Hq, Wq, n := phaseGeom(l)
				maxQ = max(maxQ, n)
				maxT = max(maxT, l.Stride*l.Stride*Hq*Wq)
			}
		}
	}
	maxUnpad := 0
	for _, st := range p.steps {
		if st.padFor != nil && !all {
			maxUnpad = max(maxUnpad, numel(st.l.OutShape))
		}
	}
	s.unpad = make([]float64, maxUnpad)
	s.col = make([]float64, maxCol)
	s.xq = make([]float64, maxQ)
	s.tsum = make([]float64, maxT)
	return s
}

// forwardOne evaluates every layer on one sample for ForwardAll, each
// into its slice of outs.
// preps[i] is layer i's convPrep when the vector kernels run.
func (n *Net) forwardOne(s *scratch, preps []*convPrep, x []float64, outs []dataset.Tensor, img int) {
	buf := func(i int) []float64 {
		if i < 0 {
			return x
		}
		if outs[i].Data != nil {
			sz := numel(n.Layers[i].OutShape)
			return outs[i].Data[img*sz : (img+1)*sz]
		}
		panic("model: forwardOne without the layer's output")
	}
	for i, l := range n.Layers {
		out := buf(i)
		in := buf(l.inIdx[0])
		switch l.Op {
		case OpConv2d, OpAdder2d:
			if preps != nil {
				var e epilogue
				if l.Bias {
					e.bias = l.B.Value.Data
				}
				convFast(l, preps[i], in, out, s, &e, false)
			} else {
				convLike(l, in, out, s.col)
			}
		case OpBatchNorm2d:
			batchNorm(l, in, out)
		case OpReLU:
			for j, v := range in {
				out[j] = max(v, 0)
			}
		case OpMaxPool2d:
			pool(l, in, out, true)
		case OpAvgPool2d:
			pool(l, in, out, false)
		case OpLinear:
			linear(l, in, out)
		case OpFlatten:
			copy(out, in)
		case OpAdd:
			b := buf(l.inIdx[1])
			for j := range out {
				out[j] = in[j] + b[j]
			}
		}
	}
}

// colTile is the number of output positions unfolded at a time. A tile of
// the unfolded input (colTile × InC·K·K values) and the layer's weights
// stay in cache while every output channel is computed from them.
const colTile = 32

// convLike computes conv2d or adder2d on one sample. The input is unfolded
// tile by tile into col, position-major: col[q·R + r] holds, for output
// position p0+q, the input value under weight element
// r = (c·K + ki)·K + kj, zero where the window overlaps the padding. Each
// output is then a reduction of one col row against one weight row, done
// two positions by two channels at a time.
func convLike(l *Layer, x, out, col []float64) {
	C, H, W := l.InShapes[0][0], l.InShapes[0][1], l.InShapes[0][2]
	OW := l.OutShape[2]
	K, S, P := l.Kernel, l.Stride, l.Padding
	R := C * K * K
	npos := l.OutShape[1] * OW
	w := l.W.Value.Data
	adder := l.Op == OpAdder2d
	pad := func(int) float64 { return 0 }
	if l.PadValue != nil {
		pad = func(c int) float64 { return l.PadValue[c] }
	}
	for p0 := 0; p0 < npos; p0 += colTile {
		tp := min(colTile, npos-p0)
		for q := range tp {
			p := p0 + q
			ih0, iw0 := (p/OW)*S-P, (p%OW)*S-P
			row := col[q*R : (q+1)*R]
			r := 0
			for c := range C {
				xc := x[c*H*W : (c+1)*H*W]
				for ki := range K {
					ih := ih0 + ki
					for kj := range K {
						iw := iw0 + kj
						if ih < 0 || ih >= H || iw < 0 || iw >= W {
							row[r] = pad(c)
						} else {
							row[r] = xc[ih*W+iw]
						}
						r++
					}
				}
			}
		}
		oc := 0
		for ; oc+2 <= l.OutC; oc += 2 {
			w0, w1 := w[oc*R:(oc+1)*R], w[(oc+1)*R:(oc+2)*R]
			o0, o1 := out[oc*npos+p0:][:tp], out[(oc+1)*npos+p0:][:tp]
			q := 0
			for ; q+2 <= tp; q += 2 {
				x0, x1 := col[q*R:(q+1)*R], col[(q+1)*R:(q+2)*R]
				if adder {
					o0[q], o1[q], o0[q+1], o1[q+1] = absDiff2x2(x0, x1, w0, w1)
				} else {
					o0[q], o1[q], o0[q+1], o1[q+1] = dot2x2(x0, x1, w0, w1)
				}
			}
			if q < tp {
				x0 := col[q*R : (q+1)*R]
				if adder {
					o0[q], o1[q] = absDiff1(x0, w0), absDiff1(x0, w1)
				} else {
					o0[q], o1[q] = dot1(x0, w0), dot1(x0, w1)
				}
			}
		}
		if oc < l.OutC {
			w0 := w[oc*R : (oc+1)*R]
			o0 := out[oc*npos+p0:][:tp]
			for q := range tp {
				if adder {
					o0[q] = absDiff1(col[q*R:(q+1)*R], w0)
				} else {
					o0[q] = dot1(col[q*R:(q+1)*R], w0)
				}
			}
		}
	}
	if l.Bias {
		b := l.B.Value.Data
		for oc := range l.OutC {
			o := out[oc*npos : (oc+1)*npos]
			for q := range o {
				o[q] += b[oc]
			}
		}
	}
}

// absDiff2x2 returns −Σ|x_i − w_j| for the four pairs (x0,w0), (x0,w1),
// (x1,w0), (x1,w1); all slices have the same length.
func absDiff2x2(x0, x1, w0, w1 []float64) (s00, s01, s10, s11 float64) {
	x1, w0, w1 = x1[:len(x0)], w0[:len(x0)], w1[:len(x0)]
	for r, a := range x0 {
		b, u, v := x1[r], w0[r], w1[r]
		s00 += math.Abs(a - u)
		s01 += math.Abs(a - v)
		s10 += math.Abs(b - u)
		s11 += math.Abs(b - v)
	}
	return -s00, -s01, -s10, -s11
}

// absDiff1 returns −Σ|x_i − w_i|.
func absDiff1(x, w []float64) float64 {
	w = w[:len(x)]
	var s0, s1 float64
	r := 0
	for ; r+2 <= len(x); r += 2 {
		s0 += math.Abs(x[r] - w[r])
		s1 += math.Abs(x[r+1] - w[r+1])
	}
	if r < len(x) {
		s0 += math.Abs(x[r] - w[r])
	}
	return -(s0 + s1)
}

// dot2x2 is absDiff2x2 for products: Σ x_i·w_j for the four pairs.
func dot2x2(x0, x1, w0, w1 []float64) (s00, s01, s10, s11 float64) {
	x1, w0, w1 = x1[:len(x0)], w0[:len(x0)], w1[:len(x0)]
	for r, a := range x0 {
		b, u, v := x1[r], w0[r], w1[r]
		s00 += a * u
		s01 += a * v
		s10 += b * u
		s11 += b * v
	}
	return s00, s01, s10, s11
}

// dot1 returns Σ x_i·w_i.
func dot1(x, w []float64) float64 {
	w = w[:len(x)]
	var s0, s1 float64
	r := 0
	for ; r+2 <= len(x); r += 2 {
		s0 += x[r] * w[r]
		s1 += x[r+1] * w[r+1]
	}
	if r < len(x) {
		s0 += x[r] * w[r]
	}
	return s0 + s1
}

// batchNorm applies eval-mode batch normalisation to one sample, in the
// order PyTorch's reference formula uses: (x − mean)/√(var+eps)·γ + β.
func batchNorm(l *Layer, x, out []float64) {
	C := l.OutC
	hw := len(x) / C
	g, b := l.W.Value.Data, l.B.Value.Data
	mean, vr := l.Mean.Value.Data, l.Var.Value.Data
	for c := range C {
		inv := 1 / math.Sqrt(vr[c]+l.Eps)
		xs, os := x[c*hw:(c+1)*hw], out[c*hw:(c+1)*hw]
		bnRow(xs, os, mean[c], inv, g[c], b[c])
	}
}

// pool computes max or average pooling without padding on one sample.
func pool(l *Layer, x, out []float64, isMax bool) {
	C, H, W := l.InShapes[0][0], l.InShapes[0][1], l.InShapes[0][2]
	OH, OW := l.OutShape[1], l.OutShape[2]
	K, S := l.Kernel, l.Stride
	div := float64(K * K)
	if isMax && K == 2 {
		maxPool2(x, out, C, H, W, OH, OW, S)
		return
	}
	for c := range C {
		xc := x[c*H*W : (c+1)*H*W]
		oc := out[c*OH*OW : (c+1)*OH*OW]
		for oh := range OH {
			for ow := range OW {
				var acc float64
				if isMax {
					acc = math.Inf(-1)
				}
				for ki := range K {
					row := xc[(oh*S+ki)*W+ow*S:][:K]
					for _, v := range row {
						if isMax {
							if v > acc || math.IsNaN(v) {
								acc = v
							}
						} else {
							acc += v
						}
					}
				}
				if !isMax {
					acc /= div
				}
				oc[oh*OW+ow] = acc
			}
		}
	}
}

// maxPool2 is pool for max pooling with a 2×2 kernel, branch-free: Go's
// max is NaN if any argument is (as pool's "a NaN wins" rule) and ranks
// +0 above −0 (pool keeps the first of two zeros; the values compare
// equal). The data-dependent branches of the generic loop mispredicted
// often enough to make LeNet's two pools 18 % of its forward time
// (profiled 2026-11-30 on this machine).
func maxPool2(x, out []float64, C, H, W, OH, OW, S int) {
	for c := range C {
		xc := x[c*H*W : (c+1)*H*W]
		oc := out[c*OH*OW : (c+1)*OH*OW]
		for oh := range OH {
			r0 := xc[oh*S*W : (oh*S+2)*W]
			r1 := r0[W:]
			o := oc[oh*OW : (oh+1)*OW]
			for ow := range o {
				j := ow * S
				o[ow] = max(max(r0[j], r0[j+1]), max(r1[j], r1[j+1]))
			}
		}
	}
}

// linear computes W·x (+ b) on one flat sample.
func linear(l *Layer, x, out []float64) {
	w := l.W.Value.Data
	in := l.InC
	for o := range l.OutC {
		wo := w[o*in : (o+1)*in]
		var acc float64
		for j, v := range x[:in] {
			acc += wo[j] * v
		}
		if l.Bias {
			acc += l.B.Value.Data[o]
		}
		out[o] = acc
	}
}
