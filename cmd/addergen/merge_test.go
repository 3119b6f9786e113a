package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/internal/nettest"
	"github.com/addergen/addergen/internal/testutil"
	"github.com/addergen/addergen/quant/quanttest"
)

// jsonMap decodes one JSON object printed by a command.
func jsonMap(t *testing.T, what, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: stdout is not one JSON object: %v\n%s", what, err, s)
	}
	return m
}

// mustRun runs the CLI and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("addergen %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// shardRuns runs args with --shard i/n --json for i = n..1 (out of order on
// purpose), writes each report to dir/s<i>.json and returns the paths.
func shardRuns(t *testing.T, dir string, n int, args func(i int) []string) []string {
	t.Helper()
	paths := make([]string, 0, n)
	for i := n; i >= 1; i-- {
		a := append(args(i), "--shard", fmt.Sprintf("%d/%d", i, n), "--json")
		out := mustRun(t, a...)
		if jsonMap(t, "shard", out)["shard"] == nil {
			t.Fatalf("shard %d/%d report has no shard object:\n%s", i, n, out)
		}
		p := filepath.Join(dir, fmt.Sprintf("s%d.json", i))
		writeFile(t, p, out)
		paths = append(paths, p)
	}
	return paths
}

// sameExcept checks that the merged report equals one run's, field for
// field (numbers bit for bit: JSON numbers decode to the same float64 only
// when they were the same float64), except the measured fields named.
func sameExcept(t *testing.T, what string, one, merged map[string]any, measured ...string) {
	t.Helper()
	for _, k := range measured {
		if _, ok := one[k]; !ok {
			t.Errorf("%s: one run has no field %q", what, k)
		}
		if _, ok := merged[k]; !ok {
			t.Errorf("%s: merged report has no field %q", what, k)
		}
		delete(one, k)
		delete(merged, k)
	}
	for k, v := range one {
		if !reflect.DeepEqual(v, merged[k]) {
			t.Errorf("%s: field %q: one run %v, merged %v", what, k, trunc(v), trunc(merged[k]))
		}
	}
	for k := range merged {
		if _, ok := one[k]; !ok {
			t.Errorf("%s: merged report has field %q that one run lacks", what, k)
		}
	}
}

func trunc(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// TestMergeCompareShardsEqualOneRun: compare split into 3 shards (of 50
// images: 16, 17, 17) and merged gives one run's report bit for bit,
// except the measured throughputs; merge --out writes report.json too.
func TestMergeCompareShardsEqualOneRun(t *testing.T) {
	dir := t.TempDir()
	// 4 bits with group-wise scales too: the per-group view clip counts
	// merge like the rest.
	qg := filepath.Join(dir, "q4g.json")
	mustRun(t, "quantize", "--model", "lenet5-adder-mnist", "--calib", "mnist", "--calib-limit", "64", "--bits", "4", "--group-scales", "3", "--out", qg, "-q")
	gdir := filepath.Join(dir, "groups")
	if err := os.Mkdir(gdir, 0o755); err != nil {
		t.Fatal(err)
	}
	gbase := []string{"compare", "--model", "lenet5-adder-mnist", "--quantized", qg, "--data", "mnist", "--limit", "50"}
	gone := jsonMap(t, "one run (groups)", mustRun(t, append(gbase, "--json")...))
	if !strings.Contains(fmt.Sprint(gone["layers"]), "clip_rate") {
		t.Fatalf("compare of a grouped model reports no groups: %v", trunc(gone["layers"]))
	}
	gmerged := jsonMap(t, "merge (groups)", mustRun(t, append([]string{"merge", "--json"}, shardRuns(t, gdir, 3, func(int) []string { return gbase })...)...))
	sameExcept(t, "compare (groups)", gone, gmerged, "float_images_per_sec", "sim_images_per_sec")

	q := filepath.Join(dir, "q8.json")
	mustRun(t, "quantize", "--model", "lenet5-adder-mnist", "--calib", "mnist", "--calib-limit", "64", "--bits", "8", "--out", q, "-q")
	base := []string{"compare", "--model", "lenet5-adder-mnist", "--quantized", q, "--data", "mnist", "--limit", "50", "--max-drop", "5"}
	one := jsonMap(t, "one run", mustRun(t, append(base, "--json")...))
	shards := shardRuns(t, dir, 3, func(int) []string { return base })
	merged := jsonMap(t, "merge", mustRun(t, append([]string{"merge", "--json"}, shards...)...))
	if one["samples"] != 50.0 || one["pass"] != true {
		t.Fatalf("one run: samples %v pass %v, want 50 and true", one["samples"], one["pass"])
	}
	sameExcept(t, "compare", one, merged, "float_images_per_sec", "sim_images_per_sec")

	out := filepath.Join(dir, "merged")
	mustRun(t, append([]string{"merge", "--out", out, "-q"}, shards...)...)
	rep := jsonMap(t, "report.json", readFile(t, filepath.Join(out, "report.json")))
	if files, _ := rep["files"].([]any); len(files) != 4 {
		t.Errorf("merge --out: report.json lists files %v, want 4", rep["files"])
	}
	if rep["sim_top1"] != merged["sim_top1"] || !reflect.DeepEqual(rep["layers"], merged["layers"]) {
		t.Errorf("merge --out report.json differs from merge --json")
	}
}

// TestMergeSweepShardsEqualOneRun: a sweep of 2 widths × 3 parallelisms
// split into 4 shards (points 1, 2, 1, 2; the second and fourth span two
// widths' boundary or not) merges into one run's sweep.json, Pareto
// fronts included, except the time taken.
func TestMergeSweepShardsEqualOneRun(t *testing.T) {
	dir := t.TempDir()
	base := func(out string) []string {
		return []string{"sweep", "--model", "lenet5-adder-mnist", "--bits", "4,8", "--parallel", "1,2,4", "--limit", "40",
			"--calib-limit", "40", "--out", out}
	}
	one := jsonMap(t, "one run", mustRun(t, append(base(filepath.Join(dir, "one")), "--json")...))
	shards := shardRuns(t, dir, 4, func(i int) []string { return base(filepath.Join(dir, fmt.Sprint("shard", i))) })
	out := filepath.Join(dir, "merged")
	merged := jsonMap(t, "merge", mustRun(t, append([]string{"merge", "--json", "--out", out}, shards...)...))
	if pts, _ := one["points"].([]any); len(pts) != 6 {
		t.Fatalf("one run has %d points, want 6", len(pts))
	}
	sameExcept(t, "sweep", one, merged, "seconds")
	if got := readFile(t, filepath.Join(out, "sweep.csv")); got != readFile(t, filepath.Join(dir, "one", "sweep.csv")) {
		t.Errorf("merged sweep.csv differs from one run's:\n%s", got)
	}
}

// TestMergeVerifyShardsEqualOneRun: verify of 5 labelled images in Icarus,
// split into 2 shards, merges into one run's report (counts, accuracies)
// and, with --output, one run's logits bit for bit.
func TestMergeVerifyShardsEqualOneRun(t *testing.T) {
	testutil.RequireTools(t, "iverilog", "vvp")
	q := nettest.Tiny(t)
	dir := t.TempDir()
	qpath, xpath := filepath.Join(dir, "q.json"), filepath.Join(dir, "x.npy")
	if err := q.Save(qpath); err != nil {
		t.Fatal(err)
	}
	const n = 5
	if err := dataset.WriteNPY(xpath, quanttest.Uniform(q.Input.Shape, n, 0, 1, 9)); err != nil {
		t.Fatal(err)
	}
	classes := shapeLen(q.Output().OutShape)
	labels := dataset.Tensor{Shape: []int{n}, Data: make([]float64, n)}
	for i := range labels.Data {
		labels.Data[i] = float64(i % classes)
	}
	if err := dataset.WriteNPY(filepath.Join(dir, "x.labels.npy"), labels); err != nil {
		t.Fatal(err)
	}
	base := []string{"verify", "--model", qpath, "--data", xpath, "--images", fmt.Sprint(n), "--simulator", "iverilog"}
	one := jsonMap(t, "one run", mustRun(t, append(base, "--json", "--output", filepath.Join(dir, "y1.npy"))...))
	shards := shardRuns(t, dir, 2, func(i int) []string {
		return append(append([]string{}, base...), "--output", filepath.Join(dir, fmt.Sprintf("y.%d.npy", i)))
	})
	ypath := filepath.Join(dir, "y.npy")
	merged := jsonMap(t, "merge", mustRun(t, append([]string{"merge", "--json", "--output", ypath}, shards...)...))
	if one["rtl_top1"] == nil || one["mismatches"] != 0.0 {
		t.Fatalf("one run: rtl_top1 %v mismatches %v", one["rtl_top1"], one["mismatches"])
	}
	if c, ok := merged["cycles_per_image"].(float64); !ok || c <= 0 {
		t.Errorf("merged cycles_per_image %v, want a positive measurement", merged["cycles_per_image"])
	}
	sameExcept(t, "verify", one, merged, "images_per_second", "cycles_per_image")
	want, err := dataset.ReadNPY(filepath.Join(dir, "y1.npy"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := dataset.ReadNPY(ypath)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Shape, want.Shape) || !reflect.DeepEqual(got.Data, want.Data) {
		t.Errorf("merged logits %v %v, one run %v %v", got.Shape, got.Data, want.Shape, want.Data)
	}

	// A shard's logits file that changed after the shard wrote it is refused.
	writeFile(t, filepath.Join(dir, "y.2.npy"), readFile(t, filepath.Join(dir, "y1.npy")))
	code, _, stderr := runCLI(t, append([]string{"merge", "--output", filepath.Join(dir, "z.npy")}, shards...)...)
	if code != exitUsage || !strings.Contains(stderr, "changed since the shard wrote them") {
		t.Errorf("merge with a replaced logits file: exit %d, %s", code, stderr)
	}
}

// TestMergeRefusesBadShardSets: a missing shard, a shard given twice,
// shards of different splits and shards of different runs are refused
// with one line naming the problem (exit 2); a bad --shard value too.
func TestMergeRefusesBadShardSets(t *testing.T) {
	dir := t.TempDir()
	q := filepath.Join(dir, "q8.json")
	mustRun(t, "quantize", "--model", "lenet5-adder-mnist", "--calib", "mnist", "--calib-limit", "64", "--bits", "8", "--out", q, "-q")
	run := func(name, shard string, extra ...string) string {
		args := append([]string{"compare", "--model", "lenet5-adder-mnist", "--quantized", q, "--data", "mnist", "--limit", "12",
			"--json", "--shard", shard}, extra...)
		p := filepath.Join(dir, name)
		writeFile(t, p, mustRun(t, args...))
		return p
	}
	a1, a2, a3 := run("a1.json", "1/3"), run("a2.json", "2/3"), run("a3.json", "3/3")
	b2 := run("b2.json", "2/4")
	c2 := run("c2.json", "2/3", "--split", "train")
	for _, c := range []struct {
		files []string
		want  string
	}{
		{[]string{a1, a3}, "missing shard(s) 2/3"},
		{[]string{a1, a2, a2, a3}, "given twice"},
		{[]string{a1, b2, a3}, "different splits overlap"},
		{[]string{a1, c2, a3}, `different runs: --split "test" against "train"`},
	} {
		code, stdout, stderr := runCLI(t, append([]string{"merge", "--json"}, c.files...)...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("merge %v: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", c.files, code, stdout, stderr, c.want)
		}
	}
	if code, _, _ := runCLI(t, "merge", "--json", a3, a1, a2); code != 0 {
		t.Errorf("merge of the complete set out of order: exit %d", code)
	}
	for _, v := range []string{"0/3", "4/3", "2", "a/b", "1/0", "1/13"} {
		code, _, stderr := runCLI(t, "compare", "--model", "lenet5-adder-mnist", "--quantized", q, "--data", "mnist", "--limit", "12", "--shard", v)
		if code != exitUsage || !strings.Contains(stderr, "--shard") || !strings.Contains(stderr, v) {
			t.Errorf("--shard %s: exit %d, %q; want exit 2 naming the flag and value", v, code, stderr)
		}
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
