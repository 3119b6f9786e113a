// Package report holds the figure type every addergen report (JSON,
// Markdown, text, plots) uses for a float statistic, so that a non-finite
// value (NaN, ±Inf: an SQNR against an all-zero float output, a rate over
// no time, a figure that could not be measured) has one defined form in
// every output instead of crashing an encoder or a plotter.
package report

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Num is a float statistic in a report. It holds any float64; a
// non-finite value (NaN, +Inf, −Inf) is written to JSON as null, so
// encoding never fails. A report that can hold a non-finite Num gives the
// reason in a sibling string field (for example "sqnr_note") that names
// the layer or measurement. NaN means "not measured" ([Unmeasured]).
//
// Printed with fmt (any float verb: %v, %f, %.2f, %g), a finite Num
// prints as its float64, +Inf as "+Inf", −Inf as "−Inf" and NaN as "—"
// (with the verb's width, so tables stay aligned).
type Num float64

// Unmeasured returns the Num of a figure that could not be measured (NaN,
// written as null).
func Unmeasured() Num { return Num(math.NaN()) }

// Finite reports whether n is neither NaN nor ±Inf.
func (n Num) Finite() bool {
	f := float64(n)
	return !math.IsNaN(f) && !math.IsInf(f, 0)
}

// Value returns n as a float64 and whether it is finite.
func (n Num) Value() (float64, bool) { return float64(n), n.Finite() }

// MarshalJSON writes n as a JSON number, or null when it is not finite.
func (n Num) MarshalJSON() ([]byte, error) {
	if !n.Finite() {
		return []byte("null"), nil
	}
	return json.Marshal(float64(n))
}

// UnmarshalJSON reads a JSON number, or null as NaN (not measured).
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Unmeasured()
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("report: %s is not a number or null", b)
	}
	*n = Num(f)
	return nil
}

// symbol is the text of a non-finite Num.
func (n Num) symbol() string {
	switch f := float64(n); {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "−Inf"
	}
	return "—"
}

// Format implements fmt.Formatter: finite values print as a float64 with
// the same verb and flags; non-finite ones as "+Inf", "−Inf" or "—".
func (n Num) Format(s fmt.State, verb rune) {
	if n.Finite() {
		if verb == 's' {
			verb = 'v'
		}
		fmt.Fprintf(s, fmt.FormatString(s, verb), float64(n))
		return
	}
	sym := n.symbol()
	if w, ok := s.Width(); ok {
		pad := w - len([]rune(sym))
		for ; pad > 0 && !s.Flag('-'); pad-- {
			fmt.Fprint(s, " ")
		}
		fmt.Fprint(s, sym)
		for ; pad > 0; pad-- {
			fmt.Fprint(s, " ")
		}
		return
	}
	fmt.Fprint(s, sym)
}

// String prints n with the shortest exact float64 form, or its symbol.
func (n Num) String() string {
	if !n.Finite() {
		return n.symbol()
	}
	return strconv.FormatFloat(float64(n), 'g', -1, 64)
}

// Text prints n with prec digits after the point; a non-finite n prints
// as its symbol followed by the note in parentheses when there is one,
// e.g. "−Inf (float output is all zero)" or "— (not measured)".
func Text(n Num, prec int, note string) string {
	if n.Finite() {
		return strconv.FormatFloat(float64(n), 'f', prec, 64)
	}
	if note == "" {
		return n.symbol()
	}
	return n.symbol() + " (" + note + ")"
}

// CSV prints n for a CSV cell: prec digits after the point, or an empty
// cell when it is not finite.
func CSV(n Num, prec int) string {
	if !n.Finite() {
		return ""
	}
	return strconv.FormatFloat(float64(n), 'f', prec, 64)
}

// Ratio returns a/b, or NaN (not measured) when b is zero or either is
// not finite: a rate over no time or a share of nothing has no value.
func Ratio(a, b float64) Num {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return Unmeasured()
	}
	return Num(a / b)
}
