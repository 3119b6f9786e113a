package model

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/addergen/addergen/dataset"
)

func tinyNet(t testing.TB) *Net {
	t.Helper()
	n, err := Load("testdata/tiny.json", "testdata/tiny_zip.pth")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func cloneSD(sd StateDict) StateDict {
	out := StateDict{}
	for k, v := range sd {
		out[k] = dataset.Tensor{Shape: slices.Clone(v.Shape), Data: slices.Clone(v.Data)}
	}
	return out
}

func TestReadPyTorchRaw(t *testing.T) {
	// The zip and legacy files hold num_batches_tracked as int64 and
	// fc1.weight as a transposed view; ReadPyTorch keeps keys as stored.
	for _, f := range []string{"tiny_zip.pth", "tiny_legacy.pth"} {
		sd, err := ReadPyTorch(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if nb, ok := sd["bn1.num_batches_tracked"]; !ok || len(nb.Shape) != 0 || nb.Data[0] != 2 {
			t.Errorf("%s: bn1.num_batches_tracked = %v", f, nb)
		}
		if w := sd["fc1.weight"]; !slices.Equal(w.Shape, []int{16, 32}) {
			t.Errorf("%s: fc1.weight shape %v", f, w.Shape)
		}
	}
	sd, err := ReadPyTorch("testdata/tiny_ckpt.pth")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sd["module.conv1.weight"]; !ok {
		t.Errorf("tiny_ckpt.pth: keys %v, want the module. prefix kept by ReadPyTorch", sd.Keys()[:3])
	}
	sd, err = ReadStateDict("testdata/tiny_ckpt.pth")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sd["conv1.weight"]; !ok {
		t.Errorf("ReadStateDict did not strip module.: %v", sd.Keys()[:3])
	}
}

func TestCyclicCheckpoint(t *testing.T) {
	_, err := ReadStateDict("testdata/cyclic.pth")
	if err == nil || !strings.Contains(err.Error(), "testdata/cyclic.pth: no state_dict found") {
		t.Errorf("cyclic.pth: %v", err)
	}
}

func TestDetectFormat(t *testing.T) {
	for f, want := range map[string]Format{
		"tiny_zip.pth": FormatTorchZip, "tiny_legacy.pth": FormatTorchLegacy,
		"tiny.npz": FormatNPZ, "tiny.safetensors": FormatSafetensors,
	} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := DetectFormat(b); got != want || err != nil {
			t.Errorf("%s: %v %v, want %v", f, got, err, want)
		}
	}
	for _, b := range [][]byte{nil, make([]byte, 1024), []byte("hello"), []byte("PK\x03\x04garbage")} {
		if _, err := DetectFormat(b); err == nil {
			t.Errorf("DetectFormat(%q) accepted", b[:min(len(b), 8)])
		}
	}
}

// TestDetectFormatLookalikes: files whose first bytes look like another
// format are told apart by their whole structure.
func TestDetectFormatLookalikes(t *testing.T) {
	sd := ptOrderedDict{{"w", &ptTensor{class: "FloatStorage", shape: []int{1}, data: make([]byte, 4)}}}
	st := func(hdr string) []byte {
		b := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
		return append(b, hdr...)
	}
	// A header of exactly 0x580 bytes: its length reads 80 05, a pickle's PROTO 5.
	hdr580 := `{"__metadata__":{"pad":"` + strings.Repeat("x", 0x580-27) + `"}}`
	npz := npzBytes(t, map[string][]byte{"w": npyBytes("<f4", []int{1}, false, make([]byte, 4))})
	for _, c := range []struct {
		name string
		data []byte
		want Format
		err  string
	}{
		{"safetensors, header 0x580", st(hdr580), FormatSafetensors, ""},
		{"safetensors, header 0x280", st(`{"__metadata__":{"pad":"` + strings.Repeat("y", 0x280-27) + `"}}`), FormatSafetensors, ""},
		{"legacy protocol 1", torchLegacy(1, sd), FormatTorchLegacy, ""},
		{"legacy protocol 2", torchLegacy(2, sd), FormatTorchLegacy, ""},
		{"zip", torchZip(sd), FormatTorchZip, ""},
		{"npz", npz, FormatNPZ, ""},
		{"pickle without the magic", []byte("\x80\x02}q\x00."), "", "a pickle, but not a PyTorch checkpoint"},
		{"protocol-1 pickle without the magic", []byte("(dp0\n."), "", "a pickle, but not a PyTorch checkpoint"},
		{"safetensors, bad JSON", st(`{"a": [1, 2}   `), "", "safetensors: header of 15 bytes is not a JSON object"},
		{"safetensors, header longer than the file", st(hdr580)[:0x400], "", "safetensors: header length 1408 exceeds the 1016 bytes after it"},
		{"zip magic, no directory", []byte("PK\x03\x04 not really a zip archive"), "", "corrupt zip archive"},
		{"truncated zip", torchZip(sd)[:100], "", "corrupt zip archive"},
		{"truncated legacy", torchLegacy(2, sd)[:10], "", "unknown weight file format"},
	} {
		f, err := DetectFormat(c.data)
		if c.err == "" && (f != c.want || err != nil) {
			t.Errorf("%s: %q, %v; want %q", c.name, f, err, c.want)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: %q, %v; want an error containing %q", c.name, f, err, c.err)
		}
	}
	if b := st(hdr580); b[0] != 0x80 || b[1] != 0x05 {
		t.Fatalf("header length bytes % x, want 80 05", b[:2])
	}
}

func TestSetStateDictErrors(t *testing.T) {
	n := tinyNet(t)
	good := n.StateDict()
	before := n.StateDict()
	cases := []struct {
		name   string
		change func(sd StateDict)
		want   string
	}{
		{"missing", func(sd StateDict) { delete(sd, "block.conv2.adder") }, `missing key "block.conv2.adder" (layer "block.conv2", adder2d)`},
		{"unexpected", func(sd StateDict) { sd["block.conv2.weight"] = sd["block.conv2.adder"] }, `unexpected key "block.conv2.weight" (not in spec tiny-res); the spec has block.conv2.adder`},
		{"shape", func(sd StateDict) {
			w := sd["conv1.weight"]
			w.Shape = []int{4, 3, 9}
			sd["conv1.weight"] = w
		}, `key "conv1.weight" has shape [4 3 9], spec tiny-res wants [4 3 3 3]`},
		{"nan", func(sd StateDict) { sd["bn1.running_mean"].Data[2] = math.NaN() }, `key "bn1.running_mean": non-finite value NaN at flat index 2`},
		{"inf", func(sd StateDict) { sd["classifier.weight"].Data[0] = math.Inf(-1) }, `key "classifier.weight": non-finite value -Inf`},
		{"variance", func(sd StateDict) { sd["bn1.running_var"].Data[0] = -1 }, `variance -1 at index 0 is not positive`},
	}
	for _, c := range cases {
		sd := cloneSD(good)
		c.change(sd)
		err := n.SetStateDict(sd, "w.pth")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "model: w.pth: ") {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	for k, v := range n.StateDict() {
		if !slices.Equal(v.Data, before[k].Data) {
			t.Fatalf("failed SetStateDict changed %s", k)
		}
	}
	// num_batches_tracked is optional.
	sd := cloneSD(good)
	if err := n.SetStateDict(sd, "w"); err != nil {
		t.Errorf("without num_batches_tracked: %v", err)
	}
}

func TestBadWeightFiles(t *testing.T) {
	dir := t.TempDir()
	n := tinyNet(t)
	sd := n.StateDict()
	sd["block.bn2.weight"].Data[1] = math.NaN()
	nanFile := filepath.Join(dir, "nan.safetensors")
	if err := WriteSafetensors(nanFile, sd, nil); err != nil {
		t.Fatal(err)
	}
	_, err := Load("testdata/tiny.json", nanFile)
	if err == nil || !strings.Contains(err.Error(), nanFile) || !strings.Contains(err.Error(), `"block.bn2.weight"`) {
		t.Errorf("NaN weights: %v", err)
	}
	_, err = Load("lenet5-adder", "testdata/tiny_zip.pth")
	if err == nil || !strings.Contains(err.Error(), "testdata/tiny_zip.pth: unexpected key") {
		t.Errorf("wrong spec: %v", err)
	}
	_, err = Load("lenet5-adder", filepath.Join(dir, "nope.pth"))
	if err == nil || !strings.Contains(err.Error(), "nope.pth") {
		t.Errorf("missing file: %v", err)
	}
	trunc := filepath.Join(dir, "trunc.pth")
	b, _ := os.ReadFile("testdata/tiny_legacy.pth")
	os.WriteFile(trunc, b[:len(b)-100], 0o644)
	_, err = Load("testdata/tiny.json", trunc)
	if err == nil || !strings.Contains(err.Error(), "trunc.pth") {
		t.Errorf("truncated legacy file: %v", err)
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	s, _ := BuiltinSpec("lenet5-adder")
	n, err := New(s, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	n.Layer("bn2").Mean.Value.Data[3] = 0.25
	dir := t.TempDir()
	file := filepath.Join(dir, "w.safetensors")
	if err := SaveSafetensors(n, file); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
	n2, err := Load("lenet5-adder", file)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range n.StateDict() {
		if !slices.Equal(v.Data, n2.StateDict()[k].Data) {
			t.Errorf("%s differs after round trip", k)
		}
	}
	if err := SaveSafetensors(n, filepath.Join(dir, "no", "such", "dir.safetensors")); err == nil {
		t.Error("SaveSafetensors into a missing folder succeeded")
	}
}

func TestNewInit(t *testing.T) {
	s, _ := BuiltinSpec("resnet20-adder")
	a, _ := New(s, rand.New(rand.NewPCG(3, 4)))
	b, _ := New(s, rand.New(rand.NewPCG(3, 4)))
	for _, l := range a.Layers {
		switch l.Op {
		case OpConv2d, OpAdder2d:
			bound := 1 / math.Sqrt(float64(l.InC*l.Kernel*l.Kernel))
			var maxAbs float64
			for _, v := range l.W.Value.Data {
				maxAbs = math.Max(maxAbs, math.Abs(v))
			}
			if maxAbs > bound || maxAbs < bound/2 {
				t.Errorf("%s: max |w| %v, bound %v", l.Name, maxAbs, bound)
			}
		case OpBatchNorm2d:
			if l.W.Value.Data[0] != 1 || l.B.Value.Data[0] != 0 || l.Mean.Value.Data[0] != 0 || l.Var.Value.Data[0] != 1 {
				t.Errorf("%s: not the identity", l.Name)
			}
		}
		if l.W != nil && !slices.Equal(l.W.Value.Data, b.Layer(l.Name).W.Value.Data) {
			t.Errorf("%s: same seed, different weights", l.Name)
		}
	}
}

// fuzzReader feeds arbitrary bytes, seeded with the named fixtures and the
// committed corpus in testdata/fuzz/FuzzXxx (valid files of every 16-bit
// dtype and wrapping, and malformed ones: truncated, wrong header or
// element counts, bad JSON, bad magic, missing records, look-alike
// headers), to a weight reader: it may fail, but must not panic, hang or
// allocate beyond the file size, and its errors must be one line naming
// the file.
func fuzzReader(f *testing.F, read func(string) (StateDict, error), seeds ...string) {
	for _, name := range seeds {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte("\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."))
	file := filepath.Join(f.TempDir(), "w")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sd, err := read(file)
		if err != nil {
			if !strings.Contains(err.Error(), file) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line naming the file: %q", err)
			}
			return
		}
		for k, v := range sd {
			if numel(v.Shape) != len(v.Data) {
				t.Errorf("key %q: shape %v, %d values", k, v.Shape, len(v.Data))
			}
		}
	})
}

func FuzzReadStateDict(f *testing.F) {
	fuzzReader(f, ReadStateDict, "tiny_zip.pth", "tiny_legacy.pth", "tiny.npz", "tiny.safetensors", "tiny_module_legacy.pth")
}

func FuzzReadPyTorch(f *testing.F) {
	fuzzReader(f, ReadPyTorch, "tiny_zip.pth", "tiny_legacy.pth", "tiny_module.pth", "tiny_ckpt.pth", "cyclic.pth", "legacy_p1_ckpt.pth")
}

func FuzzReadSafetensors(f *testing.F) { fuzzReader(f, ReadSafetensors, "tiny.safetensors") }

func FuzzReadNPZ(f *testing.F) { fuzzReader(f, ReadNPZ, "tiny.npz", "resnet20_ref.npz") }
