package train

import (
	"math"

	"github.com/addergen/addergen/model"
)

// bnForward normalises n samples with the batch statistics of each
// channel, keeps x̂ and 1/σ for the backward pass and updates the running
// statistics (momentum cfg.BNMomentum, unbiased variance), as PyTorch's
// BatchNorm2d in training mode. Each channel is reduced by one goroutine
// in sample order.
func (t *Trainer) bnForward(ls *layerState, x []float64, n int) {
	l := ls.l
	C := l.OutC
	hw := ls.size / C
	m := float64(n * hw)
	gamma, beta := l.W.Value.Data, l.B.Value.Data
	rm, rv := l.Mean.Value.Data, l.Var.Value.Data
	mom := t.cfg.BNMomentum
	t.parallel(C, func(_, c int) {
		var sum float64
		for s := range n {
			for _, v := range x[(s*C+c)*hw : (s*C+c+1)*hw] {
				sum += v
			}
		}
		mean := sum / m
		var ss float64
		for s := range n {
			for _, v := range x[(s*C+c)*hw : (s*C+c+1)*hw] {
				d := v - mean
				ss += d * d
			}
		}
		vr := ss / m
		inv := 1 / math.Sqrt(vr+l.Eps)
		ls.invstd[c] = inv
		g, b := gamma[c], beta[c]
		for s := range n {
			o := (s*C + c) * hw
			xs, xh, out := x[o:o+hw], ls.xhat[o:o+hw], ls.out[o:o+hw]
			for j, v := range xs {
				h := (v - mean) * inv
				xh[j] = h
				out[j] = h*g + b
			}
		}
		unbiased := vr
		if m > 1 {
			unbiased = ss / (m - 1)
		}
		rm[c] = (1-mom)*rm[c] + mom*mean
		rv[c] = (1-mom)*rv[c] + mom*unbiased
	})
}

// bnBackward computes dγ, dβ and adds dL/dx to dx (nil: not needed):
//
//	dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)).
func (t *Trainer) bnBackward(ls *layerState, dx []float64, n int) {
	l := ls.l
	C := l.OutC
	hw := ls.size / C
	m := float64(n * hw)
	gamma := l.W.Value.Data
	t.parallel(C, func(_, c int) {
		var sdy, sdyx float64
		for s := range n {
			o := (s*C + c) * hw
			dy, xh := ls.grad[o:o+hw], ls.xhat[o:o+hw]
			for j, v := range dy {
				sdy += v
				sdyx += v * xh[j]
			}
		}
		ls.w.grad[c] = sdyx
		ls.b.grad[c] = sdy
		if dx == nil {
			return
		}
		k := gamma[c] * ls.invstd[c]
		mdy, mdyx := sdy/m, sdyx/m
		for s := range n {
			o := (s*C + c) * hw
			dy, xh, d := ls.grad[o:o+hw], ls.xhat[o:o+hw], dx[o:o+hw]
			for j, v := range dy {
				d[j] += k * (v - mdy - xh[j]*mdyx)
			}
		}
	})
}

// linearForward computes y = W·x (+ b) for samples s0..s1-1.
func linearForward(ls *layerState, x []float64, s0, s1 int) {
	l := ls.l
	in, outN := l.InC, l.OutC
	w := l.W.Value.Data
	for s := s0; s < s1; s++ {
		xs := x[s*in : (s+1)*in]
		ys := ls.out[s*outN : (s+1)*outN]
		for o := range ys {
			v := dot(w[o*in:(o+1)*in], xs)
			if l.Bias {
				v += l.B.Value.Data[o]
			}
			ys[o] = v
		}
	}
}

// linearBackward accumulates dW, db of samples s0..s1-1 into chunk c's
// partial buffers and adds Wᵀ·dy to dx (nil: not needed).
func linearBackward(ls *layerState, x, dx []float64, c, s0, s1 int) {
	l := ls.l
	in, outN := l.InC, l.OutC
	w := l.W.Value.Data
	gw := ls.cw[c]
	clear(gw)
	var gb []float64
	if ls.b != nil {
		gb = ls.cb[c]
		clear(gb)
	}
	for s := s0; s < s1; s++ {
		xs := x[s*in : (s+1)*in]
		dy := ls.grad[s*outN : (s+1)*outN]
		for o, g := range dy {
			axpy(gw[o*in:(o+1)*in], xs, g)
			if gb != nil {
				gb[o] += g
			}
			if dx != nil {
				axpy(dx[s*in:(s+1)*in], w[o*in:(o+1)*in], g)
			}
		}
	}
}

// elemForward computes relu, pools, flatten and add on samples s0..s1-1.
func elemForward(ls *layerState, x, b []float64, s0, s1 int) {
	l := ls.l
	lo, hi := s0*ls.size, s1*ls.size
	switch l.Op {
	case model.OpReLU:
		out := ls.out[lo:hi]
		for j, v := range x[lo:hi] {
			out[j] = max(v, 0)
		}
	case model.OpFlatten:
		copy(ls.out[lo:hi], x[lo:hi])
	case model.OpAdd:
		out := ls.out[lo:hi]
		xb := b[lo:hi]
		for j, v := range x[lo:hi] {
			out[j] = v + xb[j]
		}
	case model.OpMaxPool2d:
		g := ls.g
		for s := s0; s < s1; s++ {
			maxPoolOne(g, x, ls.out, ls.arg, s)
		}
	case model.OpAvgPool2d:
		g := ls.g
		for s := s0; s < s1; s++ {
			avgPoolOne(g, x, ls.out, s)
		}
	}
}

// elemBackward adds the input gradients of relu, pools, flatten and add on
// samples s0..s1-1 into dx (and db, add's second input).
func elemBackward(ls *layerState, x, dx, db []float64, s0, s1 int) {
	l := ls.l
	lo, hi := s0*ls.size, s1*ls.size
	dy := ls.grad[lo:hi]
	switch l.Op {
	case model.OpReLU:
		if dx == nil {
			return
		}
		out, d := ls.out[lo:hi], dx[lo:hi]
		for j, v := range dy {
			if out[j] > 0 {
				d[j] += v
			}
		}
	case model.OpFlatten:
		if dx == nil {
			return
		}
		d := dx[lo:hi]
		for j, v := range dy {
			d[j] += v
		}
	case model.OpAdd:
		for _, d := range [][]float64{dx, db} {
			if d == nil {
				continue
			}
			d = d[lo:hi]
			for j, v := range dy {
				d[j] += v
			}
		}
	case model.OpMaxPool2d:
		if dx == nil {
			return
		}
		arg := ls.arg[lo:hi]
		for j, v := range dy {
			dx[arg[j]] += v
		}
	case model.OpAvgPool2d:
		if dx == nil {
			return
		}
		g := ls.g
		for s := s0; s < s1; s++ {
			avgPoolBackOne(g, ls.grad, dx, s)
		}
	}
}

// maxPoolOne max-pools sample s (no padding, floor mode), recording the
// flat input index of each maximum; the first maximum wins ties, and NaN
// propagates, as in PyTorch.
func maxPoolOne(g *geom, x, out []float64, arg []int32, s int) {
	for c := range g.C {
		base := s*g.inSize + c*g.H*g.W
		ob := s*g.outSize + c*g.np
		for oh := range g.OH {
			for ow := range g.OW {
				best := math.Inf(-1)
				bi := base + (oh*g.S)*g.W + ow*g.S
				for ki := range g.K {
					row := base + (oh*g.S+ki)*g.W + ow*g.S
					for kj, v := range x[row : row+g.K] {
						if v > best || (math.IsNaN(v) && !math.IsNaN(best)) {
							best, bi = v, row+kj
						}
					}
				}
				out[ob+oh*g.OW+ow] = best
				arg[ob+oh*g.OW+ow] = int32(bi)
			}
		}
	}
}

func avgPoolOne(g *geom, x, out []float64, s int) {
	div := float64(g.K * g.K)
	for c := range g.C {
		base := s*g.inSize + c*g.H*g.W
		ob := s*g.outSize + c*g.np
		for oh := range g.OH {
			for ow := range g.OW {
				var acc float64
				for ki := range g.K {
					row := base + (oh*g.S+ki)*g.W + ow*g.S
					for _, v := range x[row : row+g.K] {
						acc += v
					}
				}
				out[ob+oh*g.OW+ow] = acc / div
			}
		}
	}
}

func avgPoolBackOne(g *geom, dy, dx []float64, s int) {
	div := float64(g.K * g.K)
	for c := range g.C {
		base := s*g.inSize + c*g.H*g.W
		ob := s*g.outSize + c*g.np
		for oh := range g.OH {
			for ow := range g.OW {
				v := dy[ob+oh*g.OW+ow] / div
				for ki := range g.K {
					row := dx[base+(oh*g.S+ki)*g.W+ow*g.S:][:g.K]
					for kj := range row {
						row[kj] += v
					}
				}
			}
		}
	}
}
