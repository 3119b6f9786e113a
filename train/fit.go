package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
)

// Options are the settings of a training run.
type Options struct {
	Config
	// Epochs is the total number of epochs of the run.
	Epochs int `json:"epochs"`
	// Batch is the number of samples per SGD step.
	Batch int `json:"batch"`
	// LR is the initial learning rate; it follows a cosine schedule to 0
	// over Epochs, updated every step.
	LR float64 `json:"lr"`
	// Seed fixes the initial weights and the order of the samples.
	Seed uint64 `json:"seed"`
}

// DefaultOptions are the defaults of `addergen train`.
func DefaultOptions() Options {
	return Options{Config: DefaultConfig(), Epochs: 10, Batch: 64, LR: 0.1, Seed: 1}
}

// Validate checks the options.
func (o *Options) Validate() error {
	switch {
	case o.Epochs < 1:
		return fmt.Errorf("epochs %d must be at least 1", o.Epochs)
	case o.Batch < 2:
		return fmt.Errorf("batch %d must be at least 2 (batch norm needs two samples)", o.Batch)
	case !(o.LR > 0) || math.IsInf(o.LR, 0):
		return fmt.Errorf("learning rate %v must be positive", o.LR)
	case !o.NoAdaptiveLR && (!(o.Eta > 0) || math.IsInf(o.Eta, 0)):
		return fmt.Errorf("eta %v must be positive", o.Eta)
	case o.Momentum < 0 || o.Momentum >= 1:
		return fmt.Errorf("momentum %v outside [0, 1)", o.Momentum)
	case o.WeightDecay < 0 || math.IsNaN(o.WeightDecay):
		return fmt.Errorf("weight decay %v must not be negative", o.WeightDecay)
	}
	return nil
}

// LRAt returns the learning rate of global step (0-based) out of total:
// lr·(1 + cos(π·step/total))/2.
func LRAt(lr float64, step, total int) float64 {
	return lr * 0.5 * (1 + math.Cos(math.Pi*float64(step)/float64(total)))
}

// InitNet returns spec's net with weights initialised from seed: PyTorch's
// default initialisation (see model.New), except that adder2d filters are
// drawn from N(0, 1) and adder2d biases from U(0, 1), as the official
// adder.py initialises them.
func InitNet(spec *model.Spec, seed uint64) (*model.Net, error) {
	rng := rand.New(rand.NewPCG(seed, 0x616464657267656e))
	n, err := model.New(spec, rng)
	if err != nil {
		return nil, err
	}
	for _, l := range n.Layers {
		if l.Op != model.OpAdder2d {
			continue
		}
		for i := range l.W.Value.Data {
			l.W.Value.Data[i] = rng.NormFloat64()
		}
		if l.B != nil {
			for i := range l.B.Value.Data {
				l.B.Value.Data[i] = rng.Float64()
			}
		}
	}
	return n, nil
}

// EpochLog is the record of one finished epoch.
type EpochLog struct {
	Epoch        int      `json:"epoch"`
	Epochs       int      `json:"epochs"`
	Step         int      `json:"step"` // global steps done
	LR           float64  `json:"lr"`   // learning rate of the epoch's last step
	TrainLoss    float64  `json:"train_loss"`
	TrainAcc     float64  `json:"train_acc"`
	TestLoss     *float64 `json:"test_loss,omitempty"` // nil without a test set
	TestAcc      *float64 `json:"test_acc,omitempty"`
	TrainSeconds float64  `json:"train_seconds"`
	ImagesPerSec float64  `json:"images_per_sec"`
	EvalSeconds  float64  `json:"eval_seconds"`
}

// Progress is reported after every step.
type Progress struct {
	Epoch, Step, Steps int // Step of Steps within the epoch, 1-based
	Loss, Acc          float64
	// Running means over the epoch so far.
	MeanLoss, MeanAcc float64
}

// Run is a training run: a trainer, the data and the progress made.
type Run struct {
	T     *Trainer
	Opts  Options
	Train *dataset.Set
	// Test, if set, is evaluated after every epoch.
	Test *dataset.Set
	// Done is the number of epochs completed (non-zero after a resume).
	Done int
	// Log holds the records of the completed epochs.
	Log []EpochLog

	// OnStep, if set, is called after every step.
	OnStep func(Progress)
	// OnEpoch, if set, is called after every epoch (e.g. to checkpoint);
	// an error stops the run.
	OnEpoch func(EpochLog) error
}

// NewRun makes a run for net with the given options.
func NewRun(net *model.Net, opts Options, trainSet, testSet *dataset.Set) (*Run, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if opts.Chunk <= 0 {
		opts.Chunk = DefaultChunk // recorded, so a checkpoint resumes with it
	}
	if err := checkSet(net, trainSet, "training"); err != nil {
		return nil, err
	}
	if testSet != nil {
		if err := checkSet(net, testSet, "test"); err != nil {
			return nil, err
		}
	}
	if trainSet.X.Shape[0] < 2 {
		return nil, errors.New("train: the training set needs at least 2 samples")
	}
	t, err := New(net, opts.Config)
	if err != nil {
		return nil, err
	}
	return &Run{T: t, Opts: opts, Train: trainSet, Test: testSet}, nil
}

func checkSet(net *model.Net, s *dataset.Set, what string) error {
	if s == nil || len(s.X.Shape) != 4 || !slices.Equal(s.X.Shape[1:], net.Input) {
		var shape []int
		if s != nil {
			shape = s.X.Shape
		}
		return fmt.Errorf("train: %s data has shape %v, the net wants [N %d %d %d]", what, shape, net.Input[0], net.Input[1], net.Input[2])
	}
	if s.Labels == nil {
		return fmt.Errorf("train: %s data has no labels", what)
	}
	classes := numel(net.Output())
	for i, y := range s.Labels {
		if y >= classes {
			return fmt.Errorf("train: %s label %d at index %d outside the net's %d classes", what, y, i, classes)
		}
	}
	return nil
}

// StepsPerEpoch returns the number of SGD steps of one epoch: every full
// batch, and the last partial batch unless it holds a single sample.
func (r *Run) StepsPerEpoch() int {
	n := r.Train.X.Shape[0]
	steps := n / r.Opts.Batch
	if n%r.Opts.Batch >= 2 {
		steps++
	}
	return steps
}

// Order returns the sample order of an epoch (1-based), fixed by the seed.
func Order(seed uint64, epoch, n int) []int {
	return rand.New(rand.NewPCG(seed, uint64(epoch))).Perm(n)
}

// Fit trains the remaining epochs. It can be cancelled through ctx between
// steps.
func (r *Run) Fit(ctx context.Context) error {
	for r.Done < r.Opts.Epochs {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := r.epoch(ctx, r.Done+1)
		if err != nil {
			return err
		}
		r.Done++
		r.Log = append(r.Log, rec)
		if r.OnEpoch != nil {
			if err := r.OnEpoch(rec); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *Run) epoch(ctx context.Context, epoch int) (EpochLog, error) {
	n := r.Train.X.Shape[0]
	in := numel(r.T.Net.Input)
	B := r.Opts.Batch
	steps := r.StepsPerEpoch()
	total := steps * r.Opts.Epochs
	order := Order(r.Opts.Seed, epoch, n)
	x := make([]float64, B*in)
	y := make([]int, B)
	var sumLoss float64
	var correct, seen int
	var lr float64
	start := time.Now()
	for st := range steps {
		if err := ctx.Err(); err != nil {
			return EpochLog{}, err
		}
		idx := order[st*B : min(n, (st+1)*B)]
		for j, s := range idx {
			copy(x[j*in:(j+1)*in], r.Train.X.Data[s*in:(s+1)*in])
			y[j] = r.Train.Labels[s]
		}
		bn := len(idx)
		lr = LRAt(r.Opts.LR, (epoch-1)*steps+st, total)
		loss, c, err := r.T.Step(x[:bn*in], y[:bn], lr)
		if err != nil {
			return EpochLog{}, err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return EpochLog{}, fmt.Errorf("train: epoch %d step %d: loss is %v (diverged; try a smaller --lr)", epoch, st+1, loss)
		}
		sumLoss += loss * float64(bn)
		correct += c
		seen += bn
		if r.OnStep != nil {
			r.OnStep(Progress{Epoch: epoch, Step: st + 1, Steps: steps, Loss: loss, Acc: float64(c) / float64(bn),
				MeanLoss: sumLoss / float64(seen), MeanAcc: float64(correct) / float64(seen)})
		}
	}
	secs := time.Since(start).Seconds()
	rec := EpochLog{Epoch: epoch, Epochs: r.Opts.Epochs, Step: epoch * steps, LR: lr,
		TrainLoss: sumLoss / float64(seen), TrainAcc: float64(correct) / float64(seen),
		TrainSeconds: secs, ImagesPerSec: float64(seen) / secs}
	if r.Test != nil {
		t0 := time.Now()
		loss, acc, err := Evaluate(r.T.Net, r.Test)
		if err != nil {
			return EpochLog{}, err
		}
		rec.TestLoss, rec.TestAcc = &loss, &acc
		rec.EvalSeconds = time.Since(t0).Seconds()
	}
	return rec, nil
}

// Evaluate returns the mean cross-entropy and the accuracy of net (eval
// mode: batch norm with running statistics) on a labelled set.
func Evaluate(net *model.Net, s *dataset.Set) (loss, acc float64, err error) {
	if s == nil || s.Labels == nil || len(s.X.Shape) == 0 {
		return 0, 0, errors.New("train: evaluate: no labelled data")
	}
	n := s.X.Shape[0]
	if n == 0 {
		return 0, 0, errors.New("train: evaluate: empty set")
	}
	const batch = 1000
	in := numel(s.X.Shape[1:])
	var sum float64
	correct := 0
	for b := 0; b < n; b += batch {
		e := min(n, b+batch)
		shape := slices.Clone(s.X.Shape)
		shape[0] = e - b
		out, err := net.Forward(dataset.Tensor{Shape: shape, Data: s.X.Data[b*in : e*in]})
		if err != nil {
			return 0, 0, err
		}
		K := numel(out.Shape[1:])
		for i := range e - b {
			z := out.Data[i*K : (i+1)*K]
			y := s.Labels[b+i]
			if y >= K {
				return 0, 0, fmt.Errorf("train: evaluate: label %d outside the net's %d classes", y, K)
			}
			m, best := z[0], 0
			for k, v := range z {
				if v > m {
					m, best = v, k
				}
			}
			if best == y {
				correct++
			}
			var se float64
			for _, v := range z {
				se += math.Exp(v - m)
			}
			sum += math.Log(se) + m - z[y]
		}
	}
	return sum / float64(n), float64(correct) / float64(n), nil
}
