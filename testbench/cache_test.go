package testbench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/addergen/addergen/internal/nettest"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/quant/quanttest"
	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/sim"
)

// cachedModels lists the models in a Verilator cache directory.
func cachedModels(t *testing.T, cache string) []string {
	t.Helper()
	ents, err := os.ReadDir(cache)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && e.Name()[0] != '.' {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestVerilatorModelCache: the first run of a design builds its model and
// stores it; a second run of the same design with other images, another
// seed and other idle/stall rates (all plusargs) builds nothing, reuses
// the model and is still bit-exact; a changed source builds a new model.
func TestVerilatorModelCache(t *testing.T) {
	testutil.RequireTools(t, "verilator")
	cache := t.TempDir()
	t.Setenv(VerilatorCacheEnv, cache)
	q := nettest.Tiny(t)
	files, n, err := rtl.EmitNet(q, rtl.NetConfig{Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	run := func(images int, o NetRunOptions, edit func(dir string)) (string, *NetResult) {
		t.Helper()
		x := quanttest.Uniform(q.Input.Shape, images, 0, 1, uint64(images))
		codes, _, err := q.EncodeInput(x)
		if err != nil {
			t.Fatal(err)
		}
		in := sim.Codes{Shape: append([]int{images}, q.Input.Shape...), Data: codes}
		want, err := sim.RunNet(q, in, sim.NetOptions{KeepAll: true})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := WriteFiles(dir, files); err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(dir)
		}
		res, err := RunNet(context.Background(), Verilator, dir, n, NetSources(files), in, want, o)
		if err != nil {
			t.Fatal(err)
		}
		if res.Mismatches != 0 {
			t.Fatalf("%d mismatches; first: %s", res.Mismatches, res.FirstMismatch)
		}
		for i, v := range want.Output.Data {
			if res.Logits.Data[i] != v {
				t.Fatalf("logit %d: RTL %d, simulator %d", i, res.Logits.Data[i], v)
			}
		}
		return dir, res
	}
	built := func(dir string) bool { return fileNonEmpty(filepath.Join(dir, "obj_dir", "vsim")) }

	dir, _ := run(3, NetRunOptions{Idle: 0.3, Stall: 0.3, Seed: 1}, nil)
	if !built(dir) || len(cachedModels(t, cache)) != 1 {
		t.Fatalf("first run: built %v, %d cached models; want a build and 1 model", built(dir), len(cachedModels(t, cache)))
	}
	dir, res := run(2, NetRunOptions{Idle: 0.1, Stall: 0.5, Seed: 7}, nil)
	if built(dir) || len(cachedModels(t, cache)) != 1 {
		t.Fatalf("second run of the same design: built %v, %d cached models; want the cached model reused", built(dir), len(cachedModels(t, cache)))
	}
	if res.Images != 2 || res.Values == 0 {
		t.Fatalf("second run: %d images, %d values", res.Images, res.Values)
	}
	touch := func(dir string) {
		p := filepath.Join(dir, NetSources(files)[0])
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, append(b, []byte("\n// changed\n")...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir, _ = run(2, NetRunOptions{Seed: 2}, touch)
	if !built(dir) || len(cachedModels(t, cache)) != 2 {
		t.Fatalf("changed source: built %v, %d cached models; want a new build and 2 models", built(dir), len(cachedModels(t, cache)))
	}
}

// TestVerilatorCacheOffAndPrune: ADDERGEN_VERILATOR_CACHE=off turns the
// cache off, and pruning keeps the most recently used models.
func TestVerilatorCacheOffAndPrune(t *testing.T) {
	t.Setenv(VerilatorCacheEnv, "off")
	if d := VerilatorCacheDir(); d != "" {
		t.Fatalf("cache off: dir %q", d)
	}
	cache := t.TempDir()
	t.Setenv(VerilatorCacheEnv, cache)
	if d := VerilatorCacheDir(); d != cache {
		t.Fatalf("cache dir %q, want %q", d, cache)
	}
	old := time.Now().Add(-time.Hour)
	for i, name := range []string{"a", "b", "c", "d"} {
		p := filepath.Join(cache, name)
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		ts := old.Add(time.Duration(i) * time.Minute) // a oldest, d newest
		if err := os.Chtimes(p, ts, ts); err != nil {
			t.Fatal(err)
		}
	}
	stale, fresh := filepath.Join(cache, ".tmp-stale"), filepath.Join(cache, ".tmp-fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	twoDays := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(stale, twoDays, twoDays); err != nil {
		t.Fatal(err)
	}
	pruneCache(cache, 2)
	got := cachedModels(t, cache)
	if len(got) != 2 || got[0] != "c" || got[1] != "d" {
		t.Fatalf("after pruning to 2: %v, want [c d]", got)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("a store's temporary directory two days old survived pruning")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a store's fresh temporary directory was removed: %v", err)
	}
}

// TestOptimizeNet: long runs build optimised; with the model cache on, a
// large design's short run does too, a small design's does not.
func TestOptimizeNet(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big.v"), make([]byte, 1_000_000), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "small.v"), make([]byte, 20_000), 0o644); err != nil {
		t.Fatal(err)
	}
	big, small := []string{"big.v"}, []string{"small.v"}
	t.Setenv(VerilatorCacheEnv, t.TempDir())
	for _, c := range []struct {
		srcs           []string
		cycles, images int
		want           bool
	}{
		{small, 1000, 5, true},    // more than 4 images
		{small, 40000, 4, false},  // 3.2e9
		{big, 36864, 2, true},     // 7.4e10, cached
		{big, 36864, 1, false},    // 3.7e10
		{big, 1_000_000, 3, true}, // 3e12: always
	} {
		if got := optimizeNet(dir, c.srcs, c.cycles, c.images); got != c.want {
			t.Errorf("cache on, %v, %d cycles, %d images: optimise %v, want %v", c.srcs, c.cycles, c.images, got, c.want)
		}
	}
	t.Setenv(VerilatorCacheEnv, "off")
	if optimizeNet(dir, big, 36864, 2) {
		t.Error("cache off: a 2-image ResNet-20-sized run builds optimised; want the quick build")
	}
	if !optimizeNet(dir, big, 1_000_000, 3) {
		t.Error("cache off: a 3e12 run builds unoptimised")
	}
}
