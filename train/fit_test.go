package train

import (
	"context"
	"math"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
)

var mnist struct {
	once        sync.Once
	train, test *dataset.Set
	err         error
}

// mnistSets returns the first nTrain training and nTest test images of
// MNIST (from the GoMNIST module).
func mnistSets(t testing.TB, nTrain, nTest int) (*dataset.Set, *dataset.Set) {
	t.Helper()
	mnist.once.Do(func() {
		dir, err := dataset.MNISTDir()
		if err != nil {
			mnist.err = err
			return
		}
		if mnist.train, err = dataset.Load(dir, "", dataset.SplitTrain); err != nil {
			mnist.err = err
			return
		}
		mnist.test, mnist.err = dataset.Load(dir, "", dataset.SplitTest)
	})
	if mnist.err != nil {
		t.Fatal(mnist.err)
	}
	return mnist.train.Limit(nTrain), mnist.test.Limit(nTest)
}

func lenet(t testing.TB, seed uint64) *model.Net {
	t.Helper()
	spec, err := model.BuiltinSpec("lenet5-adder")
	if err != nil {
		t.Fatal(err)
	}
	n, err := InitNet(spec, seed)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestShortTrainingRun trains lenet5-adder on 640 MNIST images for three
// epochs; it must beat chance (10%) by a wide margin on 500 held-out
// images.
func TestShortTrainingRun(t *testing.T) {
	tr, te := mnistSets(t, 640, 500)
	o := DefaultOptions()
	o.Epochs, o.Batch = 3, 16
	r, err := NewRun(lenet(t, 1), o, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	epochs := 0
	r.OnEpoch = func(e EpochLog) error {
		epochs++
		t.Logf("epoch %d: train loss %.4f acc %.3f, %.0f images/s", e.Epoch, e.TrainLoss, e.TrainAcc, e.ImagesPerSec)
		return nil
	}
	if err := r.Fit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if epochs != 3 || len(r.Log) != 3 || r.Done != 3 {
		t.Fatalf("OnEpoch called %d times, log %d, done %d", epochs, len(r.Log), r.Done)
	}
	last := r.Log[2]
	if last.TrainLoss >= r.Log[0].TrainLoss {
		t.Errorf("train loss did not fall: %v then %v", r.Log[0].TrainLoss, last.TrainLoss)
	}
	if last.Step != 3*r.StepsPerEpoch() || last.LR <= 0 || last.LR > 0.01*o.LR {
		t.Errorf("last epoch step %d lr %v", last.Step, last.LR)
	}
	_, acc, err := Evaluate(r.T.Net, te)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("test accuracy %.3f", acc)
	if acc < 0.6 {
		t.Errorf("test accuracy %.3f after 3 epochs on 640 images, want >= 0.6", acc)
	}
}

// TestDeterministic checks that results depend on the seed and options
// only: not on the number of workers, and not on whether the run was
// interrupted and resumed from a checkpoint.
func TestDeterministic(t *testing.T) {
	tr, _ := mnistSets(t, 200, 0)
	o := DefaultOptions()
	o.Epochs, o.Batch = 2, 48 // 200 = 4·48 + 8: a partial last batch
	weights := func(workers int, resume bool) []float64 {
		oo := o
		oo.Workers = workers
		r, err := NewRun(lenet(t, 7), oo, tr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resume {
			// Interrupt after the first epoch.
			ctx, cancel := context.WithCancel(context.Background())
			r.OnEpoch = func(EpochLog) error { cancel(); return nil }
			if err := r.Fit(ctx); err != context.Canceled || r.Done != 1 {
				t.Fatalf("interrupted run: %v after %d epochs", err, r.Done)
			}
			data, err := r.EncodeCheckpoint()
			if err != nil {
				t.Fatal(err)
			}
			ck, err := DecodeCheckpoint(data)
			if err != nil {
				t.Fatal(err)
			}
			if r, err = Resume(ck, oo, tr, nil); err != nil {
				t.Fatal(err)
			}
			if r.Done != 1 || len(r.Log) != 1 {
				t.Fatalf("resumed run: done %d, log %d", r.Done, len(r.Log))
			}
		}
		if err := r.Fit(context.Background()); err != nil {
			t.Fatal(err)
		}
		var all []float64
		for _, p := range r.T.Net.Params() {
			all = append(all, p.Value.Data...)
		}
		return all
	}
	ref := weights(1, false)
	for _, c := range []struct {
		workers int
		resume  bool
	}{{2, false}, {3, false}, {2, true}} {
		got := weights(c.workers, c.resume)
		if !slices.Equal(got, ref) {
			t.Errorf("workers %d resume %v: weights differ from a 1-worker run", c.workers, c.resume)
		}
	}
	o2 := o
	o2.Seed = 8
	r, err := NewRun(lenet(t, 8), o2, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Fit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := r.T.Net.Params()[0].Value.Data; slices.Equal(p, ref[:len(p)]) {
		t.Error("a different seed gave the same weights")
	}
}

func TestResumeRejectsOtherOptions(t *testing.T) {
	tr, _ := mnistSets(t, 100, 0)
	o := DefaultOptions()
	o.Epochs, o.Batch = 1, 50
	r, err := NewRun(lenet(t, 1), o, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Fit(context.Background()); err != nil {
		t.Fatal(err)
	}
	data, err := r.EncodeCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	ck, err := DecodeCheckpoint(data)
	if err != nil {
		t.Fatal(err)
	}
	bad := o
	bad.LR = 0.2
	if _, err := Resume(ck, bad, tr, nil); err == nil {
		t.Error("resume with another learning rate succeeded")
	}
	more := o
	more.Epochs = 3
	if _, err := Resume(ck, more, tr, nil); err != nil {
		t.Errorf("resume with more epochs: %v", err)
	}
	if _, err := DecodeCheckpoint([]byte("nonsense")); err == nil {
		t.Error("decoding garbage succeeded")
	}
}

func TestEncodeWeightsLoads(t *testing.T) {
	n := lenet(t, 3)
	for _, dt := range []string{DTypeF32, DTypeF64} {
		b, err := EncodeWeights(n, dt, 42, nil)
		if err != nil {
			t.Fatal(err)
		}
		f := t.TempDir() + "/w.safetensors"
		if err := writeFile(f, b); err != nil {
			t.Fatal(err)
		}
		sd, err := model.ReadStateDict(f)
		if err != nil {
			t.Fatal(err)
		}
		if v := sd["bn1.num_batches_tracked"]; len(v.Data) != 1 || v.Data[0] != 42 {
			t.Errorf("%s: num_batches_tracked = %v", dt, v)
		}
		m, err := model.Build(n.Spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SetStateDict(sd, f); err != nil {
			t.Fatal(err)
		}
		for i, p := range m.Params() {
			want := n.Params()[i].Value.Data
			for j, v := range p.Value.Data {
				w := want[j]
				if dt == DTypeF32 {
					w = float64(float32(w))
				}
				if v != w {
					t.Fatalf("%s: %s[%d] = %v, want %v", dt, p.Key, j, v, w)
				}
			}
		}
	}
	if _, err := EncodeWeights(n, "f16", 0, nil); err == nil {
		t.Error("f16 accepted")
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, mod := range []func(*Options){
		func(o *Options) { o.Epochs = 0 },
		func(o *Options) { o.Batch = 1 },
		func(o *Options) { o.LR = 0 },
		func(o *Options) { o.LR = math.NaN() },
		func(o *Options) { o.Eta = -1 },
		func(o *Options) { o.Momentum = 1 },
		func(o *Options) { o.WeightDecay = -1 },
	} {
		o := DefaultOptions()
		mod(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	o := DefaultOptions()
	if err := o.Validate(); err != nil {
		t.Error(err)
	}
	if _, err := ParseGradMode("nope"); err == nil {
		t.Error("bad grad mode accepted")
	}
}

func TestLRSchedule(t *testing.T) {
	if v := LRAt(0.1, 0, 100); v != 0.1 {
		t.Errorf("first step lr %v", v)
	}
	if v := LRAt(0.1, 50, 100); math.Abs(v-0.05) > 1e-15 {
		t.Errorf("half-way lr %v", v)
	}
	if v := LRAt(0.1, 100, 100); math.Abs(v) > 1e-15 {
		t.Errorf("end lr %v", v)
	}
}

func writeFile(name string, b []byte) error { return os.WriteFile(name, b, 0o644) }
