package prove

import (
	"context"
	"fmt"

	"github.com/addergen/addergen/quant"
	"github.com/addergen/addergen/rtl"
)

// Item is one distinct unit of a planned network to prove.
type Item struct {
	// Kind is "pe" or "rescale".
	Kind string `json:"kind"`
	// Config describes the unit in one line, e.g. "K=24 W=8 unsigned
	// pipeline auto (generic), latency 5" or "conv2: half-up shift 20".
	Config string `json:"config"`
	// Layers names the layers that use it.
	Layers []string `json:"layers"`

	pe     *rtl.PEConfig
	engine *rtl.Engine
}

// Collect plans q with hardware options c (rtl.PlanNet) and returns every
// distinct L1 PE configuration its adder engines instantiate (as the
// engine plan does: lanes per PE, the input's width and sign, pipeline
// auto for c.Family) and every engine's rescale, in layer order. Errors
// are the planner's.
func Collect(q *quant.Model, c rtl.NetConfig) (*rtl.Net, []Item, error) {
	n, err := rtl.PlanNet(q, c)
	if err != nil {
		return nil, nil, err
	}
	var items []Item
	pes := map[rtl.PEConfig]int{}
	for _, e := range n.Engines {
		if e.Adder {
			pc := rtl.PEConfig{Lanes: e.LanesPE, Width: e.BIN, Signed: e.InSigned, Pipeline: rtl.PipelineAuto, Family: e.Family}
			if i, ok := pes[pc]; ok {
				items[i].Layers = append(items[i].Layers, e.Layer)
			} else {
				p, err := rtl.PlanPE(pc)
				if err != nil {
					return nil, nil, err
				}
				pes[pc] = len(items)
				items = append(items, Item{Kind: "pe", Config: peString(pc, p.Latency), Layers: []string{e.Layer}, pe: &pc})
			}
		}
		if e.HasRescale {
			l := q.Layers[e.Index]
			if l.Rescale == nil || len(l.Rescale.M) == 0 {
				continue
			}
			desc := fmt.Sprintf("%s: %s shift %d, %d channels", e.Layer, e.Rounding, e.Shift, len(l.Rescale.M))
			if e.ShiftM {
				desc += ", shift-add"
			} else if e.ConstM {
				desc += ", multiply (the engine's constant-m tree not covered)"
			}
			items = append(items, Item{Kind: "rescale", Config: desc, Layers: []string{e.Layer}, engine: e})
		}
	}
	return n, items, nil
}

func peString(c rtl.PEConfig, latency int) string {
	sign := "signed"
	if !c.Signed {
		sign = "unsigned"
	}
	return fmt.Sprintf("K=%d W=%d %s pipeline %s (%s), latency %d", c.Lanes, c.Width, sign, pipelineString(c.Pipeline), familyString(c.Family), latency)
}

// ItemResult is the outcome of one Item.
type ItemResult struct {
	Item
	Result  Status  `json:"result"`
	Seconds float64 `json:"seconds"`
	Reason  string  `json:"reason,omitempty"`
	// Counterexample is the PE's or the unit's, as one line.
	Counterexample string `json:"counterexample,omitempty"`
}

// ProveItem proves one item of Collect's list on net n (one prover at a
// time).
func ProveItem(ctx context.Context, n *rtl.Net, it Item, o Options) (ItemResult, error) {
	out := ItemResult{Item: it}
	switch {
	case it.pe != nil:
		r, err := PE(ctx, *it.pe, o)
		if err != nil {
			return out, err
		}
		out.Result, out.Seconds, out.Reason = r.Result, r.Seconds, r.Reason
		if r.Counterexample != nil {
			out.Counterexample = r.Counterexample.String()
		}
	case it.engine != nil:
		r, err := Rescale(ctx, n, it.engine, o)
		if err != nil {
			return out, err
		}
		out.Result, out.Seconds, out.Reason = r.Result, r.Seconds, r.Reason
		if r.Counterexample != nil {
			out.Counterexample = r.Counterexample.String()
		}
	default:
		return out, fmt.Errorf("prove: item %q has nothing to prove", it.Config)
	}
	return out, nil
}
