// Package templates holds the Verilog text/templates that addergen renders.
//
// Templates only print: every width, name, shape and constant is computed in
// Go (package rtl and package testbench) and passed in as typed view-model
// structs. Templates are executed with missingkey=error.
package templates

import "embed"

// FS holds every template: *.v.tmpl (Verilog), component.xml.tmpl
// (IP-XACT) and fusesoc.core.tmpl (FuseSoC).
//
//go:embed *.tmpl
var FS embed.FS

// Prims holds the hand-written primitives (prim/*.v): small, general
// modules such as the stream skid buffer and FIFO, which generated designs
// instantiate and wire.
//
//go:embed prim/*.v
var Prims embed.FS

// Primitive returns the source of the named primitive module (file
// prim/NAME.v). It panics on an unknown name: callers name primitives that
// ship with the binary.
func Primitive(name string) []byte {
	b, err := Prims.ReadFile("prim/" + name + ".v")
	if err != nil {
		panic("templates: unknown primitive " + name)
	}
	return b
}
