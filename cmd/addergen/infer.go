package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/flow"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
)

type inferOpts struct {
	g          *globalOpts
	model      string
	weights    string
	weightsKey string
	input      string
	output     string
	limit      int
	preprocess bool
	json       bool
}

func newInferCmd(g *globalOpts) *cobra.Command {
	o := &inferOpts{g: g}
	cmd := &cobra.Command{
		Use:   "infer --model M [--weights FILE] --input X.npy --output Y.npy [--preprocess] [--json]",
		Short: "Run a float or quantized model on a batch of inputs and write its logits",
		Long: `Run the float reference model, or a quantized model (a file addergen quantize
wrote) in the bit-exact simulator, on the samples of X.npy and write the
outputs, float64 [N, classes], to Y.npy (written to a temporary file and
renamed; a quantized model's logits are its output codes times their scale).

--model is a built-in architecture (` + strings.Join(model.BuiltinSpecs(), ", ") + `) or a spec JSON
file; --weights is a PyTorch checkpoint (.pth/.pt, zip or legacy format),
.safetensors or .npz whose keys are the spec's state_dict keys.

X.npy holds network-ready inputs [N, C, H, W]; [N, H, W, C] is accepted when
unambiguous, and [N, H, W] for one-channel models. With --preprocess, X holds
raw pixels (0..255) and the spec's preprocessing (scale, mean, std) is applied
first.

--input may also be MNIST IDX data (a file, a folder, or mnist for the
GoMNIST module's test split; pixels scaled to p/255) or CIFAR-10 binary data
(a .bin file, or a folder: its test_batch.bin; raw pixels 0..255, so give
--preprocess). When the data has labels (IDX labels, CIFAR-10 records, or
X.labels.npy beside X.npy) the top-1 accuracy is printed too.`,
		Example: `  # ResNet-20 AdderNet on CIFAR-shaped inputs with the official checkpoint
  addergen infer --model resnet20-adder --weights ResNet20-AdderNet.pth --input x.npy --output logits.npy

  # LeNet-5 on raw MNIST pixels, summary as JSON
  addergen infer --model lenet5-adder --weights lenet.safetensors --input mnist.npy --preprocess --output y.npy --json

  # the built-in trained LeNet-5 on the first 1000 MNIST test images
  addergen infer --model lenet5-adder-mnist --input mnist --limit 1000 --output y.npy

  # a custom architecture
  addergen infer --model my-net.json --weights my-net.npz --input x.npy --output y.npy`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.OutOrStdout(), cmd.ErrOrStderr()) },
	}
	fl := cmd.Flags()
	fl.StringVar(&o.model, "model", "", "built-in model name, spec JSON file, or quantized model (.json from addergen quantize)")
	fl.StringVar(&o.weights, "weights", "", "weights file (.pth, .pt, .safetensors, .npz)")
	fl.StringVar(&o.weightsKey, "weights-key", "", "entry of a checkpoint dict that holds the state_dict (net, model, state_dict, ...), when the checkpoint holds several")
	fl.StringVar(&o.input, "input", "", "input samples: .npy, MNIST IDX file, CIFAR-10 .bin file, a folder of them (test split), or mnist (the GoMNIST module's test split)")
	fl.IntVar(&o.limit, "limit", 0, "use only the first N samples (0: all)")
	fl.StringVar(&o.output, "output", "", "output logits (.npy, float64 [N, classes])")
	fl.BoolVar(&o.preprocess, "preprocess", false, "apply the model's preprocessing to raw pixel inputs")
	fl.BoolVar(&o.json, "json", false, "print a summary as one JSON object")
	for _, f := range []string{"model", "input", "output"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

// inferReport is the JSON printed by infer --json.
type inferReport struct {
	Model       string `json:"model"`
	Weights     string `json:"weights"`
	Input       string `json:"input"`
	Output      string `json:"output"`
	Samples     int    `json:"samples"`
	Classes     int    `json:"classes"`
	Predictions []int  `json:"predictions"`
	// Top1 is the top-1 accuracy in percent when the input has labels.
	Top1 *float64 `json:"top1,omitempty"`
}

func (o *inferOpts) run(stdout, stderr io.Writer) error {
	if o.weightsKey != "" && o.weights == "" {
		return usagef("--weights-key %s needs --weights", o.weightsKey)
	}
	r, err := model.ResolveWith(o.model, o.weights, model.LoadOptions{WeightsKey: o.weightsKey})
	if err != nil {
		if errors.Is(err, model.ErrNoWeights) {
			return usagef("--weights is required with --model %s", o.model)
		}
		return usageError{oneLineErr(err)}
	}
	if o.limit < 0 {
		return usagef("--limit %d invalid: must be >= 0", o.limit)
	}
	var pre *model.Preprocess
	raw := false // the model reads raw pixels (preprocessing folded)
	if n, ok := r.(*model.Net); ok {
		pre, raw = n.Spec.Preprocess, n.Folded != nil
	} else if qr, ok := r.(interface{ Model() *quant.Model }); ok {
		pre, raw = qr.Model().Preprocess, qr.Model().PreprocessFolded != nil
	}
	set, err := dataArg{flag: "--input", path: o.input, split: dataset.SplitTest, limit: o.limit,
		preprocess: o.preprocess, pre: pre, model: o.model, raw: raw}.load(r.InputShape(), stderr)
	if err != nil {
		return err
	}
	x := set.X
	y, err := r.Forward(x)
	if err != nil {
		return fmt.Errorf("infer: %v", oneLineErr(err))
	}
	n := y.Shape[0]
	classes := 1
	for _, d := range y.Shape[1:] {
		classes *= d
	}
	y.Shape = []int{n, classes}
	if err := checkLabels("--input", set, classes); err != nil {
		return err
	}
	if err := dataset.WriteNPY(o.output, y); err != nil {
		return usagef("--output: %v", oneLineErr(err))
	}
	preds := argmaxRows(y)
	var top1 *float64
	if set.Labels != nil {
		hit := 0
		for i, p := range preds {
			if p == set.Labels[i] {
				hit++
			}
		}
		acc := 100 * float64(hit) / float64(n)
		top1 = &acc
	}
	if o.json {
		return json.NewEncoder(stdout).Encode(inferReport{
			Model: o.model, Weights: o.weights, Input: o.input, Output: o.output,
			Samples: n, Classes: classes, Predictions: preds, Top1: top1,
		})
	}
	if !o.g.quiet {
		fmt.Fprintf(stdout, "wrote %s: %d×%d logits of %s\n", o.output, n, classes, o.model)
		if top1 != nil {
			fmt.Fprintf(stdout, "top-1: %.2f%% (%d labelled samples)\n", *top1, n)
		}
	}
	if o.g.verbose {
		for i, p := range preds[:min(len(preds), 10)] {
			fmt.Fprintf(stdout, "sample %d: class %d\n", i, p)
		}
	}
	return nil
}

// toNCHW adapts a batch to [N, C, H, W] for a model input [C, H, W]. It
// accepts [N, C, H, W]; [N, H, W, C] when that differs from [N, C, H, W];
// [N, H, W] when C is 1; and a single sample [C, H, W]. The note says
// what was converted.
//
// When C = H = W (> 1), a [N, C, H, W] batch fits as NCHW and as NHWC and
// its layout cannot be told from its shape: it is taken as NCHW (the
// documented layout) and a warning naming what (the flag and file) is
// printed on warn.
func toNCHW(x dataset.Tensor, want []int, warn io.Writer, what string) (dataset.Tensor, string, error) {
	c, h, w := want[0], want[1], want[2]
	s := x.Shape
	var note string
	switch {
	case len(s) == 4 && slices.Equal(s[1:], want):
		if c == h && h == w && c > 1 && warn != nil {
			fmt.Fprintf(warn, "addergen: warning: %s: shape %v fits the model input [C H W] = %v both as NCHW and as NHWC (C = H = W); taken as NCHW, the documented layout\n", what, s, want)
		}
	case len(s) == 4 && slices.Equal(s[1:], []int{h, w, c}):
		n := s[0]
		out := make([]float64, len(x.Data))
		for i := range n {
			for y := range h {
				for xx := range w {
					for ch := range c {
						out[((i*c+ch)*h+y)*w+xx] = x.Data[((i*h+y)*w+xx)*c+ch]
					}
				}
			}
		}
		x, note = dataset.Tensor{Shape: []int{n, c, h, w}, Data: out}, "input is [N H W C]; transposed to [N C H W]"
	case len(s) == 3 && c == 1 && slices.Equal(s[1:], []int{h, w}):
		x, note = dataset.Tensor{Shape: []int{s[0], 1, h, w}, Data: x.Data}, "input is [N H W]; read as one channel"
	case len(s) == 3 && slices.Equal(s, want):
		x, note = dataset.Tensor{Shape: []int{1, c, h, w}, Data: x.Data}, "input is a single sample"
	default:
		return x, "", fmt.Errorf("shape %v does not fit the model input [N %d %d %d] (or [N %d %d %d])", s, c, h, w, h, w, c)
	}
	if x.Shape[0] == 0 {
		return x, "", errors.New("no samples")
	}
	return x, note, nil
}

func argmaxRows(y dataset.Tensor) []int {
	n, c := y.Shape[0], y.Shape[1]
	preds := make([]int, n)
	for i := range n {
		row := y.Data[i*c : (i+1)*c]
		for j, v := range row {
			if v > row[preds[i]] {
				preds[i] = j
			}
		}
	}
	return preds
}

// oneLineErr flattens an error message onto one line.
func oneLineErr(err error) error { return flow.OneLine(err) }
