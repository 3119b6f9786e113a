// Command small12 writes the quantized model of the small iCE40 benchmark
// network of the hardware issue (12x12 input: conv 3x3, adder 3x3,
// maxpool, adder head; random weights, calibrated on random inputs):
//
//	go run ./scripts/small12 OUT.json [nomult]
//
// With nomult the rescales are quantized without multipliers
// (quant.Config.NoMultipliers), as an iCE40 without DSPs wants.
// The README's iCE40 Fmax figure is measured on it.
package main

import (
	"math/rand/v2"
	"os"

	"github.com/addergen/addergen/dataset"
	"github.com/addergen/addergen/model"
	"github.com/addergen/addergen/quant"
)

const spec = `{"name": "small12", "input": [1, 12, 12], "layers": [
	{"name": "c1", "op": "conv2d", "in": 1, "out": 4, "kernel": 3, "padding": 1},
	{"name": "bn1", "op": "batchnorm2d", "channels": 4},
	{"name": "r1", "op": "relu"},
	{"name": "a2", "op": "adder2d", "in": 4, "out": 8, "kernel": 3, "padding": 1},
	{"name": "bn2", "op": "batchnorm2d", "channels": 8},
	{"name": "r2", "op": "relu"},
	{"name": "p2", "op": "maxpool2d", "kernel": 2},
	{"name": "a3", "op": "adder2d", "in": 8, "out": 10, "kernel": 6},
	{"name": "bn3", "op": "batchnorm2d", "channels": 10},
	{"name": "f", "op": "flatten"}]}`

func main() {
	s, err := model.ParseSpec([]byte(spec), "small12")
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	net, err := model.New(s, rng)
	if err != nil {
		panic(err)
	}
	x := dataset.Tensor{Shape: []int{16, 1, 12, 12}, Data: make([]float64, 16*144)}
	for i := range x.Data {
		x.Data[i] = rng.Float64()
	}
	cfg := quant.DefaultConfig()
	cfg.NoMultipliers = len(os.Args) > 2 && os.Args[2] == "nomult"
	q, err := quant.Quantize(net, x, cfg, "small12")
	if err != nil {
		panic(err)
	}
	if err := q.Save(os.Args[1]); err != nil {
		panic(err)
	}
}
