package train

import (
	"math"

	"github.com/addergen/addergen/model"
)

// The conv2d and adder2d kernels work on im2col tiles: the columns of a
// tile are consecutive (sample, output position) pairs of one chunk, and
// row r = (c·K + ki)·K + kj of the column matrix matches the flattened
// filter layout [OutC][InC][K][K].

// setup fills the column bookkeeping of the tile starting at column q0 of
// the chunk that starts at sample s0.
func (g *geom) setup(sc *scratch, s0, q0, tq int) {
	for q := range tq {
		gq := q0 + q
		s := s0 + gq/g.np
		p := gq % g.np
		oh, ow := p/g.OW, p%g.OW
		sc.xoff[q] = s * g.inSize
		sc.ih0[q] = oh*g.S - g.P
		sc.iw0[q] = ow*g.S - g.P
		sc.ooff[q] = s*g.outSize + p
	}
}

// im2col unfolds the tile's columns of x into sc.col (zero padding).
func (g *geom) im2col(sc *scratch, x []float64, tq int) {
	xoff, ih0, iw0 := sc.xoff[:tq], sc.ih0[:tq], sc.iw0[:tq]
	r := 0
	for c := range g.C {
		coff := c * g.H * g.W
		for ki := range g.K {
			for kj := range g.K {
				row := sc.col[r*tq : (r+1)*tq]
				for q := range row {
					ih, iw := ih0[q]+ki, iw0[q]+kj
					if uint(ih) < uint(g.H) && uint(iw) < uint(g.W) {
						row[q] = x[xoff[q]+coff+ih*g.W+iw]
					} else {
						row[q] = 0
					}
				}
				r++
			}
		}
	}
}

// col2im adds the tile's column gradients sc.dcol into dx.
func (g *geom) col2im(sc *scratch, dx []float64, tq int) {
	xoff, ih0, iw0 := sc.xoff[:tq], sc.ih0[:tq], sc.iw0[:tq]
	r := 0
	for c := range g.C {
		coff := c * g.H * g.W
		for ki := range g.K {
			for kj := range g.K {
				row := sc.dcol[r*tq : (r+1)*tq]
				for q, v := range row {
					ih, iw := ih0[q]+ki, iw0[q]+kj
					if uint(ih) < uint(g.H) && uint(iw) < uint(g.W) {
						dx[xoff[q]+coff+ih*g.W+iw] += v
					}
				}
				r++
			}
		}
	}
}

// convForward computes samples s0..s1-1 of a conv2d or adder2d layer.
func (t *Trainer) convForward(ls *layerState, x []float64, s0, s1 int, sc *scratch) {
	g := ls.g
	l := ls.l
	adder := l.Op == model.OpAdder2d
	w := l.W.Value.Data
	var bias []float64
	if l.Bias {
		bias = l.B.Value.Data
	}
	total := (s1 - s0) * g.np
	for q0 := 0; q0 < total; q0 += tile {
		tq := min(tile, total-q0)
		g.setup(sc, s0, q0, tq)
		g.im2col(sc, x, tq)
		ooff := sc.ooff[:tq]
		for oc := range g.OC {
			acc := sc.acc[oc*tq : (oc+1)*tq]
			clear(acc)
			wo := w[oc*g.R : (oc+1)*g.R]
			if adder {
				r := 0
				for ; r+4 <= len(wo); r += 4 {
					absDiffAcc4(acc, sc.col[r*tq:(r+4)*tq], tq, wo[r], wo[r+1], wo[r+2], wo[r+3])
				}
				for ; r < len(wo); r++ {
					absDiffAcc(acc, sc.col[r*tq:(r+1)*tq], wo[r])
				}
			} else {
				r := 0
				for ; r+4 <= len(wo); r += 4 {
					axpy4(acc, sc.col[r*tq:(r+4)*tq], tq, wo[r], wo[r+1], wo[r+2], wo[r+3])
				}
				for ; r < len(wo); r++ {
					axpy(acc, sc.col[r*tq:(r+1)*tq], wo[r])
				}
			}
			var b float64
			if bias != nil {
				b = bias[oc]
			}
			out := ls.out[oc*g.np:]
			if adder {
				for q, v := range acc {
					out[ooff[q]] = -v + b
				}
			} else {
				for q, v := range acc {
					out[ooff[q]] = v + b
				}
			}
		}
	}
}

// convBackward accumulates the parameter gradients of samples s0..s1-1
// into chunk c's partial buffers and adds the input gradient into dx (nil:
// not needed).
func (t *Trainer) convBackward(ls *layerState, x, dx []float64, c, s0, s1 int, sc *scratch) {
	g := ls.g
	l := ls.l
	adder := l.Op == model.OpAdder2d
	w := l.W.Value.Data
	gw := ls.cw[c]
	clear(gw)
	var gb []float64
	if ls.b != nil {
		gb = ls.cb[c]
		clear(gb)
	}
	sign := t.cfg.Grad == GradSign
	ht := !t.cfg.NoHardTanh
	total := (s1 - s0) * g.np
	for q0 := 0; q0 < total; q0 += tile {
		tq := min(tile, total-q0)
		g.setup(sc, s0, q0, tq)
		g.im2col(sc, x, tq)
		// Gather the output gradient into sc.acc as [OutC][tq].
		ooff := sc.ooff[:tq]
		for oc := range g.OC {
			gr := sc.acc[oc*tq : (oc+1)*tq]
			src := ls.grad[oc*g.np:]
			var s float64
			for q := range gr {
				v := src[ooff[q]]
				gr[q] = v
				s += v
			}
			if gb != nil {
				gb[oc] += s
			}
		}
		for r := range g.R {
			colr := sc.col[r*tq : (r+1)*tq]
			var dcolr []float64
			if dx != nil {
				dcolr = sc.dcol[r*tq : (r+1)*tq]
				clear(dcolr)
			}
			for oc := range g.OC {
				gr := sc.acc[oc*tq : (oc+1)*tq]
				wv := w[oc*g.R+r]
				var d float64
				switch {
				case !adder && dx == nil:
					d = dot(gr, colr)
				case !adder:
					d = dot(gr, colr)
					axpy(dcolr, gr, wv)
				case dx == nil && sign:
					d = adderGradSign(gr, colr, wv)
				case dx == nil:
					d = adderGradFull(gr, colr, wv)
				case sign && ht:
					d = adderBackSignHT(gr, colr, dcolr, wv)
				case sign:
					d = adderBackSign(gr, colr, dcolr, wv)
				case ht:
					d = adderBackFullHT(gr, colr, dcolr, wv)
				default:
					d = adderBackFull(gr, colr, dcolr, wv)
				}
				gw[oc*g.R+r] += d
			}
		}
		if dx != nil {
			g.col2im(sc, dx, tq)
		}
	}
}

// absDiffAcc adds |x[i] − w| to acc[i].
func absDiffAcc(acc, x []float64, w float64) {
	x = x[:len(acc)]
	for i, v := range x {
		acc[i] += math.Abs(v - w)
	}
}

// absDiffAcc4 adds Σ_j |x_j[i] − w_j| over four consecutive rows of length
// n to acc[i].
func absDiffAcc4(acc, x []float64, n int, w0, w1, w2, w3 float64) {
	acc = acc[:n]
	x0, x1, x2, x3 := x[:n], x[n:2*n], x[2*n:3*n], x[3*n:4*n]
	for i := range acc {
		acc[i] += abs(x0[i]-w0) + abs(x1[i]-w1) + abs(x2[i]-w2) + abs(x3[i]-w3)
	}
}

func abs(v float64) float64 { return math.Abs(v) }

// axpy adds w·x[i] to acc[i].
func axpy(acc, x []float64, w float64) {
	x = x[:len(acc)]
	for i, v := range x {
		acc[i] += w * v
	}
}

// axpy4 adds Σ_j w_j·x_j[i] over four consecutive rows of length n.
func axpy4(acc, x []float64, n int, w0, w1, w2, w3 float64) {
	acc = acc[:n]
	x0, x1, x2, x3 := x[:n], x[n:2*n], x[2*n:3*n], x[3*n:4*n]
	for i := range acc {
		acc[i] += w0*x0[i] + w1*x1[i] + w2*x2[i] + w3*x3[i]
	}
}

func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1 float64
	i := 0
	for ; i+2 <= len(a); i += 2 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
	}
	if i < len(a) {
		s0 += a[i] * b[i]
	}
	return s0 + s1
}

func sgn(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// hardtanh clips v to [−1, 1] without branches (the sign of F − X is
// unpredictable).
func hardtanh(v float64) float64 { return min(1, max(-1, v)) }

// The adder backward kernels take the output gradient g over a row of
// columns, the inputs x of that row and the filter value w; they return
// Σ g·∂Y/∂F and add g·∂Y/∂X to dx, where for Y = −|X − F|:
//
//	full: ∂Y/∂F = X − F     sign: ∂Y/∂F = sgn(X − F)
//	HT:   ∂Y/∂X = HT(F − X) no HT: ∂Y/∂X = F − X

func adderGradFull(g, x []float64, w float64) float64 {
	x = x[:len(g)]
	var s float64
	for i, gv := range g {
		s += gv * (x[i] - w)
	}
	return s
}

func adderGradSign(g, x []float64, w float64) float64 {
	x = x[:len(g)]
	var s float64
	for i, gv := range g {
		s += gv * sgn(x[i]-w)
	}
	return s
}

func adderBackFullHT(g, x, dx []float64, w float64) float64 {
	n := len(g)
	x, dx = x[:n], dx[:n]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= n; i += 4 {
		d0, d1, d2, d3 := x[i]-w, x[i+1]-w, x[i+2]-w, x[i+3]-w
		g0, g1, g2, g3 := g[i], g[i+1], g[i+2], g[i+3]
		s0 += g0 * d0
		s1 += g1 * d1
		s2 += g2 * d2
		s3 += g3 * d3
		dx[i] += g0 * hardtanh(-d0)
		dx[i+1] += g1 * hardtanh(-d1)
		dx[i+2] += g2 * hardtanh(-d2)
		dx[i+3] += g3 * hardtanh(-d3)
	}
	for ; i < n; i++ {
		d := x[i] - w
		s0 += g[i] * d
		dx[i] += g[i] * hardtanh(-d)
	}
	return (s0 + s1) + (s2 + s3)
}

func adderBackFull(g, x, dx []float64, w float64) float64 {
	x, dx = x[:len(g)], dx[:len(g)]
	var s float64
	for i, gv := range g {
		d := x[i] - w
		s += gv * d
		dx[i] -= gv * d
	}
	return s
}

func adderBackSignHT(g, x, dx []float64, w float64) float64 {
	x, dx = x[:len(g)], dx[:len(g)]
	var s float64
	for i, gv := range g {
		d := x[i] - w
		s += gv * sgn(d)
		dx[i] += gv * hardtanh(-d)
	}
	return s
}

func adderBackSign(g, x, dx []float64, w float64) float64 {
	x, dx = x[:len(g)], dx[:len(g)]
	var s float64
	for i, gv := range g {
		d := x[i] - w
		s += gv * sgn(d)
		dx[i] -= gv * d
	}
	return s
}
