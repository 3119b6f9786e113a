package dataset

import (
	"bytes"
	"math"
	"testing"
)

func FuzzReadIDXImages(f *testing.F) {
	img := idxImages(2, 3, 2)
	f.Add(img)
	f.Add(gz(f, img))
	f.Add(img[:9])
	f.Add(idxLabels(1, 2, 3))
	f.Add(gz(f, idxLabels(4)))
	f.Add([]byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 1})
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := ReadIDXImages(bytes.NewReader(data))
		if err == nil {
			if len(x.Shape) != 4 || x.Shape[1] != 1 || x.Len() != len(x.Data) {
				t.Fatalf("inconsistent tensor: shape %v, %d values", x.Shape, len(x.Data))
			}
			for i, v := range x.Data {
				if v < 0 || v > 1 {
					t.Fatalf("pixel %d = %v outside [0,1]", i, v)
				}
			}
		}
		l, err := ReadIDXLabels(bytes.NewReader(data))
		if err == nil {
			for i, v := range l {
				if v < 0 || v > 255 {
					t.Fatalf("label %d = %d", i, v)
				}
			}
		}
	})
}

func FuzzReadNPY(f *testing.F) {
	f.Add(npyBytes(f, [][]float32{{1, 2}, {3, 4}}))
	f.Add(npyBytes(f, []float64{1, math.Inf(1)}))
	f.Add(npyBytes(f, []uint8{0, 255}))
	f.Add(npyBytes(f, []int64{-1, 5}))
	f.Add(npyBytes(f, []complex64{1}))
	f.Add(npyBytes(f, 2.5))
	f.Add([]byte("\x93NUMPY\x01\x00\x04\x00{}\n\n"))
	f.Add([]byte("\x93NUMPY\x02\x00\xff\xff\xff\xff"))
	f.Add([]byte("\x93NUMPY\x01\x00\x3a\x00{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }\n" + string(make([]byte, 32))))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := decodeNPYTensor("fuzz.npy", data)
		if err == nil {
			if x.Len() != len(x.Data) {
				t.Fatalf("shape %v but %d values", x.Shape, len(x.Data))
			}
			for i, v := range x.Data {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("non-finite value %v at %d accepted", v, i)
				}
			}
		} else if !bytes.Contains([]byte(err.Error()), []byte("fuzz.npy")) {
			t.Fatalf("error does not name the file: %v", err)
		}
		_, _ = decodeNPYInts("fuzz.npy", data)
	})
}
