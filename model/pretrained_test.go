package model

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/addergen/addergen/dataset"
)

// TestPretrainedMNIST checks the embedded lenet5-adder-mnist model on the
// first 2000 MNIST test images (pretrained/README.md has the full test
// set's accuracy).
func TestPretrainedMNIST(t *testing.T) {
	if !slices.Contains(PretrainedNames(), "lenet5-adder-mnist") {
		t.Fatalf("names %v", PretrainedNames())
	}
	n, ok, err := Pretrained("lenet5-adder-mnist")
	if !ok || err != nil {
		t.Fatalf("Pretrained: %v %v", ok, err)
	}
	dir, err := dataset.MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	set, err := dataset.Load(dir, "", dataset.SplitTest)
	if err != nil {
		t.Fatal(err)
	}
	set = set.Limit(2000)
	out, err := n.Forward(set.X)
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i, y := range set.Labels {
		z := out.Data[i*10 : (i+1)*10]
		if slices.Index(z, slices.Max(z)) == y {
			correct++
		}
	}
	if acc := float64(correct) / 2000; acc < 0.985 {
		t.Errorf("accuracy %.4f on 2000 test images, want >= 0.985", acc)
	}
	if _, ok, _ := Pretrained("nope"); ok {
		t.Error("unknown name found")
	}
}

func TestResolvePretrainedAndDir(t *testing.T) {
	r, err := Resolve("lenet5-adder-mnist", "")
	if err != nil {
		t.Fatal(err)
	}
	if r.(*Net).Spec.Name != "lenet5-adder" {
		t.Errorf("spec %s", r.(*Net).Spec.Name)
	}
	if _, err := Resolve("lenet5-adder-mnist", "w.pth"); err == nil {
		t.Error("a built-in trained model with a weights file resolved")
	}
	// A model folder: spec.json + weights.safetensors.
	net := r.(*Net)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, DirSpecFile), net.Spec.JSON(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := SaveSafetensors(net, filepath.Join(dir, DirWeightsFile)); err != nil {
		t.Fatal(err)
	}
	r2, err := Resolve(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range r2.(*Net).Params() {
		if !slices.Equal(p.Value.Data, net.Params()[i].Value.Data) {
			t.Fatalf("%s differs after the round trip", p.Key)
		}
	}
	if _, err := LoadDir(t.TempDir()); err == nil {
		t.Error("an empty folder loaded")
	}
}

// TestPretrainedSmall12 checks the embedded small12-adder-mnist model on
// the first 2000 MNIST test images shrunk to 12x12 as scripts/mnist12
// does (pretrained/README.md has the full test set's accuracy).
func TestPretrainedSmall12(t *testing.T) {
	n, ok, err := Pretrained("small12-adder-mnist")
	if !ok || err != nil {
		t.Fatalf("Pretrained: %v %v", ok, err)
	}
	dir, err := dataset.MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	set, err := dataset.Load(dir, "", dataset.SplitTest)
	if err != nil {
		t.Fatal(err)
	}
	if set, err = dataset.ResizeSet(set.Limit(2000), 12, 12, true); err != nil {
		t.Fatal(err)
	}
	out, err := n.Forward(set.X)
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i, y := range set.Labels {
		z := out.Data[i*10 : (i+1)*10]
		if slices.Index(z, slices.Max(z)) == y {
			correct++
		}
	}
	if acc := float64(correct) / 2000; acc < 0.97 {
		t.Errorf("accuracy %.4f on 2000 test images, want >= 0.97", acc)
	}
}
