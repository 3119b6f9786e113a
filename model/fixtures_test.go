package model

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/testutil"
)

// relErr is max|got − want| / max|want|.
func relErr(t *testing.T, name string, got, want dataset.Tensor) float64 {
	t.Helper()
	if !slices.Equal(got.Shape, want.Shape) {
		t.Fatalf("%s: shape %v, want %v", name, got.Shape, want.Shape)
	}
	var maxErr, maxRef float64
	for i, w := range want.Data {
		maxErr = math.Max(maxErr, math.Abs(got.Data[i]-w))
		maxRef = math.Max(maxRef, math.Abs(w))
	}
	if maxRef == 0 {
		return maxErr
	}
	return maxErr / maxRef
}

func readNPY(t testing.TB, name string) dataset.Tensor {
	t.Helper()
	x, err := dataset.ReadNPY(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// checkAgainstFixtures runs net on prefix_input.npy and compares every
// layer named in prefix_ref.npz and the final output with
// prefix_logits.npy.
func checkAgainstFixtures(t *testing.T, net *Net, prefix string, tol float64) (worstLayer, logitErr float64) {
	t.Helper()
	x := readNPY(t, prefix+"_input.npy")
	outs, err := net.ForwardAll(x)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := ReadNPZ(filepath.Join("testdata", prefix+"_ref.npz"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range ref.Keys() {
		i := net.Index(name)
		if i < 0 {
			t.Errorf("reference layer %q is not in the net", name)
			continue
		}
		e := relErr(t, name, outs[i], ref[name])
		worstLayer = math.Max(worstLayer, e)
		if e > tol {
			t.Errorf("layer %q: relative error %.3g > %.3g", name, e, tol)
		}
	}
	if len(ref) == 0 {
		t.Errorf("%s_ref.npz is empty", prefix)
	}
	logits := readNPY(t, prefix+"_logits.npy")
	y, err := net.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	logitErr = relErr(t, "logits", y, logits)
	if logitErr > tol {
		t.Errorf("logits: relative error %.3g > %.3g", logitErr, tol)
	}
	if !slices.Equal(y.Data, outs[len(outs)-1].Data) {
		t.Errorf("Forward and ForwardAll disagree")
	}
	return worstLayer, logitErr
}

func TestLeNetFixture(t *testing.T) {
	net, err := Load("lenet5-adder", "testdata/lenet5_zip.pth")
	if err != nil {
		t.Fatal(err)
	}
	l, e := checkAgainstFixtures(t, net, "lenet5", 1e-6)
	t.Logf("lenet5-adder vs PyTorch: worst layer (float32-stored refs) %.3g, logits %.3g", l, e)
}

func TestTinyFixtureAllFormats(t *testing.T) {
	files := []string{"tiny_zip.pth", "tiny_legacy.pth", "tiny.npz", "tiny.safetensors", "tiny_module.pth", "tiny_module_legacy.pth", "tiny_ckpt.pth"}
	var first StateDict
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			net, err := Load("testdata/tiny.json", filepath.Join("testdata", f))
			if err != nil {
				t.Fatal(err)
			}
			l, e := checkAgainstFixtures(t, net, "tiny", 1e-6)
			t.Logf("%s vs PyTorch: worst layer %.3g, logits %.3g", f, l, e)
			sd := net.StateDict()
			if first == nil {
				first = sd
				return
			}
			for k, v := range first {
				if !slices.Equal(v.Data, sd[k].Data) {
					t.Errorf("%s: key %q differs from %s", f, k, files[0])
				}
			}
		})
	}
}

func officialCheckpoint(t testing.TB) string {
	t.Helper()
	return testutil.SharedFile(t, "models/ResNet20-AdderNet.pth")
}

func TestResNet20Official(t *testing.T) {
	ckpt := officialCheckpoint(t)
	raw, err := ReadPyTorch(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 132 {
		t.Errorf("checkpoint has %d entries, want 132", len(raw))
	}
	net, err := Load("resnet20-adder", ckpt)
	if err != nil {
		t.Fatal(err)
	}
	l, e := checkAgainstFixtures(t, net, "resnet20", 1e-6)
	t.Logf("resnet20-adder official checkpoint vs PyTorch: avgpool %.3g, logits %.3g", l, e)
}
