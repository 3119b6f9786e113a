package model

import (
	"encoding/binary"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

// f32Tensor is a FloatStorage tensor of the given values.
func f32Tensor(shape []int, vals ...float32) *ptTensor {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return &ptTensor{class: "FloatStorage", shape: shape, data: b}
}

// TestWrappedCheckpoints: checkpoint dicts as training scripts save them,
// in the zip and legacy (protocol 1 and 2) formats. The state_dict is
// found when one entry holds it; otherwise LoadOptions.WeightsKey picks
// it, and a missing or ambiguous key is one error line naming the file
// and the candidates.
func TestWrappedCheckpoints(t *testing.T) {
	sd := func(v float32) ptOrderedDict {
		return ptOrderedDict{{"fc.weight", f32Tensor([]int{1, 2}, v, -v)}, {"fc.bias", f32Tensor([]int{1}, 0.5)}}
	}
	optimizer := ptDict{
		{"state", ptDict{{0, ptDict{{"momentum_buffer", f32Tensor([]int{2}, 1, 2)}}}}},
		{"param_groups", []any{ptDict{{"lr", 0.1}, {"momentum", 0.9}, {"params", []any{0, 1}}}}},
	}
	cases := []struct {
		name string
		ckpt any
		key  string
		want float32 // fc.weight[0]; 0 means an error is wanted
		err  string
	}{
		{"plain state_dict", sd(1), "", 1, ""},
		{"pytorch-cifar {net, acc, epoch}", ptDict{{"net", sd(2)}, {"acc", 91.25}, {"epoch", 199}}, "", 2, ""},
		{"{model, optimizer, epoch}", ptDict{{"epoch", 3}, {"model", sd(3)}, {"optimizer", optimizer}}, "", 3, ""},
		{"{state_dict, best_acc1, arch}", ptDict{{"arch", "resnet20"}, {"state_dict", sd(4)}, {"best_acc1", 92.0}}, "", 4, ""},
		{"nested {checkpoint: {model}}", ptDict{{"checkpoint", ptDict{{"model", sd(5)}, {"step", 10}}}}, "", 5, ""},
		{"key given, found", ptDict{{"model", sd(6)}, {"ema", sd(7)}}, "ema", 7, ""},
		{"nested key given", ptDict{{"a", ptDict{{"model", sd(8)}}}, {"b", ptDict{{"model", sd(9)}}}}, "b.model", 9, ""},
		{"ambiguous", ptDict{{"model", sd(6)}, {"ema", sd(7)}, {"epoch", 1}}, "", 0, `ambiguous checkpoint: state dicts under "model", "ema"; choose one with --weights-key`},
		{"key missing", ptDict{{"model", sd(6)}, {"ema", sd(7)}}, "net", 0, `weights key "net" not found (top-level keys: "model", "ema"; state dicts under: "model", "ema")`},
		{"key not a state dict", ptDict{{"model", sd(6)}, {"epoch", 1}}, "epoch", 0, `weights key "epoch": no state_dict found: the checkpoint holds a int`},
		{"no state dict", ptDict{{"epoch", 1}, {"acc", 0.5}}, "", 0, `no state_dict found: no entry holds tensors (top-level keys: "epoch", "acc")`},
		{"tensors mixed with scalars", ptDict{{"fc.weight", f32Tensor([]int{1, 2}, 1, 2)}, {"epoch", 1}}, "", 0, `no state_dict found: entry "epoch" is a int, not a tensor`},
		{"only an optimizer", ptDict{{"optimizer", optimizer}}, "", 0, `no state_dict found`},
	}
	for _, c := range cases {
		files := map[string][]byte{"zip": torchZip(c.ckpt), "legacy1": torchLegacy(1, c.ckpt), "legacy2": torchLegacy(2, c.ckpt)}
		for _, form := range slices.Sorted(mapsKeys(files)) {
			file := writeTemp(t, form+".pth", files[form])
			got, err := ReadStateDictWith(file, LoadOptions{WeightsKey: c.key})
			if c.want == 0 {
				if err == nil || !strings.Contains(err.Error(), c.err) || !strings.HasPrefix(err.Error(), "model: "+file+": ") || strings.Contains(err.Error(), "\n") {
					t.Errorf("%s (%s): error %v, want one line naming the file with %q", c.name, form, err, c.err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s (%s): %v", c.name, form, err)
				continue
			}
			w := got["fc.weight"]
			if !slices.Equal(w.Shape, []int{1, 2}) || w.Data[0] != float64(c.want) || w.Data[1] != -float64(c.want) || len(got) != 2 {
				t.Errorf("%s (%s): got %v", c.name, form, got)
			}
		}
	}
}

// TestWeightsKeyFlatFormats: for safetensors and .npz the weights key
// selects the keys under "KEY." and strips the prefix.
func TestWeightsKeyFlatFormats(t *testing.T) {
	n := tinyNet(t)
	sd := StateDict{}
	for k, v := range n.StateDict() {
		sd["model."+k] = v
		sd["ema."+k] = v
	}
	file := t.TempDir() + "/w.safetensors"
	if err := WriteSafetensors(file, sd, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadWith("testdata/tiny.json", file, LoadOptions{WeightsKey: "ema"}); err != nil {
		t.Error(err)
	}
	_, err := LoadWith("testdata/tiny.json", file, LoadOptions{WeightsKey: "net"})
	if err == nil || !strings.Contains(err.Error(), file+`: weights key "net": no key starts with "net." (key prefixes: "ema", "model")`) {
		t.Errorf("missing key: %v", err)
	}
	if _, err := ResolveWith("testdata/tiny.json", "", LoadOptions{WeightsKey: "ema"}); err == nil || !strings.Contains(err.Error(), "needs a weights file") {
		t.Errorf("key without weights: %v", err)
	}
}

// TestLegacyProtocol1Fixture reads testdata/legacy_p1_ckpt.pth, written by
// CPython's pickle at protocol 1 (make_legacy_p1.py), wrapped as
// {"net": sd, "acc": 91.5, "epoch": 7}, with an fp16 bias holding 2^-24
// and -0.
func TestLegacyProtocol1Fixture(t *testing.T) {
	const file = "testdata/legacy_p1_ckpt.pth"
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 'L' {
		t.Fatalf("%s starts with %q, not protocol 1's LONG opcode", file, b[0])
	}
	sd, err := ReadStateDict(file)
	if err != nil {
		t.Fatal(err)
	}
	w, bias := sd["fc.weight"], sd["fc.bias"]
	if !slices.Equal(w.Shape, []int{2, 3}) || !slices.Equal(w.Data, []float64{-1, -0.5, 0, 0.25, 1.5, 3}) {
		t.Errorf("fc.weight = %v", w)
	}
	if !slices.Equal(bias.Shape, []int{2}) || bias.Data[0] != 0x1p-24 || bias.Data[1] != 0 || !math.Signbit(bias.Data[1]) {
		t.Errorf("fc.bias = %v, want [2^-24 -0]", bias)
	}
	if len(sd) != 2 {
		t.Errorf("keys %v", sd.Keys())
	}
}
