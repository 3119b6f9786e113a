package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/addergen/addergen/rtl"
)

// TestPackWeights: the stream of pack-weights holds, memory after memory,
// exactly the words of the ROM design's .hex files (LSB-first 32-bit
// beats, little-endian); --design accepts the runtime design it matches
// and refuses another, naming the file; --weights-mode rom is refused.
func TestPackWeights(t *testing.T) {
	qpath, _ := netFiles(t, 1)
	dir := t.TempDir()
	rt, rom, w := filepath.Join(dir, "rt"), filepath.Join(dir, "rom"), filepath.Join(dir, "w.bin")
	for _, a := range [][]string{
		{"emit-verilog", "--model", qpath, "--parallel", "4", "--weights-mode", "runtime", "--out", rt, "-q"},
		{"emit-verilog", "--model", qpath, "--parallel", "4", "--out", rom, "-q"},
		{"pack-weights", "--model", qpath, "--parallel", "4", "--design", rt, "--out", w},
	} {
		if code, _, errs := runCLI(t, a...); code != 0 {
			t.Fatalf("%v: exit %d: %s", a, code, errs)
		}
	}
	got, err := os.ReadFile(w)
	if err != nil {
		t.Fatal(err)
	}
	var man rtl.NetManifest
	b, _ := os.ReadFile(filepath.Join(rt, "manifest.json"))
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	if man.WeightsMode != "runtime" || len(man.ROMs) != 0 || len(man.WeightMemories) == 0 || len(got) != 4*man.WeightStreamBeats {
		t.Fatalf("manifest: mode %s, %d ROM files, %d memories, %d beats; stream %d bytes", man.WeightsMode, len(man.ROMs), len(man.WeightMemories), man.WeightStreamBeats, len(got))
	}
	// The same words, from the ROM design's files.
	var want bytes.Buffer
	for _, m := range man.WeightMemories {
		file := m.Module + "_" + map[string]string{"wrom": "w", "crom": "c", "mrom": "m", "brom": "b"}[m.Memory] + ".hex"
		text, err := os.ReadFile(filepath.Join(rom, file))
		if err != nil {
			t.Fatalf("%s %s: %v", m.Module, m.Memory, err)
		}
		lines := strings.Fields(string(text))
		if len(lines) != m.Depth {
			t.Fatalf("%s: %d words, manifest says %d", file, len(lines), m.Depth)
		}
		for _, l := range lines {
			v, _ := new(big.Int).SetString(l, 16)
			for i := 0; i < m.Beats; i++ {
				beat := new(big.Int).Rsh(v, uint(32*i))
				beat.And(beat, big.NewInt(0xffffffff))
				binary.Write(&want, binary.LittleEndian, uint32(beat.Uint64()))
			}
		}
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("the stream (%d bytes) is not the ROM files' words (%d bytes)", len(got), want.Len())
	}

	// Another hardware config renders another design.
	code, _, errs := runCLI(t, "pack-weights", "--model", qpath, "--parallel", "8", "--design", rt, "--out", w)
	if code != 2 || !strings.Contains(errs, "--design "+rt) || !strings.Contains(errs, ".v is not what") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("mismatched design: exit %d: %q", code, errs)
	}
	code, _, errs = runCLI(t, "pack-weights", "--model", qpath, "--weights-mode", "rom", "--out", w)
	if code != 2 || !strings.Contains(errs, "--weights-mode rom") {
		t.Errorf("--weights-mode rom: exit %d: %q", code, errs)
	}
}
