// Package model is addergen's float intermediate representation of an
// AdderNet: a DAG of named layers with float64 weights, a reference forward
// pass that matches PyTorch, and loaders for trained weights.
//
// # The IR
//
// A [Net] holds its [Layer]s in topological order; each layer names its
// inputs (the network input is called "input", see [InputName]), so
// residual connections are ordinary layers with two inputs and a
// downsample branch is just more layers. Everything later stages need is
// in exported fields: the [Op], channel counts (InC, OutC), Kernel, Stride,
// Padding, Bias, Eps, the per-sample input and output shapes, and the
// parameters as [Param]s (a dataset.Tensor plus its state_dict key) in the
// fields W, B, Mean and Var. [Layer.InputIndex] gives the input positions
// in Net.Layers, for walking the DAG forwards or backwards.
//
// The operations, on one sample of shape [C, H, W] (batch dimension
// omitted):
//
//	adder2d      Y[o,i,j] = −Σ_{c,ki,kj} |X[c, i·S−P+ki, j·S−P+kj] − W[o,c,ki,kj]| (+ B[o])
//	             with zero padding: a padded position contributes |0 − W|,
//	             as in the official adder.py, which unfolds a zero-padded X.
//	conv2d       Y[o,i,j] = Σ X[c, i·S−P+ki, j·S−P+kj] · W[o,c,ki,kj] (+ B[o])
//	batchnorm2d  Y[c] = (X[c] − mean[c]) / √(var[c] + eps) · γ[c] + β[c]   (eval mode)
//	relu         max(X, 0)
//	maxpool2d    max over K×K windows with stride S, no padding, floor mode
//	avgpool2d    mean over K×K windows with stride S, no padding, floor mode
//	linear       Y[o] = Σ_i W[o,i] · X[i] (+ B[o]) on a flat input
//	flatten      [C, H, W] → [C·H·W]
//	add          element-wise sum of two inputs of equal shape
//
// Output sizes follow PyTorch: (H + 2P − K)/S + 1, rounded down.
//
// [Net.Forward] runs a batch [N, C, H, W] and returns the last layer's
// output; [Net.ForwardAll] returns every layer's output, for per-layer
// comparisons and calibration. Images are spread over GOMAXPROCS
// goroutines, one image per goroutine at a time, so results are
// bit-identical whatever the parallelism. With the AVX2 kernels
// (GOEXPERIMENT=simd, forward_fast.go) convolutions read a padded,
// stride-phase copy of each layer's input directly; the portable build
// unfolds the input tile by tile (im2col) into a per-worker buffer. An
// adder2d layer whose input has no negative value (a ReLU's output, zero
// padding) skips, in the AVX2 build, the taps whose weight is ≤ 0, for
// which min(x, w) = w is a constant (convSkip in forward_fast.go). The
// inner loops do not allocate. Forward (not ForwardAll) fuses a
// batchnorm2d or ReLU into the layer it post-processes and reuses a few
// buffers across layers (forward_plan.go); with the AVX2 kernels a conv
// whose only reader is a stride-1 padded conv writes its output already
// padded (step.padFor). Results are bit-identical to ForwardAll's; the
// conv weight layouts are cached per net and rebuilt when the weights
// change.
//
// # Specs
//
// A [Spec] describes an architecture in JSON. [ParseSpec] decodes it
// strictly (unknown fields are errors) and checks every layer: known op,
// required fields present, fields that do not apply to the op absent,
// inputs defined earlier, channel counts and shapes consistent along the
// DAG, every output used. Errors name the source, the layer and the field.
// The format (SPEC.md in this folder has the full reference):
//
//	{
//	  "name": "lenet5-adder",
//	  "input": [1, 28, 28],
//	  "classes": 10,
//	  "preprocess": {"scale": 255},
//	  "layers": [
//	    {"name": "conv1", "op": "conv2d", "in": 1, "out": 6, "kernel": 5, "padding": 2},
//	    {"name": "bn1", "op": "batchnorm2d", "channels": 6},
//	    {"name": "relu1", "op": "relu"},
//	    {"name": "pool1", "op": "maxpool2d", "kernel": 2},
//	    {"name": "conv2", "op": "adder2d", "in": 6, "out": 16, "kernel": 5},
//	    ...
//	    {"name": "add", "op": "add", "inputs": ["bn2", "downsample.1"]},
//	    {"name": "flatten", "op": "flatten"}
//	  ]
//	}
//
// Layer fields: name, op, inputs (default: the previous layer), in and out
// (conv2d, adder2d, linear), channels and eps (batchnorm2d, eps default
// 1e-5), kernel (convolutions and pools), stride (default 1 for
// convolutions, kernel for pools), padding (convolutions), bias
// (conv2d, adder2d, linear) and keys.
//
// State_dict keys derive from the layer name by PyTorch's convention:
// conv2d and linear "<name>.weight" and "<name>.bias"; adder2d
// "<name>.adder" and "<name>.b" (the official adder.py's names);
// batchnorm2d "<name>.weight", ".bias", ".running_mean", ".running_var"
// and ".num_batches_tracked" (accepted and ignored). A layer's "keys"
// object overrides them by role, e.g. {"weight": "classifier.weight"}.
//
// Built-in specs are embedded in the binary ([BuiltinSpecs],
// [BuiltinSpec]): "resnet20-adder", exactly the official
// huawei-noah/AdderNet resnet20.py (132 state_dict entries), and
// "lenet5-adder". [LoadSpec] takes a built-in name or a JSON file.
//
// # Weights
//
// [Load] builds a net from a spec and loads a weight file, whose format is
// detected from its content ([DetectFormat]):
//
//   - PyTorch checkpoints written by torch.save, in the zip format
//     (torch ≥ 1.6) or the legacy format (pickle protocols 1 to 5). Pickles
//     are decoded with gopickle's unpickler; storages are read and
//     converted by this package, exactly (fp16 with x448/float16, bf16 as
//     the top half of a float32). The file may hold a state_dict, a dict
//     with one entry that holds a state_dict (searched a few levels down;
//     [LoadOptions].WeightsKey picks one when there are several), or a
//     whole pickled nn.Module. Storages saved on a GPU are read as CPU
//     data; strided views and storage offsets are honoured.
//   - .safetensors ([ReadSafetensors]; written by [SaveSafetensors] and
//     [WriteSafetensors] as F64, atomically). F16 and BF16 are exact.
//   - NumPy .npz archives whose array names are the keys ([ReadNPZ]),
//     float16 included.
//
// [DetectFormat] checks each format's whole structure (a safetensors
// header length may begin with bytes that look like a pickle).
// A "module." prefix on every key (nn.DataParallel) is removed.
// [Net.SetStateDict] is strict: a missing or unexpected key, a shape
// that differs from the spec, or a NaN or infinite value is an error
// naming the file and the key. Before gopickle sees a pickle, its
// opcodes are checked against the file size, and no storage is allocated
// beyond the bytes the file holds, so a corrupt file cannot make a reader
// allocate without bound; panics in the third-party decoders are turned
// into errors, and errors are one line (control characters escaped).
//
// [New] makes a net with PyTorch-like initial weights for training.
//
// # Extension
//
// [Resolve] turns a command-line model argument and weights file into a
// [Runner]. Other packages (quantized models, trained model folders)
// plug in with [RegisterResolver].
package model
