package main

import "github.com/addergen/addergen/dataset"

// shapeLen is the number of values in a per-sample shape: the class count
// of a model's output.
func shapeLen(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// checkLabels refuses labels outside [0, classes), naming flag, the labels
// file, the first bad index and its value.
func checkLabels(flag string, set *dataset.Set, classes int) error {
	if err := set.CheckClasses(classes); err != nil {
		return usagef("%s: %v", flag, err)
	}
	return nil
}
