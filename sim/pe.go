// Package sim is the bit-exact, integer-only model of the hardware addergen
// generates: the cycle-true L1 processing element and (built on it) the
// quantized network. No floating point touches the datapath.
package sim

import "fmt"

// L1 returns sum over k of |x[k] - w[k]| exactly. x and w hold lane codes as
// integers (two's complement values for signed lanes, 0..2^W-1 otherwise).
func L1(x, w []int32) uint64 {
	if len(x) != len(w) {
		panic(fmt.Sprintf("sim: L1 lane count mismatch: %d x, %d w", len(x), len(w)))
	}
	w = w[:len(x)]
	// Four independent accumulators let the CPU overlap the dependency chains.
	var s0, s1, s2, s3 uint64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += absDiff(x[i], w[i])
		s1 += absDiff(x[i+1], w[i+1])
		s2 += absDiff(x[i+2], w[i+2])
		s3 += absDiff(x[i+3], w[i+3])
	}
	for ; i < len(x); i++ {
		s0 += absDiff(x[i], w[i])
	}
	return s0 + s1 + s2 + s3
}

func absDiff(a, b int32) uint64 {
	d := int64(a) - int64(b)
	m := d >> 63
	return uint64((d ^ m) - m)
}

// PEConfig is the shape of a processing element as the simulator sees it.
type PEConfig struct {
	Lanes   int
	Width   int
	Signed  bool
	Latency int // register stages; 0 is combinational
}

// Range returns the legal lane code range for the configuration.
func (c PEConfig) Range() (lo, hi int32) {
	if c.Signed {
		return -(1 << (c.Width - 1)), 1<<(c.Width-1) - 1
	}
	return 0, 1<<c.Width - 1
}

// Tri is a simulated control bit that may still be unknown (X), as a
// register is before its first reset.
type Tri int8

// Tri values.
const (
	X Tri = iota
	Low
	High
)

func (t Tri) String() string { return [...]string{"x", "0", "1"}[t] }

func tri(b bool) Tri {
	if b {
		return High
	}
	return Low
}

// PEIn is one cycle of PE inputs.
type PEIn struct {
	Rst, Valid bool
	X, W       []int32
}

// PEOut is one cycle of PE outputs. Sum is meaningful only when Valid is High.
type PEOut struct {
	Valid Tri
	Sum   uint64
	Tag   int // index of the input that produced Sum (counting valid inputs), -1 if none
}

type peStage struct {
	valid Tri
	sum   uint64
	tag   int
}

// PE is a cycle-true model of a generated processing element: the same sum,
// the same latency, and the same valid behaviour, including the valid
// pipeline being unknown until the first reset.
type PE struct {
	cfg    PEConfig
	pipe   []peStage // pipe[0] is the first register stage
	nValid int
}

// NewPE returns a PE model in its power-on state.
func NewPE(c PEConfig) *PE {
	if c.Lanes < 1 || c.Width < 1 || c.Width > 31 || c.Latency < 0 {
		panic(fmt.Sprintf("sim: bad PE config %+v", c))
	}
	p := &PE{cfg: c, pipe: make([]peStage, c.Latency)}
	for i := range p.pipe {
		p.pipe[i] = peStage{valid: X, tag: -1}
	}
	return p
}

// Config returns the PE's configuration.
func (p *PE) Config() PEConfig { return p.cfg }

// Step presents in for one clock cycle. It returns the outputs seen during
// that cycle (after inputs settle, before the next rising edge) and then
// advances the state across the rising edge.
func (p *PE) Step(in PEIn) PEOut {
	cur := peStage{valid: tri(in.Valid), tag: -1}
	if in.Valid {
		if len(in.X) != p.cfg.Lanes || len(in.W) != p.cfg.Lanes {
			panic(fmt.Sprintf("sim: PE step with %d/%d lanes, want %d", len(in.X), len(in.W), p.cfg.Lanes))
		}
		cur.sum = L1(in.X, in.W)
		cur.tag = p.nValid
		p.nValid++
	}
	if p.cfg.Latency == 0 {
		return PEOut{Valid: cur.valid, Sum: cur.sum, Tag: cur.tag}
	}
	last := p.pipe[len(p.pipe)-1]
	out := PEOut{Valid: last.valid, Sum: last.sum, Tag: last.tag}
	copy(p.pipe[1:], p.pipe[:len(p.pipe)-1])
	p.pipe[0] = cur
	if in.Rst {
		for i := range p.pipe {
			p.pipe[i].valid = Low
		}
	}
	return out
}
