package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/addergen/addergen/internal/testutil"
)

// dirTree returns every path under dir (folders end in /) with the
// content of each file; dir itself is "./".
func dirTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			got[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		got[rel] = string(b)
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return got
}

func sameTree(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func treeNames(m map[string]string) []string {
	var n []string
	for k := range m {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

// TestEmitOverOldDesign is shared/cases/emit-over-old-design: design B
// emitted into the folder that holds design A leaves exactly design B;
// a failed emit, and an emit into a folder addergen did not write, leave
// the folder as it was.
func TestEmitOverOldDesign(t *testing.T) {
	qa := testutil.SharedFile(t, "cases/emit-over-old-design/qA.json")
	qb := testutil.SharedFile(t, "cases/emit-over-old-design/qB.json")
	work := t.TempDir()
	rtlDir := filepath.Join(work, "rtl")
	emit := func(q, out string, extra ...string) (int, string) {
		t.Helper()
		code, _, errs := runCLI(t, append([]string{"emit-verilog", "--model", q, "--out", out, "-q"}, extra...)...)
		return code, errs
	}
	if code, errs := emit(qa, rtlDir); code != 0 {
		t.Fatalf("emit A: exit %d: %s", code, errs)
	}
	aTree := dirTree(t, rtlDir)
	onlyB := filepath.Join(work, "onlyB")
	if code, errs := emit(qb, onlyB); code != 0 {
		t.Fatalf("emit B alone: exit %d: %s", code, errs)
	}
	bTree := dirTree(t, onlyB)
	if sameTree(aTree, bTree) {
		t.Fatal("designs A and B emit the same files; the case cannot tell them apart")
	}
	if code, errs := emit(qb, rtlDir); code != 0 {
		t.Fatalf("emit B over A: exit %d: %s", code, errs)
	}
	if got := dirTree(t, rtlDir); !sameTree(got, bTree) {
		t.Errorf("after B over A the folder holds %v, want exactly design B %v", treeNames(got), treeNames(bTree))
	}
	if ents, _ := os.ReadDir(work); len(ents) != 2 {
		t.Errorf("%d entries in the parent, want rtl and onlyB (no temporary folder left)", len(ents))
	}
	list, _ := os.ReadFile(filepath.Join(rtlDir, "filelist.f"))
	for _, f := range strings.Fields(string(list)) {
		if _, err := os.Stat(filepath.Join(rtlDir, f)); err != nil {
			t.Errorf("filelist.f names %s: %v", f, err)
		}
	}

	// A failure (A with a config naming no layer of A) leaves design B.
	before := dirTree(t, work)
	bad := filepath.Join(t.TempDir(), "hw.json")
	if err := os.WriteFile(bad, []byte(`{"layers": {"nope": {"parallel": 2}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, errs := emit(qa, rtlDir, "--config", bad); code != exitUsage || strings.Count(errs, "\n") != 1 {
		t.Errorf("emit A with a bad config: exit %d, stderr %q; want 2 and one line", code, errs)
	}
	if after := dirTree(t, work); !sameTree(before, after) {
		t.Errorf("a failed emit changed the folder: %v -> %v", treeNames(before), treeNames(after))
	}

	// A folder addergen did not write is refused, naming it, and left as
	// it was; so is a design folder with a file the user added.
	mine := filepath.Join(work, "mine")
	os.MkdirAll(mine, 0o755)
	os.WriteFile(filepath.Join(mine, "top.v"), []byte("module top; endmodule\n"), 0o644)
	os.WriteFile(filepath.Join(rtlDir, "notes.txt"), []byte("mine"), 0o644)
	before = dirTree(t, work)
	for _, out := range []string{mine, rtlDir} {
		code, errs := emit(qa, out)
		if code != exitUsage || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "--out "+out+": ") {
			t.Errorf("emit into %s: exit %d, stderr %q; want 2 and one line naming the folder", out, code, errs)
		}
	}
	code, _, errs := runCLI(t, "emit-verilog", "pe", "--lanes", "4", "--width", "4", "--out", mine)
	if code != exitUsage || !strings.Contains(errs, "--out "+mine+": ") {
		t.Errorf("emit-verilog pe into %s: exit %d, stderr %q", mine, code, errs)
	}
	if after := dirTree(t, work); !sameTree(before, after) {
		t.Errorf("a refused emit changed the folders: %v -> %v", treeNames(before), treeNames(after))
	}

	// An empty existing folder is used.
	empty := filepath.Join(work, "empty")
	os.MkdirAll(empty, 0o755)
	if code, errs := emit(qb, empty); code != 0 {
		t.Fatalf("emit into an empty folder: exit %d: %s", code, errs)
	}
	if got := dirTree(t, empty); !sameTree(got, bTree) {
		t.Errorf("emit into an empty folder: %v", treeNames(got))
	}
}

// TestVerifyReadsEmittedFolder: verify --rtl reads back a folder written
// by emit-verilog (with its .addergen marker) and passes, after the folder
// was replaced by a second emit.
func TestVerifyReadsEmittedFolder(t *testing.T) {
	testutil.RequireTools(t, "iverilog", "vvp")
	qpath, xpath := netFiles(t, 1)
	out := filepath.Join(t.TempDir(), "rtl")
	for _, p := range []string{"4", "8"} {
		if code, _, errs := runCLI(t, "emit-verilog", "--model", qpath, "--out", out, "--parallel", p, "-q"); code != 0 {
			t.Fatalf("emit --parallel %s: exit %d: %s", p, code, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(out, ".addergen")); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, "verify", "--model", qpath, "--rtl", out, "--data", xpath, "--images", "1", "--simulator", "iverilog", "-q")
	if code != 0 {
		t.Fatalf("verify --rtl %s: exit %d: %s", out, code, errs)
	}
}
