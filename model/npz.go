package model

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/addergen/addergen/dataset"
)

// ReadNPZ reads a NumPy .npz archive (as written by numpy.savez or
// savez_compressed) whose array names are state_dict keys. Float and
// integer dtypes of either byte order (float16 included) are converted
// exactly to float64;
// Fortran-ordered arrays are converted to row-major.
func ReadNPZ(file string) (StateDict, error) {
	data, err := readFileLimited(file)
	if err != nil {
		return nil, err
	}
	var sd StateDict
	err = safely(func() (err error) {
		sd, err = decodeNPZ(data)
		return err
	})
	if err != nil {
		return nil, oneLine(fmt.Errorf("model: %s: %w", file, err))
	}
	return sd, nil
}

func decodeNPZ(data []byte) (StateDict, error) {
	// Check entry sizes and npy headers before npyio allocates anything.
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("npz: %w", err)
	}
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".npy") {
			return nil, fmt.Errorf("npz: entry %q is not an .npy array", f.Name)
		}
		if f.UncompressedSize64 > maxFileSize || f.UncompressedSize64 > 1100*f.CompressedSize64+1024 {
			return nil, fmt.Errorf("npz: entry %q: implausible size %d", f.Name, f.UncompressedSize64)
		}
	}
	sd := StateDict{}
	for _, f := range zr.File {
		key := strings.TrimSuffix(f.Name, ".npy")
		if _, dup := sd[key]; dup {
			return nil, fmt.Errorf("npz: duplicate key %q", key)
		}
		t, err := readNPZEntry(f)
		if err != nil {
			return nil, fmt.Errorf("npz: key %q: %w", key, err)
		}
		sd[key] = t
	}
	return sd, nil
}

func readNPZEntry(f *zip.File) (t dataset.Tensor, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("unreadable array: %v", p)
		}
	}()
	rc, err := f.Open()
	if err != nil {
		return t, err
	}
	raw, err := io.ReadAll(io.LimitReader(rc, int64(f.UncompressedSize64)+1))
	rc.Close()
	if err != nil {
		return t, err
	}
	// The npy header: magic, version, header length, header.
	if len(raw) < 10 || string(raw[:6]) != "\x93NUMPY" {
		return t, fmt.Errorf("not an .npy array")
	}
	hlen, start := int(binary.LittleEndian.Uint16(raw[8:])), 10
	if raw[6] >= 2 {
		if len(raw) < 12 {
			return t, fmt.Errorf("truncated .npy header")
		}
		hlen, start = int(binary.LittleEndian.Uint32(raw[8:])), 12
	}
	if hlen < 0 || hlen > len(raw)-start {
		return t, fmt.Errorf("truncated .npy header")
	}
	nr, err := npy.NewReader(bytes.NewReader(raw))
	if err != nil {
		return t, err
	}
	shape := slices.Clone(nr.Header.Descr.Shape)
	for _, d := range shape {
		if d < 0 {
			return t, fmt.Errorf("invalid shape %v", shape)
		}
	}
	n := numel(shape)
	if n > maxElems {
		return t, fmt.Errorf("shape %v is too large", shape)
	}
	typ := strings.Trim(nr.Header.Descr.Type, `'"`)
	if len(typ) < 3 {
		return t, fmt.Errorf("unsupported dtype %q", typ)
	}
	if len(typ) != 3 {
		return t, fmt.Errorf("unsupported dtype %q", typ)
	}
	size := int(typ[2] - '0')
	if len(typ) != 3 || size < 1 || size > 8 || n*size > len(raw)-start-hlen {
		return t, fmt.Errorf("dtype %q with shape %v does not fit %d data bytes", typ, shape, len(raw)-start-hlen)
	}
	var vals []float64
	switch typ[1:] {
	case "f2": // npyio has no float16; decode the bytes here.
		vals = make([]float64, n)
		data := raw[start+hlen:]
		for i := range vals {
			h := binary.LittleEndian.Uint16(data[2*i:])
			if typ[0] == '>' {
				h = binary.BigEndian.Uint16(data[2*i:])
			}
			vals[i] = Half(h)
		}
	case "f8":
		vals, err = readTyped[float64](nr, n)
	case "f4":
		vals, err = readTyped[float32](nr, n)
	case "i8":
		vals, err = readTyped[int64](nr, n)
	case "i4":
		vals, err = readTyped[int32](nr, n)
	case "i2":
		vals, err = readTyped[int16](nr, n)
	case "i1":
		vals, err = readTyped[int8](nr, n)
	case "u8":
		vals, err = readTyped[uint64](nr, n)
	case "u4":
		vals, err = readTyped[uint32](nr, n)
	case "u2":
		vals, err = readTyped[uint16](nr, n)
	case "u1":
		vals, err = readTyped[uint8](nr, n)
	default:
		return t, fmt.Errorf("unsupported dtype %q", typ)
	}
	if err != nil {
		return t, err
	}
	if nr.Header.Descr.Fortran {
		vals = fortranOrder(vals, shape)
	}
	if shape == nil {
		shape = []int{}
	}
	return dataset.Tensor{Shape: shape, Data: vals}, nil
}

type npyNumber interface {
	~float32 | ~float64 | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

func readTyped[T npyNumber](nr *npy.Reader, n int) ([]float64, error) {
	var v []T
	if err := nr.Read(&v); err != nil {
		return nil, err
	}
	if len(v) != n {
		return nil, fmt.Errorf("read %d values, want %d", len(v), n)
	}
	out := make([]float64, n)
	for i, x := range v {
		out[i] = float64(x)
	}
	return out, nil
}

// fortranOrder converts column-major values to row-major.
func fortranOrder(v []float64, shape []int) []float64 {
	out := make([]float64, len(v))
	idx := make([]int, len(shape))
	for i := range v {
		// i walks the row-major order; compute the column-major offset.
		off, mul := 0, 1
		for d := range shape {
			off += idx[d] * mul
			mul *= shape[d]
		}
		out[i] = v[off]
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}
