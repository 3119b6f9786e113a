package outdir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var meta = Meta{Command: "test", Version: "0"}

// tree returns every file under dir (slash paths) with its content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			got[filepath.ToSlash(rel)+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func names(m map[string]string) []string {
	var n []string
	for k := range m {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

func TestWriteNewAndReplace(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "sub", "rtl")
	if _, err := Write(dir, map[string][]byte{"a.v": []byte("A"), "old.v": []byte("O"), "mem/w.hex": []byte("00")}, meta); err != nil {
		t.Fatal(err)
	}
	if got, want := names(tree(t, dir)), []string{"./", ".addergen", "a.v", "mem/", "mem/w.hex", "old.v"}; !slices.Equal(got, want) {
		t.Fatalf("first write: %v, want %v", got, want)
	}
	paths, err := Write(dir, map[string][]byte{"a.v": []byte("B"), "b.v": []byte("B2")}, meta)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "a.v"), filepath.Join(dir, "b.v")}; !slices.Equal(paths, want) {
		t.Errorf("paths %v, want %v", paths, want)
	}
	got := tree(t, dir)
	if n, want := names(got), []string{"./", ".addergen", "a.v", "b.v"}; !slices.Equal(n, want) {
		t.Fatalf("second write left %v, want %v", n, want)
	}
	if got["a.v"] != "B" {
		t.Errorf("a.v = %q, want B", got["a.v"])
	}
	if !strings.Contains(got[".addergen"], `"b.v"`) || !strings.Contains(got[".addergen"], `"command": "test"`) {
		t.Errorf("marker %s does not list b.v and the command", got[".addergen"])
	}
	// Nothing is left beside the folder.
	if n := names(tree(t, filepath.Join(parent, "sub"))); !slices.Equal(n, []string{"./", "rtl/", "rtl/.addergen", "rtl/a.v", "rtl/b.v"}) {
		t.Errorf("parent holds %v", n)
	}
}

func TestEmptyFolderIsUsed(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, map[string][]byte{"x": []byte("1")}, meta); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, dir)["x"]; got != "1" {
		t.Errorf("x = %q", got)
	}
	if fi, err := os.Stat(filepath.Join(dir, "x")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("x mode %v, %v; want 0644", fi.Mode(), err)
	}
}

func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"foreign folder", func(t *testing.T, dir string) {
			os.MkdirAll(dir, 0o755)
			os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
		}, "no .addergen marker"},
		{"foreign file in addergen folder", func(t *testing.T, dir string) {
			if _, err := Write(dir, map[string][]byte{"a.v": []byte("A")}, meta); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
		}, "holds notes.txt"},
		{"foreign subfolder in addergen folder", func(t *testing.T, dir string) {
			if _, err := Write(dir, map[string][]byte{"a.v": []byte("A")}, meta); err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(filepath.Join(dir, "keep"), 0o755)
		}, "holds keep,"},
		{"a file", func(t *testing.T, dir string) {
			os.WriteFile(dir, []byte("x"), 0o644)
		}, "not a folder"},
		{"foreign marker", func(t *testing.T, dir string) {
			os.MkdirAll(dir, 0o755)
			os.WriteFile(filepath.Join(dir, Marker), []byte("hello"), 0o644)
		}, "marker is not addergen's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			tc.setup(t, dir)
			before := tree(t, parent)
			_, err := Write(dir, map[string][]byte{"new.v": []byte("N")}, meta)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), dir+": ") {
				t.Fatalf("err %v, want one naming %s and saying %q", err, dir, tc.want)
			}
			var oe *Error
			if !errors.As(err, &oe) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err %T %q: want a one-line *Error", err, err)
			}
			if after := tree(t, parent); !mapsEqual(before, after) {
				t.Errorf("refusal changed the parent: %v -> %v", names(before), names(after))
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
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

// A failure at any step leaves the earlier folder exactly as it was and
// nothing beside it.
func TestFailureLeavesFolderAsItWas(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func()
	}{
		{"second file", func() {
			hookWrite = func(n string) error {
				if n == "b.v" {
					return errors.New("disk full")
				}
				return nil
			}
		}},
		{"rename in", func() { hookRenameIn = func() error { return errors.New("injected") } }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, existing := range []bool{false, true} {
				parent := t.TempDir()
				dir := filepath.Join(parent, "rtl")
				if existing {
					if _, err := Write(dir, map[string][]byte{"a.v": []byte("A"), "filelist.f": []byte("a.v")}, meta); err != nil {
						t.Fatal(err)
					}
				}
				before := tree(t, parent)
				tc.set()
				_, err := Write(dir, map[string][]byte{"a.v": []byte("B"), "b.v": []byte("B"), "filelist.f": []byte("a.v b.v")}, meta)
				hookWrite, hookRenameIn = nil, nil
				if err == nil || !strings.HasPrefix(err.Error(), dir+": ") {
					t.Fatalf("existing=%v: err %v, want a failure naming %s", existing, err, dir)
				}
				if after := tree(t, parent); !mapsEqual(before, after) {
					t.Errorf("existing=%v: failure changed the parent: %v -> %v", existing, names(before), names(after))
				}
			}
		})
	}
}

func TestBadNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "o")
	for _, n := range []string{"", "../x", "/abs", "a/../../b", Marker, "a//b"} {
		if _, err := Write(dir, map[string][]byte{n: nil}, meta); err == nil {
			t.Errorf("name %q accepted", n)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("bad names created %s", dir)
	}
}

func TestStage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "work")
	st, err := Begin(dir, meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(st.Dir(), "build.log"), []byte("ok"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s exists before Commit", dir)
	}
	if err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	st.Abort() // no effect after Commit
	if got := tree(t, dir)["build.log"]; got != "ok" {
		t.Errorf("build.log = %q", got)
	}
	// A second stage, aborted, leaves the first in place.
	st, err = Begin(dir, meta)
	if err != nil {
		t.Fatal(err)
	}
	st.Abort()
	if n := names(tree(t, filepath.Dir(dir))); !slices.Equal(n, []string{"./", "work/", "work/.addergen", "work/build.log"}) {
		t.Errorf("after Abort: %v", n)
	}
}
