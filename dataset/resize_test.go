package dataset

import (
	"bytes"
	"math"
	"slices"
	"testing"
)

func TestResizeAreaWholeFactorIsBlockMean(t *testing.T) {
	in := Tensor{Shape: []int{1, 1, 4, 4}, Data: []float64{
		1, 2, 3, 4,
		5, 6, 7, 8,
		9, 10, 11, 12,
		13, 14, 15, 16}}
	got, err := ResizeArea(in, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{3.5, 5.5, 11.5, 13.5}
	if !slices.Equal(got.Shape, []int{1, 1, 2, 2}) || !slices.Equal(got.Data, want) {
		t.Fatalf("got %v %v, want [1 1 2 2] %v", got.Shape, got.Data, want)
	}
}

func TestResizeAreaFractional(t *testing.T) {
	// 3 -> 2: output 0 covers input [0, 1.5): pixel 0 whole, half of pixel 1.
	in := Tensor{Shape: []int{1, 1, 1, 3}, Data: []float64{0, 3, 6}}
	got, err := ResizeArea(in, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{(0*1 + 3*0.5) / 1.5, (3*0.5 + 6*1) / 1.5}
	for i := range want {
		if math.Abs(got.Data[i]-want[i]) > 1e-12 {
			t.Fatalf("got %v, want %v", got.Data, want)
		}
	}
}

func TestResizeAreaKeepsConstantAndMean(t *testing.T) {
	// MNIST's 28x28 to 12x12, two images of two channels.
	in := Tensor{Shape: []int{2, 2, 28, 28}, Data: make([]float64, 2*2*28*28)}
	for i := range in.Data {
		in.Data[i] = float64((i*7919)%255) / 255
	}
	for i := 0; i < 28*28; i++ {
		in.Data[3*28*28+i] = 0.25 // the last plane is constant
	}
	got, err := ResizeArea(in, 12, 12)
	if err != nil {
		t.Fatal(err)
	}
	for p := 0; p < 4; p++ {
		var sIn, sOut float64
		for _, v := range in.Data[p*784 : (p+1)*784] {
			sIn += v
		}
		for _, v := range got.Data[p*144 : (p+1)*144] {
			sOut += v
			if p == 3 && math.Abs(v-0.25) > 1e-12 {
				t.Fatalf("constant plane became %v", v)
			}
		}
		if math.Abs(sIn/784-sOut/144) > 1e-12 {
			t.Fatalf("plane %d: mean %v became %v", p, sIn/784, sOut/144)
		}
	}
}

func TestResizeAreaErrors(t *testing.T) {
	for _, tc := range []struct {
		t    Tensor
		h, w int
	}{
		{Tensor{Shape: []int{1, 4, 4}, Data: make([]float64, 16)}, 2, 2},
		{Tensor{Shape: []int{1, 1, 4, 4}, Data: make([]float64, 16)}, 0, 2},
		{Tensor{Shape: []int{1, 1, 4, 4}, Data: make([]float64, 15)}, 2, 2},
	} {
		if _, err := ResizeArea(tc.t, tc.h, tc.w); err == nil {
			t.Errorf("ResizeArea(%v, %d, %d): no error", tc.t.Shape, tc.h, tc.w)
		}
	}
}

func TestWriteIDXRoundTrip(t *testing.T) {
	img := Tensor{Shape: []int{2, 1, 2, 3}, Data: []float64{0, 1, 0.5, 2.0 / 255, 0.3, 1.0 / 510, 1, 1, 1, 0, 0, 0}}
	var b bytes.Buffer
	if err := WriteIDXImages(&b, img); err != nil {
		t.Fatal(err)
	}
	back, err := ReadIDXImages(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Shape, img.Shape) {
		t.Fatalf("shape %v, want %v", back.Shape, img.Shape)
	}
	for i, v := range img.Data {
		if want := math.Floor(255*v+0.5) / 255; back.Data[i] != want {
			t.Fatalf("value %d: %v, want %v", i, back.Data[i], want)
		}
	}
	b.Reset()
	if err := WriteIDXLabels(&b, []int{3, 0, 255}); err != nil {
		t.Fatal(err)
	}
	l, err := ReadIDXLabels(&b)
	if err != nil || !slices.Equal(l, []int{3, 0, 255}) {
		t.Fatalf("labels %v, %v", l, err)
	}
	if err := WriteIDXImages(&b, Tensor{Shape: []int{1, 1, 1, 1}, Data: []float64{1.5}}); err == nil {
		t.Fatal("value 1.5: no error")
	}
	if err := WriteIDXLabels(&b, []int{256}); err == nil {
		t.Fatal("label 256: no error")
	}
}
