package model

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

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
// name), checking each format's whole structure so that no valid file is
// taken for another format:
//
//   - safetensors: an 8-byte little-endian header length n with 2 <= n <=
//     len-8, followed by n bytes of JSON that parse as an object (the
//     length's bytes may look like anything, a pickle header included);
//   - zip ("PK" magic and a central directory that parses): a PyTorch zip
//     checkpoint when it holds a data.pkl record, an .npz when every
//     member is an .npy array;
//   - legacy PyTorch: a first pickle (any protocol, 1 to 5) that is the
//     magic number 0x1950a86a20f9469cfc6c.
//
// The error for an unrecognised file says which format it resembles and
// why it is not one.
func DetectFormat(data []byte) (Format, error) {
	stErr := sniffSafetensors(data)
	if stErr == nil {
		return FormatSafetensors, nil
	}
	isZip := len(data) >= 4 && (string(data[:4]) == "PK\x03\x04" || string(data[:4]) == "PK\x05\x06")
	if isZip {
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
	if n, err := scanPickle(data); err == nil {
		if legacyMagic(data[:n]) {
			return FormatTorchLegacy, nil
		}
		return "", errors.New("a pickle, but not a PyTorch checkpoint (no legacy magic number; a zip checkpoint or a state_dict pickled on its own?)")
	}
	if len(data) >= 8 && stErr != errNotSafetensors {
		return "", stErr
	}
	return "", errors.New("unknown weight file format (want a PyTorch .pth/.pt, .safetensors or .npz)")
}

var errNotSafetensors = errors.New("not safetensors")

// sniffSafetensors checks the safetensors framing: the header length fits
// the file and the header is a JSON object. It returns errNotSafetensors
// when the file does not even start like one.
func sniffSafetensors(data []byte) error {
	if len(data) < 10 {
		return errNotSafetensors
	}
	n := binary.LittleEndian.Uint64(data)
	if n < 2 || data[8] != '{' {
		return errNotSafetensors
	}
	if n > uint64(len(data)-8) {
		return fmt.Errorf("safetensors: header length %d exceeds the %d bytes after it (truncated file?)", n, len(data)-8)
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &hdr); err != nil {
		return fmt.Errorf("safetensors: header of %d bytes is not a JSON object: %v", n, err)
	}
	return nil
}

// LoadOptions tune how a weight file is read.
type LoadOptions struct {
	// WeightsKey names the entry of a PyTorch checkpoint dict that holds
	// the state_dict ("net", "model", "state_dict", or a dotted path such
	// as "checkpoint.model"), for checkpoints that hold several; empty
	// means find the single one. For safetensors and .npz files it selects
	// the keys that start with WeightsKey + "." and strips that prefix.
	WeightsKey string
}

// ReadStateDict reads a weight file in any supported format, detected from
// its content. A "module." prefix (nn.DataParallel) on every key is
// removed.
func ReadStateDict(file string) (StateDict, error) {
	return ReadStateDictWith(file, LoadOptions{})
}

// ReadStateDictWith is ReadStateDict with options (see LoadOptions).
// Errors are one line naming the file and the key at fault.
func ReadStateDictWith(file string, opt LoadOptions) (StateDict, error) {
	data, err := readFileLimited(file)
	if err != nil {
		return nil, err
	}
	f, err := DetectFormat(data)
	if err != nil {
		return nil, oneLine(fmt.Errorf("model: %s: %w", file, err))
	}
	var sd StateDict
	err = safely(func() (err error) {
		switch f {
		case FormatTorchZip, FormatTorchLegacy:
			sd, err = readPyTorch(data, opt)
		case FormatSafetensors:
			if sd, err = decodeSafetensors(data); err == nil {
				sd, err = selectPrefix(sd, opt.WeightsKey)
			}
		case FormatNPZ:
			if sd, err = decodeNPZ(data); err == nil {
				sd, err = selectPrefix(sd, opt.WeightsKey)
			}
		}
		return err
	})
	if err != nil {
		return nil, oneLine(fmt.Errorf("model: %s: %w", file, err))
	}
	return stripPrefix(sd), nil
}

// selectPrefix keeps the keys under "key." with that prefix removed (all
// keys for an empty key).
func selectPrefix(sd StateDict, key string) (StateDict, error) {
	if key == "" {
		return sd, nil
	}
	out := StateDict{}
	tops := map[string]bool{}
	for k, v := range sd {
		if rest, ok := strings.CutPrefix(k, key+"."); ok {
			out[rest] = v
		}
		if i := strings.IndexByte(k, '.'); i > 0 {
			tops[k[:i]] = true
		}
	}
	if len(out) == 0 {
		var ts []string
		for t := range tops {
			ts = append(ts, t)
		}
		sort.Strings(ts)
		return nil, fmt.Errorf("weights key %q: no key starts with %q (key prefixes: %s)", key, key+".", quoteList(ts))
	}
	return out, nil
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
	return LoadWith(specNameOrPath, weightsPath, LoadOptions{})
}

// LoadWith is Load with options (see LoadOptions).
func LoadWith(specNameOrPath, weightsPath string, opt LoadOptions) (*Net, error) {
	s, err := LoadSpec(specNameOrPath)
	if err != nil {
		return nil, err
	}
	n, err := Build(s)
	if err != nil {
		return nil, err
	}
	sd, err := ReadStateDictWith(weightsPath, opt)
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

// oneLineError is an error whose message has its control characters
// escaped and its length bounded, so that a value quoted from a corrupt
// file cannot break the one-line error convention.
type oneLineError struct {
	msg string
	err error
}

func (e *oneLineError) Error() string { return e.msg }
func (e *oneLineError) Unwrap() error { return e.err }

// oneLine returns err with a message of one line (at most about 400
// bytes); nil stays nil.
func oneLine(err error) error {
	if err == nil {
		return nil
	}
	var b strings.Builder
	for _, r := range err.Error() {
		if b.Len() >= 400 {
			b.WriteString("…")
			break
		}
		switch {
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return &oneLineError{msg: b.String(), err: err}
}
