package model

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
)

// Spec is an architecture: the layers of a net, their hyper-parameters and
// the state_dict keys of their weights. Its JSON form is documented in the
// package comment and in SPEC.md.
//
// Zero values mean "default" for Stride (1 for conv2d, adder2d; the kernel
// size for pools) and Eps (1e-5).
type Spec struct {
	// Name identifies the architecture, e.g. "lenet5-adder".
	Name string `json:"name"`
	// Doc is free text describing the net; it is not interpreted.
	Doc string `json:"doc,omitempty"`
	// Input is the shape of one input sample, [C, H, W].
	Input []int `json:"input"`
	// Classes, if non-zero, is checked against the output: the last layer
	// must produce a flat vector of Classes values.
	Classes int `json:"classes,omitempty"`
	// Preprocess, if set, tells how raw pixels become network input.
	Preprocess *Preprocess `json:"preprocess,omitempty"`
	// Layers lists the layers in topological order.
	Layers []LayerSpec `json:"layers"`
}

// Preprocess describes how raw images (integers 0..Scale) are turned into
// the network's input: x = (p/Scale − Mean[c]) / Std[c].
type Preprocess struct {
	// Scale divides raw pixel values (255 for 8-bit images). Zero means 1.
	Scale float64 `json:"scale,omitempty"`
	// Mean and Std, if set, have one entry per input channel.
	Mean []float64 `json:"mean,omitempty"`
	Std  []float64 `json:"std,omitempty"`
}

// LayerSpec is one layer of a Spec. Which fields apply depends on Op; a
// field that does not apply must be left zero.
type LayerSpec struct {
	// Name is unique within the spec and is not "input". Weight keys are
	// derived from it (see Keys).
	Name string `json:"name"`
	Op   Op     `json:"op"`
	// Inputs names the layers (or "input", the network input) this layer
	// reads. Empty means the previous layer (or "input" for the first).
	// An add layer has exactly two inputs.
	Inputs []string `json:"inputs,omitempty"`
	// In and Out are the channels (conv2d, adder2d) or features (linear).
	In  int `json:"in,omitempty"`
	Out int `json:"out,omitempty"`
	// Channels is the channel count of a batchnorm2d layer.
	Channels int `json:"channels,omitempty"`
	// Kernel is the square kernel size (conv2d, adder2d, pools).
	Kernel int `json:"kernel,omitempty"`
	// Stride defaults to 1 for conv2d and adder2d and to Kernel for pools.
	Stride int `json:"stride,omitempty"`
	// Padding is symmetric zero padding (conv2d, adder2d).
	Padding int `json:"padding,omitempty"`
	// Bias adds a learned bias [Out] (conv2d, adder2d, linear).
	Bias bool `json:"bias,omitempty"`
	// Eps is the batchnorm2d epsilon; zero means 1e-5.
	Eps float64 `json:"eps,omitempty"`
	// Keys overrides state_dict keys by role ("weight", "bias",
	// "running_mean", "running_var", "num_batches_tracked"). By default
	// the key is Name + "." + suffix, with suffixes following PyTorch:
	// conv2d and linear "weight"/"bias", adder2d "adder"/"b", batchnorm2d
	// the role itself.
	Keys map[string]string `json:"keys,omitempty"`
}

// InputName is the name by which layers refer to the network input.
const InputName = "input"

// DefaultEps is the batchnorm2d epsilon used when a spec gives none.
const DefaultEps = 1e-5

//go:embed specs/*.json
var builtinFS embed.FS

// BuiltinSpecs returns the names of the specs embedded in the binary.
func BuiltinSpecs() []string {
	ents, err := builtinFS.ReadDir("specs")
	if err != nil {
		panic(err) // embedded at build time
	}
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(names)
	return names
}

// BuiltinSpec returns the embedded spec with the given name.
func BuiltinSpec(name string) (*Spec, error) {
	b, err := builtinFS.ReadFile(path.Join("specs", name+".json"))
	if err != nil {
		return nil, fmt.Errorf("model: no built-in spec %q (have %s)", name, strings.Join(BuiltinSpecs(), ", "))
	}
	return ParseSpec(b, "built-in spec "+name)
}

// LoadSpec returns the built-in spec called nameOrPath or, if there is
// none of that name, reads the spec JSON file at nameOrPath.
func LoadSpec(nameOrPath string) (*Spec, error) {
	if isBuiltin(nameOrPath) {
		return BuiltinSpec(nameOrPath)
	}
	b, err := os.ReadFile(nameOrPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !strings.ContainsAny(nameOrPath, `/\.`) {
			return nil, fmt.Errorf("model: %q is neither a built-in spec (%s) nor a file", nameOrPath, strings.Join(BuiltinSpecs(), ", "))
		}
		return nil, fmt.Errorf("model: read spec: %w", err)
	}
	return ParseSpec(b, nameOrPath)
}

func isBuiltin(name string) bool {
	for _, n := range BuiltinSpecs() {
		if n == name {
			return true
		}
	}
	return false
}

// specJSON mirrors Spec with raw layers, so that each layer is decoded on
// its own and errors can name it.
type specJSON struct {
	Name       string            `json:"name"`
	Doc        string            `json:"doc"`
	Input      []int             `json:"input"`
	Classes    int               `json:"classes"`
	Preprocess *Preprocess       `json:"preprocess"`
	Layers     []json.RawMessage `json:"layers"`
}

// ParseSpec decodes and validates a spec. Unknown fields, unknown ops,
// missing or inapplicable fields and shape mismatches between layers are
// errors naming source, the layer and the field.
func ParseSpec(data []byte, source string) (*Spec, error) {
	var sj specJSON
	if err := decodeStrict(data, &sj); err != nil {
		return nil, fmt.Errorf("model: %s: %w", source, err)
	}
	s := &Spec{Name: sj.Name, Doc: sj.Doc, Input: sj.Input, Classes: sj.Classes, Preprocess: sj.Preprocess}
	for i, raw := range sj.Layers {
		var ls LayerSpec
		if err := decodeStrict(raw, &ls); err != nil {
			var named struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(raw, &named)
			return nil, fmt.Errorf("model: %s: layer #%d %q: %w", source, i, named.Name, err)
		}
		s.Layers = append(s.Layers, ls)
	}
	if _, err := s.shapes(); err != nil {
		return nil, fmt.Errorf("model: %s: %w", source, err)
	}
	return s, nil
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// jsonErr makes encoding/json's errors read well in one line.
func jsonErr(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Errorf("field %q: cannot use JSON %s as %s", te.Field, te.Value, te.Type)
		}
		return fmt.Errorf("cannot use JSON %s as %s", te.Value, te.Type)
	case errors.Is(err, io.EOF):
		return errors.New("invalid JSON: empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("invalid JSON: unexpected end of input")
	}
	return errors.New(strings.TrimPrefix(err.Error(), "json: "))
}

// Validate checks the spec as ParseSpec does, for specs built in Go.
func (s *Spec) Validate() error {
	_, err := s.shapes()
	return err
}

// JSON returns the spec's indented JSON encoding.
func (s *Spec) JSON() []byte {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic(err) // plain data, cannot fail
	}
	return append(b, '\n')
}

// Key returns the state_dict key of the layer's tensor with the given role,
// or "" if the op has no such role.
func (ls *LayerSpec) Key(role string) string {
	if k, ok := ls.Keys[role]; ok {
		return k
	}
	suf := defaultKeySuffix(ls.Op, role)
	if suf == "" {
		return ""
	}
	return ls.Name + "." + suf
}

// Apply preprocesses raw samples [N, C, H, W] in place.
func (p *Preprocess) Apply(data []float64, c, hw int) {
	scale := p.Scale
	if scale == 0 {
		scale = 1
	}
	for i := range data {
		ch := (i / hw) % c
		v := data[i] / scale
		if len(p.Mean) == c {
			v -= p.Mean[ch]
		}
		if len(p.Std) == c {
			v /= p.Std[ch]
		}
		data[i] = v
	}
}
