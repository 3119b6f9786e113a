package train

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/addergen/addergen/model"
)

// GradMode selects the gradient of an adder layer's filters.
type GradMode int

const (
	// GradFull is the paper's full-precision gradient ∂Y/∂F = X − F.
	GradFull GradMode = iota
	// GradSign is signSGD: ∂Y/∂F = sgn(X − F), the exact derivative.
	GradSign
)

func (g GradMode) String() string {
	switch g {
	case GradFull:
		return "full"
	case GradSign:
		return "sign"
	}
	return fmt.Sprintf("GradMode(%d)", int(g))
}

// MarshalText encodes the mode as "full" or "sign".
func (g GradMode) MarshalText() ([]byte, error) {
	if g != GradFull && g != GradSign {
		return nil, fmt.Errorf("train: unknown gradient mode %d", int(g))
	}
	return []byte(g.String()), nil
}

// UnmarshalText decodes "full" or "sign".
func (g *GradMode) UnmarshalText(b []byte) error {
	m, err := ParseGradMode(string(b))
	if err != nil {
		return err
	}
	*g = m
	return nil
}

// ParseGradMode parses "full" or "sign".
func ParseGradMode(s string) (GradMode, error) {
	switch strings.ToLower(s) {
	case "full":
		return GradFull, nil
	case "sign":
		return GradSign, nil
	}
	return 0, fmt.Errorf("unknown gradient mode %q (want full or sign)", s)
}

// DefaultEta is the adaptive learning-rate coefficient η of the paper and
// the official code (grad·√k/‖grad‖/5).
const DefaultEta = 0.2

// Config holds the optimisation rules and the optimiser's constants. Start
// from DefaultConfig: zero values are meaningful (no momentum, no weight
// decay).
type Config struct {
	// Grad is the adder filter gradient (GradFull by default).
	Grad GradMode `json:"grad"`
	// NoHardTanh propagates F − X to an adder layer's input unclipped.
	NoHardTanh bool `json:"no_hardtanh"`
	// NoAdaptiveLR leaves adder filter gradients unscaled.
	NoAdaptiveLR bool `json:"no_adaptive_lr"`
	// Eta is η of the adaptive learning rate.
	Eta float64 `json:"eta"`
	// Momentum and WeightDecay are those of SGD.
	Momentum    float64 `json:"momentum"`
	WeightDecay float64 `json:"weight_decay"`
	// BNMomentum is the running-statistics momentum of batch norm (0.1).
	BNMomentum float64 `json:"bn_momentum"`
	// Workers is the number of goroutines; 0 means GOMAXPROCS. It does not
	// change results.
	Workers int `json:"-"`
	// Chunk is the number of samples per work unit (0 means 16). Results
	// depend on it only through the order of floating-point sums.
	Chunk int `json:"chunk,omitempty"`
}

// DefaultConfig returns the paper's rules with SGD momentum 0.9 and weight
// decay 5e-4.
func DefaultConfig() Config {
	return Config{Grad: GradFull, Eta: DefaultEta, Momentum: 0.9, WeightDecay: 5e-4, BNMomentum: 0.1}
}

// DefaultChunk is the default number of samples per work unit.
const DefaultChunk = 16

// tile is the number of im2col columns (sample positions) processed at once.
const tile = 128

// paramState is a trainable tensor with its gradient and momentum buffer.
type paramState struct {
	p     *model.Param
	grad  []float64
	vel   []float64
	adder bool // the adaptive learning rate applies
}

// layerState holds one layer's activations and gradients for a batch.
type layerState struct {
	l    *model.Layer
	in   []int // input layer indices, -1 for the network input
	size int   // per-sample output size
	out  []float64
	grad []float64

	w, b *paramState
	// per-chunk partial parameter gradients
	cw, cb [][]float64

	g *geom // conv2d, adder2d, pools

	// batchnorm2d
	xhat   []float64
	invstd []float64

	// maxpool2d: flat input index of each output's maximum
	arg []int32
}

// geom is the geometry of a conv-like or pool layer on one sample.
type geom struct {
	C, H, W    int
	OC, OH, OW int
	K, S, P    int
	R          int // C·K·K
	np         int // OH·OW
	inSize     int
	outSize    int
}

// scratch is one worker's workspace.
type scratch struct {
	col, dcol []float64 // R·tile
	acc       []float64 // OutC·tile
	xoff      []int
	ih0, iw0  []int
	ooff      []int
}

// Trainer computes losses, gradients and SGD updates for a model.Net,
// updating its parameters (and batch-norm running statistics) in place.
type Trainer struct {
	Net *model.Net
	cfg Config

	workers, chunk int
	layers         []*layerState
	params         []*paramState
	byParam        map[*model.Param]*paramState
	scratch        []*scratch
	maxN           int // capacity of the activation buffers
	inSize         int
	classes        int
	logitsGrad     []float64

	// inGrad, when non-nil, receives dL/dx of the network input.
	inGrad []float64
}

// New returns a trainer for net. The net's parameters are updated in place
// by Step and Update.
func New(net *model.Net, cfg Config) (*Trainer, error) {
	if net == nil || len(net.Layers) == 0 {
		return nil, errors.New("train: empty net")
	}
	if cfg.Eta <= 0 && !cfg.NoAdaptiveLR {
		return nil, fmt.Errorf("train: eta %v must be positive", cfg.Eta)
	}
	if cfg.BNMomentum < 0 || cfg.BNMomentum > 1 {
		return nil, fmt.Errorf("train: batch-norm momentum %v outside [0, 1]", cfg.BNMomentum)
	}
	if cfg.Grad != GradFull && cfg.Grad != GradSign {
		return nil, fmt.Errorf("train: unknown gradient mode %d", int(cfg.Grad))
	}
	t := &Trainer{Net: net, cfg: cfg, byParam: map[*model.Param]*paramState{}}
	t.workers = cfg.Workers
	if t.workers <= 0 {
		t.workers = runtime.GOMAXPROCS(0)
	}
	t.chunk = cfg.Chunk
	if t.chunk <= 0 {
		t.chunk = DefaultChunk
	}
	t.inSize = numel(net.Input)
	t.classes = numel(net.Output())
	maxR, maxOC := 1, 1
	for _, l := range net.Layers {
		ls := &layerState{l: l, in: l.InputIndex(), size: numel(l.OutShape)}
		switch l.Op {
		case model.OpConv2d, model.OpAdder2d, model.OpMaxPool2d, model.OpAvgPool2d:
			in := l.InShapes[0]
			g := &geom{C: in[0], H: in[1], W: in[2], OC: l.OutShape[0], OH: l.OutShape[1], OW: l.OutShape[2],
				K: l.Kernel, S: l.Stride, P: l.Padding}
			g.R = g.C * g.K * g.K
			g.np = g.OH * g.OW
			g.inSize = g.C * g.H * g.W
			g.outSize = g.OC * g.np
			ls.g = g
			if l.Op == model.OpConv2d || l.Op == model.OpAdder2d {
				maxR = max(maxR, g.R)
				maxOC = max(maxOC, g.OC)
			}
		}
		switch l.Op {
		case model.OpConv2d, model.OpAdder2d, model.OpLinear:
			ls.w = t.addParam(l.W, l.Op == model.OpAdder2d)
			if l.Bias {
				ls.b = t.addParam(l.B, false)
			}
		case model.OpBatchNorm2d:
			ls.w = t.addParam(l.W, false)
			ls.b = t.addParam(l.B, false)
			ls.invstd = make([]float64, l.OutC)
		case model.OpReLU, model.OpMaxPool2d, model.OpAvgPool2d, model.OpFlatten, model.OpAdd:
		default:
			return nil, fmt.Errorf("train: layer %q: op %q has no backward", l.Name, l.Op)
		}
		t.layers = append(t.layers, ls)
	}
	for range t.workers {
		t.scratch = append(t.scratch, &scratch{
			col:  make([]float64, maxR*tile),
			dcol: make([]float64, maxR*tile),
			acc:  make([]float64, maxOC*tile),
			xoff: make([]int, tile),
			ih0:  make([]int, tile),
			iw0:  make([]int, tile),
			ooff: make([]int, tile),
		})
	}
	return t, nil
}

func (t *Trainer) addParam(p *model.Param, adder bool) *paramState {
	ps := &paramState{p: p, grad: make([]float64, len(p.Value.Data)), vel: make([]float64, len(p.Value.Data)), adder: adder}
	t.params = append(t.params, ps)
	t.byParam[p] = ps
	return ps
}

// Config returns the trainer's configuration.
func (t *Trainer) Config() Config { return t.cfg }

// Grad returns the gradient of p computed by the last ForwardBackward (or
// Step), before the adaptive learning rate and weight decay. It is nil if p
// is not a trainable parameter of the net (batch-norm running statistics
// are not).
func (t *Trainer) Grad(p *model.Param) []float64 {
	if ps := t.byParam[p]; ps != nil {
		return ps.grad
	}
	return nil
}

// Momentum returns p's momentum buffer, or nil.
func (t *Trainer) Momentum(p *model.Param) []float64 {
	if ps := t.byParam[p]; ps != nil {
		return ps.vel
	}
	return nil
}

// reserve makes the activation buffers hold n samples.
func (t *Trainer) reserve(n int) {
	if n <= t.maxN {
		return
	}
	t.maxN = n
	nch := (n + t.chunk - 1) / t.chunk
	for _, ls := range t.layers {
		ls.out = make([]float64, n*ls.size)
		ls.grad = make([]float64, n*ls.size)
		switch ls.l.Op {
		case model.OpBatchNorm2d:
			ls.xhat = make([]float64, n*ls.size)
		case model.OpMaxPool2d:
			ls.arg = make([]int32, n*ls.size)
		}
		if ls.w != nil && ls.l.Op != model.OpBatchNorm2d {
			for len(ls.cw) < nch {
				ls.cw = append(ls.cw, make([]float64, len(ls.w.grad)))
				if ls.b != nil {
					ls.cb = append(ls.cb, make([]float64, len(ls.b.grad)))
				}
			}
		}
	}
	t.logitsGrad = make([]float64, n*t.classes)
}

// parallel runs fn(worker, i) for i in [0, n) on the worker goroutines.
func (t *Trainer) parallel(n int, fn func(w, i int)) {
	nw := min(t.workers, n)
	if nw <= 1 {
		for i := range n {
			fn(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range nw {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(w, i)
			}
		}()
	}
	wg.Wait()
}

// chunks returns the number of chunks of a batch of n samples.
func (t *Trainer) chunks(n int) int { return (n + t.chunk - 1) / t.chunk }

// span returns the sample range of chunk c.
func (t *Trainer) span(n, c int) (int, int) { return c * t.chunk, min(n, (c+1)*t.chunk) }

// output returns the activations of layer i (-1: the input x).
func (t *Trainer) output(x []float64, i int) []float64 {
	if i < 0 {
		return x
	}
	return t.layers[i].out
}

// gradOf returns the gradient buffer of layer i's output, or nil when it is
// not needed (the network input without inGrad).
func (t *Trainer) gradOf(i int) []float64 {
	if i < 0 {
		return t.inGrad
	}
	return t.layers[i].grad
}

// Forward runs a training-mode forward pass on n samples x ([n, C, H, W]
// flattened): batch norm uses batch statistics and updates its running
// statistics. It returns the logits [n, classes], valid until the next
// call.
func (t *Trainer) Forward(x []float64, n int) ([]float64, error) {
	if n <= 0 || len(x) != n*t.inSize {
		return nil, fmt.Errorf("train: input has %d values, want %d samples of %d", len(x), n, t.inSize)
	}
	t.reserve(n)
	for _, ls := range t.layers {
		in := t.output(x, ls.in[0])
		switch ls.l.Op {
		case model.OpConv2d, model.OpAdder2d:
			t.parallel(t.chunks(n), func(w, c int) {
				s0, s1 := t.span(n, c)
				t.convForward(ls, in, s0, s1, t.scratch[w])
			})
		case model.OpBatchNorm2d:
			t.bnForward(ls, in, n)
		case model.OpLinear:
			t.parallel(t.chunks(n), func(_, c int) {
				s0, s1 := t.span(n, c)
				linearForward(ls, in, s0, s1)
			})
		default:
			var b []float64
			if ls.l.Op == model.OpAdd {
				b = t.output(x, ls.in[1])
			}
			t.parallel(t.chunks(n), func(_, c int) {
				s0, s1 := t.span(n, c)
				elemForward(ls, in, b, s0, s1)
			})
		}
	}
	last := t.layers[len(t.layers)-1]
	return last.out[:n*t.classes], nil
}

// loss computes the mean softmax cross-entropy of the logits left by
// Forward against labels, writes its gradient, and returns the loss and
// the number of samples whose arg-max logit is the label.
func (t *Trainer) loss(labels []int) (float64, int, error) {
	n := len(labels)
	z := t.layers[len(t.layers)-1].out
	K := t.classes
	var total float64
	correct := 0
	for s := range n {
		y := labels[s]
		if y < 0 || y >= K {
			return 0, 0, fmt.Errorf("train: label %d of sample %d outside [0, %d)", y, s, K)
		}
		zs := z[s*K : (s+1)*K]
		gs := t.logitsGrad[s*K : (s+1)*K]
		m := zs[0]
		best := 0
		for k, v := range zs {
			if v > m {
				m, best = v, k
			}
		}
		if best == y {
			correct++
		}
		var sum float64
		for k, v := range zs {
			e := math.Exp(v - m)
			gs[k] = e
			sum += e
		}
		total += math.Log(sum) + m - zs[y]
		for k := range gs {
			gs[k] /= sum * float64(n)
		}
		gs[y] -= 1 / float64(n)
	}
	return total / float64(n), correct, nil
}

// ForwardBackward runs Forward on x, the softmax cross-entropy loss
// against labels and the backward pass, leaving every parameter's gradient
// (see Grad). It returns the mean loss and the number of correctly
// classified samples.
func (t *Trainer) ForwardBackward(x []float64, labels []int) (loss float64, correct int, err error) {
	n := len(labels)
	if _, err := t.Forward(x, n); err != nil {
		return 0, 0, err
	}
	loss, correct, err = t.loss(labels)
	if err != nil {
		return 0, 0, err
	}
	t.backward(x, n)
	return loss, correct, nil
}

func (t *Trainer) backward(x []float64, n int) {
	for i, ls := range t.layers {
		if i < len(t.layers)-1 {
			clear(ls.grad[:n*ls.size])
		}
	}
	last := t.layers[len(t.layers)-1]
	copy(last.grad, t.logitsGrad[:n*t.classes])
	if t.inGrad != nil {
		clear(t.inGrad)
	}
	for i := len(t.layers) - 1; i >= 0; i-- {
		ls := t.layers[i]
		in := t.output(x, ls.in[0])
		gin := t.gradOf(ls.in[0])
		switch ls.l.Op {
		case model.OpConv2d, model.OpAdder2d:
			t.parallel(t.chunks(n), func(w, c int) {
				s0, s1 := t.span(n, c)
				t.convBackward(ls, in, gin, c, s0, s1, t.scratch[w])
			})
			t.reduce(ls, n)
		case model.OpBatchNorm2d:
			t.bnBackward(ls, gin, n)
		case model.OpLinear:
			t.parallel(t.chunks(n), func(_, c int) {
				s0, s1 := t.span(n, c)
				linearBackward(ls, in, gin, c, s0, s1)
			})
			t.reduce(ls, n)
		default:
			var gb []float64
			if ls.l.Op == model.OpAdd {
				gb = t.gradOf(ls.in[1])
			}
			if gin == nil && gb == nil {
				continue
			}
			t.parallel(t.chunks(n), func(_, c int) {
				s0, s1 := t.span(n, c)
				elemBackward(ls, in, gin, gb, s0, s1)
			})
		}
	}
}

// reduce sums the per-chunk parameter gradients in chunk order.
func (t *Trainer) reduce(ls *layerState, n int) {
	nch := t.chunks(n)
	sum := func(dst []float64, parts [][]float64) {
		copy(dst, parts[0])
		for _, p := range parts[1:nch] {
			for j, v := range p {
				dst[j] += v
			}
		}
	}
	sum(ls.w.grad, ls.cw)
	if ls.b != nil {
		sum(ls.b.grad, ls.cb)
	}
}

// Update applies one SGD step with learning rate lr to every parameter,
// from the gradients of the last ForwardBackward: the adaptive learning
// rate rescales adder filter gradients, then weight decay is added, then
// momentum (PyTorch's SGD).
func (t *Trainer) Update(lr float64) {
	for _, ps := range t.params {
		g := ps.grad
		scale := 1.0
		if ps.adder && !t.cfg.NoAdaptiveLR {
			var ss float64
			for _, v := range g {
				ss += v * v
			}
			scale = t.cfg.Eta * math.Sqrt(float64(len(g))) / max(math.Sqrt(ss), 1e-12)
		}
		w := ps.p.Value.Data
		wd, mom := t.cfg.WeightDecay, t.cfg.Momentum
		for j := range w {
			d := g[j]*scale + wd*w[j]
			v := mom*ps.vel[j] + d
			ps.vel[j] = v
			w[j] -= lr * v
		}
	}
}

// Step is ForwardBackward followed by Update(lr).
func (t *Trainer) Step(x []float64, labels []int, lr float64) (loss float64, correct int, err error) {
	loss, correct, err = t.ForwardBackward(x, labels)
	if err != nil {
		return 0, 0, err
	}
	t.Update(lr)
	return loss, correct, nil
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
