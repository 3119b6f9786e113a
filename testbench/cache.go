package testbench

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// VerilatorCacheEnv names the environment variable that sets the
// directory of cached Verilator models; "off" turns the cache off.
const VerilatorCacheEnv = "ADDERGEN_VERILATOR_CACHE"

// MaxCachedModels bounds the models kept in the cache: storing one more
// removes the least recently used.
const MaxCachedModels = 32

// VerilatorCacheDir returns the directory where Run keeps compiled
// Verilator models for reuse: $ADDERGEN_VERILATOR_CACHE when set, else
// addergen/verilator under os.UserCacheDir (~/.cache on Linux). It returns
// "" (no cache) when the variable is "off" or there is no user cache
// directory.
func VerilatorCacheDir() string {
	if d, ok := os.LookupEnv(VerilatorCacheEnv); ok {
		if d == "off" {
			return ""
		}
		return d
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(base, "addergen", "verilator")
}

var (
	verilatorVersionOnce sync.Once
	verilatorVersion     string
	verilatorVersionErr  error
)

// modelKey returns the cache key of the Verilator model Run builds for o
// in dir: the SHA-256 (hex) of the Verilator version (with the path of the
// executable), the build flags, the top module and every source's name
// and contents, in order. Files the bench reads at run time ($readmemh
// ROMs, the input stream) and the run's plusargs are not part of the
// model and so not of the key.
func modelKey(dir string, o RunOptions) (string, error) {
	verilatorVersionOnce.Do(func() {
		p, err := exec.LookPath("verilator")
		if err != nil {
			verilatorVersionErr = err
			return
		}
		out, err := exec.Command(p, "--version").Output()
		verilatorVersion, verilatorVersionErr = p+" "+strings.TrimSpace(string(out)), err
	})
	if verilatorVersionErr != nil {
		return "", verilatorVersionErr
	}
	h := sha256.New()
	fmt.Fprintf(h, "addergen verilator model v1\n%s\n%q\n%s\n%d\n", verilatorVersion, VerilatorFlags(o), o.Top, len(o.Sources))
	for _, src := range o.Sources {
		path := src
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, src)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\n%d\n", src, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// storeModel copies the built model bin into cache/key/vsim: into a
// temporary directory beside it, renamed into place, so a reader never
// sees half a model (when another process stored the same key first, its
// copy stays). Then it prunes the cache to MaxCachedModels. The cache is
// an optimisation: failures leave it unchanged and are not reported.
func storeModel(cache, key, bin string) {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return
	}
	tmp, err := os.MkdirTemp(cache, ".tmp-"+key[:12]+"-")
	if err != nil {
		return
	}
	defer os.RemoveAll(tmp) // a no-op after a successful rename
	if err := copyExecutable(bin, filepath.Join(tmp, "vsim")); err != nil {
		return
	}
	if err := os.Rename(tmp, filepath.Join(cache, key)); err != nil {
		return
	}
	pruneCache(cache, MaxCachedModels)
}

func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// pruneCache removes the least recently used models beyond keep (a
// model's directory time is its last use) and temporary directories of
// stores older than a day.
func pruneCache(cache string, keep int) {
	ents, err := os.ReadDir(cache)
	if err != nil {
		return
	}
	type model struct {
		path string
		used int64
	}
	var ms []model
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		if strings.HasPrefix(e.Name(), ".tmp-") {
			// A store that never finished (its process died): after a
			// day no store is still writing it.
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > 24*time.Hour {
				os.RemoveAll(filepath.Join(cache, e.Name()))
			}
			continue
		}
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if info, err := e.Info(); err == nil {
			ms = append(ms, model{filepath.Join(cache, e.Name()), info.ModTime().UnixNano()})
		}
	}
	if len(ms) <= keep {
		return
	}
	sort.Slice(ms, func(a, b int) bool { return ms[a].used > ms[b].used })
	for _, m := range ms[keep:] {
		os.RemoveAll(m.path)
	}
}
