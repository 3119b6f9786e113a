package synth

import (
	"bytes"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
)

var genNets = flag.Bool("gen-nets", false, "rewrite the quantized networks in testdata/nets (the models the network measurements were taken on)")

// netSpecs are the small networks of the network-estimate measurements
// (testdata/net_measurements.json): adder, conv, pool and BN engines at
// a few sizes, small enough for yosys in seconds.
var netSpecs = map[string]string{
	// One adder layer (2->3 channels, 3x3) on a 2x6x6 input, BN, ReLU and a
	// global average pool: nettest.TinySpec.
	"tiny": `{"name": "tiny", "input": [2, 6, 6], "layers": [
	{"name": "a1", "op": "adder2d", "in": 2, "out": 3, "kernel": 3},
	{"name": "bn1", "op": "batchnorm2d", "channels": 3},
	{"name": "r1", "op": "relu"},
	{"name": "p1", "op": "avgpool2d", "kernel": 4},
	{"name": "f", "op": "flatten"}]}`,
	// A LeNet in miniature: conv, maxpool, two adder layers, a 1x1 conv
	// classifier.
	"minilenet": `{"name": "minilenet", "input": [1, 8, 8], "layers": [
	{"name": "c1", "op": "conv2d", "in": 1, "out": 4, "kernel": 3, "padding": 1},
	{"name": "bn1", "op": "batchnorm2d", "channels": 4},
	{"name": "r1", "op": "relu"},
	{"name": "p1", "op": "maxpool2d", "kernel": 2},
	{"name": "a2", "op": "adder2d", "in": 4, "out": 8, "kernel": 3},
	{"name": "bn2", "op": "batchnorm2d", "channels": 8},
	{"name": "r2", "op": "relu"},
	{"name": "a3", "op": "adder2d", "in": 8, "out": 12, "kernel": 2},
	{"name": "bn3", "op": "batchnorm2d", "channels": 12},
	{"name": "r3", "op": "relu"},
	{"name": "c4", "op": "conv2d", "in": 12, "out": 5, "kernel": 1},
	{"name": "bn4", "op": "batchnorm2d", "channels": 5},
	{"name": "f", "op": "flatten"}]}`,
	// Wider adder layers: 8->16 channels 3x3 on 8x6x6, a maxpool, and a
	// 16->10 adder classifier over the whole 2x2 map.
	"wide": `{"name": "wide", "input": [8, 6, 6], "layers": [
	{"name": "a1", "op": "adder2d", "in": 8, "out": 16, "kernel": 3},
	{"name": "bn1", "op": "batchnorm2d", "channels": 16},
	{"name": "r1", "op": "relu"},
	{"name": "p1", "op": "maxpool2d", "kernel": 2},
	{"name": "a2", "op": "adder2d", "in": 16, "out": 10, "kernel": 2},
	{"name": "bn2", "op": "batchnorm2d", "channels": 10},
	{"name": "f", "op": "flatten"}]}`,
	// A bigger map with a 5x5 kernel and padding: larger frame buffers and
	// ROMs.
	"map12": `{"name": "map12", "input": [2, 12, 12], "layers": [
	{"name": "a1", "op": "adder2d", "in": 2, "out": 6, "kernel": 5, "padding": 2},
	{"name": "bn1", "op": "batchnorm2d", "channels": 6},
	{"name": "r1", "op": "relu"},
	{"name": "p1", "op": "maxpool2d", "kernel": 3},
	{"name": "a2", "op": "adder2d", "in": 6, "out": 4, "kernel": 4},
	{"name": "bn2", "op": "batchnorm2d", "channels": 4},
	{"name": "f", "op": "flatten"}]}`,
}

// netBits are the operand widths each network is quantized at.
var netBits = []int{4, 6, 8}

// netModelFile names a network's quantized model in testdata/nets.
func netModelFile(name string, bits int) string {
	return filepath.Join("testdata", "nets", name+"_q"+strconv.Itoa(bits)+".json")
}

// TestGenNets rebuilds the quantized networks of testdata/nets (random
// weights, calibrated on 32 random inputs in [0, 1)) and checks that they
// are the committed files, so the recorded measurements stay tied to
// reproducible models; with -gen-nets it rewrites them.
func TestGenNets(t *testing.T) {
	for name, js := range netSpecs {
		s, err := model.ParseSpec([]byte(js), name)
		if err != nil {
			t.Fatal(err)
		}
		for _, bits := range netBits {
			rng := rand.New(rand.NewPCG(1, uint64(bits)))
			net, err := model.New(s, rng)
			if err != nil {
				t.Fatal(err)
			}
			n := 32
			x := dataset.Tensor{Shape: append([]int{n}, s.Input...), Data: make([]float64, n*s.Input[0]*s.Input[1]*s.Input[2])}
			for i := range x.Data {
				x.Data[i] = rng.Float64()
			}
			cfg := quant.DefaultConfig()
			cfg.Bits = bits
			q, err := quant.Quantize(net, x, cfg, "random")
			if err != nil {
				t.Fatalf("%s %d bits: %v", name, bits, err)
			}
			b, err := q.MarshalFile()
			if err != nil {
				t.Fatal(err)
			}
			if *genNets {
				if err := os.WriteFile(netModelFile(name, bits), b, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			old, err := os.ReadFile(netModelFile(name, bits))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(old, b) {
				t.Errorf("%s: the rebuilt %s at %d bits differs from the committed file (regenerate with -gen-nets and re-measure)", netModelFile(name, bits), name, bits)
			}
		}
	}
}
