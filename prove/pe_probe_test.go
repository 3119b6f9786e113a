package prove

import (
	"context"
	"testing"

	"github.com/addergen/addergen/fixedpoint"
	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
)

func TestProbe(t *testing.T) {
	for _, m := range []string{"half-up", "floor", "half-even", "toward-zero"} {
		r, err := Round(context.Background(), 20, 5, m, Options{Timeout: 30e9})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v", r)
	}
	q, err := quant.Load("../synth/testdata/nets/minilenet_q8.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []fixedpoint.Rounding{fixedpoint.HalfUp} {
		for _, l := range q.Layers {
			if l.Rescale != nil {
				l.Rescale.Rounding = mode
			}
		}
		_, items, err := Collect(q, rtl.NetConfig{Parallel: 2})
		if err != nil {
			t.Fatal(err)
		}
		n, _, _ := Collect(q, rtl.NetConfig{Parallel: 2})
		for _, it := range items {
			if it.Kind != "rescale" {
				continue
			}
			r, err := ProveItem(context.Background(), n, it, Options{WorkDir: "/tmp/probe/r", Timeout: 120e9})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", r)
		}
	}
}
