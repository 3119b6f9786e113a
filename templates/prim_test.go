package templates

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/addergen/addergen/internal/testutil"
)

// TestPrimitivesLint lints every hand-written primitive: Verilator -Wall,
// Icarus -g2005, and yosys synth with check -assert (no latches).
func TestPrimitivesLint(t *testing.T) {
	testutil.RequireTools(t, "verilator", "iverilog", "yosys")
	names, err := fs.Glob(Prims, "prim/*.v")
	if err != nil || len(names) == 0 {
		t.Fatalf("no primitives: %v", err)
	}
	dir := t.TempDir()
	for _, n := range names {
		top := strings.TrimSuffix(filepath.Base(n), ".v")
		src := Primitive(top)
		if !strings.Contains(string(src), "Latency and handshake") || !strings.Contains(string(src), "`default_nettype none") {
			t.Errorf("%s lacks its header or `default_nettype none", n)
		}
		path := filepath.Join(dir, top+".v")
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, argv := range [][]string{
			{"verilator", "--lint-only", "-Wall", path},
			{"iverilog", "-g2005", "-o", os.DevNull, path},
			{"yosys", "-q", "-p", fmt.Sprintf("read_verilog %s; synth -top %s; check -assert", path, top)},
		} {
			out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
			if err != nil || strings.Contains(string(out), "%Warning") {
				t.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out)
			}
		}
	}
}

func TestPrimitiveUnknownPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Primitive of an unknown name did not panic")
		}
	}()
	Primitive("no_such_module")
}
