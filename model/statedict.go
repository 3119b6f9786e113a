package model

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/addergen/addergen/dataset"
)

// StateDict maps PyTorch state_dict keys to tensors.
type StateDict map[string]dataset.Tensor

// Keys returns the keys in sorted order.
func (sd StateDict) Keys() []string {
	ks := make([]string, 0, len(sd))
	for k := range sd {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// maxFileSize bounds the weight files the readers accept.
const maxFileSize = 2 << 30

// Format is a weight file format.
type Format string

// Weight file formats recognised by ReadStateDict.
const (
	FormatTorchZip    Format = "pytorch-zip"    // torch.save, torch >= 1.6
	FormatTorchLegacy Format = "pytorch-legacy" // torch.save(..., _use_new_zipfile_serialization=False)
	FormatSafetensors Format = "safetensors"
	FormatNPZ         Format = "npz"
)

// DetectFormat tells the format of a weight file from its content (not its
// name).
func DetectFormat(data []byte) (Format, error) {
	if len(data) >= 4 && string(data[:4]) == "PK\x03\x04" || len(data) >= 4 && string(data[:4]) == "PK\x05\x06" {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return "", fmt.Errorf("corrupt zip archive: %v", err)
		}
		npy := len(zr.File) > 0
		for _, f := range zr.File {
			if path.Base(f.Name) == "data.pkl" {
				return FormatTorchZip, nil
			}
			if !strings.HasSuffix(f.Name, ".npy") {
				npy = false
			}
		}
		if npy {
			return FormatNPZ, nil
		}
		return "", errors.New("zip archive is neither a PyTorch checkpoint (no data.pkl) nor an .npz (entries not all .npy)")
	}
	if len(data) >= 2 && data[0] == 0x80 && data[1] >= 2 && data[1] <= 5 {
		return FormatTorchLegacy, nil
	}
	if len(data) >= 9 {
		n := binary.LittleEndian.Uint64(data)
		if n > 0 && n <= uint64(len(data)-8) && data[8] == '{' {
			return FormatSafetensors, nil
		}
	}
	return "", errors.New("unknown weight file format (want a PyTorch .pth/.pt, .safetensors or .npz)")
}

// ReadStateDict reads a weight file in any supported format, detected from
// its content. A "module." prefix (nn.DataParallel) on every key is
// removed.
func ReadStateDict(file string) (StateDict, error) {
	data, err := readFileLimited(file)
	if err != nil {
		return nil, err
	}
	f, err := DetectFormat(data)
	if err != nil {
		return nil, fmt.Errorf("model: %s: %w", file, err)
	}
	var sd StateDict
	err = safely(func() (err error) {
		switch f {
		case FormatTorchZip, FormatTorchLegacy:
			sd, err = readPyTorch(file, data)
		case FormatSafetensors:
			sd, err = decodeSafetensors(data)
		case FormatNPZ:
			sd, err = decodeNPZ(data)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("model: %s: %w", file, err)
	}
	return stripPrefix(sd), nil
}

func readFileLimited(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("model: read %s: %w", file, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("model: %s: larger than %d bytes", file, maxFileSize)
	}
	return data, nil
}

// stripPrefix removes "module." from every key if every key has it.
func stripPrefix(sd StateDict) StateDict {
	const p = "module."
	if len(sd) == 0 {
		return sd
	}
	for k := range sd {
		if !strings.HasPrefix(k, p) {
			return sd
		}
	}
	out := make(StateDict, len(sd))
	for k, v := range sd {
		out[strings.TrimPrefix(k, p)] = v
	}
	return out
}

// SetStateDict copies weights into the net. Every parameter's key must be
// present with the exact shape and finite values, and every key must
// belong to the net (batchnorm num_batches_tracked keys are accepted and
// ignored). source names the file in error messages. On error the net is
// unchanged.
func (n *Net) SetStateDict(sd StateDict, source string) error {
	want := map[string]bool{}
	ignored := map[string]bool{}
	for _, l := range n.Layers {
		for _, p := range l.Params() {
			want[p.Key] = true
		}
		if l.NumBatchesKey != "" {
			ignored[l.NumBatchesKey] = true
		}
	}
	var unexpected, missing []string
	for _, k := range sd.Keys() {
		if !want[k] && !ignored[k] {
			unexpected = append(unexpected, k)
		}
	}
	for k := range want {
		if _, ok := sd[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(unexpected) > 0 {
		more := ""
		if len(unexpected) > 1 || len(missing) > 0 {
			more = fmt.Sprintf("; %d unexpected and %d missing keys in all", len(unexpected), len(missing))
		}
		k := unexpected[0]
		return fmt.Errorf("model: %s: unexpected key %q (not in spec %s)%s%s", source, k, n.Spec.Name, suggestKey(k, want), more)
	}
	for _, l := range n.Layers {
		for _, p := range l.Params() {
			t, ok := sd[p.Key]
			if !ok {
				return fmt.Errorf("model: %s: missing key %q (layer %q, %s)", source, p.Key, l.Name, l.Op)
			}
			if !slices.Equal(t.Shape, p.Value.Shape) {
				return fmt.Errorf("model: %s: key %q has shape %v, spec %s wants %v (layer %q)", source, p.Key, t.Shape, n.Spec.Name, p.Value.Shape, l.Name)
			}
			if len(t.Data) != len(p.Value.Data) {
				return fmt.Errorf("model: %s: key %q: shape %v but %d values", source, p.Key, t.Shape, len(t.Data))
			}
			for i, v := range t.Data {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("model: %s: key %q: non-finite value %v at flat index %d", source, p.Key, v, i)
				}
			}
			if l.Var == p {
				for i, v := range t.Data {
					if v+l.Eps <= 0 {
						return fmt.Errorf("model: %s: key %q: variance %v at index %d is not positive", source, p.Key, v, i)
					}
				}
			}
		}
	}
	for _, p := range n.Params() {
		copy(p.Value.Data, sd[p.Key].Data)
	}
	return nil
}

// suggestKey hints at a likely intended key, e.g. a spec expecting
// "conv2.adder" while the file has "conv2.weight".
func suggestKey(k string, want map[string]bool) string {
	i := strings.LastIndexByte(k, '.')
	if i < 0 {
		return ""
	}
	var cands []string
	for w := range want {
		if strings.HasPrefix(w, k[:i+1]) && !strings.Contains(w[i+1:], ".") {
			cands = append(cands, w)
		}
	}
	if len(cands) == 0 {
		return ""
	}
	sort.Strings(cands)
	return fmt.Sprintf("; the spec has %s (override with \"keys\" in the spec)", strings.Join(cands, ", "))
}

// StateDict returns a copy of the net's parameters keyed by state_dict key.
func (n *Net) StateDict() StateDict {
	sd := StateDict{}
	for _, p := range n.Params() {
		sd[p.Key] = dataset.Tensor{Shape: slices.Clone(p.Value.Shape), Data: slices.Clone(p.Value.Data)}
	}
	return sd
}

// Load builds the net named by specNameOrPath (a built-in spec name or a
// spec JSON file) and loads its weights from weightsPath (PyTorch .pth or
// .pt in the zip or legacy format, .safetensors, or .npz).
func Load(specNameOrPath, weightsPath string) (*Net, error) {
	s, err := LoadSpec(specNameOrPath)
	if err != nil {
		return nil, err
	}
	n, err := Build(s)
	if err != nil {
		return nil, err
	}
	sd, err := ReadStateDict(weightsPath)
	if err != nil {
		return nil, err
	}
	if err := n.SetStateDict(sd, weightsPath); err != nil {
		return nil, err
	}
	return n, nil
}

// safely runs f, turning a panic into an error. The third-party decoders
// (gopickle in particular) panic on some malformed input; a corrupt file
// must give an error, not a crash.
func safely(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed file: %v", r)
		}
	}()
	return f()
}
