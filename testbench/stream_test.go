package testbench

import (
	"context"
	"fmt"
	"testing"

	"github.com/addergen/addergen/internal/testutil"
)

func TestStreamPrimitives(t *testing.T) {
	var cases []StreamCase
	seed := uint64(1)
	for _, load := range [][2]float64{{0.9, 0.3}, {0.3, 0.9}, {1, 1}, {0.6, 0.6}} {
		cases = append(cases,
			StreamCase{Primitive: "stream_skid", Params: ".DATA_W(12)", DataWidth: 12, Beats: 300, Offer: load[0], Ready: load[1], Seed: seed},
			StreamCase{Primitive: "stream_fifo", Params: ".DATA_W(9), .DEPTH(4)", DataWidth: 9, Beats: 300, Offer: load[0], Ready: load[1], Seed: seed + 100},
			StreamCase{Primitive: "stream_fifo", Params: ".DATA_W(1), .DEPTH(2)", DataWidth: 1, Beats: 200, Offer: load[0], Ready: load[1], Seed: seed + 200},
			StreamCase{Primitive: "stream_fifo", Params: ".DATA_W(6), .DEPTH(1)", DataWidth: 6, Beats: 200, Offer: load[0], Ready: load[1], Seed: seed + 230},
			StreamCase{Primitive: "stream_fifo", Params: ".DATA_W(7), .DEPTH(3)", DataWidth: 7, Beats: 300, Offer: load[0], Ready: load[1], Seed: seed + 250},
			StreamCase{Primitive: "stream_fifo", Params: ".DATA_W(5), .DEPTH(70)", DataWidth: 5, Beats: 400, Offer: load[0], Ready: load[1], Seed: seed + 260},
		)
		seed++
	}
	for _, s := range Simulators {
		t.Run(s, func(t *testing.T) {
			t.Parallel()
			testutil.RequireTools(t, map[string][]string{Icarus: {"iverilog", "vvp"}, Verilator: {"verilator"}}[s]...)
			for _, c := range cases {
				if s == Verilator && c.Offer != 0.6 { // one Verilator build per primitive shape keeps the suite short
					continue
				}
				name := fmt.Sprintf("%s/%s/offer%.1f_ready%.1f", c.Primitive, c.Params, c.Offer, c.Ready)
				res, err := RunStream(context.Background(), s, t.TempDir(), c)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if res.Mismatch != "" {
					t.Errorf("%s: %s", name, res.Mismatch)
				}
			}
		})
	}
}

// TestStreamCheckCanFail proves the stream comparison can fail: a bench
// whose data is wider than the DUT's ports loses the top bits, and that
// must be reported.
func TestStreamCheckCanFail(t *testing.T) {
	testutil.RequireTools(t, "iverilog", "vvp")
	c := StreamCase{Primitive: "stream_fifo", Params: ".DATA_W(8), .DEPTH(2)", DataWidth: 8, Beats: 50, Offer: 0.7, Ready: 0.7, Seed: 5}
	res, err := RunStream(context.Background(), Icarus, t.TempDir(), c)
	if err != nil || res.Mismatch != "" {
		t.Fatalf("intact run: %v %+v", err, res)
	}
	// Widen the data beyond the DUT's port: the top bits are lost, which
	// the comparison must notice.
	c.DataWidth, c.Params = 12, ".DATA_W(8), .DEPTH(2)"
	res, err = RunStream(context.Background(), Icarus, t.TempDir(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mismatch == "" {
		t.Fatal("a stream that loses bits passed")
	}
}
