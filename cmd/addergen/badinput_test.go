package main

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
)

// tinySpec is a small adder network: input [1 4 4], 3 classes.
const tinySpec = `{
  "name": "tiny-adder",
  "input": [1, 4, 4],
  "classes": 3,
  "layers": [
    {"name": "c1", "op": "conv2d", "in": 1, "out": 2, "kernel": 1, "bias": true},
    {"name": "relu1", "op": "relu"},
    {"name": "a1", "op": "adder2d", "in": 2, "out": 3, "kernel": 4},
    {"name": "bn1", "op": "batchnorm2d", "channels": 3},
    {"name": "flatten", "op": "flatten"}
  ]
}
`

// badFixtures writes the good inputs (tiny spec, weights as safetensors
// and npz, data with labels, a quantized model) and, from them, every
// malformed input of the bad-input table into dir; it returns the folder.
func badFixtures(t *testing.T, dir string) {
	t.Helper()
	w := func(name string, b []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	npy := func(name string, x dataset.Tensor) []byte {
		t.Helper()
		if err := dataset.WriteNPY(filepath.Join(dir, name), x); err != nil {
			t.Fatal(err)
		}
		return read(name)
	}
	w("tiny.json", []byte(tinySpec))
	spec, err := model.LoadSpec(filepath.Join(dir, "tiny.json"))
	if err != nil {
		t.Fatal(err)
	}
	net, err := model.New(spec, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	// A header length whose low byte is 0x80 is read as a legacy pickle
	// (issue 10, fault 2, fixed elsewhere): keep this fixture off it.
	for {
		if err := model.SaveSafetensors(net, filepath.Join(dir, "w.safetensors")); err != nil {
			t.Fatal(err)
		}
		if read("w.safetensors")[0] != 0x80 {
			break
		}
		net.Spec.Doc += "."
	}
	rng := rand.New(rand.NewPCG(3, 4))
	x := dataset.Tensor{Shape: []int{4, 1, 4, 4}, Data: make([]float64, 64)}
	for i := range x.Data {
		x.Data[i] = rng.Float64()
	}
	xb := npy("x.npy", x)
	npy("x.labels.npy", dataset.Tensor{Shape: []int{4}, Data: []float64{0, 2, 1, 2}})
	code, _, errs := runCLI(t, "quantize", "--model", filepath.Join(dir, "tiny.json"), "--weights", filepath.Join(dir, "w.safetensors"),
		"--calib", filepath.Join(dir, "x.npy"), "--bits", "8", "--out", filepath.Join(dir, "q.json"), "-q")
	if code != 0 {
		t.Fatalf("quantize the tiny net: exit %d: %s", code, errs)
	}

	// Weights: PyTorch zip.
	zpth, err := os.ReadFile(lenetFixture)
	if err != nil {
		t.Fatal(err)
	}
	w("trunc_zip.pth", zpth[:len(zpth)/2])
	w("nopkl.pth", zipOf(t, map[string][]byte{"archive/version": []byte("3\n")}))
	// Weights: PyTorch legacy (a pickle stream).
	legacyMagic := []byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.")
	w("trunc_legacy.pth", append(append([]byte{}, legacyMagic...), 0x80, 0x02, 0x7d))
	w("garbage_legacy.pth", append([]byte{0x80, 0x02}, bytes.Repeat([]byte{0xff}, 40)...))
	// Weights: safetensors.
	st := read("w.safetensors")
	hlen := binary.LittleEndian.Uint64(st)
	w("trunc.safetensors", st[:8+int(hlen)+10])
	bad := append([]byte{}, st...)
	binary.LittleEndian.PutUint64(bad, uint64(len(st))) // header runs past the end
	w("hdrlen.safetensors", bad)
	bad = append([]byte{}, st...)
	copy(bad[8:], "{not json")
	w("json.safetensors", bad)
	bad = append([]byte{}, st...)
	i := bytes.Index(bad, []byte(`"F64"`))
	if i < 0 {
		t.Fatal("no F64 in the safetensors header")
	}
	copy(bad[i:], `"Q64"`)
	w("dtype.safetensors", bad)
	sd := net.StateDict()
	bad2 := model.StateDict{}
	for k, v := range sd {
		bad2[k] = v
	}
	bad2["c1.weight"] = dataset.Tensor{Shape: []int{3, 1, 1, 1}, Data: []float64{1, 2, 3}}
	if err := model.WriteSafetensors(filepath.Join(dir, "shape.safetensors"), bad2, nil); err != nil {
		t.Fatal(err)
	}
	delete(bad2, "c1.weight")
	bad2["c1.weight_renamed"] = sd["c1.weight"]
	if err := model.WriteSafetensors(filepath.Join(dir, "missing.safetensors"), bad2, nil); err != nil {
		t.Fatal(err)
	}
	// Weights: npz.
	members := map[string][]byte{}
	for k, v := range sd {
		members[k+".npy"] = npy("member.npy", v)
	}
	good := zipOf(t, members)
	w("trunc.npz", good[:len(good)-40])
	members["a1.adder.npy"] = []byte("\x93NUMPX garbage")
	w("member.npz", zipOf(t, members))
	members["a1.adder.npy"] = npy("member.npy", dataset.Tensor{Shape: []int{2}, Data: []float64{1, 2}})
	w("shape.npz", zipOf(t, members))
	os.Remove(filepath.Join(dir, "member.npy"))
	w("unknown.pth", []byte("this is not a checkpoint at all"))
	w("empty.pth", nil)

	// Data: .npy.
	w("magic.npy", append([]byte("NOTNPY"), xb[6:]...))
	w("short.npy", xb[:len(xb)-7])
	bad = append([]byte{}, xb...)
	binary.LittleEndian.PutUint16(bad[8:], 0xfff0) // v1 header length past the end
	w("hdrlen.npy", bad)
	bad = append([]byte{}, xb...)
	if i := bytes.Index(bad, []byte("'descr'")); i >= 0 {
		copy(bad[i:], "'dexcr'")
	}
	w("hdrkey.npy", bad)
	cplx := append([]byte{}, xb...)
	if i := bytes.Index(cplx, []byte("<f8")); i >= 0 {
		copy(cplx[i:], "<c8") // same item size: only the dtype is wrong
	}
	w("complex.npy", cplx)
	npy("wrongshape.npy", dataset.Tensor{Shape: []int{2, 2, 4, 4}, Data: make([]float64, 64)})
	os.MkdirAll(filepath.Join(dir, "lab"), 0o755)
	npy("lab/big.npy", x)
	npy("lab/big.labels.npy", dataset.Tensor{Shape: []int{4}, Data: []float64{0, 1, 3, 2}})
	npy("lab/neg.npy", x)
	npy("lab/neg.labels.npy", dataset.Tensor{Shape: []int{4}, Data: []float64{0, -1, 1, 2}})
	npy("lab/count.npy", x)
	npy("lab/count.labels.npy", dataset.Tensor{Shape: []int{3}, Data: []float64{0, 1, 2}})
	npy("lab/frac.npy", x)
	npy("lab/frac.labels.npy", dataset.Tensor{Shape: []int{4}, Data: []float64{0, 1.5, 1, 2}})
	// Data: IDX (4 images of 4x4, 4 labels).
	img := append([]byte{0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4}, make([]byte, 64)...)
	os.MkdirAll(filepath.Join(dir, "idx"), 0o755)
	w("idx/t10k-images-idx3-ubyte", img)
	w("idx/t10k-labels-idx1-ubyte", []byte{0, 0, 8, 1, 0, 0, 0, 4, 0, 2, 9, 1})
	os.MkdirAll(filepath.Join(dir, "idxmagic"), 0o755)
	w("idxmagic/t10k-images-idx3-ubyte", append([]byte{0, 0, 9, 3}, img[4:]...))
	w("idxtrunc-images-idx3-ubyte", img[:40])
	w("idxgz-images-idx3-ubyte.gz", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3})

	// Architecture specs.
	w("spec_json.json", []byte(`{"name": "x", "input": [1, 4, 4], "layers": [`))
	w("spec_op.json", []byte(strings.Replace(tinySpec, `"op": "relu"`, `"op": "gelu"`, 1)))
	w("spec_key.json", []byte(strings.Replace(tinySpec, `"classes": 3,`, `"classes": 3, "clases": 3,`, 1)))
	w("spec_in.json", []byte(strings.Replace(tinySpec, `"in": 2, "out": 3`, `"in": 5, "out": 3`, 1)))

	// Quantized models.
	q := read("q.json")
	w("q_trunc.json", q[:len(q)/2])
	mut := func(name string, f func(m map[string]any)) {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(q, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		w(name, b)
	}
	layer := func(m map[string]any, name string) map[string]any {
		for _, l := range m["layers"].([]any) {
			if lm := l.(map[string]any); lm["name"] == name {
				return lm
			}
		}
		t.Fatalf("q.json has no layer %s", name)
		return nil
	}
	mut("q_version.json", func(m map[string]any) { m["version"] = 99 })
	mut("q_weights.json", func(m map[string]any) {
		wt := layer(m, "a1")["weight"].(map[string]any)
		wt["data"] = wt["data"].([]any)[1:]
	})
	mut("q_rounding.json", func(m map[string]any) {
		layer(m, "c1")["rescale"].(map[string]any)["rounding"] = "sideways"
	})
	mut("q_key.json", func(m map[string]any) { layer(m, "a1")["wieght_bits"] = 8 })
	mut("q_bits.json", func(m map[string]any) { m["input"].(map[string]any)["bits"] = 99 })

	// Hardware configs.
	w("hw_json.json", []byte(`{"layers": {`))
	w("hw_layer.json", []byte(`{"layers": {"nope": {"parallel": 2}}}`))
	w("hw_neg.json", []byte(`{"layers": {"a1": {"parallel": -3}}}`))
	w("hw_key.json", []byte(`{"paralel": 4}`))
	w("hw_globalneg.json", []byte(`{"parallel": -3}`))
	w("hw_lanes.json", []byte(`{"lanes": -1}`))
	w("hw_trailing.json", []byte(`{"parallel": 2} {"lanes": 3}`))
	w("hw_top.json", []byte(`{"top": "bad top"}`))

	// A folder addergen did not write.
	os.MkdirAll(filepath.Join(dir, "mine"), 0o755)
	w("mine/keep.txt", []byte("mine"))
}

func zipOf(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for n, d := range files {
		f, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(d)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestBadInput runs every command on malformed inputs and bad flags: each
// row must exit 2 with exactly one line on stderr naming the file, key,
// flag or value at fault, and leave every file and folder as it was.
func TestBadInput(t *testing.T) {
	work := t.TempDir()
	in := filepath.Join(work, "in")
	os.MkdirAll(in, 0o755)
	badFixtures(t, in)
	out := filepath.Join(work, "out")
	P := func(n string) string { return filepath.Join(in, n) }
	infer := func(model, weights, input string) []string {
		a := []string{"infer", "--model", model, "--input", input, "--output", filepath.Join(out, "y.npy")}
		if weights != "" {
			a = append(a, "--weights", weights)
		}
		return a
	}
	tiny := P("tiny.json")
	emit := func(q string, extra ...string) []string {
		return append([]string{"emit-verilog", "--model", q, "--out", filepath.Join(out, "rtl")}, extra...)
	}
	quantize := func(extra ...string) []string {
		return append([]string{"quantize", "--model", tiny, "--weights", P("w.safetensors"), "--calib", P("x.npy"), "--out", filepath.Join(out, "q.json")}, extra...)
	}
	rows := []struct {
		name string
		args []string
		want string // a substring of stderr
	}{
		// Weights: PyTorch zip and legacy, safetensors, npz, unknown.
		{"pth zip truncated", infer("lenet5-adder", P("trunc_zip.pth"), P("x.npy")), "trunc_zip.pth"},
		{"pth zip without data.pkl", infer(tiny, P("nopkl.pth"), P("x.npy")), "nopkl.pth"},
		{"pth legacy truncated", infer(tiny, P("trunc_legacy.pth"), P("x.npy")), "trunc_legacy.pth"},
		{"pth legacy garbage", infer(tiny, P("garbage_legacy.pth"), P("x.npy")), "garbage_legacy.pth"},
		{"safetensors truncated", infer(tiny, P("trunc.safetensors"), P("x.npy")), "trunc.safetensors"},
		{"safetensors header length past the end", infer(tiny, P("hdrlen.safetensors"), P("x.npy")), "hdrlen.safetensors"},
		{"safetensors header not JSON", infer(tiny, P("json.safetensors"), P("x.npy")), "json.safetensors"},
		{"safetensors unknown dtype", infer(tiny, P("dtype.safetensors"), P("x.npy")), "Q64"},
		{"safetensors shape mismatch", infer(tiny, P("shape.safetensors"), P("x.npy")), "c1.weight"},
		{"safetensors missing key", infer(tiny, P("missing.safetensors"), P("x.npy")), "c1.weight"},
		{"npz truncated", infer(tiny, P("trunc.npz"), P("x.npy")), "trunc.npz"},
		{"npz member not .npy", infer(tiny, P("member.npz"), P("x.npy")), `"a1.adder"`},
		{"npz shape mismatch", infer(tiny, P("shape.npz"), P("x.npy")), `"a1.adder" has shape [2]`},
		{"weights of unknown format", infer(tiny, P("unknown.pth"), P("x.npy")), "unknown.pth"},
		{"weights empty", infer(tiny, P("empty.pth"), P("x.npy")), "empty.pth"},
		{"weights missing", infer(tiny, P("nowhere.pth"), P("x.npy")), "nowhere.pth"},

		// Data: .npy, labels, IDX.
		{"npy bad magic", infer(tiny, P("w.safetensors"), P("magic.npy")), "magic.npy"},
		{"npy truncated", infer(tiny, P("w.safetensors"), P("short.npy")), "short.npy"},
		{"npy header length past the end", infer(tiny, P("w.safetensors"), P("hdrlen.npy")), "hdrlen.npy"},
		{"npy header key", infer(tiny, P("w.safetensors"), P("hdrkey.npy")), "hdrkey.npy"},
		{"npy complex dtype", infer(tiny, P("w.safetensors"), P("complex.npy")), "complex.npy"},
		{"npy shape does not fit", infer(tiny, P("w.safetensors"), P("wrongshape.npy")), "[2 2 4 4]"},
		{"npy labels past the classes", infer(tiny, P("w.safetensors"), P("lab/big.npy")), "big.labels.npy: label out of range at index 2: 3"},
		{"npy labels negative", infer(tiny, P("w.safetensors"), P("lab/neg.npy")), "neg.labels.npy: label out of range at index 1: -1"},
		{"npy labels count", infer(tiny, P("w.safetensors"), P("lab/count.npy")), "count.labels.npy"},
		{"npy labels not integers", infer(tiny, P("w.safetensors"), P("lab/frac.npy")), "frac.labels.npy"},
		{"IDX labels past the classes", infer(tiny, P("w.safetensors"), P("idx")), "t10k-labels-idx1-ubyte: label out of range at index 2: 9"},
		{"IDX bad magic", infer(tiny, P("w.safetensors"), P("idxmagic")), "t10k-images-idx3-ubyte"},
		{"IDX truncated", infer(tiny, P("w.safetensors"), P("idxtrunc-images-idx3-ubyte")), "idxtrunc-images-idx3-ubyte"},
		{"IDX bad gzip", infer(tiny, P("w.safetensors"), P("idxgz-images-idx3-ubyte.gz")), "idxgz-images-idx3-ubyte.gz"},
		{"compare labels past the classes", []string{"compare", "--model", tiny, "--weights", P("w.safetensors"), "--quantized", P("q.json"),
			"--data", P("lab/big.npy"), "--out", filepath.Join(out, "cmp")}, "big.labels.npy: label out of range at index 2: 3"},

		// Architecture specs.
		{"spec not JSON", infer(P("spec_json.json"), P("w.safetensors"), P("x.npy")), "spec_json.json"},
		{"spec unknown op", infer(P("spec_op.json"), P("w.safetensors"), P("x.npy")), "gelu"},
		{"spec unknown key", infer(P("spec_key.json"), P("w.safetensors"), P("x.npy")), "clases"},
		{"spec channel mismatch", infer(P("spec_in.json"), P("w.safetensors"), P("x.npy")), "a1"},

		// Quantized models.
		{"quantized truncated", emit(P("q_trunc.json")), "q_trunc.json"},
		{"quantized version", emit(P("q_version.json")), "format version 99"},
		{"quantized weight count", emit(P("q_weights.json")), "a1"},
		{"quantized rounding mode", emit(P("q_rounding.json")), "sideways"},
		{"quantized unknown key", emit(P("q_key.json")), "wieght_bits"},
		{"quantized input bits", emit(P("q_bits.json")), "input: bits 99"},
		{"quantized model is a spec", emit(tiny), "tiny.json"},

		// Hardware configs.
		{"config not JSON", emit(P("q.json"), "--config", P("hw_json.json")), "hw_json.json"},
		{"config unknown layer", emit(P("q.json"), "--config", P("hw_layer.json")), "--config " + P("hw_layer.json") + `: layer "nope"`},
		{"config negative parallel", emit(P("q.json"), "--config", P("hw_neg.json")), "--config " + P("hw_neg.json") + `: layer "a1": parallel -3`},
		{"config unknown key", emit(P("q.json"), "--config", P("hw_key.json")), "paralel"},
		{"config negative global parallel", emit(P("q.json"), "--config", P("hw_globalneg.json")), "--config " + P("hw_globalneg.json") + ": parallel -3"},
		{"config negative global lanes", emit(P("q.json"), "--config", P("hw_lanes.json")), "--config " + P("hw_lanes.json") + ": lanes -1"},
		{"config trailing data", emit(P("q.json"), "--config", P("hw_trailing.json")), "--config " + P("hw_trailing.json") + ": trailing data"},
		{"config bad top name", emit(P("q.json"), "--config", P("hw_top.json")), `"bad top"`},
		{"config missing", emit(P("q.json"), "--config", P("hw_nowhere.json")), "hw_nowhere.json"},

		// Flags of every command.
		{"quantize unknown rounding", quantize("--bits", "8", "--rounding", "sideways"), "sideways"},
		{"quantize bits too small", quantize("--bits", "1"), "--bits"},
		{"quantize bits of an unknown layer", quantize("--bits", "8,nope=4"), `"nope"`},
		{"quantize unknown calibration", quantize("--bits", "8", "--calibration", "guess"), "guess"},
		{"quantize negative calib limit", quantize("--bits", "8", "--calib-limit", "-1"), "--calib-limit"},
		{"emit pe zero lanes", []string{"emit-verilog", "pe", "--lanes", "0", "--width", "8", "--out", filepath.Join(out, "pe")}, "--lanes"},
		{"emit pe width 17", []string{"emit-verilog", "pe", "--lanes", "4", "--width", "17", "--out", filepath.Join(out, "pe")}, "--width"},
		{"emit pe negative pipeline", []string{"emit-verilog", "pe", "--lanes", "4", "--width", "8", "--pipeline", "-1", "--out", filepath.Join(out, "pe")}, "--pipeline"},
		{"emit negative parallel", emit(P("q.json"), "--parallel", "-2"), "--parallel"},
		{"emit bad top name", emit(P("q.json"), "--top", "1bad name"), "--top"},
		{"infer no output", []string{"infer", "--model", tiny, "--weights", P("w.safetensors"), "--input", P("x.npy")}, `"output"`},
		{"compare negative limit", []string{"compare", "--model", tiny, "--weights", P("w.safetensors"), "--quantized", P("q.json"),
			"--data", P("x.npy"), "--limit", "-1"}, "--limit"},
		{"sweep bits out of range", []string{"sweep", "--model", tiny, "--weights", P("w.safetensors"), "--data", P("x.npy"), "--calib", P("x.npy"),
			"--bits", "4,99", "--out", filepath.Join(out, "sweep")}, "--bits"},
		{"train negative epochs", []string{"train", "--arch", tiny, "--data", P("idx"), "--epochs", "-1", "--out", filepath.Join(out, "train")}, "--epochs -1"},
		{"verify unknown simulator", []string{"verify", "--model", P("q.json"), "--data", P("x.npy"), "--simulator", "modelsim"}, "modelsim"},
		{"demo bits out of range", []string{"demo", "--bits", "99", "--out", filepath.Join(out, "demo")}, "--bits"},
		{"synth pe unknown target", []string{"synth", "pe", "--lanes", "4", "--width", "8", "--target", "asic"}, "asic"},
		{"prove pe zero lanes", []string{"prove", "pe", "--lanes", "0", "--width", "8"}, "--lanes"},
		{"prove pe width 17", []string{"prove", "pe", "--lanes", "4", "--width", "17"}, "--width"},
		{"prove pe bad pipeline", []string{"prove", "pe", "--lanes", "4", "--width", "8", "--pipeline", "fast"}, "--pipeline"},
		{"prove pe unknown family", []string{"prove", "pe", "--lanes", "4", "--width", "8", "--family", "asic"}, "--family"},
		{"prove pe zero timeout", []string{"prove", "pe", "--lanes", "4", "--width", "8", "--timeout", "0s"}, "--timeout"},
		{"prove round width 1", []string{"prove", "round", "--width", "1", "--shift", "0"}, "--width"},
		{"prove round shift past the width", []string{"prove", "round", "--width", "16", "--shift", "15"}, "--shift"},
		{"prove round unknown mode", []string{"prove", "round", "--width", "16", "--shift", "4", "--rounding", "sideways"}, "sideways"},
		{"prove without a model", []string{"prove"}, "--model"},
		{"prove model missing", []string{"prove", "--model", P("nowhere.json")}, "nowhere.json"},
		{"prove model is a spec", []string{"prove", "--model", tiny}, "tiny.json"},
		{"prove unknown --only", []string{"prove", "--model", P("q.json"), "--only", "mac"}, "--only"},
		{"prove negative parallel", []string{"prove", "--model", P("q.json"), "--parallel", "-2"}, "--parallel"},
		{"prove rescale unknown layer", []string{"prove", "rescale", "--model", P("q.json"), "--layer", "nope"}, `--layer "nope"`},
		{"unknown flag", []string{"emit-verilog", "--frobnicate", "--model", P("q.json")}, "frobnicate"},
		{"unknown command", []string{"emit-vhdl"}, "emit-vhdl"},

		// Output folders addergen did not write.
		{"emit into a foreign folder", []string{"emit-verilog", "--model", P("q.json"), "--out", P("mine")}, "--out " + P("mine")},
		{"emit pe into a foreign folder", []string{"emit-verilog", "pe", "--lanes", "4", "--width", "8", "--out", P("mine")}, "--out " + P("mine")},
		{"compare into a foreign folder", []string{"compare", "--model", tiny, "--weights", P("w.safetensors"), "--quantized", P("q.json"),
			"--data", P("x.npy"), "--out", P("mine")}, "--out " + P("mine")},
		{"sweep into a foreign folder", []string{"sweep", "--model", tiny, "--weights", P("w.safetensors"), "--data", P("x.npy"), "--calib", P("x.npy"),
			"--bits", "8", "--parallel", "1", "--out", P("mine")}, "--out " + P("mine")},
		{"train into a foreign folder", []string{"train", "--arch", tiny, "--data", P("idx"), "--epochs", "1", "--out", P("mine")}, "--out " + P("mine")},
		{"demo into a foreign folder", []string{"demo", "--out", P("mine")}, "--out " + P("mine")},
		{"emit into a file", []string{"emit-verilog", "--model", P("q.json"), "--out", P("x.npy")}, "--out " + P("x.npy")},
	}
	if len(rows) < 40 {
		t.Fatalf("%d rows, want at least 40", len(rows))
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			before := dirTree(t, work)
			code, _, errs := runCLI(t, r.args...)
			t.Log(strings.ReplaceAll(errs, work, "$W"))
			if code != exitUsage {
				t.Errorf("exit %d, want 2; stderr %q", code, errs)
			}
			if strings.Count(errs, "\n") != 1 || !strings.HasSuffix(errs, "\n") {
				t.Errorf("stderr is not exactly one line: %q", errs)
			}
			if !strings.Contains(strings.ReplaceAll(errs, work, "$W"), strings.ReplaceAll(r.want, work, "$W")) {
				t.Errorf("stderr %q does not name %q", errs, r.want)
			}
			if after := dirTree(t, work); !sameTree(before, after) {
				t.Errorf("files changed: %v -> %v", treeNames(before), treeNames(after))
			}
		})
	}
}

// TestAmbiguousLayoutWarns: for a model input with C = H = W the layout of
// a [N C H W] batch cannot be told from its shape; it is read as NCHW (the
// result equals the float reference on that reading) and a warning on
// stderr says so. An unambiguous input gives no warning.
func TestAmbiguousLayoutWarns(t *testing.T) {
	dir := t.TempDir()
	spec, err := model.ParseSpec([]byte(`{"name": "cube", "input": [2, 2, 2], "layers": [
	  {"name": "c1", "op": "conv2d", "in": 2, "out": 2, "kernel": 1},
	  {"name": "flatten", "op": "flatten"}]}`), "cube.json")
	if err != nil {
		t.Fatal(err)
	}
	net, err := model.New(spec, rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "cube.json"), spec.JSON(), 0o644)
	wp := filepath.Join(dir, "w.safetensors")
	for {
		if err := model.SaveSafetensors(net, wp); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(wp); b[0] != 0x80 { // see badFixtures
			break
		}
		net.Spec.Doc += "."
	}
	x := dataset.Tensor{Shape: []int{3, 2, 2, 2}, Data: make([]float64, 24)}
	for i := range x.Data {
		x.Data[i] = float64(i%7) - 3
	}
	dataset.WriteNPY(filepath.Join(dir, "x.npy"), x)
	yp := filepath.Join(dir, "y.npy")
	code, _, errs := runCLI(t, "infer", "--model", filepath.Join(dir, "cube.json"), "--weights", wp, "--input", filepath.Join(dir, "x.npy"), "--output", yp, "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "warning: --input "+filepath.Join(dir, "x.npy")) || !strings.Contains(errs, "both as NCHW and as NHWC") || !strings.Contains(errs, "taken as NCHW") {
		t.Errorf("stderr %q: want a warning naming the input and saying NCHW is taken", errs)
	}
	got, err := dataset.ReadNPY(yp)
	if err != nil {
		t.Fatal(err)
	}
	want, err := net.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.Data {
		if got.Data[i] != want.Data[i] {
			t.Fatalf("logit %d = %v, want %v (the input read as NCHW)", i, got.Data[i], want.Data[i])
		}
	}

	in := t.TempDir()
	badFixtures(t, in)
	code, _, errs = runCLI(t, "infer", "--model", filepath.Join(in, "tiny.json"), "--weights", filepath.Join(in, "w.safetensors"),
		"--input", filepath.Join(in, "x.npy"), "--output", yp, "-q")
	if code != 0 || errs != "" {
		t.Errorf("unambiguous input: exit %d, stderr %q; want 0 and nothing", code, errs)
	}
}
