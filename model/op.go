package model

import "strings"

// Op names a layer's operation. Its values are the "op" strings of the
// spec JSON.
type Op string

// The operations of the float IR.
const (
	// OpConv2d is an ordinary convolution, Y = Σ X·F (+ bias), with zero
	// padding. Weight [OutC, InC, K, K], optional bias [OutC].
	OpConv2d Op = "conv2d"
	// OpAdder2d is the AdderNet layer, Y = −Σ|X − F| (+ bias), with zero
	// padding: padded positions contribute |0 − F|. Weight
	// [OutC, InC, K, K], optional bias [OutC] added after the sum.
	OpAdder2d Op = "adder2d"
	// OpBatchNorm2d is batch normalisation in eval mode:
	// Y = (X − mean)/√(var + eps)·γ + β per channel.
	OpBatchNorm2d Op = "batchnorm2d"
	// OpReLU is max(X, 0).
	OpReLU Op = "relu"
	// OpMaxPool2d is max pooling without padding (floor mode).
	OpMaxPool2d Op = "maxpool2d"
	// OpAvgPool2d is average pooling without padding (floor mode), as
	// nn.AvgPool2d(kernel, stride).
	OpAvgPool2d Op = "avgpool2d"
	// OpLinear is a fully connected layer on a flat input, Y = W·X (+ b).
	// Weight [OutC, InC], optional bias [OutC].
	OpLinear Op = "linear"
	// OpFlatten reshapes a sample to one dimension.
	OpFlatten Op = "flatten"
	// OpAdd adds its two inputs element-wise (a residual connection).
	OpAdd Op = "add"
)

// Ops lists every operation in a stable order.
var Ops = []Op{OpConv2d, OpAdder2d, OpBatchNorm2d, OpReLU, OpMaxPool2d, OpAvgPool2d, OpLinear, OpFlatten, OpAdd}

// Valid reports whether o is a known operation.
func (o Op) Valid() bool {
	for _, k := range Ops {
		if o == k {
			return true
		}
	}
	return false
}

// HasWeights reports whether layers of this op carry parameters.
func (o Op) HasWeights() bool {
	switch o {
	case OpConv2d, OpAdder2d, OpLinear, OpBatchNorm2d:
		return true
	}
	return false
}

// Parameter roles: the names of a layer's tensors, used as the keys of a
// layer spec's "keys" override and as the default state_dict suffixes.
const (
	RoleWeight            = "weight"
	RoleBias              = "bias"
	RoleRunningMean       = "running_mean"
	RoleRunningVar        = "running_var"
	RoleNumBatchesTracked = "num_batches_tracked"
)

// defaultKeySuffix returns the PyTorch state_dict suffix of a role, or ""
// if the op has no such role.
func defaultKeySuffix(o Op, role string) string {
	switch o {
	case OpConv2d, OpLinear:
		switch role {
		case RoleWeight:
			return "weight"
		case RoleBias:
			return "bias"
		}
	case OpAdder2d:
		// The official adder.py names its parameters "adder" and "b".
		switch role {
		case RoleWeight:
			return "adder"
		case RoleBias:
			return "b"
		}
	case OpBatchNorm2d:
		switch role {
		case RoleWeight, RoleBias, RoleRunningMean, RoleRunningVar, RoleNumBatchesTracked:
			return role
		}
	}
	return ""
}

func opList() string {
	s := make([]string, len(Ops))
	for i, o := range Ops {
		s[i] = string(o)
	}
	return strings.Join(s, ", ")
}
