package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTensorSampleAndLen(t *testing.T) {
	x := Tensor{Shape: []int{3, 1, 2, 2}, Data: seq(12, func(i int) float64 { return float64(i) })}
	if x.Len() != 12 {
		t.Fatalf("Len = %d", x.Len())
	}
	s := x.Sample(1)
	if diff := cmp.Diff(Tensor{Shape: []int{1, 2, 2}, Data: []float64{4, 5, 6, 7}}, s); diff != "" {
		t.Errorf("Sample(1) (-want +got):\n%s", diff)
	}
	s.Data[0] = -1 // shares memory
	if x.Data[4] != -1 {
		t.Error("Sample does not share Data")
	}
	s.Data = append(s.Data, 99) // but cannot clobber the next sample
	if x.Data[8] != 8 {
		t.Error("append to a Sample overwrote the next sample")
	}
	if (Tensor{}).Len() != 1 {
		t.Error("scalar Len != 1")
	}
	defer func() {
		if recover() == nil {
			t.Error("Sample(3) of 3 samples did not panic")
		}
	}()
	x.Sample(3)
}

func TestLimit(t *testing.T) {
	s := &Set{X: Tensor{Shape: []int{4, 2}, Data: seq(8, func(i int) float64 { return float64(i) })}, Labels: []int{1, 2, 3, 4}}
	got := s.Limit(2)
	if diff := cmp.Diff(&Set{X: Tensor{Shape: []int{2, 2}, Data: []float64{0, 1, 2, 3}}, Labels: []int{1, 2}}, got); diff != "" {
		t.Errorf("Limit(2) (-want +got):\n%s", diff)
	}
	if s.X.Shape[0] != 4 {
		t.Error("Limit modified the original shape")
	}
	for _, n := range []int{0, -1, 4, 100} {
		if got := s.Limit(n); got.X.Shape[0] != 4 || len(got.Labels) != 4 {
			t.Errorf("Limit(%d) = %v samples, want all 4", n, got.X.Shape[0])
		}
	}
	nolab := &Set{X: s.X}
	if got := nolab.Limit(1); got.Labels != nil || got.X.Len() != 2 {
		t.Errorf("Limit without labels = %+v", got)
	}
}

// mnistLikeDir writes a folder like GoMNIST's data/ with 3 test and 2
// train images of 2x2 (test gzip-compressed, train plain).
func mnistLikeDir(t *testing.T) string {
	dir := t.TempDir()
	writeFile(t, dir, "t10k-images-idx3-ubyte.gz", gz(t, idxImages(3, 2, 2)))
	writeFile(t, dir, "t10k-labels-idx1-ubyte.gz", gz(t, idxLabels(7, 2, 1)))
	writeFile(t, dir, "train-images-idx3-ubyte", idxImages(2, 2, 2))
	writeFile(t, dir, "train-labels-idx1-ubyte", idxLabels(5, 0))
	return dir
}

func TestLoadFolder(t *testing.T) {
	dir := mnistLikeDir(t)
	for _, split := range []string{"", "test"} {
		s, err := Load(dir, "", split)
		if err != nil {
			t.Fatalf("split %q: %v", split, err)
		}
		if !cmp.Equal(s.X.Shape, []int{3, 1, 2, 2}) || !cmp.Equal(s.Labels, []int{7, 2, 1}) {
			t.Errorf("split %q: shape %v labels %v", split, s.X.Shape, s.Labels)
		}
		if s.X.Data[1] != float64(byte(1*7+3))/255 {
			t.Errorf("pixel 1 = %v", s.X.Data[1])
		}
	}
	s, err := Load(dir, "", "train")
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(s.X.Shape, []int{2, 1, 2, 2}) || !cmp.Equal(s.Labels, []int{5, 0}) {
		t.Errorf("train: shape %v labels %v", s.X.Shape, s.Labels)
	}

	// An IDX images file given directly finds its labels file.
	s, err = Load(filepath.Join(dir, "train-images-idx3-ubyte"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(s.Labels, []int{5, 0}) {
		t.Errorf("direct file labels = %v", s.Labels)
	}

	// Explicit labels override the automatic ones.
	lp := writeNPYValue(t, t.TempDir(), "l.npy", []int64{4, 4, 4})
	s, err = Load(dir, lp, "")
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(s.Labels, []int{4, 4, 4}) {
		t.Errorf("explicit labels = %v", s.Labels)
	}

	_, err = Load(dir, "", "validation")
	wantErr(t, err, `unknown split "validation"`)

	empty := t.TempDir()
	_, err = Load(empty, "", "")
	wantErr(t, err, empty, "t10k-images-idx3-ubyte")
}

func TestLoadFolderWithoutLabels(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "t10k-images-idx3-ubyte", idxImages(1, 2, 2))
	s, err := Load(dir, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Labels != nil || s.X.Shape[0] != 1 {
		t.Errorf("got %+v, want 1 sample and nil labels", s)
	}
}

func TestLoadMismatchedCounts(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "t10k-images-idx3-ubyte", idxImages(3, 2, 2))
	lp := writeFile(t, dir, "t10k-labels-idx1-ubyte", idxLabels(1, 2))
	_, err := Load(dir, "", "")
	wantErr(t, err, lp, "shape mismatch", "2 labels", "3 samples")
}

func TestLoadNPY(t *testing.T) {
	dir := t.TempDir()
	x := [][][][]float32{{{{0.1, 0.2}}}, {{{0.3, 0.4}}}, {{{0.5, 0.6}}}}
	xp := writeNPYValue(t, dir, "x.npy", x)

	// No labels file beside it: Labels is nil.
	s, err := Load(xp, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Labels != nil || !cmp.Equal(s.X.Shape, []int{3, 1, 1, 2}) || s.X.Data[5] != float64(float32(0.6)) {
		t.Errorf("no labels: %+v", s)
	}

	// x.labels.npy beside x.npy is picked up.
	writeNPYValue(t, dir, "x.labels.npy", []uint8{2, 0, 1})
	s, err = Load(xp, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(s.Labels, []int{2, 0, 1}) {
		t.Errorf("auto labels = %v", s.Labels)
	}

	// An explicit IDX labels file works for .npy data too.
	lp := writeFile(t, dir, "l.gz", gz(t, idxLabels(9, 8, 7)))
	s, err = Load(xp, lp, "")
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(s.Labels, []int{9, 8, 7}) {
		t.Errorf("idx labels = %v", s.Labels)
	}

	// Float labels holding integers are accepted.
	lp = writeNPYValue(t, dir, "lf.npy", []float64{1, 2, 3})
	if s, err = Load(xp, lp, ""); err != nil || !cmp.Equal(s.Labels, []int{1, 2, 3}) {
		t.Errorf("float labels: %v %v", s, err)
	}

	lp = writeNPYValue(t, dir, "neg.npy", []int32{1, -2, 3})
	_, err = Load(xp, lp, "")
	wantErr(t, err, lp, "label out of range", "index 1", "-2")

	lp = writeNPYValue(t, dir, "frac.npy", []float32{1, 2, 0.5})
	_, err = Load(xp, lp, "")
	wantErr(t, err, lp, "non-integer", "index 2")

	lp = writeNPYValue(t, dir, "four.npy", []int64{1, 2, 3, 4})
	_, err = Load(xp, lp, "")
	wantErr(t, err, lp, "shape mismatch", "4 labels", "3 samples")

	// A broken auto labels file is an error, not silently ignored.
	writeFile(t, dir, "x.labels.npy", []byte("junk"))
	_, err = Load(xp, "", "")
	wantErr(t, err, filepath.Join(dir, "x.labels.npy"), "bad magic")

	bad := writeNPYValue(t, dir, "bad.npy", []float64{1, 2})
	_, err = Load(bad, writeFile(t, dir, "img", idxImages(2, 1, 1)), "")
	wantErr(t, err, "is an IDX images file, want labels")

	sc := writeNPYValue(t, dir, "scalar.npy", 3.0)
	_, err = Load(sc, "", "")
	wantErr(t, err, sc, "scalar")
}

func TestLoadBadFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "nope.npy")
	_, err := Load(p, "", "")
	wantErr(t, err, p, "no such file")

	p = writeFile(t, dir, "junk.dat", []byte("hello world"))
	_, err = Load(p, "", "")
	wantErr(t, err, p, "bad magic")

	// A .bin file is CIFAR-10 binary data (the format has no magic).
	p = writeFile(t, dir, "junk.bin", []byte("hello world"))
	_, err = Load(p, "", "")
	wantErr(t, err, p, "11 bytes is not a whole number of 3073-byte CIFAR-10 records")

	p = writeFile(t, dir, "labels-as-data", idxLabels(1, 2))
	_, err = Load(p, "", "")
	wantErr(t, err, p, "IDX labels file, want images")

	img := idxImages(2, 2, 2)
	p = writeFile(t, dir, "cut-images-idx3-ubyte", img[:len(img)-1])
	_, err = Load(p, "", "")
	wantErr(t, err, p, "truncated")

	p = writeFile(t, dir, "cut-images-idx3-ubyte.gz", gz(t, img)[:25])
	_, err = Load(p, "", "")
	wantErr(t, err, p, "truncated gzip")

	p = writeFile(t, dir, "x.npy", npyBytes(t, []float64{1, 2}))
	if err := os.Chmod(p, 0); err == nil && os.Getuid() != 0 {
		_, err = Load(p, "", "")
		wantErr(t, err, p, "permission denied")
	}
}

// TestLoadBuiltinMNIST: the data argument "mnist" is the GoMNIST module's
// folder unless a file or folder of that name exists.
func TestLoadBuiltinMNIST(t *testing.T) {
	dir, err := MNISTDir()
	if err != nil {
		t.Fatal(err) // make tools downloads the GoMNIST module
	}
	t.Chdir(t.TempDir())
	got, err := Load(BuiltinMNIST, "", SplitTest)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Load(dir, "", SplitTest)
	if err != nil {
		t.Fatal(err)
	}
	if got.X.Shape[0] != 10000 || len(got.Labels) != 10000 || got.Labels[17] != want.Labels[17] || got.X.Data[12345] != want.X.Data[12345] {
		t.Errorf("mnist: %d samples, %d labels; want the 10000 test images of %s", got.X.Shape[0], len(got.Labels), dir)
	}
	// A local folder named mnist wins.
	if err := os.Rename(mnistLikeDir(t), BuiltinMNIST); err != nil {
		t.Fatal(err)
	}
	local, err := Load(BuiltinMNIST, "", SplitTest)
	if err != nil {
		t.Fatal(err)
	}
	if local.X.Shape[0] != 3 {
		t.Errorf("local ./mnist: %d samples, want its 3", local.X.Shape[0])
	}
}

// TestCheckClasses: labels outside [0, classes) are refused, naming the
// labels file, the first bad index and its value, for .npy and IDX labels.
func TestCheckClasses(t *testing.T) {
	dir := t.TempDir()
	x := Tensor{Shape: []int{3, 1, 2, 2}, Data: make([]float64, 12)}
	if err := WriteNPY(filepath.Join(dir, "x.npy"), x); err != nil {
		t.Fatal(err)
	}
	if err := WriteNPY(filepath.Join(dir, "x.labels.npy"), Tensor{Shape: []int{3}, Data: []float64{1, 10, 12}}); err != nil {
		t.Fatal(err)
	}
	set, err := Load(filepath.Join(dir, "x.npy"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := set.CheckClasses(11); err == nil || !strings.Contains(err.Error(), "x.labels.npy") || !strings.Contains(err.Error(), "index 2: 12") {
		t.Errorf("npy, 11 classes: %v; want the file, index 2 and value 12", err)
	}
	if err := set.Limit(2).CheckClasses(10); err == nil || !strings.Contains(err.Error(), "x.labels.npy: label out of range at index 1: 10 (the model has 10 classes") {
		t.Errorf("limited npy, 10 classes: %v", err)
	}
	if err := set.CheckClasses(13); err != nil {
		t.Errorf("13 classes: %v", err)
	}
	// IDX labels: magic 0x801, 3 labels.
	idx := []byte{0, 0, 8, 1, 0, 0, 0, 3, 0, 9, 4}
	lp := filepath.Join(dir, "y-labels-idx1-ubyte")
	if err := os.WriteFile(lp, idx, 0o644); err != nil {
		t.Fatal(err)
	}
	set, err = Load(filepath.Join(dir, "x.npy"), lp, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := set.CheckClasses(4); err == nil || !strings.Contains(err.Error(), lp+": label out of range at index 1: 9") {
		t.Errorf("IDX, 4 classes: %v", err)
	}
}
