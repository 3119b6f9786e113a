package dataset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// CIFAR-10 binary format (https://www.cs.toronto.edu/~kriz/cifar.html,
// "binary version"): a file is a sequence of records, each one label byte
// (0..9) followed by 3,072 pixel bytes, 32×32 red, then green, then blue,
// rows top to bottom. The format has no header and no magic number.
const (
	CIFARChannels = 3
	CIFARSide     = 32
	// CIFARRecord is the size in bytes of one record: 1 label byte and
	// 3·32·32 pixel bytes.
	CIFARRecord = 1 + CIFARChannels*CIFARSide*CIFARSide
	// CIFARClasses is the number of classes; a label byte above 9 is an
	// error.
	CIFARClasses = 10
	// CIFARTestFile is the file a CIFAR-10 folder's test split reads.
	CIFARTestFile = "test_batch.bin"
)

// cifarTrainGlob matches the files of a CIFAR-10 folder's training split,
// read in name order (data_batch_1.bin ... data_batch_5.bin).
const cifarTrainGlob = "data_batch_*.bin"

// IsCIFARPath reports whether path names CIFAR-10 binary data: a file
// whose name ends in .bin (unless it starts with the .npy or gzip magic
// bytes), or a folder holding test_batch.bin or data_batch_*.bin. The
// CIFAR-10 format has no magic number, so the name decides.
func IsCIFARPath(path string) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	if !fi.IsDir() {
		if !strings.EqualFold(filepath.Ext(path), ".bin") {
			return false
		}
		f, err := os.Open(path)
		if err != nil {
			return true // LoadCIFAR reports the error
		}
		defer f.Close()
		head := make([]byte, 6)
		n, _ := io.ReadFull(f, head)
		head = head[:n]
		return !bytes.HasPrefix(head, []byte("\x93NUMPY")) && !bytes.HasPrefix(head, []byte{0x1f, 0x8b})
	}
	if st, err := os.Stat(filepath.Join(path, CIFARTestFile)); err == nil && !st.IsDir() {
		return true
	}
	m, _ := filepath.Glob(filepath.Join(path, cifarTrainGlob))
	return len(m) > 0
}

// cifarFiles returns the files a CIFAR-10 path stands for: the file
// itself, or for a folder test_batch.bin (split "" or "test") or every
// data_batch_*.bin in name order (split "train").
func cifarFiles(path, split string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fileErr(path, err)
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	prefix, err := splitPrefix(split)
	if err != nil {
		return nil, err
	}
	if prefix == "t10k" {
		p := filepath.Join(path, CIFARTestFile)
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			return nil, fmt.Errorf("dataset: %s: CIFAR-10 folder holds no %s (the test split)", path, CIFARTestFile)
		}
		return []string{p}, nil
	}
	m, _ := filepath.Glob(filepath.Join(path, cifarTrainGlob))
	if len(m) == 0 {
		return nil, fmt.Errorf("dataset: %s: CIFAR-10 folder holds no %s (the training split)", path, cifarTrainGlob)
	}
	sort.Strings(m)
	return m, nil
}

// LoadCIFAR reads CIFAR-10 binary data: one file, or a folder (split ""
// or "test": test_batch.bin; "train": every data_batch_*.bin, in name
// order, concatenated). limit > 0 reads only the first limit records.
//
// The result has X of shape [N, 3, 32, 32] holding the raw pixel values
// 0..255 as float64 (not scaled: apply the model's preprocessing, e.g.
// `--preprocess`), Labels from the records' label bytes, LabelsFile the
// (first) file, and RawPixels set.
//
// Errors (one line, naming the file): a file that is not a whole number of
// 3,073-byte records (truncated, or not CIFAR-10), an empty file, a label
// byte above 9 (with its record index).
func LoadCIFAR(path, split string, limit int) (*Set, error) {
	files, err := cifarFiles(path, split)
	if err != nil {
		return nil, err
	}
	const px = CIFARRecord - 1
	var data []float64
	var labels []int
	n := 0
	for _, f := range files {
		if limit > 0 && n >= limit {
			break
		}
		fi, err := os.Stat(f)
		if err != nil {
			return nil, fileErr(f, err)
		}
		size := fi.Size()
		if size == 0 {
			return nil, fmt.Errorf("dataset: %s: empty file, want CIFAR-10 records of %d bytes", f, CIFARRecord)
		}
		if size%CIFARRecord != 0 {
			return nil, fmt.Errorf("dataset: %s: %d bytes is not a whole number of %d-byte CIFAR-10 records (%d records and %d bytes left over): truncated or not CIFAR-10 binary data",
				f, size, CIFARRecord, size/CIFARRecord, size%CIFARRecord)
		}
		recs := int(size / CIFARRecord)
		if limit > 0 {
			recs = min(recs, limit-n)
		}
		fh, err := os.Open(f)
		if err != nil {
			return nil, fileErr(f, err)
		}
		br := bufio.NewReaderSize(fh, 1<<20)
		rec := make([]byte, CIFARRecord)
		data = growFloat(data, recs*px)
		for r := range recs {
			if _, err := io.ReadFull(br, rec); err != nil {
				fh.Close()
				if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
					return nil, fmt.Errorf("dataset: %s: truncated at record %d", f, r)
				}
				return nil, fmt.Errorf("dataset: %s: record %d: %v", f, r, err)
			}
			if rec[0] >= CIFARClasses {
				fh.Close()
				return nil, fmt.Errorf("dataset: %s: record %d (byte offset %d): label byte %d outside 0..%d: not CIFAR-10 binary data",
					f, r, r*CIFARRecord, rec[0], CIFARClasses-1)
			}
			labels = append(labels, int(rec[0]))
			for _, p := range rec[1:] {
				data = append(data, float64(p))
			}
		}
		fh.Close()
		n += recs
	}
	return &Set{
		X:          Tensor{Shape: []int{n, CIFARChannels, CIFARSide, CIFARSide}, Data: data},
		Labels:     labels,
		LabelsFile: files[0],
		RawPixels:  true,
	}, nil
}

func growFloat(s []float64, n int) []float64 {
	if cap(s)-len(s) >= n {
		return s
	}
	out := make([]float64, len(s), len(s)+n)
	copy(out, s)
	return out
}
