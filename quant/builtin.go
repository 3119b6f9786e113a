package quant

import (
	"embed"
	"fmt"
	"sort"
)

// Quantized models embedded in the binary, by name. builtin/README.md
// tells how each was made (the float model, the quantize command).
//
//go:embed builtin/*.json
var builtinFS embed.FS

var builtinModels = map[string]string{
	"small12-adder-mnist-q8": "builtin/small12-adder-mnist-q8.json",
}

// BuiltinNames returns the names of the embedded quantized models, sorted.
func BuiltinNames() []string {
	out := make([]string, 0, len(builtinModels))
	for n := range builtinModels {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Builtin returns a fresh copy of the embedded quantized model name, and
// false when there is no such model.
func Builtin(name string) (*Model, bool, error) {
	f, ok := builtinModels[name]
	if !ok {
		return nil, false, nil
	}
	b, err := builtinFS.ReadFile(f)
	if err != nil {
		return nil, true, fmt.Errorf("quant: built-in model %s: %w", name, err)
	}
	m, err := Parse(b)
	if err != nil {
		return nil, true, fmt.Errorf("quant: built-in model %s: %w", name, err)
	}
	return m, true, nil
}

// BuiltinFile returns the embedded file of the quantized model name.
func BuiltinFile(name string) ([]byte, bool) {
	f, ok := builtinModels[name]
	if !ok {
		return nil, false
	}
	b, err := builtinFS.ReadFile(f)
	return b, err == nil
}
