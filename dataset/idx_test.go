package dataset

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadIDXImages(t *testing.T) {
	raw := idxImages(2, 2, 3)
	want := Tensor{Shape: []int{2, 1, 2, 3}, Data: make([]float64, 12)}
	for k := range want.Data {
		want.Data[k] = float64(byte(k*7+3)) / 255
	}
	for name, in := range map[string][]byte{"plain": raw, "gzip": gz(t, raw)} {
		got, err := ReadIDXImages(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}

	// Extremes scale to exactly 0 and 1.
	ext := idxImages(1, 1, 2)
	ext[16], ext[17] = 0, 255
	got, err := ReadIDXImages(bytes.NewReader(ext))
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(got.Data, []float64{0, 1}) {
		t.Errorf("extremes = %v, want [0 1]", got.Data)
	}
}

func TestReadIDXLabels(t *testing.T) {
	raw := idxLabels(7, 2, 1, 0, 9)
	for name, in := range map[string][]byte{"plain": raw, "gzip": gz(t, raw)} {
		got, err := ReadIDXLabels(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !cmp.Equal(got, []int{7, 2, 1, 0, 9}) {
			t.Errorf("%s: got %v", name, got)
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	img := idxImages(3, 2, 2)
	for _, tc := range []struct {
		name  string
		in    []byte
		parts []string
	}{
		{"empty", nil, []string{"truncated", "got 0"}},
		{"short header", img[:10], []string{"truncated", "got 10"}},
		{"labels magic", idxLabels(1, 2), []string{"bad magic 0x00000801", "want 0x00000803"}},
		{"garbage magic", []byte("PK\x03\x04aaaaaaaaaaaaaaaaaaaaaaaaaa"), []string{"bad magic 0x504b0304"}},
		{"truncated pixels", img[:len(img)-5], []string{"truncated", "3 images of 2x2", "12 bytes", "only 7"}},
		{"truncated gzip", gz(t, img)[:30], []string{"truncated gzip"}},
		{"trailing", append(append([]byte{}, img...), 1), []string{"trailing data"}},
		{"zero rows", idxImages(1, 0, 5), []string{"invalid image size 0x5"}},
		{"huge dims", []byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, []string{"implausible"}},
		{"huge n lying", []byte{0, 0, 8, 3, 0, 0xff, 0xff, 0xff, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3}, []string{"truncated", "only 3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadIDXImages(bytes.NewReader(tc.in))
			wantErr(t, err, append([]string{"IDX images"}, tc.parts...)...)
		})
	}

	_, err := ReadIDXLabels(bytes.NewReader(img))
	wantErr(t, err, "IDX labels", "bad magic 0x00000803", "want 0x00000801")
	_, err = ReadIDXLabels(bytes.NewReader(idxLabels(1, 2, 3)[:9]))
	wantErr(t, err, "IDX labels", "truncated", "3 labels", "only 1")
}
