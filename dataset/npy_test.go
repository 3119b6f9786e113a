package dataset

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"codeberg.org/sbinet/npyio"
	"github.com/google/go-cmp/cmp"
)

func seq(n int, f func(i int) float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestWriteNPYRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, shape := range [][]int{{2, 1, 3, 4}, {5}, {}, {3, 2}, {1, 1, 1, 1, 1}} {
		n := Tensor{Shape: shape}.Len()
		in := Tensor{Shape: shape, Data: seq(n, func(i int) float64 { return float64(i)*0.37 - 1.5 })}
		p := filepath.Join(dir, "t.npy")
		if err := WriteNPY(p, in); err != nil {
			t.Fatalf("WriteNPY %v: %v", shape, err)
		}
		got, err := ReadNPY(p)
		if err != nil {
			t.Fatalf("ReadNPY %v: %v", shape, err)
		}
		if len(shape) == 0 {
			// a scalar comes back with an empty shape (nil or []int{}).
			if len(got.Shape) != 0 || !cmp.Equal(got.Data, in.Data) {
				t.Errorf("scalar round trip: got %+v, want %+v", got, in)
			}
			continue
		}
		if diff := cmp.Diff(in, got); diff != "" {
			t.Errorf("round trip %v (-want +got):\n%s", shape, diff)
		}

		// The reference reader agrees on dtype, shape and values.
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		r, err := npyio.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		if r.Header.Descr.Type != "'<f8'" || !cmp.Equal(r.Header.Descr.Shape, shape) || r.Header.Descr.Fortran {
			t.Errorf("npyio header = %+v, want '<f8' C-order shape %v", r.Header.Descr, shape)
		}
		var flat []float64
		if err := r.Read(&flat); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if !cmp.Equal(flat, in.Data) {
			t.Errorf("npyio read %v, want %v", flat, in.Data)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
}

func TestReadNPYFromNpyio(t *testing.T) {
	dir := t.TempDir()

	f32 := [][][][]float32{{{{0.5, -1.25, 3}, {4, 5, 6}}}, {{{7, 8, 9}, {1e-3, 0, -0}}}}
	got, err := ReadNPY(writeNPYValue(t, dir, "f32.npy", f32))
	if err != nil {
		t.Fatal(err)
	}
	want := Tensor{Shape: []int{2, 1, 2, 3}, Data: []float64{0.5, -1.25, 3, 4, 5, 6, 7, 8, 9, float64(float32(1e-3)), 0, 0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("float32 (-want +got):\n%s", diff)
	}

	f64 := [][]float64{{1.5, 2.25}, {-3, 1e300}, {0, 42}}
	got, err = ReadNPY(writeNPYValue(t, dir, "f64.npy", f64))
	if err != nil {
		t.Fatal(err)
	}
	want = Tensor{Shape: []int{3, 2}, Data: []float64{1.5, 2.25, -3, 1e300, 0, 42}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("float64 (-want +got):\n%s", diff)
	}

	// uint8 keeps its numeric values (no /255 scaling).
	got, err = ReadNPY(writeNPYValue(t, dir, "u8.npy", [][]uint8{{0, 17}, {128, 255}}))
	if err != nil {
		t.Fatal(err)
	}
	want = Tensor{Shape: []int{2, 2}, Data: []float64{0, 17, 128, 255}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("uint8 (-want +got):\n%s", diff)
	}

	// gzip-compressed .npy is accepted too.
	got, err = ReadNPY(writeFile(t, dir, "f64.npy.gz", gz(t, npyBytes(t, f64))))
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != 6 || got.Data[3] != 1e300 {
		t.Errorf("gzip npy = %+v", got)
	}
}

func TestReadNPYInts(t *testing.T) {
	dir := t.TempDir()
	want := []int{0, 3, 9, 1}
	for name, v := range map[string]any{
		"i8":  []int8{0, 3, 9, 1},
		"i16": []int16{0, 3, 9, 1},
		"i32": []int32{0, 3, 9, 1},
		"i64": []int64{0, 3, 9, 1},
		"u8":  []uint8{0, 3, 9, 1},
		"u16": []uint16{0, 3, 9, 1},
		"u32": []uint32{0, 3, 9, 1},
		"u64": []uint64{0, 3, 9, 1},
		"f32": []float32{0, 3, 9, 1},
		"f64": []float64{0, 3, 9, 1},
		"2d":  [][]int64{{0}, {3}, {9}, {1}},
	} {
		got, err := ReadNPYInts(writeNPYValue(t, dir, name+".npy", v))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !cmp.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}

	p := writeNPYValue(t, dir, "frac.npy", []float32{1, 2.5})
	_, err := ReadNPYInts(p)
	wantErr(t, err, p, "non-integer", "2.5", "index 1")

	p = writeNPYValue(t, dir, "nan.npy", []float64{math.NaN()})
	_, err = ReadNPYInts(p)
	wantErr(t, err, p, "non-integer", "index 0")

	p = writeNPYValue(t, dir, "big.npy", []uint64{1, math.MaxUint64})
	_, err = ReadNPYInts(p)
	wantErr(t, err, p, "out of range", "index 1")
}

func TestReadNPYNonFinite(t *testing.T) {
	dir := t.TempDir()
	p := writeNPYValue(t, dir, "nan.npy", [][]float64{{1, 2, 3}, {4, 5, math.NaN()}})
	_, err := ReadNPY(p)
	wantErr(t, err, p, "NaN", "[1 2]", "flat 5")

	p = writeNPYValue(t, dir, "inf.npy", []float32{1, float32(math.Inf(-1))})
	_, err = ReadNPY(p)
	wantErr(t, err, p, "-Inf", "flat 1")
}

// patchHeader rewrites a header field in an npyio-encoded file while
// keeping the header length (spaces before the final newline absorb the
// difference).
func patchHeader(t *testing.T, b []byte, old, new string) []byte {
	t.Helper()
	nl := bytes.IndexByte(b, '\n')
	hdr := string(b[:nl])
	i := bytes.Index([]byte(hdr), []byte(old))
	if i < 0 {
		t.Fatalf("header %q lacks %q", hdr, old)
	}
	hdr = hdr[:i] + new + hdr[i+len(old):]
	for len(hdr) < nl {
		hdr += " "
	}
	if len(hdr) != nl {
		t.Fatalf("patched header is longer")
	}
	return append([]byte(hdr), b[nl:]...)
}

func TestReadNPYFortranOrder(t *testing.T) {
	// Column-major storage of [[1 2 3] [4 5 6]] is 1 4 2 5 3 6.
	b := npyBytes(t, [][]float64{{1, 4}, {2, 5}, {3, 6}})
	b = patchHeader(t, b, "'fortran_order': False", "'fortran_order': True")
	b = patchHeader(t, b, "(3, 2)", "(2, 3)")
	p := writeFile(t, t.TempDir(), "f.npy", b)
	got, err := ReadNPY(p)
	if err != nil {
		t.Fatal(err)
	}
	want := Tensor{Shape: []int{2, 3}, Data: []float64{1, 2, 3, 4, 5, 6}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fortran (-want +got):\n%s", diff)
	}
}

func TestReadNPYBigEndian(t *testing.T) {
	b := npyBytes(t, []float32{1.5, -2})
	b = patchHeader(t, b, "'<f4'", "'>f4'")
	data := b[len(b)-8:]
	binary.BigEndian.PutUint32(data[0:], math.Float32bits(1.5))
	binary.BigEndian.PutUint32(data[4:], math.Float32bits(-2))
	got, err := ReadNPY(writeFile(t, t.TempDir(), "be.npy", b))
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(got.Data, []float64{1.5, -2}) {
		t.Errorf("big-endian = %v", got.Data)
	}
}

func TestReadNPYErrors(t *testing.T) {
	dir := t.TempDir()
	good := npyBytes(t, [][]float32{{1, 2}, {3, 4}})

	p := writeFile(t, dir, "magic.npy", append([]byte("NOTNPY"), good[6:]...))
	_, err := ReadNPY(p)
	wantErr(t, err, p, "bad magic")

	p = writeFile(t, dir, "short.npy", good[:len(good)-3])
	_, err = ReadNPY(p)
	wantErr(t, err, p, "truncated", "[2 2]", "16 data bytes", "found 13")

	p = writeFile(t, dir, "hdr.npy", good[:20])
	_, err = ReadNPY(p)
	wantErr(t, err, p, "truncated")

	p = writeFile(t, dir, "trail.npy", append(append([]byte{}, good...), 0, 0))
	_, err = ReadNPY(p)
	wantErr(t, err, p, "2 trailing bytes")

	p = writeNPYValue(t, dir, "c128.npy", []complex128{1})
	_, err = ReadNPY(p)
	wantErr(t, err, p, "unsupported dtype", "c16")

	p = writeNPYValue(t, dir, "bool.npy", []bool{true})
	_, err = ReadNPYInts(p)
	wantErr(t, err, p, "unsupported dtype")

	p = filepath.Join(dir, "missing.npy")
	_, err = ReadNPY(p)
	wantErr(t, err, p, "no such file")

	p = writeFile(t, dir, "empty.npy", nil)
	_, err = ReadNPY(p)
	wantErr(t, err, p, "bad magic")
}

func TestWriteNPYErrorsLeaveNoFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.npy")

	err := WriteNPY(p, Tensor{Shape: []int{2, 3}, Data: make([]float64, 5)})
	wantErr(t, err, p, "shape mismatch", "[2 3]", "6", "5")

	err = WriteNPY(p, Tensor{Shape: []int{-1, 3}, Data: nil})
	wantErr(t, err, p, "negative")

	err = WriteNPY(p, Tensor{Shape: []int{0, 1, 28, 28}})
	wantErr(t, err, p, "zero-size")

	missing := filepath.Join(dir, "nodir", "x.npy")
	err = WriteNPY(missing, Tensor{Shape: []int{1}, Data: []float64{1}})
	wantErr(t, err, missing, "no such file")

	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed writes left files: %v", entries)
	}

	// A failed write keeps an existing file intact; a good one replaces it.
	if err := WriteNPY(p, Tensor{Shape: []int{1}, Data: []float64{1}}); err != nil {
		t.Fatal(err)
	}
	if err := WriteNPY(p, Tensor{Shape: []int{2}, Data: []float64{1}}); err == nil {
		t.Fatal("want error")
	}
	if got, err := ReadNPY(p); err != nil || !cmp.Equal(got.Data, []float64{1}) {
		t.Fatalf("after failed overwrite: %v %v", got, err)
	}
	if err := WriteNPY(p, Tensor{Shape: []int{2}, Data: []float64{7, 8}}); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadNPY(p); err != nil || !cmp.Equal(got.Data, []float64{7, 8}) {
		t.Fatalf("after overwrite: %v %v", got, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("dir holds %v, want only x.npy", entries)
	}
}

// npyV3 returns a version 3.0 .npy file (the version 2.0 layout with a
// UTF-8 header) holding data under header, padded as numpy pads it.
func npyV3(header string, data []byte) []byte {
	h := header
	for (12+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := append([]byte("\x93NUMPY\x03\x00"), binary.LittleEndian.AppendUint32(nil, uint32(len(h)))...)
	b = append(b, h...)
	return append(b, data...)
}

// TestReadNPYVersion3: format version 3.0 loads like 2.0; a header that is
// not UTF-8 is refused, naming the file.
func TestReadNPYVersion3(t *testing.T) {
	dir := t.TempDir()
	var data []byte
	for _, v := range []float32{1.5, -2, 0.25, 8} {
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
	}
	p := writeFile(t, dir, "v3.npy", npyV3("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", data))
	got, err := ReadNPY(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Tensor{Shape: []int{2, 2}, Data: []float64{1.5, -2, 0.25, 8}}, got); diff != "" {
		t.Errorf("v3 (-want +got):\n%s", diff)
	}
	p = writeFile(t, dir, "v3ints.npy", npyV3("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 3), 7)))
	if ints, err := ReadNPYInts(p); err != nil || !cmp.Equal(ints, []int{3, 7}) {
		t.Errorf("v3 ints = %v, %v; want [3 7]", ints, err)
	}
	p = writeFile(t, dir, "v3bad.npy", npyV3("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\xff", data))
	_, err = ReadNPY(p)
	wantErr(t, err, p, "version 3.0 header is not UTF-8")
	b := npyV3("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", data)
	b[6] = 4
	p = writeFile(t, dir, "v4.npy", b)
	_, err = ReadNPY(p)
	wantErr(t, err, p, "version")
}
