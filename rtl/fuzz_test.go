package rtl

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// netConfigSeeds are valid hardware configs and the malformed ones of the
// bad-input table (cmd/addergen/badinput_test.go), also committed under
// testdata/fuzz/FuzzParseNetConfig.
var netConfigSeeds = map[string]string{
	"good":             `{"top": "net", "parallel": 4, "lanes": 9, "balance": true, "layers": {"conv2": {"parallel": 8, "lanes": 18}}}`,
	"empty object":     `{}`,
	"not JSON":         `{"layers": {`,
	"unknown layer":    `{"layers": {"nope": {"parallel": 2}}}`,
	"negative layer":   `{"layers": {"a1": {"parallel": -3}}}`,
	"unknown key":      `{"paralel": 4}`,
	"negative":         `{"parallel": -3}`,
	"negative lanes":   `{"lanes": -1}`,
	"trailing":         `{"parallel": 2} {"lanes": 3}`,
	"bad top":          `{"top": "bad top"}`,
	"huge parallel":    `{"parallel": 99999999999}`,
	"wrong type":       `{"parallel": "4"}`,
	"null":             `null`,
	"array":            `[]`,
	"empty":            ``,
	"layer not object": `{"layers": {"a1": 3}}`,
}

// FuzzParseNetConfig: ParseNetConfig never panics; its errors are one
// line; a config it accepts holds only values in range and survives a
// JSON round trip unchanged.
func FuzzParseNetConfig(f *testing.F) {
	for _, s := range netConfigSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseNetConfig(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if c.Parallel < 0 || c.Parallel > 4096 || c.Lanes < 0 || c.Lanes > 1<<16 || (c.Top != "" && !LegalName(c.Top)) {
			t.Fatalf("accepted out-of-range config %+v", c)
		}
		for n, l := range c.Layers {
			if l.Parallel < 0 || l.Parallel > 4096 || l.Lanes < 0 || l.Lanes > 1<<16 {
				t.Fatalf("accepted out-of-range layer %q: %+v", n, l)
			}
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := ParseNetConfig(b)
		if err != nil || !reflect.DeepEqual(normal(c), normal(c2)) {
			t.Fatalf("round trip: %+v -> %s -> %+v, %v", c, b, c2, err)
		}
	})
}

// normal maps an empty Layers to nil (omitempty drops it).
func normal(c NetConfig) NetConfig {
	if len(c.Layers) == 0 {
		c.Layers = nil
	}
	return c
}
