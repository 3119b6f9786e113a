package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio"
)

// idxImages builds an IDX idx3 ubyte images file of n images rows×cols
// whose pixel k (flat) is byte(k*7+3).
func idxImages(n, rows, cols int) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, []uint32{0x803, uint32(n), uint32(rows), uint32(cols)})
	for k := range n * rows * cols {
		b.WriteByte(byte(k*7 + 3))
	}
	return b.Bytes()
}

func idxLabels(labels ...byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, []uint32{0x801, uint32(len(labels))})
	b.Write(labels)
	return b.Bytes()
}

func gz(t testing.TB, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// npyBytes encodes v with npyio (the reference writer).
func npyBytes(t testing.TB, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := npyio.Write(&b, v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeNPYValue(t testing.TB, dir, name string, v any) string {
	t.Helper()
	return writeFile(t, dir, name, npyBytes(t, v))
}

// wantErr checks that err is a single-line error containing every part.
func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want one containing %q", parts)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans several lines: %q", msg)
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("error %q does not contain %q", msg, p)
		}
	}
}
