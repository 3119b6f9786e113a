package model

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// The files of a model folder, as written by `addergen train --out DIR`.
const (
	// DirSpecFile is the architecture spec JSON.
	DirSpecFile = "spec.json"
	// DirWeightsFile holds the weights, safetensors with PyTorch
	// state_dict keys.
	DirWeightsFile = "weights.safetensors"
)

// LoadDir loads a model folder: dir/spec.json and dir/weights.safetensors
// (any weight format ReadStateDict reads is accepted under that name).
func LoadDir(dir string) (*Net, error) {
	sp := filepath.Join(dir, DirSpecFile)
	b, err := os.ReadFile(sp)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("model: %s is not a model folder: no %s", dir, DirSpecFile)
		}
		return nil, fmt.Errorf("model: %w", err)
	}
	s, err := ParseSpec(b, sp)
	if err != nil {
		return nil, err
	}
	n, err := Build(s)
	if err != nil {
		return nil, err
	}
	wp := filepath.Join(dir, DirWeightsFile)
	if _, err := os.Stat(wp); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("model: %s is not a model folder: no %s", dir, DirWeightsFile)
	}
	sd, err := ReadStateDict(wp)
	if err != nil {
		return nil, err
	}
	if err := n.SetStateDict(sd, wp); err != nil {
		return nil, err
	}
	return n, nil
}

//go:embed pretrained/*.safetensors
var pretrainedFS embed.FS

// pretrainedModels maps each built-in trained model to its spec and
// embedded weights. pretrained/README.md tells how each was trained.
var pretrainedModels = map[string]struct{ spec, file string }{
	"lenet5-adder-mnist":  {"lenet5-adder", "pretrained/lenet5-adder-mnist.safetensors"},
	"small12-adder-mnist": {"small12-adder", "pretrained/small12-adder-mnist.safetensors"},
}

// PretrainedNames returns the names of the trained models embedded in the
// binary, sorted.
func PretrainedNames() []string {
	names := make([]string, 0, len(pretrainedModels))
	for n := range pretrainedModels {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Pretrained returns a fresh copy of the embedded trained model name, and
// false if there is no such model.
func Pretrained(name string) (*Net, bool, error) {
	m, ok := pretrainedModels[name]
	if !ok {
		return nil, false, nil
	}
	s, err := BuiltinSpec(m.spec)
	if err != nil {
		return nil, true, err
	}
	n, err := Build(s)
	if err != nil {
		return nil, true, err
	}
	data, err := pretrainedFS.ReadFile(m.file)
	if err != nil {
		return nil, true, fmt.Errorf("model: built-in model %s: %w", name, err)
	}
	sd, err := decodeSafetensors(data)
	if err != nil {
		return nil, true, fmt.Errorf("model: built-in model %s: %w", name, err)
	}
	if err := n.SetStateDict(sd, "built-in model "+name); err != nil {
		return nil, true, err
	}
	return n, true, nil
}

func init() {
	RegisterResolver("pretrained", resolvePretrained)
	RegisterResolver("model-dir", resolveDir)
}

// resolvePretrained resolves the names of the embedded trained models.
func resolvePretrained(m, weights string) (Runner, bool, error) {
	if _, ok := pretrainedModels[m]; !ok {
		return nil, false, nil
	}
	if weights != "" {
		return nil, true, fmt.Errorf("model %s is a trained built-in model with its own weights; drop the weights file %s (or use the architecture %s)", m, weights, pretrainedModels[m].spec)
	}
	n, _, err := Pretrained(m)
	if err != nil {
		return nil, true, err
	}
	return n, true, nil
}

// resolveDir resolves model folders (see LoadDir).
func resolveDir(m, weights string) (Runner, bool, error) {
	fi, err := os.Stat(m)
	if err != nil || !fi.IsDir() {
		return nil, false, nil
	}
	if weights != "" {
		return nil, true, fmt.Errorf("model folder %s holds its own weights (%s); drop the weights file %s", m, DirWeightsFile, weights)
	}
	n, err := LoadDir(m)
	if err != nil {
		return nil, true, err
	}
	return n, true, nil
}
