package train

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
)

// TestStepMatchesPyTorch takes two SGD steps on the tiny net of
// testdata/step_spec.json and compares every weight, batch-norm running
// statistic, momentum buffer and loss with an independent PyTorch
// implementation of the same rules (testdata/make_step_fixture.py), for
// the default rules and each ablation.
func TestStepMatchesPyTorch(t *testing.T) {
	js, err := os.ReadFile("testdata/step_spec.json")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := model.ParseSpec(js, "step_spec.json")
	if err != nil {
		t.Fatal(err)
	}
	init, err := model.ReadNPZ("testdata/step_init.npz")
	if err != nil {
		t.Fatal(err)
	}
	set, err := dataset.Load("testdata/step_x.npy", "", "")
	if err != nil {
		t.Fatal(err)
	}
	const batch, steps, lr = 6, 2, 0.1
	in := numel(spec.Input)
	for _, v := range []struct {
		name string
		mod  func(*Config)
	}{
		{"full", func(*Config) {}},
		{"sign", func(c *Config) { c.Grad = GradSign }},
		{"nohardtanh", func(c *Config) { c.NoHardTanh = true }},
		{"noalr", func(c *Config) { c.NoAdaptiveLR = true }},
	} {
		t.Run(v.name, func(t *testing.T) {
			want, err := model.ReadNPZ("testdata/step_after_" + v.name + ".npz")
			if err != nil {
				t.Fatal(err)
			}
			net, err := model.Build(spec)
			if err != nil {
				t.Fatal(err)
			}
			if err := net.SetStateDict(init, "step_init.npz"); err != nil {
				t.Fatal(err)
			}
			cfg := DefaultConfig()
			cfg.Chunk = 4 // two chunks per batch of 6
			v.mod(&cfg)
			tr, err := New(net, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for s := range steps {
				loss, _, err := tr.Step(set.X.Data[s*batch*in:(s+1)*batch*in], set.Labels[s*batch:(s+1)*batch], lr)
				if err != nil {
					t.Fatal(err)
				}
				if w := want["loss"].Data[s]; !close(loss, w) {
					t.Errorf("step %d loss %.12g, PyTorch %.12g", s+1, loss, w)
				}
			}
			checked := 0
			for k, w := range want {
				var got []float64
				switch {
				case k == "loss":
					continue
				case strings.HasPrefix(k, "momentum."):
					got = tr.Momentum(paramByKey(net, strings.TrimPrefix(k, "momentum.")))
				default:
					got = paramByKey(net, k).Value.Data
				}
				if len(got) != len(w.Data) {
					t.Fatalf("%s: %d values, PyTorch %d", k, len(got), len(w.Data))
				}
				for i := range got {
					if !close(got[i], w.Data[i]) {
						t.Errorf("%s[%d] = %.12g, PyTorch %.12g", k, i, got[i], w.Data[i])
					}
					checked++
				}
			}
			if checked < 400 {
				t.Errorf("only %d values compared", checked)
			}
		})
	}
}

// close compares at 1e-6 relative (absolute near zero).
func close(a, b float64) bool {
	return math.Abs(a-b) <= 1e-6*math.Max(1e-3, math.Max(math.Abs(a), math.Abs(b)))
}

func paramByKey(n *model.Net, key string) *model.Param {
	for _, p := range n.Params() {
		if p.Key == key {
			return p
		}
	}
	return nil
}
