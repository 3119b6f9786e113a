package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/addergen/addergen/internal/testutil"
)

// readmeCommands returns the commands of README.md's tested block (between
// the readme-test markers), one per line, exactly as written there.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- readme-test:begin -->\\s*```sh\\n(.*?)```\\s*<!-- readme-test:end -->").FindSubmatch(b)
	if m == nil {
		t.Fatal("README.md has no ```sh block between <!-- readme-test:begin --> and <!-- readme-test:end -->")
	}
	var cmds []string
	for _, l := range strings.Split(string(m[1]), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			cmds = append(cmds, l)
		}
	}
	return cmds
}

// TestREADME builds the addergen binary and runs the README's first
// session as written, in an empty folder, one command after the other:
// every command must exit 0, and what each one promises must be there
// (its output files; zero mismatches for the verifications).
func TestREADME(t *testing.T) {
	if testing.Short() && !testutil.CI() {
		t.Skip("builds the binary and runs the RTL flow (never skipped under CI=true)")
	}
	testutil.RequireTools(t, "verilator", "iverilog", "vvp", "yosys")
	cmds := readmeCommands(t)
	if len(cmds) < 5 {
		t.Fatalf("README's tested block has %d commands: %q", len(cmds), cmds)
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "addergen"), ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	work := t.TempDir()
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	for _, c := range cmds {
		if !strings.HasPrefix(c, "addergen ") {
			t.Fatalf("README command %q does not start with addergen", c)
		}
		cmd := exec.Command("sh", "-c", c)
		cmd.Dir, cmd.Env = work, env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", c, err, stdout.String(), stderr.String())
		}
		t.Logf("$ %s\n%s", c, stdout.String())
		checkREADMECommand(t, work, c, stdout.String())
	}
}

// checkREADMECommand checks what one README command promises.
func checkREADMECommand(t *testing.T, work, c, stdout string) {
	t.Helper()
	f := strings.Fields(c)
	flag := func(name string) string {
		for i := 0; i+1 < len(f); i++ {
			if f[i] == name {
				return f[i+1]
			}
		}
		return ""
	}
	exists := func(rel string) {
		t.Helper()
		if _, err := os.Stat(filepath.Join(work, rel)); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
	switch {
	case f[1] == "infer":
		exists(flag("--output"))
		if !strings.Contains(stdout, "top-1: ") {
			t.Errorf("%s: no top-1 line in %q", c, stdout)
		}
	case f[1] == "quantize":
		exists(flag("--out"))
	case f[1] == "compare":
		for _, n := range []string{"report.md", "report.json"} {
			exists(filepath.Join(flag("--out"), n))
		}
	case f[1] == "emit-verilog" && f[2] != "pe":
		for _, n := range []string{"filelist.f", "manifest.json"} {
			exists(filepath.Join(flag("--out"), n))
		}
	case f[1] == "verify":
		if !regexp.MustCompile(`[1-9][0-9]* (layer values compared|vectors), 0 mismatches`).MatchString(stdout) ||
			regexp.MustCompile(`[1-9][0-9]* mismatches`).MatchString(stdout) {
			t.Errorf("%s: want values compared with 0 mismatches, got:\n%s", c, stdout)
		}
		if dir := flag("--rtl"); dir != "" {
			b, err := os.ReadFile(filepath.Join(work, dir, "manifest.json"))
			if err != nil {
				t.Fatal(err)
			}
			var man struct {
				Predicted int `json:"predicted_cycles_per_image"`
			}
			if err := json.Unmarshal(b, &man); err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf(", %d predicted;", man.Predicted); !strings.Contains(stdout, want) {
				t.Errorf("%s: want the prediction of the emitted design (%q) in:\n%s", c, want, stdout)
			}
		}
	case f[1] == "synth":
		if !regexp.MustCompile(`(?m)^\s*LUTs\s+[1-9]`).MatchString(stdout) {
			t.Errorf("%s: no LUT count in:\n%s", c, stdout)
		}
	}
}
