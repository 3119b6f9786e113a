//go:build goexperiment.simd && amd64

package sim

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/addergen/addergen/fixedpoint"
	"github.com/addergen/addergen/quant"
)

// randomAdderPlan returns an adder2d layer plan with random weights and
// rescale constants, input codes in [lo, hi], laid out for the int32
// kernel only (no packed weights).
func randomAdderPlan(rng *rand.Rand, C, H, W, O, K, S, P int, lo, hi int32, rnd fixedpoint.Rounding, wrap bool) *layerPlan {
	OH, OW := (H+2*P-K)/S+1, (W+2*P-K)/S+1
	p := &layerPlan{
		l:  &quant.Layer{Op: quant.OpAdder2d, Kernel: K, Stride: S, Padding: P},
		op: quant.OpAdder2d, inShape: []int{C, H, W}, outShape: []int{O, OH, OW}, size: O * OH * OW,
		R: C * K * K, O: O, sh: uint(rng.IntN(24)), rnd: rnd, wrap: wrap,
	}
	p.outBits, p.outSigned = 2+rng.IntN(10), rng.IntN(2) == 0
	p.lo, p.hi = 0, int64(1)<<p.outBits-1
	if p.outSigned {
		p.lo, p.hi = -(int64(1) << (p.outBits - 1)), int64(1)<<(p.outBits-1)-1
	}
	p.relu = !p.outSigned && rng.IntN(2) == 0
	p.w = make([]int32, O*p.R)
	for i := range p.w {
		p.w[i] = lo + rng.Int32N(hi-lo+1)
	}
	p.wconst, p.m, p.b = make([]int64, O), make([]int64, O), make([]int64, O)
	for o := range O {
		p.wconst[o] = rng.Int64N(1 << 12)
		p.m[o] = rng.Int64N(1<<16) - 1<<15
		p.b[o] = rng.Int64N(1<<36) - 1<<35
	}
	return p
}

// TestByteKernelMatchesScalar runs random adder layers through the vector
// byte kernel (and its vector or row-wise rescale) and through the int32
// kernel with value-by-value rescale: outputs and statistics must be
// identical, for every input width that fits a byte (1 to 8 bits, signed
// via the offset and unsigned), all-min, all-max and random inputs, output
// channel counts that are not multiples of four, odd widths, strides,
// padding, both weight layouts (direct and patch), every rounding mode,
// saturation and wrap.
func TestByteKernelMatchesScalar(t *testing.T) {
	if !simdAvailable() {
		// No AVX2 on this machine: the simd build must then run the
		// portable kernel, and say so.
		if Kernel()[:8] != "portable" {
			t.Fatalf("no AVX2 but Kernel() = %q", Kernel())
		}
		return
	}
	rng := rand.New(rand.NewPCG(11, 13))
	modes := []fixedpoint.Rounding{fixedpoint.HalfUp, fixedpoint.Floor, fixedpoint.HalfEven, fixedpoint.TowardZero}
	shapes := []struct{ C, H, W, O, K, S, P int }{
		{1, 28, 28, 6, 5, 1, 2}, {6, 14, 14, 16, 5, 1, 0}, {16, 5, 5, 120, 5, 1, 0}, {120, 1, 1, 84, 1, 1, 0},
		{16, 9, 9, 16, 3, 1, 1}, {16, 8, 7, 32, 3, 2, 1}, {16, 8, 8, 32, 1, 2, 0}, {3, 7, 5, 5, 3, 1, 1},
		{32, 4, 4, 13, 3, 1, 1}, {64, 4, 4, 7, 3, 1, 1}, {2, 6, 6, 3, 2, 2, 0}, {5, 3, 3, 9, 3, 1, 2},
		// Widths that are multiples of 8 with 16k channels (packBytes16).
		{32, 3, 16, 8, 3, 1, 1}, {16, 6, 8, 17, 3, 2, 1}, {64, 2, 8, 4, 3, 1, 1},
	}
	trial := 0
	for bits := 1; bits <= 8; bits++ {
		for _, signed := range []bool{false, true} {
			lo, hi := int32(0), int32(1)<<bits-1
			if signed {
				lo, hi = -(1 << (bits - 1)), 1<<(bits-1)-1
			}
			for si, sh := range shapes {
				for _, direct := range []bool{false, true} {
					trial++
					rnd := modes[trial%len(modes)]
					wrap := trial%5 == 0
					p := randomAdderPlan(rng, sh.C, sh.H, sh.W, sh.O, sh.K, sh.S, sh.P, lo, hi, rnd, wrap)
					ref := *p
					p.off = lo
					p.bytePlan(direct)
					p.vectorRescalePlan(0, int64(p.R)*int64(hi-lo))
					if (rnd == fixedpoint.HalfUp || rnd == fixedpoint.Floor) && !wrap && p.qc == nil {
						t.Fatalf("bits %d shape %d: vector rescale not planned", bits, si)
					}
					var s, sr scratch
					s.grow(p)
					sr.grow(&ref)
					x := make([]int32, sh.C*sh.H*sh.W)
					for k := range 3 {
						for i := range x {
							switch k {
							case 0:
								x[i] = lo
							case 1:
								x[i] = hi
							default:
								x[i] = lo + rng.Int32N(hi-lo+1)
							}
						}
						got, want := make([]int32, p.size), make([]int32, p.size)
						sg, sw := newRawStats(), newRawStats()
						p.convLike(x, got, &sg, &s)
						ref.convLike(x, want, &sw, &sr)
						if !slices.Equal(got, want) {
							t.Fatalf("bits %d signed %v shape %+v direct %v input %d %v wrap %v: outputs differ", bits, signed, sh, direct, k, rnd, wrap)
						}
						if !reflect.DeepEqual(sg.stats(), sw.stats()) {
							t.Fatalf("bits %d signed %v shape %+v input %d: stats %+v, want %+v", bits, signed, sh, k, sg.stats(), sw.stats())
						}
					}
				}
			}
		}
	}
}

// TestWordKernelMatchesScalar is TestByteKernelMatchesScalar for the
// 16-bit vector adder kernel: input widths of 9 to 16 bits, signed and
// unsigned, against the int32 kernel.
func TestWordKernelMatchesScalar(t *testing.T) {
	if !simdAvailable() {
		return // TestByteKernelMatchesScalar checks Kernel() on such machines
	}
	rng := rand.New(rand.NewPCG(17, 19))
	modes := []fixedpoint.Rounding{fixedpoint.HalfUp, fixedpoint.Floor, fixedpoint.HalfEven, fixedpoint.TowardZero}
	shapes := []struct{ C, H, W, O, K, S, P int }{
		{6, 14, 14, 16, 5, 1, 0}, {16, 5, 5, 120, 5, 1, 0}, {120, 1, 1, 84, 1, 1, 0}, {16, 8, 7, 13, 3, 2, 1},
		{3, 7, 5, 5, 3, 1, 1}, {64, 4, 4, 7, 3, 1, 1}, {5, 3, 3, 9, 3, 1, 2},
		{1, 5, 20, 6, 3, 1, 1}, // one channel, 16 or more columns (codes above int16)
	}
	trial := 0
	for bits := 9; bits <= 16; bits++ {
		for _, signed := range []bool{false, true} {
			lo, hi := int32(0), int32(1)<<bits-1
			if signed {
				lo, hi = -(1 << (bits - 1)), 1<<(bits-1)-1
			}
			for _, sh := range shapes {
				trial++
				rnd, wrap := modes[trial%4], trial%5 == 0
				p := randomAdderPlan(rng, sh.C, sh.H, sh.W, sh.O, sh.K, sh.S, sh.P, lo, hi, rnd, wrap)
				ref := *p
				p.swarPlan(quant.Act{Bits: bits, Signed: signed})
				if p.wm == nil || p.wq != nil || p.wp != nil {
					t.Fatalf("bits %d signed %v shape %+v: 16-bit kernel not planned", bits, signed, sh)
				}
				var s, sr scratch
				s.grow(p)
				sr.grow(&ref)
				x := make([]int32, sh.C*sh.H*sh.W)
				for k := range 3 {
					for i := range x {
						switch k {
						case 0:
							x[i] = lo
						case 1:
							x[i] = hi
						default:
							x[i] = lo + rng.Int32N(hi-lo+1)
						}
					}
					got, want := make([]int32, p.size), make([]int32, p.size)
					sg, sw := newRawStats(), newRawStats()
					p.convLike(x, got, &sg, &s)
					ref.convLike(x, want, &sw, &sr)
					if !slices.Equal(got, want) {
						t.Fatalf("bits %d signed %v shape %+v input %d %v wrap %v: outputs differ", bits, signed, sh, k, rnd, wrap)
					}
					if !reflect.DeepEqual(sg.stats(), sw.stats()) {
						t.Fatalf("bits %d signed %v shape %+v input %d: stats %+v, want %+v", bits, signed, sh, k, sg.stats(), sw.stats())
					}
				}
			}
		}
	}
}

// TestL1Quad checks the blocked byte kernels against l1Sum on random and
// extreme codes, for patch lengths of 1 to 20 chunks.
func TestL1Quad(t *testing.T) {
	if !simdAvailable() {
		return // covered by TestByteKernelMatchesScalar's check of Kernel()
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for chunks := 1; chunks <= 20; chunks++ {
		n := 32 * chunks
		for trial := range 4 {
			xa, xb := make([]uint8, n), make([]uint8, n)
			w := make([][]uint8, 4)
			for q := range w {
				w[q] = make([]uint8, n)
			}
			fill := func(b []uint8, v int) {
				for i := range b {
					switch trial {
					case 0:
						b[i] = uint8(v)
					case 1:
						b[i] = uint8(255 - v)
					default:
						b[i] = uint8(rng.IntN(256))
					}
				}
			}
			fill(xa, 0)
			fill(xb, 0)
			for q := range w {
				fill(w[q], 255)
			}
			wq := make([]uint8, 4*n)
			for q := range 4 {
				for r := range n {
					wq[(r/32)*128+q*32+r%32] = w[q][r]
				}
			}
			var oa, ob, o1 [4]int32
			l1Quad2(xa, xb, wq, oa[:], ob[:])
			l1Quad1(xb, wq, o1[:])
			for q := range 4 {
				ia, ib, iw := toInt32(xa), toInt32(xb), toInt32(w[q])
				if want := l1Sum(ia, iw); int64(oa[q]) != want {
					t.Fatalf("n %d trial %d q %d: l1Quad2 a %d, want %d", n, trial, q, oa[q], want)
				}
				if want := l1Sum(ib, iw); int64(ob[q]) != want || int64(o1[q]) != want {
					t.Fatalf("n %d trial %d q %d: l1Quad2 b %d, l1Quad1 %d, want %d", n, trial, q, ob[q], o1[q], want)
				}
			}
		}
	}
}

func toInt32(b []uint8) []int32 {
	v := make([]int32, len(b))
	for i, x := range b {
		v[i] = int32(x)
	}
	return v
}

// TestMACKernelMatchesScalar runs random conv2d layers through the vector
// int16 kernel (with its vector or scalar rescale) and through macAll with
// value-by-value rescale: outputs and statistics must be identical, for
// input codes of 2 to 16 bits (signed and unsigned, all-min, all-max and
// random), weights up to the widest the int32 bound allows, odd widths,
// strides, padding and every rounding mode; and the plan must refuse a
// layer whose products could overflow int32.
func TestMACKernelMatchesScalar(t *testing.T) {
	if !simdAvailable() {
		return // TestByteKernelMatchesScalar checks Kernel() on such machines
	}
	rng := rand.New(rand.NewPCG(5, 8))
	modes := []fixedpoint.Rounding{fixedpoint.HalfUp, fixedpoint.Floor, fixedpoint.HalfEven, fixedpoint.TowardZero}
	shapes := []struct{ C, H, W, O, K, S, P int }{
		{1, 28, 28, 6, 5, 1, 2}, {3, 9, 9, 16, 3, 1, 1}, {64, 1, 1, 10, 1, 1, 0}, {84, 1, 1, 10, 1, 1, 0},
		{5, 7, 6, 7, 3, 2, 1}, {2, 5, 5, 3, 5, 1, 0}, {16, 4, 5, 9, 3, 1, 2},
		{1, 6, 6, 4, 3, 1, 1}, {1, 5, 4, 3, 2, 1, 0}, {2, 4, 4, 5, 2, 2, 0}, {1, 9, 9, 2, 4, 1, 0},
		// One channel, stride 1, at least 16 output columns (convC1Row).
		{1, 20, 16, 5, 3, 1, 1}, {1, 7, 33, 9, 4, 1, 0}, {1, 5, 21, 4, 1, 1, 0}, {1, 6, 17, 8, 6, 1, 2},
		// Several channels and 16 or more columns (the gathered kernel).
		{3, 6, 18, 16, 3, 1, 1}, {2, 5, 20, 5, 5, 1, 2}, {4, 3, 17, 7, 2, 1, 0},
	}
	trial := 0
	for _, bits := range []int{2, 4, 8, 12, 16} {
		for _, signed := range []bool{false, true} {
			lo, hi := int32(0), int32(1)<<bits-1
			if signed {
				lo, hi = -(1 << (bits - 1)), 1<<(bits-1)-1
			}
			if hi > 32767 {
				continue // unsigned 16-bit codes do not fit int16: scalar kernel
			}
			for _, sh := range shapes {
				trial++
				p := randomAdderPlan(rng, sh.C, sh.H, sh.W, sh.O, sh.K, sh.S, sh.P, lo, hi, modes[trial%4], trial%6 == 0)
				p.op, p.l.Op, p.wconst = quant.OpConv2d, quant.OpConv2d, nil
				xmax := max(-int64(lo), int64(hi))
				wmax := min(int64(32767), (1<<31-1)/(int64(p.R)*max(xmax, 1)))
				for i := range p.w {
					p.w[i] = int32(rng.Int64N(2*wmax+1) - wmax)
				}
				p.w[0] = int32(wmax) // the bound is reached
				p.wt = make([]int32, len(p.w))
				for o := range p.O {
					for r := range p.R {
						p.wt[r*p.O+o] = p.w[o*p.R+r]
					}
				}
				ref := *p
				in := quant.Act{Bits: bits, Signed: signed}
				p.macPlan(in)
				if p.wm == nil {
					t.Fatalf("bits %d signed %v shape %+v: vector conv not planned (wmax %d)", bits, signed, sh, wmax)
				}
				var s, sr scratch
				s.grow(p)
				sr.grow(&ref)
				x := make([]int32, sh.C*sh.H*sh.W)
				for k := range 3 {
					for i := range x {
						switch k {
						case 0:
							x[i] = lo
						case 1:
							x[i] = hi
						default:
							x[i] = lo + rng.Int32N(hi-lo+1)
						}
					}
					got, want := make([]int32, p.size), make([]int32, p.size)
					sg, sw := newRawStats(), newRawStats()
					p.convLike(x, got, &sg, &s)
					ref.convLike(x, want, &sw, &sr)
					if !slices.Equal(got, want) {
						t.Fatalf("bits %d signed %v shape %+v input %d: outputs differ", bits, signed, sh, k)
					}
					if !reflect.DeepEqual(sg.stats(), sw.stats()) {
						t.Fatalf("bits %d signed %v shape %+v input %d: stats %+v, want %+v", bits, signed, sh, k, sg.stats(), sw.stats())
					}
				}
				// One more unit of weight and the bound no longer holds.
				if wmax < 32767 {
					over := ref
					over.w = slices.Clone(ref.w)
					over.w[0] = int32(wmax + 1)
					over.macPlan(in)
					if over.wm != nil && int64(over.R)*xmax*(wmax+1) >= 1<<31 {
						t.Fatalf("bits %d shape %+v: plan accepted products that can overflow int32", bits, sh)
					}
				}
			}
		}
	}
}

// TestAddRowsMatchesScalar: the add layer's vector path (addRows, planned
// by addVectorPlan) gives the same outputs and statistics as the scalar
// path (finishRow), for HalfUp and Floor rounding, input alignments,
// shifts from 0 to 12, signed and unsigned outputs with fused ReLU,
// values that saturate on both sides, and lengths that are not multiples
// of 8.
func TestAddRowsMatchesScalar(t *testing.T) {
	if !simdAvailable() {
		return
	}
	rng := rand.New(rand.NewPCG(5, 9))
	planned := 0
	for trial := range 300 {
		bits := 2 + rng.IntN(9)
		signed := rng.IntN(2) == 0
		p := &layerPlan{
			op: quant.OpAdd, sh: uint(rng.IntN(13)), rnd: []fixedpoint.Rounding{fixedpoint.HalfUp, fixedpoint.Floor}[trial%2],
			outBits: bits, outSigned: signed, relu: !signed && rng.IntN(2) == 0,
			align: [2]uint{uint(rng.IntN(4)), uint(rng.IntN(4))},
		}
		p.lo, p.hi = 0, int64(1)<<bits-1
		if signed {
			p.lo, p.hi = -(int64(1) << (bits - 1)), int64(1)<<(bits-1)-1
		}
		inBits := 2 + rng.IntN(9)
		ina := quant.Act{Bits: inBits, Signed: true}
		inb := quant.Act{Bits: 2 + rng.IntN(9), Signed: rng.IntN(2) == 0}
		p.addVectorPlan(ina, inb)
		if p.ac == nil {
			t.Fatalf("trial %d: add vector path not planned", trial)
		}
		planned++
		n := 1 + rng.IntN(600)
		xa, xb := make([]int32, n), make([]int32, n)
		for i := range xa {
			xa[i] = int32(ina.Min() + rng.Int64N(ina.Max()-ina.Min()+1))
			xb[i] = int32(inb.Min() + rng.Int64N(inb.Max()-inb.Min()+1))
		}
		ref := *p
		ref.ac = nil
		got, want := make([]int32, n), make([]int32, n)
		sg, sw := newRawStats(), newRawStats()
		var s scratch
		p.run(xa, xb, got, &sg, &s)
		ref.run(xa, xb, want, &sw, &s)
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d (%+v): outputs differ", trial, *p)
		}
		if !reflect.DeepEqual(sg.stats(), sw.stats()) {
			t.Fatalf("trial %d: stats %+v, want %+v", trial, sg.stats(), sw.stats())
		}
	}
}

// TestMaxPool2Row: the vector 2×2 max pool row equals the scalar maximum
// for every length from 8 to 40 (the last block overlapping) and values
// over the whole int32 range.
func TestMaxPool2Row(t *testing.T) {
	if !simdAvailable() {
		return
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 8; n <= 40; n++ {
		r0, r1 := make([]int32, 2*n), make([]int32, 2*n)
		for i := range r0 {
			r0[i], r1[i] = int32(rng.Uint32()), int32(rng.Uint32())
		}
		got := make([]int32, n)
		maxPool2Row(r0, r1, got)
		for i := range n {
			if want := max(r0[2*i], r0[2*i+1], r1[2*i], r1[2*i+1]); got[i] != want {
				t.Fatalf("n %d: o[%d] = %d, want %d", n, i, got[i], want)
			}
		}
	}
}
