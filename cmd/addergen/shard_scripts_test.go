package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/addergen/addergen/internal/testutil"
)

// fakeSbatch stands in for Slurm's sbatch: it runs the job at once (an
// array job once per task, with SLURM_ARRAY_TASK_ID set), sends the job's
// output to the --output file, and prints a job id as --parsable does. A
// failing job fails the submission, so the test sees it.
const fakeSbatch = `#!/usr/bin/env bash
set -euo pipefail
array= log=/dev/null
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--array=*) array=${1#--array=} ;;
	--output=*) log=${1#--output=}; log=${log//%A/1}; log=${log//%a/0}; log=${log//%j/2} ;;
	--parsable | --job-name=* | --dependency=*) ;;
	*) args+=("$1") ;;
	esac
	shift
done
if [ -n "$array" ]; then
	for ((i = ${array%-*}; i <= ${array#*-}; i++)); do
		SLURM_ARRAY_TASK_ID=$i bash "${args[@]}" >> "$log" 2>&1
	done
else
	bash "${args[@]}" >> "$log" 2>&1
fi
echo $((RANDOM + 10))
`

// TestShardScripts runs the README's two sharding scripts as a user does,
// with the built binary: scripts/shard-parallel.sh under GNU parallel and
// scripts/shard-slurm.sh under a stand-in sbatch (fakeSbatch), each with 3
// shards of a LeNet-5 compare. Both merged reports must equal one
// unsharded run with --out, but for the measured speeds.
func TestShardScripts(t *testing.T) {
	testutil.RequireTools(t, "bash", "parallel")
	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "addergen"), ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(bin, "sbatch"), []byte(fakeSbatch), 0o755); err != nil {
		t.Fatal(err)
	}
	scripts, err := filepath.Abs(filepath.Join("..", "..", "scripts"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	q := filepath.Join(dir, "q8.json")
	mustRun(t, "quantize", "--model", "lenet5-adder-mnist", "--calib", "mnist", "--calib-limit", "64", "--bits", "8", "--out", q, "-q")
	base := []string{"compare", "--model", "lenet5-adder-mnist", "--quantized", q, "--data", "mnist", "--limit", "45"}
	// One unsharded run, with --out as the scripts' merge writes one.
	oneJSON := mustRun(t, append(base, "--out", filepath.Join(dir, "one"), "--json")...)
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "ADDERGEN="+filepath.Join(bin, "addergen"))
	for _, c := range []struct{ name, script string }{
		{"parallel", "shard-parallel.sh"},
		{"slurm", "shard-slurm.sh"},
	} {
		out := filepath.Join(dir, c.name)
		args := append([]string{filepath.Join(scripts, c.script), "3", out, "--"}, base...)
		cmd := exec.Command("bash", args...)
		cmd.Env = env
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.script, err, b)
		}
		for i := 1; i <= 3; i++ {
			if _, err := os.Stat(filepath.Join(out, "shard-"+string(rune('0'+i))+".json")); err != nil {
				t.Errorf("%s: shard %d report: %v", c.script, i, err)
			}
		}
		one := jsonMap(t, "one run", oneJSON)
		merged := jsonMap(t, c.script+" merged.json", readFile(t, filepath.Join(out, "merged.json")))
		sameExcept(t, c.script, one, merged, "float_images_per_sec", "sim_images_per_sec")
		if c.name == "slurm" && !strings.Contains(string(b), "submitted: shards job") {
			t.Errorf("%s printed no submission line:\n%s", c.script, b)
		}
	}
}
