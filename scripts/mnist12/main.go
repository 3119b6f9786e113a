// Command mnist12 writes MNIST shrunk to 12×12 pixels as a folder of IDX
// files (the names of GoMNIST's data/ folder), which every --data flag
// reads; the shipped small model small12-adder-mnist was trained on it:
//
//	go run ./scripts/mnist12 OUTDIR
//
// The images are the GoMNIST module's, resized by area averaging
// (dataset.ResizeArea) and rounded back to 8-bit pixels.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/addergen/addergen/dataset"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/mnist12 OUTDIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "mnist12:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	src, err := dataset.MNISTDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, sp := range []struct{ split, prefix string }{{dataset.SplitTrain, "train"}, {dataset.SplitTest, "t10k"}} {
		s, err := dataset.Load(src, "", sp.split)
		if err != nil {
			return err
		}
		r, err := dataset.ResizeSet(s, 12, 12, true)
		if err != nil {
			return err
		}
		if err := write(filepath.Join(out, sp.prefix+"-images-idx3-ubyte"), func(f *os.File) error { return dataset.WriteIDXImages(f, r.X) }); err != nil {
			return err
		}
		if err := write(filepath.Join(out, sp.prefix+"-labels-idx1-ubyte"), func(f *os.File) error { return dataset.WriteIDXLabels(f, r.Labels) }); err != nil {
			return err
		}
	}
	return nil
}

func write(path string, fill func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
