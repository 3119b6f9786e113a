package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// writeFilesAtomic writes every file into dir so that no file is ever seen
// half-written: each is written to a temporary name in dir, and only when
// all are complete are they renamed into place. On error the temporaries
// are removed and no file of the set has been replaced.
func writeFilesAtomic(dir string, files map[string][]byte) ([]string, error) {
	if dir == "" {
		return nil, usagef("--out must name a directory")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, usagef("--out %s: %v", dir, unwrapPath(err))
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	tmps := make([]string, 0, len(names))
	cleanup := func() {
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	for _, n := range names {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755); err != nil {
			cleanup()
			return nil, usagef("--out %s: %v", dir, unwrapPath(err))
		}
		f, err := os.CreateTemp(filepath.Dir(filepath.Join(dir, n)), "."+filepath.Base(n)+".tmp-*")
		if err != nil {
			cleanup()
			return nil, usagef("--out %s: cannot write: %v", dir, unwrapPath(err))
		}
		tmps = append(tmps, f.Name())
		_, werr := f.Write(files[n])
		if werr == nil {
			werr = f.Chmod(0o644) // CreateTemp makes 0600 files; outputs are ordinary files
		}
		cerr := f.Close()
		if werr != nil || cerr != nil {
			cleanup()
			return nil, fmt.Errorf("write %s: %v", filepath.Join(dir, n), firstErr(werr, cerr))
		}
	}
	var paths []string
	for i, n := range names {
		p := filepath.Join(dir, n)
		if err := os.Rename(tmps[i], p); err != nil {
			cleanup()
			return paths, fmt.Errorf("write %s: %v", p, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// unwrapPath drops the *PathError wrapper, whose path the caller names.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}
