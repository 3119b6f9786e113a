// Package templates holds the Verilog text/templates that addergen renders.
//
// Templates only print: every width, name, shape and constant is computed in
// Go (package rtl and package testbench) and passed in as typed view-model
// structs. Templates are executed with missingkey=error.
package templates

import "embed"

// FS holds every *.v.tmpl file.
//
//go:embed *.v.tmpl
var FS embed.FS
