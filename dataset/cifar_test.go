package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/addergen/addergen/internal/testutil"
)

// cifarRecords builds n CIFAR-10 records: record r has label labels[r] and
// pixel k (flat, R then G then B planes) byte(r*31 + k*7).
func cifarRecords(labels ...byte) []byte {
	var b bytes.Buffer
	for r, l := range labels {
		b.WriteByte(l)
		for k := range CIFARRecord - 1 {
			b.WriteByte(byte(r*31 + k*7))
		}
	}
	return b.Bytes()
}

func TestLoadCIFARFile(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "x.bin", cifarRecords(3, 9, 0))
	set, err := Load(p, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(set.X.Shape, []int{3, 3, 32, 32}) {
		t.Fatalf("shape %v, want [3 3 32 32]", set.X.Shape)
	}
	if !slices.Equal(set.Labels, []int{3, 9, 0}) {
		t.Fatalf("labels %v, want [3 9 0]", set.Labels)
	}
	if !set.RawPixels {
		t.Error("RawPixels not set for CIFAR-10 data")
	}
	// Record 1, green plane (c=1), row 2, column 5: flat pixel k = 1024 + 2*32 + 5.
	k := 1024 + 2*32 + 5
	got := set.X.Data[1*3072+k]
	if want := float64(byte(1*31 + k*7)); got != want {
		t.Fatalf("record 1 pixel (G, 2, 5) = %v, want %v (raw byte, not scaled)", got, want)
	}
	lim, err := LoadLimit(p, "", "", 2)
	if err != nil {
		t.Fatal(err)
	}
	if lim.X.Shape[0] != 2 || len(lim.X.Data) != 2*3072 || !slices.Equal(lim.Labels, []int{3, 9}) || !lim.RawPixels {
		t.Fatalf("limit 2: shape %v, %d values, labels %v, raw %v", lim.X.Shape, len(lim.X.Data), lim.Labels, lim.RawPixels)
	}
}

func TestLoadCIFARFolderSplits(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "test_batch.bin", cifarRecords(1))
	writeFile(t, dir, "data_batch_2.bin", cifarRecords(7, 8, 9))
	writeFile(t, dir, "data_batch_1.bin", cifarRecords(4, 5))
	test, err := Load(dir, "", SplitTest)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(test.Labels, []int{1}) {
		t.Fatalf("test split labels %v, want [1] (test_batch.bin)", test.Labels)
	}
	def, err := Load(dir, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(def.Labels, []int{1}) {
		t.Fatalf("default split labels %v, want the test split [1]", def.Labels)
	}
	train, err := Load(dir, "", SplitTrain)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(train.Labels, []int{4, 5, 7, 8, 9}) {
		t.Fatalf("train split labels %v, want data_batch_1 then data_batch_2: [4 5 7 8 9]", train.Labels)
	}
	lim, err := LoadLimit(dir, "", SplitTrain, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(lim.Labels, []int{4, 5, 7}) || lim.X.Shape[0] != 3 {
		t.Fatalf("train limit 3: labels %v, shape %v", lim.Labels, lim.X.Shape)
	}
}

func TestLoadCIFARErrors(t *testing.T) {
	dir := t.TempDir()
	good := cifarRecords(1, 2)
	trunc := writeFile(t, dir, "trunc.bin", good[:len(good)-100])
	badLabel := writeFile(t, dir, "label.bin", cifarRecords(1, 12))
	empty := writeFile(t, dir, "empty.bin", nil)
	ok := writeFile(t, dir, "ok.bin", good)
	onlyTest := t.TempDir()
	writeFile(t, onlyTest, "test_batch.bin", good)
	for _, c := range []struct {
		name, path, labels, split string
		want                      []string
	}{
		{"truncated", trunc, "", "", []string{trunc, "6046 bytes", "not a whole number of 3073-byte", "truncated"}},
		{"label", badLabel, "", "", []string{badLabel, "record 1", "label byte 12"}},
		{"empty", empty, "", "", []string{empty, "empty"}},
		{"labels file", ok, "y.npy", "", []string{ok, "own labels", "y.npy"}},
		{"no train split", onlyTest, "", SplitTrain, []string{onlyTest, "data_batch_*.bin"}},
		{"bad split", onlyTest, "", "dev", []string{"unknown split", "dev"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(c.path, c.labels, c.split)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

// sharedCIFAR returns shared/data/cifar10-jpeg/NAME; its absence fails the
// test (it never skips).
func sharedCIFAR(t *testing.T, name string) string {
	t.Setenv("ADDERGEN_REQUIRE_SHARED", "1")
	return testutil.SharedFile(t, "data/cifar10-jpeg/"+name)
}

// TestLoadCIFARShared reads the shared CIFAR-10 test split; the expected
// values were read from the file with Python (record k starts at byte
// 3073·k; its label is that byte).
func TestLoadCIFARShared(t *testing.T) {
	p := sharedCIFAR(t, CIFARTestFile)
	set, err := Load(filepath.Dir(p), "", "") // the folder: its test split
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(set.X.Shape, []int{10000, 3, 32, 32}) || len(set.Labels) != 10000 {
		t.Fatalf("shape %v, %d labels; want [10000 3 32 32] and 10000", set.X.Shape, len(set.Labels))
	}
	if !slices.Equal(set.Labels[:10], []int{9, 0, 2, 5, 2, 8, 5, 6, 2, 3}) {
		t.Errorf("first labels %v", set.Labels[:10])
	}
	if set.Labels[9999] != 2 {
		t.Errorf("label of record 9999 = %d, want 2", set.Labels[9999])
	}
	px := func(r, c, y, x int) float64 { return set.X.Data[((r*3+c)*32+y)*32+x] }
	for _, c := range []struct {
		r, c, y, x int
		want       float64
	}{
		{0, 0, 0, 0, 60}, {0, 0, 0, 4, 72}, {0, 1, 5, 7, 118}, {0, 2, 31, 31, 162}, {9999, 0, 0, 2, 107},
	} {
		if got := px(c.r, c.c, c.y, c.x); got != c.want {
			t.Errorf("record %d channel %d (%d, %d) = %v, want %v", c.r, c.c, c.y, c.x, got, c.want)
		}
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 10000*CIFARRecord {
		t.Fatalf("size %d", fi.Size())
	}
}

// A .bin file that starts with the .npy magic is read as .npy, not CIFAR-10.
func TestLoadBinNPYIsNotCIFAR(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.bin")
	if err := os.WriteFile(p, npyBytes(t, []float64{1, 2, 3}), 0o644); err != nil {
		t.Fatal(err)
	}
	if IsCIFARPath(p) {
		t.Fatal("a .npy file named .bin is taken for CIFAR-10")
	}
	set, err := Load(p, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(set.X.Data, []float64{1, 2, 3}) || set.RawPixels {
		t.Fatalf("data %v raw %v", set.X.Data, set.RawPixels)
	}
}
