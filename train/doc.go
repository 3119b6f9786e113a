// Package train trains addergen's float IR (model.Net) on the CPU, with the
// optimisation rules of AdderNet (Chen et al., CVPR 2020, "AdderNet: Do we
// really need multiplications in deep learning?").
//
// Every op of the IR has a forward and a backward pass: adder2d, conv2d,
// batchnorm2d (training mode: batch statistics; running statistics updated
// with momentum 0.1 and the unbiased batch variance, as PyTorch), relu,
// maxpool2d, avgpool2d, linear, flatten and add, followed by a softmax
// cross-entropy loss averaged over the batch.
//
// The adder2d layer Y = −Σ|X − F| uses the paper's backward, not its exact
// derivative:
//
//	∂Y/∂F = X − F          (full-precision gradient, eq. 5)
//	∂Y/∂X = HT(F − X)      (HardTanh: clipped to [−1, 1], eq. 6)
//
// and each adder layer's filter gradient is rescaled before the optimiser
// sees it (adaptive learning rate, eq. 12–13, as in the official code):
//
//	ΔL(F_l) ← η·√k / ‖ΔL(F_l)‖₂ · ΔL(F_l),   k = numel(F_l), η = 0.2 by default.
//
// [Rules] switches each of these off for ablations: Grad = GradSign uses
// sgn(X − F) (signSGD) for the filters, NoHardTanh uses F − X unclipped for
// the inputs, NoAdaptiveLR leaves the filter gradient as it is.
//
// The optimiser is PyTorch's SGD (momentum, weight decay added to the
// gradient after the adaptive scaling, no dampening, no Nesterov); [Fit]
// runs epochs with a per-step cosine learning-rate schedule.
//
// [InitNet] initialises a net as PyTorch would, except adder2d filters,
// which are drawn from N(0, 1) as in the official adder.py: with filters
// near zero, −Σ|X − F| is almost the same for every output channel and the
// adder layers learn slowly.
//
// The conv2d and adder2d kernels work on im2col tiles of 128 columns held
// in per-worker buffers; nothing is allocated per sample or per tile.
//
// A batch is cut into chunks of a fixed number of samples; chunks are
// spread over the worker goroutines, and each chunk accumulates its own
// parameter gradients, which are summed in chunk order. Batch-norm
// statistics are reduced one channel per goroutine in sample order. The
// result therefore depends on the seed and the options only, not on the
// number of cores or on scheduling.
package train
