package flow

import (
	"strings"
	"testing"
)

// TestDemoBitstreamSkips: the demo's bitstream step records why it did
// not build (turned off, or a tool missing) instead of failing.
func TestDemoBitstreamSkips(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Setenv("PATH", t.TempDir())
		d := &demoRun{o: &DemoOptions{Bitstream: on}, p: noProgress{}}
		files := map[string][]byte{}
		if err := d.bitstream(t.Context(), files); err != nil {
			t.Fatal(err)
		}
		b := d.rep.Bitstream
		want := "--bitstream=false"
		if on {
			want = "yosys not found"
		}
		if b == nil || b.Report != nil || !strings.Contains(b.Skipped, want) || len(files) != 0 {
			t.Errorf("bitstream %v: %+v, %d files; want skipped naming %s", on, b, len(files), want)
		}
		rows := bitstreamRows(&d.rep)
		if len(rows) != 1 || !strings.Contains(rows[0][1], "skipped: ") {
			t.Errorf("rows %v", rows)
		}
	}
}
