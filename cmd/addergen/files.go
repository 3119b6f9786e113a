package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/addergen/addergen/internal/outdir"
)

// writeOutDir writes files as the whole content of the folder dir, given
// by flag (e.g. "--out"), for command: staged beside dir and renamed into
// place (internal/outdir). A folder addergen did not write is refused;
// on any error dir is as it was.
func writeOutDir(flag, dir, command string, files map[string][]byte) ([]string, error) {
	if dir == "" {
		return nil, usagef("%s must name a folder", flag)
	}
	paths, err := outdir.Write(dir, files, outdir.Meta{Command: command, Version: Version})
	if err != nil {
		return nil, outDirErr(flag, err)
	}
	return paths, nil
}

// checkOutDir refuses, before any work, an output folder that writeOutDir
// would refuse.
func checkOutDir(flag, dir string) error {
	if dir == "" {
		return usagef("%s must name a folder", flag)
	}
	if err := outdir.Check(dir); err != nil {
		return outDirErr(flag, err)
	}
	return nil
}

func outDirErr(flag string, err error) error {
	var oe *outdir.Error
	if errors.As(err, &oe) {
		return usagef("%s %v", flag, err)
	}
	return usagef("%s: %v", flag, err)
}

// writeFileAtomic writes one file so that it is never seen half-written:
// through a temporary file beside it and a rename. On error path is as it
// was.
func writeFileAtomic(path string, data []byte) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return fmt.Errorf("%s names a folder, not a file", path)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return unwrapPath(err)
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write: %v", unwrapPath(err))
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Chmod(0o644) // CreateTemp makes 0600 files; outputs are ordinary files
	}
	cerr := f.Close()
	if err := firstErr(werr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %v", path, unwrapPath(err))
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %v", path, unwrapLink(err))
	}
	return nil
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

func unwrapLink(err error) error {
	if le, ok := err.(*os.LinkError); ok {
		return le.Err
	}
	return err
}
