package fixedpoint_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/addergen/addergen/fixedpoint"
)

func TestRoundingString(t *testing.T) {
	for _, c := range []struct {
		r    fixedpoint.Rounding
		want string
	}{
		{fixedpoint.HalfEven, "half-even"},
		{fixedpoint.HalfUp, "half-up"},
		{fixedpoint.Floor, "floor"},
		{fixedpoint.TowardZero, "toward-zero"},
		{fixedpoint.Rounding(4), "Rounding(4)"},
		{fixedpoint.Rounding(-1), "Rounding(-1)"},
	} {
		if got := c.r.String(); got != c.want {
			t.Errorf("Rounding(%d).String() = %q, want %q", int(c.r), got, c.want)
		}
	}
	if fixedpoint.Rounding(0) != fixedpoint.HalfEven {
		t.Error("zero Rounding is not HalfEven")
	}
}

func TestParseRounding(t *testing.T) {
	for _, r := range roundings {
		got, err := fixedpoint.ParseRounding(r.String())
		if err != nil || got != r {
			t.Errorf("ParseRounding(%q) = %v, %v; want %v, nil", r.String(), got, err, r)
		}
	}
	for _, s := range []string{"", "Half-Even", "half_even", "halfeven", " floor", "floor ", "round", "Rounding(0)", "ceil"} {
		_, err := fixedpoint.ParseRounding(s)
		if err == nil {
			t.Errorf("ParseRounding(%q): no error", s)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "fixedpoint: ") || !strings.Contains(msg, "\""+s+"\"") {
			t.Errorf("ParseRounding(%q) error %q does not name the bad value", s, msg)
		}
	}
}

func TestOverflowString(t *testing.T) {
	for _, c := range []struct {
		o    fixedpoint.Overflow
		want string
	}{
		{fixedpoint.Saturate, "saturate"},
		{fixedpoint.Wrap, "wrap"},
		{fixedpoint.Overflow(2), "Overflow(2)"},
		{fixedpoint.Overflow(-3), "Overflow(-3)"},
	} {
		if got := c.o.String(); got != c.want {
			t.Errorf("Overflow(%d).String() = %q, want %q", int(c.o), got, c.want)
		}
	}
	if fixedpoint.Overflow(0) != fixedpoint.Saturate {
		t.Error("zero Overflow is not Saturate")
	}
}

func TestParseOverflow(t *testing.T) {
	for _, o := range overflows {
		got, err := fixedpoint.ParseOverflow(o.String())
		if err != nil || got != o {
			t.Errorf("ParseOverflow(%q) = %v, %v; want %v, nil", o.String(), got, err, o)
		}
	}
	for _, s := range []string{"", "Saturate", "sat", "wrap-around", "clamp"} {
		_, err := fixedpoint.ParseOverflow(s)
		if err == nil {
			t.Errorf("ParseOverflow(%q): no error", s)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "fixedpoint: ") || !strings.Contains(msg, "\""+s+"\"") {
			t.Errorf("ParseOverflow(%q) error %q does not name the bad value", s, msg)
		}
	}
}

func TestModeJSON(t *testing.T) {
	type cfg struct {
		R fixedpoint.Rounding
		O fixedpoint.Overflow
	}
	in := cfg{fixedpoint.TowardZero, fixedpoint.Wrap}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"R":"toward-zero","O":"wrap"}`; got != want {
		t.Errorf("json = %s, want %s", got, want)
	}
	var out cfg
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Errorf("round trip = %+v, %v; want %+v", out, err, in)
	}
	if err := json.Unmarshal([]byte(`{"R":"nearest"}`), &out); err == nil {
		t.Error("unmarshal of unknown rounding: no error")
	}
	if err := json.Unmarshal([]byte(`{"O":"clip"}`), &out); err == nil {
		t.Error("unmarshal of unknown overflow: no error")
	}
	if _, err := json.Marshal(cfg{R: 9}); err == nil {
		t.Error("marshal of invalid rounding: no error")
	}
	if _, err := json.Marshal(cfg{O: 9}); err == nil {
		t.Error("marshal of invalid overflow: no error")
	}
}

func TestInvalidModesPanic(t *testing.T) {
	f := fixedpoint.Format{Width: 8, Frac: 0, Signed: true}
	mustPanic(t, "invalid rounding mode Rounding(4)", func() { fixedpoint.RoundShiftRight(5, 1, 4) })
	mustPanic(t, "invalid rounding mode Rounding(-1)", func() { fixedpoint.RoundShiftRight(5, 0, -1) })
	mustPanic(t, "invalid rounding mode", func() { f.FromFloat(1, 7, fixedpoint.Saturate) })
	mustPanic(t, "invalid overflow mode Overflow(2)", func() { f.FromFloat(1, fixedpoint.HalfUp, 2) })
	mustPanic(t, "invalid overflow mode", func() { f.Fit(1, -1) })
	mustPanic(t, "invalid rounding mode", func() { fixedpoint.Rescale(1, 1, 0, 1, 5) })
	mustPanic(t, "invalid rounding mode", func() { fixedpoint.Interval{0, 1}.Shr(1, 5) })
	mustPanic(t, "invalid rounding mode", func() { f.Convert(1, f, 5, fixedpoint.Wrap) })
}
