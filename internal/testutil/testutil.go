// Package testutil holds helpers shared by addergen's tests.
package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// CI reports whether the tests run under CI (CI=true), where a missing
// external tool is a failure, never a skip.
func CI() bool { return os.Getenv("CI") == "true" }

// RequireTools fails the test under CI, and skips it elsewhere, when any of
// the named executables is not on PATH.
func RequireTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if CI() {
				t.Fatalf("%s not found on PATH; CI=true requires it (apt-get install -y %s)", tool, pkgOf(tool))
			}
			t.Skipf("%s not found on PATH (under CI=true this fails)", tool)
		}
	}
}

func pkgOf(tool string) string {
	switch tool {
	case "vvp":
		return "iverilog"
	case "icepack":
		return "fpga-icestorm"
	case "yosys-abc":
		return "yosys" // Debian's yosys package ships yosys-abc
	}
	return tool
}
