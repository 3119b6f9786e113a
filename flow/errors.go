package flow

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// OneLine returns err with its message on one line: line breaks and runs
// of white space folded into single spaces (err itself when it has no
// line break).
func OneLine(err error) error {
	msg := err.Error()
	if !strings.ContainsAny(msg, "\r\n") {
		return err
	}
	return errors.New(strings.Join(strings.Fields(msg), " "))
}

// DirError is an error about a folder (a design to read, a work folder
// to make): Error is "DIR: reason".
type DirError struct {
	Dir string
	Err error
}

func (e *DirError) Error() string { return e.Dir + ": " + e.Err.Error() }
func (e *DirError) Unwrap() error { return e.Err }

func dirErrf(dir, format string, args ...any) error {
	return &DirError{Dir: dir, Err: fmt.Errorf(format, args...)}
}

// unwrapPathErr drops the *os.PathError wrapper and prints its path and
// cause: "PATH: CAUSE".
func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}
