package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SharedEnv names a folder that overrides the search for the shared/
// folder (the one that holds models/ResNet20-AdderNet.pth).
const SharedEnv = "ADDERGEN_SHARED"

// SharedFile returns the path of shared/REL (for example
// "models/ResNet20-AdderNet.pth"), the material that lives beside the
// repository and is never copied into it. It looks in $ADDERGEN_SHARED,
// then in shared/ of the working directory's ancestors (the repository
// sits beside shared/), then beside the repository a clone was made from
// (a clean clone's origin is a local path on the CI machine).
//
// When the file is nowhere the test is skipped with a message naming what
// was searched: the file is an input of the test, not a tool, and a clone
// placed away from shared/ cannot have it. Set ADDERGEN_REQUIRE_SHARED=1 to
// make its absence a failure.
func SharedFile(t testing.TB, rel string) string {
	t.Helper()
	p, looked := findShared(rel)
	if p != "" {
		return p
	}
	msg := "shared/" + rel + " not found (looked in " + strings.Join(looked, ", ") + "; set " + SharedEnv + " to the shared folder)"
	if os.Getenv("ADDERGEN_REQUIRE_SHARED") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func findShared(rel string) (string, []string) {
	var looked []string
	try := func(shared string) string {
		if shared == "" {
			return ""
		}
		p := filepath.Join(shared, filepath.FromSlash(rel))
		looked = append(looked, p)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
		return ""
	}
	if p := try(os.Getenv(SharedEnv)); p != "" {
		return p, looked
	}
	// shared/ in dir or any of its ancestors.
	upwards := func(dir string) string {
		for {
			if p := try(filepath.Join(dir, "shared")); p != "" {
				return p
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return ""
			}
			dir = parent
		}
	}
	if dir, err := os.Getwd(); err == nil {
		if p := upwards(dir); p != "" {
			return p, looked
		}
	}
	// A clone of a local repository: look beside the origin.
	if out, err := exec.Command("git", "config", "--get", "remote.origin.url").Output(); err == nil {
		u := strings.TrimPrefix(strings.TrimSpace(string(out)), "file://")
		if filepath.IsAbs(u) {
			if p := upwards(filepath.Dir(filepath.Clean(u))); p != "" {
				return p, looked
			}
		}
	}
	return "", looked
}
