package model

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/nlpodyssey/safetensors"

	"github.com/addergen/addergen/dataset"
)

// ReadSafetensors reads every tensor of a .safetensors file as float64.
// Supported dtypes are F64, F32, F16, BF16 and the integer types; every
// value converts to float64 exactly. Errors name the file and the key.
func ReadSafetensors(file string) (StateDict, error) {
	data, err := readFileLimited(file)
	if err != nil {
		return nil, err
	}
	var sd StateDict
	err = safely(func() (err error) {
		sd, err = decodeSafetensors(data)
		return err
	})
	if err != nil {
		return nil, oneLine(fmt.Errorf("model: %s: %w", file, err))
	}
	return sd, nil
}

func decodeSafetensors(data []byte) (StateDict, error) {
	st, err := safetensors.Deserialize(data)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	sd := StateDict{}
	for _, nt := range st.Tensors() {
		shape := make([]int, len(nt.TensorView.Shape()))
		for i, d := range nt.TensorView.Shape() {
			if d > maxElems {
				return nil, fmt.Errorf("safetensors: key %q: shape %v is too large", nt.Name, nt.TensorView.Shape())
			}
			shape[i] = int(d)
		}
		if numel(shape) > maxElems {
			return nil, fmt.Errorf("safetensors: key %q: shape %v is too large", nt.Name, shape)
		}
		vals, err := decodeRaw(nt.TensorView.DType(), nt.TensorView.Data(), numel(shape))
		if err != nil {
			return nil, fmt.Errorf("safetensors: key %q: %w", nt.Name, err)
		}
		sd[nt.Name] = dataset.Tensor{Shape: shape, Data: vals}
	}
	return sd, nil
}

// decodeRaw converts n little-endian values of a safetensors dtype.
func decodeRaw(dt safetensors.DType, b []byte, n int) ([]float64, error) {
	sz := int(dt.Size())
	if sz == 0 || len(b) != n*sz {
		return nil, fmt.Errorf("%d bytes for %d values of %s", len(b), n, dt)
	}
	out := make([]float64, n)
	le := binary.LittleEndian
	for i := range out {
		p := b[i*sz:]
		switch dt {
		case safetensors.F64:
			out[i] = math.Float64frombits(le.Uint64(p))
		case safetensors.F32:
			out[i] = float64(math.Float32frombits(le.Uint32(p)))
		case safetensors.F16:
			out[i] = Half(le.Uint16(p))
		case safetensors.BF16:
			out[i] = BFloat16(le.Uint16(p))
		case safetensors.I64:
			out[i] = float64(int64(le.Uint64(p)))
		case safetensors.U64:
			out[i] = float64(le.Uint64(p))
		case safetensors.I32:
			out[i] = float64(int32(le.Uint32(p)))
		case safetensors.U32:
			out[i] = float64(le.Uint32(p))
		case safetensors.I16:
			out[i] = float64(int16(le.Uint16(p)))
		case safetensors.U16:
			out[i] = float64(le.Uint16(p))
		case safetensors.I8:
			out[i] = float64(int8(p[0]))
		case safetensors.U8, safetensors.BOOL:
			out[i] = float64(p[0])
		default:
			return nil, fmt.Errorf("unsupported dtype %s", dt)
		}
	}
	return out, nil
}

// SaveSafetensors writes the net's parameters as F64 tensors keyed by
// their state_dict keys, with the spec JSON in the metadata under "spec".
// The file is written to a temporary name in the same folder and renamed
// over file, so it is never seen half-written.
func SaveSafetensors(n *Net, file string) error {
	return WriteSafetensors(file, n.StateDict(), map[string]string{
		"format": "pt",
		"spec":   string(n.Spec.JSON()),
	})
}

// WriteSafetensors writes sd as F64 tensors, atomically (see
// SaveSafetensors).
func WriteSafetensors(file string, sd StateDict, metadata map[string]string) (err error) {
	views := map[string]safetensors.TensorView{}
	for k, t := range sd {
		if numel(t.Shape) != len(t.Data) {
			return fmt.Errorf("model: write %s: key %q: shape %v but %d values", file, k, t.Shape, len(t.Data))
		}
		shape := make([]uint64, len(t.Shape))
		for i, d := range t.Shape {
			shape[i] = uint64(d)
		}
		raw := make([]byte, 8*len(t.Data))
		for i, v := range t.Data {
			binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(v))
		}
		tv, err := safetensors.NewTensorView(safetensors.F64, shape, raw)
		if err != nil {
			return fmt.Errorf("model: write %s: key %q: %w", file, k, err)
		}
		views[k] = tv
	}
	f, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*.tmp")
	if err != nil {
		return fmt.Errorf("model: write %s: %w", file, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = safetensors.SerializeToWriter(views, metadata, f); err != nil {
		return fmt.Errorf("model: write %s: %w", file, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("model: write %s: %w", file, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("model: write %s: %w", file, err)
	}
	if err = os.Rename(f.Name(), file); err != nil {
		return fmt.Errorf("model: write %s: %w", file, err)
	}
	return nil
}
