package dataset

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// IDX magic numbers: two zero bytes, type code 0x08 (unsigned byte), and
// the number of dimensions.
const (
	idxImagesMagic = 0x00000803
	idxLabelsMagic = 0x00000801
)

// maxIDXBytes bounds the payload an IDX header may announce (16 GiB).
const maxIDXBytes = 1 << 34

// ReadIDXImages reads an IDX idx3 ubyte images file (magic 0x00000803)
// from r. r may be plain or gzip-compressed; gzip is detected from its
// magic bytes. N images of rows×cols give shape [N,1,rows,cols] with pixel
// p scaled to p/255. Bytes after the last image are an error.
func ReadIDXImages(r io.Reader) (Tensor, error) {
	br, err := maybeGunzip(r)
	if err != nil {
		return Tensor{}, fmt.Errorf("dataset: IDX images: %v", err)
	}
	t, err := readIDXImages(br)
	if err != nil {
		return Tensor{}, fmt.Errorf("dataset: IDX images: %v", err)
	}
	return t, nil
}

// ReadIDXLabels reads an IDX idx1 ubyte labels file (magic 0x00000801)
// from r, plain or gzip-compressed (detected from the magic bytes).
func ReadIDXLabels(r io.Reader) ([]int, error) {
	br, err := maybeGunzip(r)
	if err != nil {
		return nil, fmt.Errorf("dataset: IDX labels: %v", err)
	}
	l, err := readIDXLabels(br)
	if err != nil {
		return nil, fmt.Errorf("dataset: IDX labels: %v", err)
	}
	return l, nil
}

// readIDXImages parses an already-decompressed images stream. Errors carry
// no prefix; callers add the file name.
func readIDXImages(r io.Reader) (Tensor, error) {
	dims, err := readIDXHeader(r, idxImagesMagic, "images (idx3 ubyte)", 3)
	if err != nil {
		return Tensor{}, err
	}
	n, rows, cols := dims[0], dims[1], dims[2]
	if rows == 0 || cols == 0 {
		return Tensor{}, fmt.Errorf("invalid image size %dx%d", rows, cols)
	}
	total := n * rows * cols // bounded by readIDXHeader
	pix, err := readIDXPayload(r, total, fmt.Sprintf("%d images of %dx%d", n, rows, cols))
	if err != nil {
		return Tensor{}, err
	}
	data := make([]float64, len(pix))
	for i, p := range pix {
		data[i] = float64(p) / 255
	}
	return Tensor{Shape: []int{n, 1, rows, cols}, Data: data}, nil
}

// readIDXLabels parses an already-decompressed labels stream.
func readIDXLabels(r io.Reader) ([]int, error) {
	dims, err := readIDXHeader(r, idxLabelsMagic, "labels (idx1 ubyte)", 1)
	if err != nil {
		return nil, err
	}
	raw, err := readIDXPayload(r, dims[0], fmt.Sprintf("%d labels", dims[0]))
	if err != nil {
		return nil, err
	}
	labels := make([]int, len(raw))
	for i, b := range raw {
		labels[i] = int(b)
	}
	return labels, nil
}

// readIDXHeader checks the magic number and reads ndims big-endian uint32
// dimensions, rejecting sizes whose product exceeds maxIDXBytes.
func readIDXHeader(r io.Reader, magic uint32, what string, ndims int) ([]int, error) {
	hdr := make([]byte, 4*(1+ndims))
	if n, err := io.ReadFull(r, hdr); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			if n >= 4 && binary.BigEndian.Uint32(hdr) != magic {
				return nil, badIDXMagic(binary.BigEndian.Uint32(hdr), magic, what)
			}
			return nil, fmt.Errorf("truncated file: %d-byte IDX header needs %d bytes, got %d", len(hdr), len(hdr), n)
		}
		return nil, err
	}
	if got := binary.BigEndian.Uint32(hdr); got != magic {
		return nil, badIDXMagic(got, magic, what)
	}
	dims := make([]int, ndims)
	prod := uint64(1)
	for i := range dims {
		d := uint64(binary.BigEndian.Uint32(hdr[4+4*i:]))
		dims[i] = int(d)
		if d != 0 && prod > maxIDXBytes/d {
			return nil, fmt.Errorf("implausible IDX dimensions %v in header", dimsSoFar(hdr, ndims))
		}
		prod *= d
	}
	return dims, nil
}

func dimsSoFar(hdr []byte, ndims int) []uint32 {
	out := make([]uint32, ndims)
	for i := range out {
		out[i] = binary.BigEndian.Uint32(hdr[4+4*i:])
	}
	return out
}

func badIDXMagic(got, want uint32, what string) error {
	return fmt.Errorf("bad magic 0x%08x: not an IDX %s file (want 0x%08x)", got, what, want)
}

// readIDXPayload reads exactly n bytes and then requires end of stream.
// Memory grows with the bytes actually present, so a lying header cannot
// force a huge allocation.
func readIDXPayload(r io.Reader, n int, what string) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(min(n, 64<<20) + 1)
	got, err := buf.ReadFrom(io.LimitReader(r, int64(n)+1))
	if err != nil {
		return nil, err
	}
	switch {
	case got < int64(n):
		return nil, fmt.Errorf("truncated file: header announces %s (%d bytes) but only %d bytes follow", what, n, got)
	case got > int64(n):
		return nil, fmt.Errorf("trailing data after %s (%d bytes)", what, n)
	}
	return buf.Bytes(), nil
}
