package rtl

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"text/template"

	"github.com/addergen/addergen/templates"
)

// Generator is the version string stamped into generated files.
const Generator = "addergen rtl v1"

var tmpl = template.Must(template.New("addergen").
	Option("missingkey=error").
	Funcs(template.FuncMap{"xml": xmlText}).
	ParseFS(templates.FS, "*.tmpl"))

// xmlText escapes s for XML character data and attribute values.
func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Render executes the named template (a file in templates/) with data.
// It is exported so that package testbench renders its benches from the
// same template set.
func Render(name string, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, fmt.Errorf("rtl: render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}
