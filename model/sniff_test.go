package model_test

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/train"
)

// TestSharedSafetensorsHeader is shared/cases/safetensors-header: a valid
// safetensors file whose header length is 0x580 (bytes 80 05, a pickle's
// PROTO 5 opcode) loads and gives want_logits.npy.
func TestSharedSafetensorsHeader(t *testing.T) {
	spec := testutil.SharedFile(t, "cases/safetensors-header/spec.json")
	dir := filepath.Dir(spec)
	w := filepath.Join(dir, "hdr0x580.safetensors")
	b, err := os.ReadFile(w)
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(b); n != 0x580 {
		t.Fatalf("%s: header length %#x, want 0x580", w, n)
	}
	if f, err := model.DetectFormat(b); f != model.FormatSafetensors || err != nil {
		t.Fatalf("DetectFormat(%s) = %v, %v", w, f, err)
	}
	net, err := model.Load(spec, w)
	if err != nil {
		t.Fatal(err)
	}
	x, err := dataset.ReadNPY(filepath.Join(dir, "x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := dataset.ReadNPY(filepath.Join(dir, "want_logits.npy"))
	if err != nil {
		t.Fatal(err)
	}
	y, err := net.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(y.Shape, want.Shape) {
		t.Fatalf("logits shape %v, want %v", y.Shape, want.Shape)
	}
	for i, v := range want.Data {
		if d := y.Data[i] - v; d > 1e-12 || d < -1e-12 {
			t.Errorf("logit %d: %v, want %v", i, y.Data[i], v)
		}
	}
}

const probeSpec = `{"name": "probe", "doc": "%DOC%", "input": [1, 1, 8], "layers": [
 {"name": "flatten", "op": "flatten"},
 {"name": "fc", "op": "linear", "in": 8, "out": 2, "bias": true}]}`

func probeNet(t testing.TB, doc string) *model.Net {
	t.Helper()
	s, err := model.ParseSpec([]byte(strings.Replace(probeSpec, "%DOC%", doc, 1)), "probe")
	if err != nil {
		t.Fatal(err)
	}
	n, err := model.New(s, rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWritersAnyHeaderLength writes weights through every safetensors
// writer addergen has (model.WriteSafetensors, model.SaveSafetensors and
// train's checkpoint writer, which a trained model folder holds), with
// metadata padded so that the header length sweeps every multiple of 8
// (the writers' alignment) from the smallest up to 4096, the pickle
// look-alikes 0x280..0x580 (bytes 80 02..80 05) and 0x8000..0x80f8, and
// reads each back exactly.
func TestWritersAnyHeaderLength(t *testing.T) {
	dir := t.TempDir()
	n := probeNet(t, "")
	want := n.StateDict()
	specFile := filepath.Join(dir, "probe.json")
	if err := os.WriteFile(specFile, n.Spec.JSON(), 0o644); err != nil {
		t.Fatal(err)
	}
	seen := map[string]map[uint64]bool{}
	check := func(writer, file string, sd model.StateDict) {
		t.Helper()
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		h := binary.LittleEndian.Uint64(b)
		if seen[writer] == nil {
			seen[writer] = map[uint64]bool{}
		}
		seen[writer][h] = true
		for k, v := range want {
			if !slices.Equal(sd[k].Data, v.Data) || !slices.Equal(sd[k].Shape, v.Shape) {
				t.Fatalf("%s, header length %#x: key %q differs after reading back", writer, h, k)
			}
		}
	}
	pads := []int{}
	// The header grows by one byte per pad byte, then is aligned to 8:
	// steps of 8 reach every aligned length.
	for p := 0; p <= 4200; p += 8 {
		pads = append(pads, p)
	}
	for p := 0x8000 - 200; p <= 0x8100; p += 8 {
		pads = append(pads, p)
	}
	for _, p := range pads {
		pad := strings.Repeat("x", p)
		// model.WriteSafetensors, metadata padded.
		f := filepath.Join(dir, "w.safetensors")
		if err := model.WriteSafetensors(f, want, map[string]string{"pad": pad}); err != nil {
			t.Fatal(err)
		}
		sd, err := model.ReadStateDict(f)
		if err != nil {
			t.Fatalf("WriteSafetensors, pad %d: %v", p, err)
		}
		check("WriteSafetensors", f, sd)
		if p%64 != 0 && p > 0x600 {
			continue // the slower writers: every length up to 0x600 + their base, then a sample
		}
		// model.SaveSafetensors and train.EncodeWeights: the spec's doc
		// text pads the header, as a user's spec would.
		m := probeNet(t, pad)
		copyWeights(m, n)
		f = filepath.Join(dir, "s.safetensors")
		if err := model.SaveSafetensors(m, f); err != nil {
			t.Fatal(err)
		}
		got, err := model.Load(specFile, f)
		if err != nil {
			t.Fatalf("SaveSafetensors, doc of %d bytes: %v", p, err)
		}
		check("SaveSafetensors", f, got.StateDict())
		enc, err := train.EncodeWeights(m, train.DTypeF64, 3, nil)
		if err != nil {
			t.Fatal(err)
		}
		md := filepath.Join(dir, "trained")
		os.MkdirAll(md, 0o755)
		if err := os.WriteFile(filepath.Join(md, model.DirSpecFile), m.Spec.JSON(), 0o644); err != nil {
			t.Fatal(err)
		}
		wf := filepath.Join(md, model.DirWeightsFile)
		if err := os.WriteFile(wf, enc, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err = model.LoadDir(md)
		if err != nil {
			t.Fatalf("train.EncodeWeights, doc of %d bytes: %v", p, err)
		}
		check("train.EncodeWeights", wf, got.StateDict())
	}
	for writer, hs := range seen {
		for _, h := range []uint64{0x280, 0x380, 0x480, 0x580} {
			if !hs[h] {
				t.Errorf("%s: header length %#x never written", writer, h)
			}
		}
		if writer != "WriteSafetensors" {
			continue
		}
		lo := slices.Min(slices.Collect(mapKeys(hs)))
		for h := lo; h <= 4096; h += 8 {
			if !hs[h] {
				t.Errorf("%s: header length %#x never written", writer, h)
			}
		}
		for h := uint64(0x8000); h < 0x8100; h += 8 {
			if !hs[h] {
				t.Errorf("%s: header length %#x never written", writer, h)
			}
		}
	}
}

func mapKeys(m map[uint64]bool) func(func(uint64) bool) {
	return func(yield func(uint64) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func copyWeights(dst, src *model.Net) {
	ps := src.Params()
	for i, p := range dst.Params() {
		copy(p.Value.Data, ps[i].Value.Data)
	}
}
