package dataset

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// ResizeArea resamples the images of t (shape [N,C,H,W]) to h×w by area
// averaging: each output pixel is the mean of the input area it covers,
// input pixels cut by its border counting with the fraction of them that
// lies inside (OpenCV's INTER_AREA when shrinking). Shrinking by a whole
// factor is the plain block mean; a constant image stays constant; the
// mean of every image is kept. It is meant for shrinking; growing is
// allowed and gives nearest-neighbour-like blocks. The weights are exact
// rationals computed in float64.
func ResizeArea(t Tensor, h, w int) (Tensor, error) {
	if len(t.Shape) != 4 {
		return Tensor{}, fmt.Errorf("dataset: resize wants images of shape [N C H W], got %v", t.Shape)
	}
	if h < 1 || w < 1 {
		return Tensor{}, fmt.Errorf("dataset: resize to %dx%d: sizes must be at least 1", h, w)
	}
	n, c, ih, iw := t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
	if ih < 1 || iw < 1 {
		return Tensor{}, fmt.Errorf("dataset: resize of empty %dx%d images", ih, iw)
	}
	if len(t.Data) != t.Len() {
		return Tensor{}, fmt.Errorf("dataset: resize: %d values for shape %v", len(t.Data), t.Shape)
	}
	ry, rx := areaWeights(ih, h), areaWeights(iw, w)
	out := Tensor{Shape: []int{n, c, h, w}, Data: make([]float64, n*c*h*w)}
	tmp := make([]float64, ih*w) // rows resampled in x
	for p := 0; p < n*c; p++ {
		src := t.Data[p*ih*iw : (p+1)*ih*iw]
		for y := 0; y < ih; y++ {
			for ox, ws := range rx {
				var s float64
				for _, e := range ws {
					s += e.w * src[y*iw+e.i]
				}
				tmp[y*w+ox] = s
			}
		}
		dst := out.Data[p*h*w : (p+1)*h*w]
		for oy, ws := range ry {
			for ox := 0; ox < w; ox++ {
				var s float64
				for _, e := range ws {
					s += e.w * tmp[e.i*w+ox]
				}
				dst[oy*w+ox] = s
			}
		}
	}
	return out, nil
}

type areaTap struct {
	i int
	w float64
}

// areaWeights returns, for each of the m output positions, the input
// indices its interval [o·n/m, (o+1)·n/m) covers and their weights (the
// covered length over n/m; they sum to 1). The interval ends are computed
// in integers scaled by m, so they are exact.
func areaWeights(n, m int) [][]areaTap {
	out := make([][]areaTap, m)
	for o := range out {
		lo, hi := o*n, (o+1)*n // in units of 1/m input pixels
		for i := lo / m; i*m < hi; i++ {
			a, b := max(lo, i*m), min(hi, (i+1)*m)
			if b > a {
				out[o] = append(out[o], areaTap{i, float64(b-a) / float64(n)})
			}
		}
	}
	return out
}

// WriteIDXImages writes images (shape [N,1,rows,cols], values in [0,1])
// as an IDX idx3 ubyte file that ReadIDXImages reads back: value v becomes
// the byte round(255·v) (halves up). A value outside [0,1] or not finite
// is an error naming its index.
func WriteIDXImages(wr io.Writer, t Tensor) error {
	if len(t.Shape) != 4 || t.Shape[1] != 1 {
		return fmt.Errorf("dataset: IDX images must have shape [N 1 rows cols], got %v", t.Shape)
	}
	if len(t.Data) != t.Len() {
		return fmt.Errorf("dataset: IDX images: %d values for shape %v", len(t.Data), t.Shape)
	}
	bw := bufio.NewWriter(wr)
	var hdr [16]byte
	binary.BigEndian.PutUint32(hdr[0:], idxImagesMagic)
	for i, d := range []int{t.Shape[0], t.Shape[2], t.Shape[3]} {
		if d > math.MaxUint32 {
			return fmt.Errorf("dataset: IDX images: dimension %d too large", d)
		}
		binary.BigEndian.PutUint32(hdr[4+4*i:], uint32(d))
	}
	bw.Write(hdr[:])
	for i, v := range t.Data {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("dataset: IDX images: value %v at index %d outside [0, 1]", v, i)
		}
		bw.WriteByte(byte(math.Floor(255*v + 0.5)))
	}
	return bw.Flush()
}

// WriteIDXLabels writes labels (each 0..255) as an IDX idx1 ubyte file.
func WriteIDXLabels(wr io.Writer, labels []int) error {
	if len(labels) > math.MaxUint32 {
		return fmt.Errorf("dataset: IDX labels: %d labels too many", len(labels))
	}
	bw := bufio.NewWriter(wr)
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[0:], idxLabelsMagic)
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(labels)))
	bw.Write(hdr[:])
	for i, l := range labels {
		if l < 0 || l > 255 {
			return fmt.Errorf("dataset: IDX labels: label %d at index %d outside 0..255", l, i)
		}
		bw.WriteByte(byte(l))
	}
	return bw.Flush()
}

// ResizeSet returns s with its images resized to h×w by ResizeArea and,
// when round8 is set, every value rounded to the nearest multiple of 1/255
// (halves up), as writing the set to IDX files and reading them back
// gives: the 8-bit pixels a camera at the lower resolution would deliver.
// Labels are shared with s.
func ResizeSet(s *Set, h, w int, round8 bool) (*Set, error) {
	x, err := ResizeArea(s.X, h, w)
	if err != nil {
		return nil, err
	}
	if round8 {
		for i, v := range x.Data {
			x.Data[i] = math.Floor(255*v+0.5) / 255
		}
	}
	return &Set{X: x, Labels: s.Labels, LabelsFile: s.LabelsFile, RawPixels: s.RawPixels}, nil
}
