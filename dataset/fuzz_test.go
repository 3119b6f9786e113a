package dataset

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// idxSeeds are IDX inputs, valid and malformed (the IDX rows of the
// bad-input table in cmd/addergen/badinput_test.go among them), also
// committed under testdata/fuzz/FuzzReadIDXImages.
func idxSeeds(tb testing.TB) map[string][]byte {
	img := idxImages(2, 3, 2)
	return map[string][]byte{
		"images":          img,
		"images gz":       gz(tb, img),
		"header only":     img[:9],
		"labels":          idxLabels(1, 2, 3),
		"labels gz":       gz(tb, idxLabels(4)),
		"huge count":      {0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 1},
		"gzip magic only": {0x1f, 0x8b},
		"bad magic":       append([]byte{0, 0, 9, 3}, img[4:]...),
		"truncated":       img[:len(img)-3],
		"bad gzip":        {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3},
		"label 9":         idxLabels(0, 2, 9, 1),
		"trailing":        append(append([]byte{}, img...), 7),
	}
}

func FuzzReadIDXImages(f *testing.F) {
	for _, b := range idxSeeds(f) {
		f.Add(b)
	}
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

// npySeeds are .npy inputs, valid and malformed (the .npy rows of the
// bad-input table in cmd/addergen/badinput_test.go among them), also
// committed under testdata/fuzz/FuzzReadNPY.
func npySeeds(tb testing.TB) map[string][]byte {
	good := npyBytes(tb, [][]float32{{1, 2}, {3, 4}})
	hdrlen := append([]byte{}, good...)
	binary.LittleEndian.PutUint16(hdrlen[8:], 0xfff0)
	hdrkey := bytes.Replace(good, []byte("'descr'"), []byte("'dexcr'"), 1)
	v3data := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, math.Float32bits(1)), math.Float32bits(2))
	return map[string][]byte{
		"f4":          good,
		"f8 inf":      npyBytes(tb, []float64{1, math.Inf(1)}),
		"u1":          npyBytes(tb, []uint8{0, 255}),
		"i8":          npyBytes(tb, []int64{-1, 5}),
		"c8":          npyBytes(tb, []complex64{1}),
		"scalar":      npyBytes(tb, 2.5),
		"empty dict":  []byte("\x93NUMPY\x01\x00\x04\x00{}\n\n"),
		"v2 huge hdr": []byte("\x93NUMPY\x02\x00\xff\xff\xff\xff"),
		"fortran":     []byte("\x93NUMPY\x01\x00\x3a\x00{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }\n" + string(make([]byte, 32))),
		"bad magic":   append([]byte("NOTNPY"), good[6:]...),
		"truncated":   good[:len(good)-3],
		"header only": good[:20],
		"trailing":    append(append([]byte{}, good...), 0, 0),
		"hdrlen":      hdrlen,
		"hdrkey":      hdrkey,
		"v3":          npyV3("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", v3data),
		"v3 not utf8": npyV3("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\xff", v3data),
		"v3 huge hdr": []byte("\x93NUMPY\x03\x00\xff\xff\xff\x7f"),
		"v4":          append([]byte("\x93NUMPY\x04\x00"), good[8:]...),
		"frac labels": npyBytes(tb, []float64{0, 1.5}),
		"neg labels":  npyBytes(tb, []int32{0, -1}),
		"no newline":  []byte("\x93NUMPY\x01\x00\x04\x00{}  "),
	}
}

func FuzzReadNPY(f *testing.F) {
	for _, b := range npySeeds(f) {
		f.Add(b)
	}
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
