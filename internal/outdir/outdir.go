// Package outdir writes a command's output folder as one set: nothing
// half-written, never mixed with an earlier design or with files addergen
// did not write.
//
// Every file of the set is written into a temporary folder beside the
// target (same parent, named .NAME.tmp-XXXX), with a marker file
// (.addergen) that lists the files; only when all are complete is the
// temporary folder renamed into place. A target that exists is replaced
// as a whole when it is empty or when addergen wrote it (its marker lists
// every file it holds): the old folder is renamed aside, the new one
// renamed in, and the old one removed; if the second rename fails the old
// folder is put back. Any other existing folder, or a file, is refused
// with an error that names it, before anything is written.
package outdir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Marker is the name of the file that marks a folder written by addergen.
const Marker = ".addergen"

// Meta says who wrote a folder; it is stored in the marker.
type Meta struct {
	Command string // the command, e.g. "emit-verilog"
	Version string // addergen's version
}

type marker struct {
	Generator string   `json:"generator"`
	Command   string   `json:"command,omitempty"`
	Version   string   `json:"version,omitempty"`
	Files     []string `json:"files"`
}

// Error is a refusal or failure about one output folder; its message names
// the folder. Commands report it as bad usage.
type Error struct {
	Dir string
	Msg string
}

func (e *Error) Error() string { return e.Dir + ": " + e.Msg }

func errf(dir, format string, args ...any) error {
	return &Error{Dir: dir, Msg: fmt.Sprintf(format, args...)}
}

// Test hooks: each, when set, is called at its step and its error makes
// the step fail (tests inject failures part-way).
var (
	hookWrite    func(name string) error // before writing each file of the set
	hookRenameIn func() error            // before renaming the new folder into place
)

// Check reports whether dir may be (re)written as a whole: it does not
// exist, or is an empty folder, or is a folder addergen wrote that holds
// nothing but what its marker lists. The error names dir and says why.
func Check(dir string) error {
	if dir == "" {
		return errors.New("no output folder given")
	}
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return errf(dir, "%v", unwrap(err))
	}
	if !fi.IsDir() {
		return errf(dir, "exists and is not a folder")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return errf(dir, "%v", unwrap(err))
	}
	if len(entries) == 0 {
		return nil
	}
	mb, err := os.ReadFile(filepath.Join(dir, Marker))
	if err != nil {
		return errf(dir, "holds files addergen did not write (no %s marker); choose a new or empty folder", Marker)
	}
	var m marker
	if err := json.Unmarshal(mb, &m); err != nil || m.Generator != "addergen" {
		return errf(dir, "%s marker is not addergen's; choose a new or empty folder", Marker)
	}
	listed := map[string]bool{Marker: true}
	for _, f := range m.Files {
		listed[f] = true
		for d := path.Dir(f); d != "." && d != "/"; d = path.Dir(d) {
			listed[d+"/"] = true
		}
	}
	var foreign string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			rel += "/"
		}
		if !listed[rel] {
			foreign = rel
			return fs.SkipAll
		}
		return nil
	})
	if err != nil {
		return errf(dir, "%v", unwrap(err))
	}
	if foreign != "" {
		return errf(dir, "holds %s, which addergen did not write; remove it or choose a new folder", strings.TrimSuffix(foreign, "/"))
	}
	return nil
}

// Write writes files (slash-separated paths relative to dir) as the whole
// content of dir, with the marker, and returns the written paths in
// sorted order. On error dir is as it was.
func Write(dir string, files map[string][]byte, meta Meta) ([]string, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		if err := checkName(n); err != nil {
			return nil, errf(dir, "%v", err)
		}
		names = append(names, n)
	}
	slices.Sort(names)
	st, err := Begin(dir, meta)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if err := st.WriteFile(n, files[n]); err != nil {
			st.Abort()
			return nil, err
		}
	}
	if err := st.Commit(); err != nil {
		return nil, err
	}
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = filepath.Join(dir, filepath.FromSlash(n))
	}
	return paths, nil
}

func checkName(n string) error {
	if n == "" || n == Marker || path.IsAbs(n) || strings.Contains(n, `\`) || path.Clean(n) != n || n == "." || strings.HasPrefix(n, "../") || n == ".." {
		return fmt.Errorf("invalid output file name %q", n)
	}
	return nil
}

// Stage is an output folder being written: its files go into a temporary
// folder beside the target until Commit.
type Stage struct {
	dir, tmp string
	meta     Meta
	done     bool
}

// Begin checks dir (as Check) and creates the temporary folder beside it.
// Write into Dir(), then Commit or Abort.
func Begin(dir string, meta Meta) (*Stage, error) {
	if err := Check(dir); err != nil {
		return nil, err
	}
	clean := filepath.Clean(dir)
	parent := filepath.Dir(clean)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, errf(dir, "%v", unwrap(err))
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(clean)+".tmp-*")
	if err != nil {
		return nil, errf(dir, "cannot create a temporary folder beside it: %v", unwrap(err))
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return nil, errf(dir, "%v", unwrap(err))
	}
	return &Stage{dir: clean, tmp: tmp, meta: meta}, nil
}

// Dir is the temporary folder to write into.
func (s *Stage) Dir() string { return s.tmp }

// WriteFile writes one file (slash path relative to the folder) into the
// stage.
func (s *Stage) WriteFile(name string, data []byte) error {
	if err := checkName(name); err != nil {
		return errf(s.dir, "%v", err)
	}
	if hookWrite != nil {
		if err := hookWrite(name); err != nil {
			return errf(s.dir, "write %s: %v", name, err)
		}
	}
	p := filepath.Join(s.tmp, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return errf(s.dir, "write %s: %v", name, unwrap(err))
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return errf(s.dir, "write %s: %v", name, unwrap(err))
	}
	return nil
}

// Abort removes the temporary folder; the target is untouched. It may be
// called after Commit (it then does nothing).
func (s *Stage) Abort() {
	if !s.done {
		os.RemoveAll(s.tmp)
		s.done = true
	}
}

// Commit adds the marker (listing every file in the stage) and renames the
// stage into place, replacing the target as a whole. On error the target
// is as it was and the stage is removed.
func (s *Stage) Commit() error {
	if s.done {
		return errf(s.dir, "internal error: stage committed twice")
	}
	defer s.Abort()
	var list []string
	err := filepath.WalkDir(s.tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(s.tmp, p)
		if rel != Marker {
			list = append(list, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return errf(s.dir, "%v", unwrap(err))
	}
	slices.Sort(list)
	mb, err := json.MarshalIndent(marker{Generator: "addergen", Command: s.meta.Command, Version: s.meta.Version, Files: list}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.tmp, Marker), append(mb, '\n'), 0o644); err != nil {
		return errf(s.dir, "write %s: %v", Marker, unwrap(err))
	}
	// The target may have changed since Begin: check again just before
	// replacing it.
	if err := Check(s.dir); err != nil {
		return err
	}
	var aside string
	if _, err := os.Lstat(s.dir); err == nil {
		// Rename the old folder aside under a fresh name beside it.
		a, err := os.MkdirTemp(filepath.Dir(s.dir), "."+filepath.Base(s.dir)+".old-*")
		if err != nil {
			return errf(s.dir, "cannot create a folder beside it: %v", unwrap(err))
		}
		if err := os.Remove(a); err != nil {
			return errf(s.dir, "%v", unwrap(err))
		}
		if err := os.Rename(s.dir, a); err != nil {
			return errf(s.dir, "cannot move the earlier output aside: %v", unwrapLink(err))
		}
		aside = a
	}
	err = nil
	if hookRenameIn != nil {
		err = hookRenameIn()
	}
	if err == nil {
		err = os.Rename(s.tmp, s.dir)
	}
	if err != nil {
		if aside != "" {
			if rerr := os.Rename(aside, s.dir); rerr != nil {
				return errf(s.dir, "cannot rename the new output into place (%v), and the earlier output could not be restored from %s: %v", unwrapLink(err), aside, unwrapLink(rerr))
			}
		}
		return errf(s.dir, "cannot rename the new output into place: %v", unwrapLink(err))
	}
	s.done = true
	if aside != "" {
		os.RemoveAll(aside)
	}
	return nil
}

func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func unwrapLink(err error) error {
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return unwrap(err)
}
