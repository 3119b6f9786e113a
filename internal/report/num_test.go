package report

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
)

func TestNumJSON(t *testing.T) {
	type rec struct {
		A, B, C, D Num
		E          Num `json:"e,omitempty"`
	}
	r := rec{A: 1.5, B: Num(math.Inf(1)), C: Num(math.Inf(-1)), D: Unmeasured()}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"A":1.5,"B":null,"C":null,"D":null}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	var back rec
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.A != 1.5 || back.B.Finite() || back.D.Finite() {
		t.Errorf("round trip: %+v", back)
	}
	if err := json.Unmarshal([]byte(`{"A":"x"}`), &back); err == nil {
		t.Error("a string was accepted as a Num")
	}
}

func TestNumFormat(t *testing.T) {
	for _, c := range []struct {
		format string
		n      Num
		want   string
	}{
		{"%.1f", 12.345, "12.3"},
		{"%6.1f|", 12.345, "  12.3|"},
		{"%.1f", Num(math.Inf(1)), "+Inf"},
		{"%6.1f|", Num(math.Inf(-1)), "  −Inf|"},
		{"%-6.1f|", Unmeasured(), "—     |"},
		{"%v", 0.25, "0.25"},
		{"%v", Unmeasured(), "—"},
		{"%s", Num(math.Inf(-1)), "−Inf"},
		{"%s", 2.5, "2.5"},
	} {
		if got := fmt.Sprintf(c.format, c.n); got != c.want {
			t.Errorf("Sprintf(%q, %v) = %q, want %q", c.format, float64(c.n), got, c.want)
		}
	}
	if got := Text(Num(math.Inf(-1)), 1, "float output is all zero"); got != "−Inf (float output is all zero)" {
		t.Errorf("Text: %q", got)
	}
	if got := Text(3, 2, "ignored"); got != "3.00" {
		t.Errorf("Text: %q", got)
	}
	if got := CSV(Unmeasured(), 2); got != "" {
		t.Errorf("CSV of NaN: %q", got)
	}
}

func TestRatio(t *testing.T) {
	if r := Ratio(3, 0); r.Finite() {
		t.Errorf("3/0 = %v, want not measured", float64(r))
	}
	if r := Ratio(math.Inf(1), 2); r.Finite() {
		t.Errorf("Inf/2 = %v, want not measured", float64(r))
	}
	if r := Ratio(3, 2); r != 1.5 {
		t.Errorf("3/2 = %v", r)
	}
}
