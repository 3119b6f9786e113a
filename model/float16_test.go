package model

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nlpodyssey/safetensors"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/testutil"
)

// refFloat returns sign·mant·2^exp, computed exactly with math/big and
// converted to float64 (exactly: every fp16 and bf16 value is a float64).
func refFloat(t testing.TB, neg bool, mant uint64, exp int) float64 {
	t.Helper()
	f := new(big.Float).SetMantExp(new(big.Float).SetUint64(mant), exp)
	if neg {
		f.Neg(f)
	}
	v, acc := f.Float64()
	if acc != big.Exact {
		t.Fatalf("reference %v·2^%d is not exact in float64", mant, exp)
	}
	if neg && v == 0 {
		v = math.Copysign(0, -1)
	}
	return v
}

// refHalf is the value of the binary16 bit pattern h by the definition
// of IEEE 754 (integer fields, math/big), independent of any library.
func refHalf(t testing.TB, h uint16) float64 {
	neg, e, m := h>>15 == 1, int(h>>10&31), uint64(h&1023)
	switch e {
	case 31:
		if m != 0 {
			return math.NaN()
		}
		if neg {
			return math.Inf(-1)
		}
		return math.Inf(1)
	case 0:
		return refFloat(t, neg, m, -24) // subnormal: m·2^(1−15−10)
	}
	return refFloat(t, neg, 1024+m, e-25) // (1024+m)·2^(e−15−10)
}

// refBF16 is the value of the bfloat16 bit pattern b: float32's fields
// with a 7-bit mantissa.
func refBF16(t testing.TB, b uint16) float64 {
	neg, e, m := b>>15 == 1, int(b>>7&255), uint64(b&127)
	switch e {
	case 255:
		if m != 0 {
			return math.NaN()
		}
		if neg {
			return math.Inf(-1)
		}
		return math.Inf(1)
	case 0:
		return refFloat(t, neg, m, -133) // m·2^(1−127−7)
	}
	return refFloat(t, neg, 128+m, e-134) // (128+m)·2^(e−127−7)
}

// allPatterns returns the 65,536 16-bit patterns as little-endian bytes.
func allPatterns() []byte {
	b := make([]byte, 2<<16)
	for i := range 1 << 16 {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(i))
	}
	return b
}

// checkAll16 checks that got[i] is the value of pattern i, bit for bit
// (−0 included); NaN patterns must give a NaN.
func checkAll16(t *testing.T, what string, got []float64, ref func(testing.TB, uint16) float64) {
	t.Helper()
	if len(got) != 1<<16 {
		t.Fatalf("%s: %d values, want 65536", what, len(got))
	}
	bad := 0
	for i, g := range got {
		w := ref(t, uint16(i))
		ok := math.Float64bits(g) == math.Float64bits(w) || math.IsNaN(g) && math.IsNaN(w)
		if !ok {
			if bad < 5 {
				t.Errorf("%s: pattern 0x%04x reads %v (bits %#x), want %v", what, i, g, math.Float64bits(g), w)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of 65536 patterns wrong", what, bad)
	}
}

func TestHalfAndBFloat16AllPatterns(t *testing.T) {
	var h, b []float64
	for i := range 1 << 16 {
		h = append(h, Half(uint16(i)))
		b = append(b, BFloat16(uint16(i)))
	}
	checkAll16(t, "Half", h, refHalf)
	checkAll16(t, "BFloat16", b, refBF16)
	// The reference itself, on values known by heart.
	for _, c := range []struct {
		h    uint16
		want float64
	}{{0x0001, 0x1p-24}, {0x03ff, 1023 * 0x1p-24}, {0x0400, 0x1p-14}, {0x3c00, 1}, {0x7bff, 65504}, {0xc000, -2}} {
		if got := refHalf(t, c.h); got != c.want {
			t.Errorf("refHalf(%#04x) = %v, want %v", c.h, got, c.want)
		}
	}
	if got := refHalf(t, 0x8000); !math.Signbit(got) || got != 0 {
		t.Errorf("refHalf(0x8000) = %v, want -0", got)
	}
	if got := refBF16(t, 0x0001); got != 0x1p-133 {
		t.Errorf("refBF16(1) = %v, want 2^-133", got)
	}
}

// sixteenBitFiles writes every 16-bit pattern as one tensor "all" of shape
// [65536] in each format that can hold the class (HalfStorage or
// BFloat16Storage).
func sixteenBitFiles(t *testing.T, class string) map[string]string {
	raw := allPatterns()
	sd := ptOrderedDict{{"all", &ptTensor{class: class, shape: []int{1 << 16}, data: raw}}}
	files := map[string]string{
		"pth zip":               writeTemp(t, "zip.pth", torchZip(sd)),
		"pth legacy protocol 2": writeTemp(t, "legacy2.pth", torchLegacy(2, sd)),
		"pth legacy protocol 1": writeTemp(t, "legacy1.pth", torchLegacy(1, sd)),
	}
	dt := safetensors.F16
	if class == "BFloat16Storage" {
		dt = safetensors.BF16
	}
	tv, err := safetensors.NewTensorView(dt, []uint64{1 << 16}, raw)
	if err != nil {
		t.Fatal(err)
	}
	st, err := safetensors.Serialize(map[string]safetensors.TensorView{"all": tv}, nil)
	if err != nil {
		t.Fatal(err)
	}
	files["safetensors "+dt.String()] = writeTemp(t, "w.safetensors", st)
	if class == "HalfStorage" {
		files["npz <f2"] = writeTemp(t, "le.npz", npzBytes(t, map[string][]byte{"all": npyBytes("<f2", []int{1 << 16}, false, raw)}))
		be := slices.Clone(raw)
		for i := 0; i < len(be); i += 2 {
			be[i], be[i+1] = be[i+1], be[i]
		}
		files["npz >f2"] = writeTemp(t, "be.npz", npzBytes(t, map[string][]byte{"all": npyBytes(">f2", []int{1 << 16}, false, be)}))
	}
	return files
}

func TestSixteenBitLoadersAllPatterns(t *testing.T) {
	for _, c := range []struct {
		class string
		ref   func(testing.TB, uint16) float64
	}{{"HalfStorage", refHalf}, {"BFloat16Storage", refBF16}} {
		files := sixteenBitFiles(t, c.class)
		for _, what := range slices.Sorted(mapsKeys(files)) {
			t.Run(c.class+"/"+what, func(t *testing.T) {
				sd, err := ReadStateDict(files[what])
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(sd["all"].Shape, []int{1 << 16}) {
					t.Fatalf("shape %v", sd["all"].Shape)
				}
				checkAll16(t, what, sd["all"].Data, c.ref)
			})
		}
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// npyBytes returns an .npy file (format 1.0) of dtype descr.
func npyBytes(descr string, shape []int, fortran bool, data []byte) []byte {
	dims := ""
	for _, d := range shape {
		dims += fmt.Sprintf("%d, ", d)
	}
	if len(shape) > 1 {
		dims = dims[:len(dims)-2]
	}
	f := "False"
	if fortran {
		f = "True"
	}
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }", descr, f, dims)
	for (10+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	hdr += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	b.Write(binary.LittleEndian.AppendUint16(nil, uint16(len(hdr))))
	b.WriteString(hdr)
	b.Write(data)
	return b.Bytes()
}

// npzBytes returns an .npz archive (as numpy.savez) of the named arrays.
func npzBytes(t testing.TB, arrays map[string][]byte) []byte {
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, k := range slices.Sorted(mapsKeys(arrays)) {
		w, err := zw.Create(k + ".npy")
		if err != nil {
			t.Fatal(err)
		}
		w.Write(arrays[k])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestSharedFP16Weights is shared/cases/fp16-weights: the linear layer of
// probe2.json holds fp16 weights (subnormals and −0 among them); output
// row i for one-hot input i minus the bias row (input 8, all zeros) must
// equal fp16_values.npy bit for bit, from the PyTorch checkpoint and from
// the same weights written as safetensors F16.
func TestSharedFP16Weights(t *testing.T) {
	spec := testutil.SharedFile(t, "cases/fp16-weights/probe2.json")
	dir := filepath.Dir(spec)
	want, err := dataset.ReadNPY(filepath.Join(dir, "fp16_values.npy"))
	if err != nil {
		t.Fatal(err)
	}
	x, err := dataset.ReadNPY(filepath.Join(dir, "x2.npy"))
	if err != nil {
		t.Fatal(err)
	}
	pth := filepath.Join(dir, "probe_half2.pth")
	// The same weights as safetensors F16, from the checkpoint's bits.
	raw, err := ReadPyTorch(pth)
	if err != nil {
		t.Fatal(err)
	}
	views := map[string]safetensors.TensorView{}
	for k, v := range raw {
		b := make([]byte, 2*len(v.Data))
		for i, f := range v.Data {
			h, ok := halfBits(f)
			if !ok {
				t.Fatalf("%s[%d] = %v is not an fp16 value", k, i, f)
			}
			binary.LittleEndian.PutUint16(b[2*i:], h)
		}
		shape := make([]uint64, len(v.Shape))
		for i, d := range v.Shape {
			shape[i] = uint64(d)
		}
		views[k], err = safetensors.NewTensorView(safetensors.F16, shape, b)
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := safetensors.Serialize(views, nil)
	if err != nil {
		t.Fatal(err)
	}
	subnormal, negZero := 0, 0
	for _, w := range want.Data {
		if w != 0 && math.Abs(w) < 0x1p-14 {
			subnormal++
		}
		if w == 0 && math.Signbit(w) {
			negZero++
		}
	}
	if subnormal == 0 || negZero == 0 {
		t.Fatalf("fp16_values.npy has %d subnormals and %d −0: not the case this test is for", subnormal, negZero)
	}
	for _, f := range []string{pth, writeTemp(t, "probe_half2.safetensors", st)} {
		net, err := Load(spec, f)
		if err != nil {
			t.Fatal(err)
		}
		y, err := net.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		out, in := want.Shape[0], want.Shape[1]
		if !slices.Equal(y.Shape, []int{in + 1, out}) {
			t.Fatalf("%s: output shape %v, want [%d %d]", f, y.Shape, in+1, out)
		}
		for i := range in {
			for o := range out {
				got := y.Data[i*out+o] - y.Data[in*out+o]
				w := want.Data[o*in+i]
				if got == 0 && w == 0 {
					// The sign of a zero does not survive w+b−b; compare the weight itself.
					got = net.Layer("fc").W.Value.Data[o*in+i]
				}
				if math.Float64bits(got) != math.Float64bits(w) {
					t.Errorf("%s: weight [%d,%d]: %v, want %v", filepath.Base(f), o, i, got, w)
				}
			}
		}
	}
}

// halfBits returns the fp16 pattern of v when v is an fp16 value.
func halfBits(v float64) (uint16, bool) {
	for h := range 1 << 16 {
		if math.Float64bits(Half(uint16(h))) == math.Float64bits(v) {
			return uint16(h), true
		}
	}
	return 0, false
}
