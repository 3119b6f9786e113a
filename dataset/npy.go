package dataset

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"unicode/utf8"

	"codeberg.org/sbinet/npyio"
)

// ReadNPY reads a .npy array (optionally gzip-compressed) as float64.
// Supported dtypes are float32, float64, and signed or unsigned integers of
// 1, 2, 4 or 8 bytes, in either byte order. Values are converted without
// scaling (uint8 stays 0..255). Fortran-ordered arrays are converted to C
// order. NaN or ±Inf in float data is an error naming the element index.
func ReadNPY(path string) (Tensor, error) {
	b, err := readMaybeGzip(path)
	if err != nil {
		return Tensor{}, err
	}
	return decodeNPYTensor(path, b)
}

// ReadNPYInts reads a .npy array of integers (any integer dtype, or floats
// that hold exact integers), flattened in C order. Non-integer or
// non-finite floats and values that do not fit an int are errors.
func ReadNPYInts(path string) ([]int, error) {
	b, err := readMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	return decodeNPYInts(path, b)
}

// WriteNPY writes t as a little-endian float64 .npy file with shape
// t.Shape. The file is written to a temporary file in the same folder and
// renamed over path, so path is never left partially written. Zero-size
// tensors are rejected because npyio cannot encode their shape.
func WriteNPY(path string, t Tensor) (err error) {
	n, err := checkShape(t.Shape)
	if err != nil {
		return fmt.Errorf("dataset: %s: %v", path, err)
	}
	if n != len(t.Data) {
		return fmt.Errorf("dataset: %s: shape mismatch: shape %v holds %d values but Data has %d", path, t.Shape, n, len(t.Data))
	}
	if n == 0 {
		return fmt.Errorf("dataset: %s: cannot write zero-size tensor of shape %v", path, t.Shape)
	}

	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fileErr(path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = npyio.Write(bw, npyValue(t.Shape, t.Data)); err != nil {
		return fmt.Errorf("dataset: %s: encoding .npy: %v", path, oneLine(err.Error()))
	}
	if err = bw.Flush(); err != nil {
		return fileErr(path, err)
	}
	if err = f.Sync(); err != nil {
		return fileErr(path, err)
	}
	if err = f.Close(); err != nil {
		return fileErr(path, err)
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return fileErr(path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fileErr(path, err)
	}
	return nil
}

// npyValue presents data as a Go value whose shape npyio writes out:
// a scalar, a []float64, or nested slices viewing data (no copy).
func npyValue(shape []int, data []float64) any {
	switch len(shape) {
	case 0:
		return data[0]
	case 1:
		return data
	}
	return nestedSlices(shape, data).Interface()
}

func nestedSlices(shape []int, data []float64) reflect.Value {
	if len(shape) == 1 {
		return reflect.ValueOf(data[:shape[0]:shape[0]])
	}
	elem := reflect.TypeFor[[]float64]()
	for range len(shape) - 2 {
		elem = reflect.SliceOf(elem)
	}
	v := reflect.MakeSlice(reflect.SliceOf(elem), shape[0], shape[0])
	stride := len(data) / shape[0]
	for i := range shape[0] {
		v.Index(i).Set(nestedSlices(shape[1:], data[i*stride:(i+1)*stride]))
	}
	return v
}

// checkShape returns the element count of shape, rejecting negative
// dimensions and overflow.
func checkShape(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("invalid shape %v: negative dimension", shape)
		}
		if d != 0 && n > (math.MaxInt/8)/d { // room for n*itemsize
			return 0, fmt.Errorf("invalid shape %v: too many elements", shape)
		}
		n *= d
	}
	return n, nil
}

func readMaybeGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileErr(path, err)
	}
	defer f.Close()
	br, err := maybeGunzip(f)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %v", path, err)
	}
	b, err := io.ReadAll(br)
	if err != nil {
		return nil, fileErr(path, err)
	}
	return b, nil
}

// npyArray is a decoded .npy array in C order.
type npyArray struct {
	shape []int
	dtype string // e.g. "<f4", "|u1"
	data  any    // []float32, []float64, []int8 ... []uint64
}

func (a npyArray) isFloat() bool { return a.dtype[1] == 'f' }

// decodeNPY decodes a .npy file held in b using npyio, after checks that
// keep malformed input from crashing npyio or forcing huge allocations.
func decodeNPY(name string, b []byte) (a npyArray, err error) {
	defer func() {
		if r := recover(); r != nil {
			a, err = npyArray{}, fmt.Errorf("dataset: %s: malformed .npy file (npyio: %s)", name, oneLine(fmt.Sprint(r)))
		}
	}()
	if len(b) < len(npyio.Magic) || !bytes.Equal(b[:len(npyio.Magic)], npyio.Magic[:]) {
		return a, fmt.Errorf("dataset: %s: bad magic: not a .npy file", name)
	}
	// npyio allocates the announced header length before reading it; make
	// sure a version 2/3 header length is backed by actual bytes.
	if len(b) >= 12 && b[6] >= 2 && uint64(binary.LittleEndian.Uint32(b[8:12])) > uint64(len(b)-12) {
		return a, fmt.Errorf("dataset: %s: truncated file: .npy header length %d exceeds file size %d",
			name, binary.LittleEndian.Uint32(b[8:12]), len(b))
	}
	if len(b) >= 12 && b[6] == 3 {
		// Version 3.0 is version 2.0 with a UTF-8 header (numpy writes it
		// for field names that are not latin-1); npyio knows only 1 and 2.
		if n := binary.LittleEndian.Uint32(b[8:12]); !utf8.Valid(b[12 : 12+uint64(n)]) {
			return a, fmt.Errorf("dataset: %s: invalid .npy header: version 3.0 header is not UTF-8", name)
		}
		b = append([]byte(nil), b...)
		b[6] = 2
	}
	br := bytes.NewReader(b)
	r, err := npyio.NewReader(br)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return a, fmt.Errorf("dataset: %s: truncated file: incomplete .npy header", name)
		}
		return a, fmt.Errorf("dataset: %s: invalid .npy header: %s", name, oneLine(err.Error()))
	}
	hdr := r.Header.Descr
	a.dtype = strings.Trim(hdr.Type, `'" `)
	size, ok := npyItemSize(a.dtype)
	if !ok {
		return a, fmt.Errorf("dataset: %s: unsupported dtype %q (want float32, float64 or an integer type)", name, a.dtype)
	}
	n, err := checkShape(hdr.Shape)
	if err != nil {
		return a, fmt.Errorf("dataset: %s: %v", name, err)
	}
	if want, have := int64(n)*int64(size), int64(br.Len()); have < want {
		return a, fmt.Errorf("dataset: %s: truncated file: shape %v of %s needs %d data bytes, found %d", name, hdr.Shape, a.dtype, want, have)
	} else if have > want {
		return a, fmt.Errorf("dataset: %s: %d trailing bytes after shape %v of %s", name, have-want, hdr.Shape, a.dtype)
	}
	a.shape = append([]int{}, hdr.Shape...)

	switch a.dtype[1:] {
	case "f4":
		a.data, err = readAs[float32](r, hdr.Fortran, a.shape)
	case "f8":
		a.data, err = readAs[float64](r, hdr.Fortran, a.shape)
	case "i1":
		a.data, err = readAs[int8](r, hdr.Fortran, a.shape)
	case "i2":
		a.data, err = readAs[int16](r, hdr.Fortran, a.shape)
	case "i4":
		a.data, err = readAs[int32](r, hdr.Fortran, a.shape)
	case "i8":
		a.data, err = readAs[int64](r, hdr.Fortran, a.shape)
	case "u1":
		a.data, err = readAs[uint8](r, hdr.Fortran, a.shape)
	case "u2":
		a.data, err = readAs[uint16](r, hdr.Fortran, a.shape)
	case "u4":
		a.data, err = readAs[uint32](r, hdr.Fortran, a.shape)
	case "u8":
		a.data, err = readAs[uint64](r, hdr.Fortran, a.shape)
	}
	if err != nil {
		return npyArray{}, fmt.Errorf("dataset: %s: reading %s data: %s", name, a.dtype, oneLine(err.Error()))
	}
	return a, nil
}

// npyItemSize reports the element size of a supported dtype string.
func npyItemSize(dtype string) (int, bool) {
	if len(dtype) != 3 || !strings.ContainsRune("<>|=", rune(dtype[0])) {
		return 0, false
	}
	switch dtype[1:] {
	case "f4", "i4", "u4":
		return 4, true
	case "f8", "i8", "u8":
		return 8, true
	case "i1", "u1":
		return 1, true
	case "i2", "u2":
		return 2, true
	}
	return 0, false
}

type number interface {
	~float32 | ~float64 | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

func readAs[T number](r *npyio.Reader, fortran bool, shape []int) ([]T, error) {
	var v []T
	if err := r.Read(&v); err != nil {
		return nil, err
	}
	if n, _ := checkShape(shape); len(v) != n {
		return nil, fmt.Errorf("decoded %d values, shape %v needs %d", len(v), shape, n)
	}
	if fortran && len(shape) > 1 {
		v = fortranToC(v, shape)
	}
	return v, nil
}

// fortranToC reorders column-major data of the given shape to row-major.
func fortranToC[T any](src []T, shape []int) []T {
	dst := make([]T, len(src))
	stride := make([]int, len(shape)) // column-major strides
	s := 1
	for k, d := range shape {
		stride[k] = s
		s *= d
	}
	idx := make([]int, len(shape))
	for c := range dst {
		off := 0
		for k, i := range idx {
			off += i * stride[k]
		}
		dst[c] = src[off]
		for k := len(idx) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return dst
}

func toFloat64[T number](v []T) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// floats returns the array's values as float64.
func (a npyArray) floats() []float64 {
	switch v := a.data.(type) {
	case []float64:
		return v
	case []float32:
		return toFloat64(v)
	case []int8:
		return toFloat64(v)
	case []int16:
		return toFloat64(v)
	case []int32:
		return toFloat64(v)
	case []int64:
		return toFloat64(v)
	case []uint8:
		return toFloat64(v)
	case []uint16:
		return toFloat64(v)
	case []uint32:
		return toFloat64(v)
	case []uint64:
		return toFloat64(v)
	}
	return nil
}

func decodeNPYTensor(name string, b []byte) (Tensor, error) {
	a, err := decodeNPY(name, b)
	if err != nil {
		return Tensor{}, err
	}
	t := Tensor{Shape: a.shape, Data: a.floats()}
	if a.isFloat() {
		for i, x := range t.Data {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return Tensor{}, fmt.Errorf("dataset: %s: non-finite value %v at index %v (flat %d) of %s array with shape %v",
					name, x, unravel(i, t.Shape), i, a.dtype, t.Shape)
			}
		}
	}
	return t, nil
}

func decodeNPYInts(name string, b []byte) ([]int, error) {
	a, err := decodeNPY(name, b)
	if err != nil {
		return nil, err
	}
	if u, ok := a.data.([]uint64); ok {
		out := make([]int, len(u))
		for i, x := range u {
			if x > math.MaxInt {
				return nil, fmt.Errorf("dataset: %s: label out of range at index %d: %d", name, i, x)
			}
			out[i] = int(x)
		}
		return out, nil
	}
	if i64, ok := a.data.([]int64); ok {
		out := make([]int, len(i64))
		for i, x := range i64 {
			out[i] = int(x)
		}
		return out, nil
	}
	vals := a.floats()
	out := make([]int, len(vals))
	for i, x := range vals {
		switch {
		case math.IsNaN(x) || math.IsInf(x, 0) || x != math.Trunc(x):
			return nil, fmt.Errorf("dataset: %s: non-integer label %v at index %d (%s array)", name, x, i, a.dtype)
		case x >= math.MaxInt || x < math.MinInt:
			return nil, fmt.Errorf("dataset: %s: label out of range at index %d: %v", name, i, x)
		}
		out[i] = int(x)
	}
	return out, nil
}

// unravel converts a flat C-order index to a multi-index.
func unravel(i int, shape []int) []int {
	idx := make([]int, len(shape))
	for k := len(shape) - 1; k >= 0; k-- {
		if shape[k] > 0 {
			idx[k] = i % shape[k]
			i /= shape[k]
		}
	}
	return idx
}
