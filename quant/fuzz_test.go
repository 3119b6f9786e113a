package quant_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/addergen/addergen/internal/nettest"
	"github.com/addergen/addergen/quant"
)

// parseSeeds are a valid quantized model and the malformed ones of the
// bad-input table (cmd/addergen/badinput_test.go), also committed under
// testdata/fuzz/FuzzParse.
func parseSeeds(tb testing.TB) map[string][]byte {
	good, err := nettest.Tiny(tb).MarshalFile()
	if err != nil {
		tb.Fatal(err)
	}
	mut := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			tb.Fatal(err)
		}
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	first := func(m map[string]any) map[string]any { return m["layers"].([]any)[0].(map[string]any) }
	return map[string][]byte{
		"good":      good,
		"truncated": good[:len(good)/2],
		"version":   mut(func(m map[string]any) { m["version"] = 99 }),
		"format":    mut(func(m map[string]any) { m["format"] = "other" }),
		"weights": mut(func(m map[string]any) {
			w := first(m)["weight"].(map[string]any)
			w["data"] = w["data"].([]any)[1:]
		}),
		"rounding": mut(func(m map[string]any) {
			if r, ok := first(m)["rescale"].(map[string]any); ok {
				r["rounding"] = "sideways"
			}
		}),
		"unknown key": mut(func(m map[string]any) { first(m)["wieght_bits"] = 8 }),
		"input bits":  mut(func(m map[string]any) { m["input"].(map[string]any)["bits"] = 99 }),
		"no layers":   mut(func(m map[string]any) { m["layers"] = []any{} }),
		"trailing":    append(append([]byte{}, good...), []byte(" {}")...),
		"empty":       nil,
	}
}

// FuzzParse: Parse never panics; its errors are one line; a model it
// accepts marshals to a file it accepts again, unchanged.
func FuzzParse(f *testing.F) {
	for _, b := range parseSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := quant.Parse(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		b, err := m.MarshalFile()
		if err != nil {
			t.Fatalf("accepted model does not marshal: %v", err)
		}
		m2, err := quant.Parse(b)
		if err != nil {
			t.Fatalf("re-parse of an accepted model: %v", err)
		}
		b2, err := m2.MarshalFile()
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("marshal is not stable: %v", err)
		}
	})
}
