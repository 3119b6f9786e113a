package model

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestBuiltinSpecs(t *testing.T) {
	names := BuiltinSpecs()
	if !slices.Equal(names, []string{"lenet5-adder", "resnet20-adder", "small12-adder"}) {
		t.Fatalf("BuiltinSpecs() = %v", names)
	}
	for _, name := range names {
		s, err := BuiltinSpec(name)
		if err != nil {
			t.Fatal(err)
		}
		if s.Name != name {
			t.Errorf("spec %s is named %q", name, s.Name)
		}
		n, err := Build(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Output(); !slices.Equal(got, []int{10}) {
			t.Errorf("%s: output %v, want [10]", name, got)
		}
		// Round trip through JSON.
		s2, err := ParseSpec(s.JSON(), "round trip")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(s2.JSON()) != string(s.JSON()) {
			t.Errorf("%s: JSON round trip differs", name)
		}
	}
}

func stateKeys(n *Net) []string {
	var keys []string
	for _, l := range n.Layers {
		for _, p := range l.Params() {
			keys = append(keys, p.Key)
		}
		if l.NumBatchesKey != "" {
			keys = append(keys, l.NumBatchesKey)
		}
	}
	return keys
}

func TestLeNetSpecKeys(t *testing.T) {
	s, _ := BuiltinSpec("lenet5-adder")
	n, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	bn := func(b string) {
		for _, r := range []string{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"} {
			want = append(want, b+"."+r)
		}
	}
	want = append(want, "conv1.weight")
	bn("bn1")
	want = append(want, "conv2.adder")
	bn("bn2")
	want = append(want, "fc1.adder")
	bn("bn3")
	want = append(want, "fc2.adder")
	bn("bn4")
	want = append(want, "fc3.weight")
	bn("bn5")
	// Params lists weight, bias, mean, var and NumBatchesKey separately;
	// compare as sets.
	got := stateKeys(n)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("keys\n got %v\nwant %v", got, want)
	}
	shapes := map[string][]int{
		"conv1": {6, 28, 28}, "pool1": {6, 14, 14}, "conv2": {16, 10, 10}, "pool2": {16, 5, 5},
		"fc1": {120, 1, 1}, "fc2": {84, 1, 1}, "fc3": {10, 1, 1}, "flatten": {10},
	}
	for name, sh := range shapes {
		if got := n.Layer(name).OutShape; !slices.Equal(got, sh) {
			t.Errorf("%s: shape %v, want %v", name, got, sh)
		}
	}
}

func TestResNet20SpecLayout(t *testing.T) {
	s, _ := BuiltinSpec("resnet20-adder")
	n, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	if k := len(stateKeys(n)); k != 132 {
		t.Errorf("%d state_dict keys, want 132", k)
	}
	var adders, convs int
	for _, l := range n.Layers {
		switch l.Op {
		case OpAdder2d:
			adders++
		case OpConv2d:
			convs++
		}
	}
	// 18 3x3 adder layers + 2 downsample adders; conv1 and fc.
	if adders != 20 || convs != 2 {
		t.Errorf("%d adder2d and %d conv2d layers, want 20 and 2", adders, convs)
	}
	for _, c := range []struct {
		name   string
		stride int
		out    []int
		w      []int
	}{
		{"layer2.0.conv1", 2, []int{32, 16, 16}, []int{32, 16, 3, 3}},
		{"layer3.0.downsample.0", 2, []int{64, 8, 8}, []int{64, 32, 1, 1}},
		{"layer3.2.conv2", 1, []int{64, 8, 8}, []int{64, 64, 3, 3}},
		{"avgpool", 1, []int{64, 1, 1}, nil},
		{"fc", 1, []int{10, 1, 1}, []int{10, 64, 1, 1}},
	} {
		l := n.Layer(c.name)
		if l == nil {
			t.Fatalf("no layer %s", c.name)
		}
		if l.Stride != c.stride || !slices.Equal(l.OutShape, c.out) {
			t.Errorf("%s: stride %d out %v, want %d %v", c.name, l.Stride, l.OutShape, c.stride, c.out)
		}
		if c.w != nil && !slices.Equal(l.W.Value.Shape, c.w) {
			t.Errorf("%s: weight %v, want %v", c.name, l.W.Value.Shape, c.w)
		}
	}
	if got := n.Layer("layer2.0.downsample.0").W.Key; got != "layer2.0.downsample.0.adder" {
		t.Errorf("downsample key %q", got)
	}
	if got := n.Layer("layer2.0.add").Inputs; !slices.Equal(got, []string{"layer2.0.bn2", "layer2.0.downsample.1"}) {
		t.Errorf("layer2.0.add inputs %v", got)
	}
}

func TestSpecErrors(t *testing.T) {
	const head = `{"name":"t","input":[1,8,8],"layers":[`
	cases := []struct {
		name, json, want string
	}{
		{"syntax", `{"name":`, "invalid JSON"},
		{"trailing", `{"name":"t","input":[1,8,8],"layers":[{"name":"r","op":"relu"}]} {}`, "trailing data"},
		{"unknown top field", `{"name":"t","inputs":[1,8,8],"layers":[]}`, `unknown field "inputs"`},
		{"unknown layer field", head + `{"name":"c","op":"conv2d","in":1,"out":2,"kernal":3}]}`, `layer #0 "c": unknown field "kernal"`},
		{"wrong type", head + `{"name":"c","op":"conv2d","in":"one"}]}`, `layer #0 "c": field "in"`},
		{"unknown op", head + `{"name":"c","op":"conv3d"}]}`, `layer #0 "c": field "op": unknown op "conv3d"`},
		{"no name", `{"input":[1,8,8],"layers":[{"name":"r","op":"relu"}]}`, `field "name": missing`},
		{"bad input", `{"name":"t","input":[8,8],"layers":[{"name":"r","op":"relu"}]}`, `field "input"`},
		{"no layers", `{"name":"t","input":[1,8,8],"layers":[]}`, "no layers"},
		{"missing field", head + `{"name":"c","op":"conv2d","in":1,"kernel":3}]}`, `layer #0 "c" (conv2d): field "out": missing`},
		{"field not applicable", head + `{"name":"r","op":"relu","kernel":3}]}`, `layer #0 "r" (relu): field "kernel" does not apply`},
		{"bias on bn", head + `{"name":"b","op":"batchnorm2d","channels":1,"bias":true}]}`, `field "bias" does not apply`},
		{"channel mismatch", head + `{"name":"c","op":"conv2d","in":3,"out":2,"kernel":3}]}`, `field "in": 3, but input "input" has 1 channels`},
		{"bn mismatch", head + `{"name":"b","op":"batchnorm2d","channels":4}]}`, `field "channels": 4, but input "input" has 1 channels`},
		{"kernel too big", head + `{"name":"c","op":"adder2d","in":1,"out":2,"kernel":9}]}`, `field "kernel": 9 is larger than the padded input 8x8`},
		{"pool too big", head + `{"name":"p","op":"maxpool2d","kernel":9}]}`, `field "kernel": 9 is larger than the input 8x8`},
		{"negative", head + `{"name":"c","op":"conv2d","in":1,"out":2,"kernel":3,"padding":-1}]}`, `field "padding": -1 out of range`},
		{"duplicate", head + `{"name":"r","op":"relu"},{"name":"r","op":"relu"}]}`, `layer #1: duplicate name "r"`},
		{"reserved", head + `{"name":"input","op":"relu"}]}`, `reserved`},
		{"later input", head + `{"name":"a","op":"relu","inputs":["b"]},{"name":"b","op":"relu"}]}`, `"b" is defined later`},
		{"no such input", head + `{"name":"a","op":"relu","inputs":["zz"]}]}`, `no layer named "zz"`},
		{"add arity", head + `{"name":"a","op":"add","inputs":["input"]}]}`, `want 2 input(s), got 1`},
		{"add shapes", head + `{"name":"p","op":"maxpool2d","kernel":2},{"name":"a","op":"add","inputs":["p","input"]}]}`, `differ in shape`},
		{"linear needs flat", head + `{"name":"l","op":"linear","in":64,"out":2}]}`, `want a flat vector`},
		{"linear in", head + `{"name":"f","op":"flatten"},{"name":"l","op":"linear","in":63,"out":2}]}`, `field "in": 63, but input "f" has 64 features`},
		{"unused", head + `{"name":"a","op":"relu"},{"name":"b","op":"relu","inputs":["input"]}]}`, `layer #0 "a": output is never used`},
		{"classes", `{"name":"t","input":[1,8,8],"classes":10,"layers":[{"name":"f","op":"flatten"}]}`, `field "classes": 10, but the last layer "f" outputs [64]`},
		{"bad key role", head + `{"name":"c","op":"conv2d","in":1,"out":2,"kernel":3,"keys":{"running_mean":"x"}}]}`, `has no tensor "running_mean"`},
		{"bias key without bias", head + `{"name":"c","op":"conv2d","in":1,"out":2,"kernel":3,"keys":{"bias":"x"}}]}`, `"bias" is false`},
		{"duplicate key", head + `{"name":"c","op":"conv2d","in":1,"out":1,"kernel":1},{"name":"d","op":"conv2d","in":1,"out":1,"kernel":1,"keys":{"weight":"c.weight"}}]}`, `key "c.weight" is also used by layer "c"`},
		{"std length", `{"name":"t","input":[1,8,8],"preprocess":{"std":[1,2]},"layers":[{"name":"r","op":"relu"}]}`, `preprocess.std`},
		{"huge", head + `{"name":"c","op":"conv2d","in":1,"out":65536,"kernel":1}, {"name":"d","op":"conv2d","in":65536,"out":65536,"kernel":1}]}`, `too large`},
	}
	for _, c := range cases {
		_, err := ParseSpec([]byte(c.json), "t.json")
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "model: t.json: ") {
			t.Errorf("%s: error %q, want it to contain %q", c.name, err, c.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans lines: %q", c.name, err)
		}
	}
}

func TestSpecDefaults(t *testing.T) {
	s, err := ParseSpec([]byte(`{"name":"t","input":[2,9,9],"layers":[
		{"name":"c","op":"adder2d","in":2,"out":3,"kernel":3,"bias":true,"keys":{"weight":"x.w"}},
		{"name":"b","op":"batchnorm2d","channels":3},
		{"name":"p","op":"avgpool2d","kernel":3}]}`), "t")
	if err != nil {
		t.Fatal(err)
	}
	n, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	c, b, p := n.Layers[0], n.Layers[1], n.Layers[2]
	if c.Stride != 1 || c.W.Key != "x.w" || c.B.Key != "c.b" || !slices.Equal(c.Inputs, []string{InputName}) {
		t.Errorf("adder defaults: stride %d keys %q %q inputs %v", c.Stride, c.W.Key, c.B.Key, c.Inputs)
	}
	if b.Eps != DefaultEps || b.Mean.Key != "b.running_mean" || b.NumBatchesKey != "b.num_batches_tracked" || !slices.Equal(b.Inputs, []string{"c"}) {
		t.Errorf("bn defaults: eps %v keys %q %q inputs %v", b.Eps, b.Mean.Key, b.NumBatchesKey, b.Inputs)
	}
	if p.Stride != 3 || !slices.Equal(p.OutShape, []int{3, 2, 2}) {
		t.Errorf("pool defaults: stride %d out %v", p.Stride, p.OutShape)
	}
}

func TestLoadSpecFile(t *testing.T) {
	if _, err := LoadSpec("testdata/tiny.json"); err != nil {
		t.Fatal(err)
	}
	_, err := LoadSpec("resnet99")
	if err == nil || !strings.Contains(err.Error(), "neither a built-in spec") {
		t.Errorf("LoadSpec(resnet99) = %v", err)
	}
	_, err = LoadSpec("testdata/missing.json")
	if err == nil || !strings.Contains(err.Error(), "testdata/missing.json") {
		t.Errorf("LoadSpec(missing) = %v", err)
	}
}

// FuzzParseSpec checks that no spec makes ParseSpec or Build panic or
// allocate without bound, and that its errors are one line naming the
// file. The seed corpus (testdata/fuzz/FuzzParseSpec) holds malformed
// specs: truncated, unknown fields, wrong types, negative or huge sizes,
// cycles, duplicate names, trailing data.
func FuzzParseSpec(f *testing.F) {
	for _, name := range BuiltinSpecs() {
		b, _ := builtinFS.ReadFile("specs/" + name + ".json")
		f.Add(b)
	}
	if b, err := os.ReadFile("testdata/tiny.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"name":"t","input":[1,8,8],"layers":[{"name":"a","op":"add","inputs":["input","input"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec(data, "fuzz.json")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.json") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line naming the file: %q", err)
			}
			return
		}
		params := 0
		for _, l := range s.Layers {
			params += l.In*l.Out*max(l.Kernel*l.Kernel, 1) + l.Channels
		}
		if params > 1<<20 {
			return // valid but too large to allocate in every fuzz run
		}
		if _, err := Build(s); err != nil {
			t.Fatalf("ParseSpec accepted a spec that Build rejects: %v", err)
		}
	})
}
