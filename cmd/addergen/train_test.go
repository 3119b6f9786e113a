package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/addergen/addergen/model"
)

func execTrain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Execute(append([]string{"train"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// small is a quick run: 192 training images, 100 test images.
var small = []string{"--arch", "lenet5-adder", "--limit", "192", "--test-limit", "100", "--batch", "64"}

func flatWeights(t *testing.T, dir string) []float64 {
	t.Helper()
	n, err := model.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var all []float64
	for _, p := range n.Params() {
		all = append(all, p.Value.Data...)
	}
	return all
}

func TestTrainOutputFolder(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m")
	code, stdout, stderr := execTrain(t, append(slices.Clone(small), "--epochs", "2", "--out", out, "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep trainReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	if rep.EpochsDone != 2 || len(rep.Log) != 2 || rep.TrainImages != 192 || rep.TestImages != 100 ||
		rep.TestAcc < 0 || rep.TestAcc > 1 || len(rep.Files) != 5 {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(stderr, "epoch 2/2: train loss") {
		t.Errorf("no epoch log on stderr:\n%s", stderr)
	}
	for _, f := range []string{model.DirSpecFile, model.DirWeightsFile, trainCheckpointFile, trainLogFile, trainSummaryFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// One JSON object per epoch.
	f, err := os.Open(filepath.Join(out, trainLogFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := 0
	for sc := bufio.NewScanner(f); sc.Scan(); lines++ {
		var e struct {
			Epoch   int
			TestAcc *float64 `json:"test_acc"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Epoch != lines+1 || e.TestAcc == nil {
			t.Errorf("log line %d: %v %+v", lines+1, err, e)
		}
	}
	if lines != 2 {
		t.Errorf("%d log lines", lines)
	}
	// The folder is a model: --model DIR resolves it, with PyTorch keys.
	r, err := model.Resolve(out, "")
	if err != nil {
		t.Fatal(err)
	}
	n := r.(*model.Net)
	if n.Spec.Name != "lenet5-adder" || n.Layer("conv2").W.Key != "conv2.adder" {
		t.Errorf("resolved %s", n.Spec.Name)
	}
	if _, err := model.Resolve(out, "x.pth"); err == nil {
		t.Error("a model folder with a weights file resolved")
	}
}

// TestTrainResume checks that an interrupted run resumed with --resume
// ends with the same weights as an uninterrupted one.
func TestTrainResume(t *testing.T) {
	tmp := t.TempDir()
	a, b := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	if code, _, stderr := execTrain(t, append(slices.Clone(small), "--epochs", "2", "--out", a, "-q", "--dtype", "f64")...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if code, _, stderr := execTrain(t, append(slices.Clone(small), "--epochs", "2", "--stop-after", "1", "--out", b, "-q", "--dtype", "f64")...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// A different learning rate is refused.
	if code, _, stderr := execTrain(t, append(slices.Clone(small), "--epochs", "2", "--out", b, "--resume", "--lr", "0.3")...); code != exitUsage || !strings.Contains(stderr, "--lr") {
		t.Errorf("resume with another --lr: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := execTrain(t, append(slices.Clone(small), "--epochs", "2", "--out", b, "--resume", "--workers", "1", "--dtype", "f64", "--json")...)
	if code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "resuming after epoch 1") {
		t.Errorf("stderr: %s", stderr)
	}
	var rep trainReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || rep.EpochsDone != 2 || len(rep.Log) != 2 {
		t.Errorf("report %v %+v", err, rep)
	}
	if !slices.Equal(flatWeights(t, a), flatWeights(t, b)) {
		t.Error("resumed run's weights differ from the uninterrupted run's")
	}
	// Nothing left to do.
	if code, _, _ := execTrain(t, append(slices.Clone(small), "--epochs", "2", "--out", b, "--resume")...); code != exitUsage {
		t.Errorf("resume of a finished run: exit %d", code)
	}
}

func TestTrainUsageErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "o")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--arch", "lenet5-adder", "--out", out, "--grad", "half"}, "--grad"},
		{[]string{"--arch", "lenet5-adder", "--out", out, "--epochs", "0"}, "--epochs 0"},
		{[]string{"--arch", "lenet5-adder", "--out", out, "--batch", "1"}, "--batch 1"},
		{[]string{"--arch", "lenet5-adder", "--out", out, "--lr", "-1"}, "--lr -1"},
		{[]string{"--arch", "nonet", "--out", out}, "--arch"},
		{[]string{"--arch", "lenet5-adder", "--out", out, "--data", filepath.Join(out, "missing")}, "--data"},
		{[]string{"--arch", "lenet5-adder", "--out", out, "--resume"}, "--resume"},
		{[]string{"--arch", "lenet5-adder", "--out", out, "--dtype", "f16"}, "--dtype"},
		{[]string{"--arch", "lenet5-adder"}, "out"},
	} {
		code, _, stderr := execTrain(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q (want exit 2 mentioning %q)", c.args, code, stderr, c.want)
		}
	}
}
