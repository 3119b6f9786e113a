// Command variants writes experimental L1 PE variants (Verilog with the PE
// ports and contract) for `addergen synth pe --verilog`, and proves each
// one bit-exact in Icarus against sim.L1 (-verify) before it is measured.
// It is a measurement tool for synth/RESULTS.md, not part of the generator:
// rtl.EmitPE and templates/pe.v.tmpl are the PE.
//
//	go run ./synth/variants -variant cur -lanes 16 -width 8 -unsigned -regs auto -verify -out /tmp/v.v
//
// Variants (d = x - w in W+1 bits, s its sign):
//
//	naive  behavioural for-loop: sum += (x > w) ? x - w : w - x; -regs N output registers
//	cur    the template's scheme: leaves d^s, each tree adder absorbs one
//	       sign as its carry-in, the last lane computes (d^s)+s itself
//	inc    every leaf is a full |d| = (d^s)+s; plain adder tree
//	mux    every leaf is a full |d| = s ? w-x : x-w (two subtractors, a mux)
//	popc   leaves d^s, plain adder tree, popcount of all signs added at the root
//	tern   leaves d^s, ternary adder tree with sign carry-ins, leftover
//	       signs' popcount added at the root
//	fast   as cur, but the last lane is a mux leaf, an unpaired item
//	       becomes an incrementer absorbing its own pending sign and the
//	       sign that would reach the root, so the root adder has no carry-in
//
// -regs places register stages: "auto" (the template's rule: one stage per
// adder level, spread from after the leaves to the output), N (N stages
// spread the same way), or an explicit list of cut points from sub (after
// the subtraction), leaf (after the leaf values) and 1..L (after adder
// level l), e.g. "sub,leaf,1,2,3,4".
package main

import (
	"flag"
	"fmt"
	"math/bits"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/addergen/addergen/rtl"
	"github.com/addergen/addergen/sim"
	"github.com/addergen/addergen/testbench"
)

func main() {
	var o opts
	flag.IntVar(&o.K, "lanes", 16, "lanes K")
	flag.IntVar(&o.W, "width", 8, "lane width W")
	unsigned := flag.Bool("unsigned", false, "unsigned lanes")
	flag.StringVar(&o.variant, "variant", "cur", "naive, cur, inc, mux, popc, tern or fast")
	flag.StringVar(&o.regs, "regs", "auto", "auto, N, or a list of cut points (sub,leaf,1,2,...)")
	flag.StringVar(&o.name, "name", "", "module name (default l1_<variant>)")
	out := flag.String("out", "", "write the Verilog here (default stdout)")
	verify := flag.Bool("verify", false, "check the variant bit-exact in Icarus against sim.L1")
	vectors := flag.Int("vectors", 500, "random vectors for -verify")
	flag.Parse()
	o.signed = !*unsigned
	if o.name == "" {
		o.name = "l1_" + o.variant
	}
	g, err := generate(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "variants:", err)
		os.Exit(2)
	}
	if *verify {
		if err := verifyVariant(g, *vectors); err != nil {
			fmt.Fprintln(os.Stderr, "variants: verify:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "%s: K=%d W=%d latency %d: bit-exact in Icarus\n", o.name, o.K, o.W, g.latency)
	}
	if *out == "" {
		os.Stdout.WriteString(g.text)
		return
	}
	if err := os.WriteFile(*out, []byte(g.text), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "variants:", err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "wrote %s (module %s, latency %d)\n", *out, o.name, g.latency)
}

type opts struct {
	K, W    int
	signed  bool
	variant string
	regs    string
	name    string
}

type result struct {
	o        opts
	text     string
	latency  int
	sumWidth int
}

// item is a value moving up the tree.
type item struct {
	val   string
	width int
	hi    uint64   // bound on the value
	pend  []string // signs not yet added
	lanes int
	stole int // signs taken from other lanes
}

// half is an adder split across a register: low half and carry, then
// the high half.
type half struct {
	n, lo, ah, bh string
	h, w          int
}

type gen struct {
	o      opts
	b      strings.Builder
	n      int // fresh-name counter
	stages int
	cuts   map[string]int
}

func (g *gen) line(f string, a ...any) { fmt.Fprintf(&g.b, "    "+f+"\n", a...) }

func (g *gen) fresh(p string) string { g.n++; return fmt.Sprintf("%s_%d", p, g.n) }

func ubits(v uint64) int { return max(1, bits.Len64(v)) }

// ext zero-extends a value to w bits.
func ext(v string, vw, w int) string {
	if vw == w {
		return v
	}
	return fmt.Sprintf("{%d'd0, %s}", w-vw, v)
}

// register emits n register stages for the live signals, renaming them.
func (g *gen) register(where string, n int, sigs []*string, widths []int) {
	for r := 0; r < n; r++ {
		g.stages++
		g.line("")
		g.line("// register stage %d (%s)", g.stages, where)
		var asg []string
		for i, s := range sigs {
			q := fmt.Sprintf("%s_q%d", strings.SplitN(*s, "_q", 2)[0], g.stages)
			g.line("reg [%d:0] %s;", widths[i]-1, q)
			asg = append(asg, fmt.Sprintf("        %s <= %s;", q, *s))
			*s = q
		}
		g.line("always @(posedge clk_i) begin")
		for _, a := range asg {
			g.b.WriteString(a + "\n")
		}
		g.line("end")
	}
}

func (g *gen) itemSigs(items []*item) ([]*string, []int) {
	var s []*string
	var w []int
	for _, it := range items {
		s = append(s, &it.val)
		w = append(w, it.width)
		for i := range it.pend {
			s = append(s, &it.pend[i])
			w = append(w, 1)
		}
	}
	return s, w
}

func levels(k, arity int) int {
	l := 0
	for n := k; n > 1; n = (n + arity - 1) / arity {
		l++
	}
	return l
}

func parseCuts(spec string, lv int) (map[string]int, int, error) {
	cuts := map[string]int{}
	if spec == "auto" || isNum(spec) {
		stages := max(1, lv)
		if spec != "auto" {
			stages, _ = strconv.Atoi(spec)
		}
		for pos, n := range rtl.RegPositions(lv, stages) {
			if n == 0 {
				continue
			}
			if pos == 0 {
				cuts["leaf"] += n
			} else {
				cuts[fmt.Sprint(pos)] += n
			}
		}
		return cuts, stages, nil
	}
	total := 0
	for _, c := range strings.Split(spec, ",") {
		c = strings.TrimSpace(c)
		if c != "sub" && c != "leaf" {
			l, err := strconv.Atoi(strings.TrimSuffix(c, ".5"))
			if err != nil || l < 1 || l > lv {
				return nil, 0, fmt.Errorf("cut point %q: want sub, leaf, 1..%d or l.5 (inside level l: split adders)", c, lv)
			}
		}
		cuts[c]++
		total++
	}
	return cuts, total, nil
}

func isNum(s string) bool { _, err := strconv.Atoi(s); return err == nil }

func generate(o opts) (*result, error) {
	if o.K < 2 || o.W < 2 || o.W > 16 {
		return nil, fmt.Errorf("bad shape K=%d W=%d", o.K, o.W)
	}
	K, W := o.K, o.W
	sumW := rtl.SumWidth(K, W)
	lmax := uint64(1)<<W - 1
	g := &gen{o: o}
	arity := 2
	if o.variant == "tern" {
		arity = 3
	}
	lv := levels(K, arity)
	var err error
	var stages int
	if o.variant == "naive" {
		stages, err = strconv.Atoi(o.regs)
		if o.regs == "auto" {
			stages, err = 1, nil
		}
		if err != nil || stages < 0 {
			return nil, fmt.Errorf("naive takes -regs N (output registers)")
		}
	} else {
		g.cuts, stages, err = parseCuts(o.regs, lv)
		if err != nil {
			return nil, err
		}
	}

	hdr := &strings.Builder{}
	fmt.Fprintf(hdr, "// Code generated by addergen synth/variants. DO NOT EDIT.\n//\n")
	fmt.Fprintf(hdr, "// %s: experimental L1 PE variant %q (go run ./synth/variants -variant %s -lanes %d -width %d%s -regs %s).\n",
		o.name, o.variant, o.variant, K, W, map[bool]string{false: " -unsigned", true: ""}[o.signed], o.regs)
	fmt.Fprintf(hdr, "//\n// Purpose\n//   sum_o = sum over k of |x_k - w_k|, exact; lanes are %s.\n", map[bool]string{false: "unsigned", true: "two's complement"}[o.signed])
	fmt.Fprintf(hdr, "// Parameters\n//   lanes K = %d, width W = %d, sum width S = %d\n", K, W, sumW)
	fmt.Fprintf(hdr, "// Latency and handshake\n//   latency = %d cycle(s), II = 1; valid_o is valid_i delayed; rst_i (synchronous) clears the valid pipeline only.\n", stages)
	hdr.WriteString("`resetall\n`timescale 1ns / 1ps\n`default_nettype none\n\n")
	fmt.Fprintf(hdr, "module %s (\n    input  wire clk_i,\n    input  wire rst_i,\n    input  wire valid_i,\n", o.name)
	fmt.Fprintf(hdr, "    input  wire [%d:0] x_i,\n    input  wire [%d:0] w_i,\n    output wire valid_o,\n    output wire [%d:0] sum_o\n);\n", K*W-1, K*W-1, sumW-1)

	ex := func(v string, k int) string {
		if o.signed {
			return fmt.Sprintf("{%s[%d], %s[%d +: %d]}", v, k*W+W-1, v, k*W, W)
		}
		return fmt.Sprintf("{1'b0, %s[%d +: %d]}", v, k*W, W)
	}

	var sum string
	if o.variant == "naive" {
		g.line("// Behavioural: sum += (x > w) ? x - w : w - x.")
		g.line("reg [%d:0] acc;", sumW-1)
		g.line("reg [%d:0] xe, we;", W)
		g.line("integer k;")
		g.line("always @* begin")
		g.line("    acc = %d'd0;", sumW)
		g.line("    for (k = 0; k < %d; k = k + 1) begin", K)
		if o.signed {
			g.line("        xe = {x_i[k*%d + %d], x_i[k*%d +: %d]};", W, W-1, W, W)
			g.line("        we = {w_i[k*%d + %d], w_i[k*%d +: %d]};", W, W-1, W, W)
			g.line("        acc = acc + (($signed(xe) > $signed(we)) ? {%d'd0, xe - we} : {%d'd0, we - xe});", sumW-W-1, sumW-W-1)
		} else {
			g.line("        xe = {1'b0, x_i[k*%d +: %d]};", W, W)
			g.line("        we = {1'b0, w_i[k*%d +: %d]};", W, W)
			g.line("        acc = acc + ((xe > we) ? {%d'd0, xe - we} : {%d'd0, we - xe});", sumW-W-1, sumW-W-1)
		}
		g.line("    end")
		g.line("end")
		sum = "acc"
		s := []*string{&sum}
		g.register("output", stages, s, []int{sumW})
	} else {
		sum, err = g.tree(ex, arity, lv, sumW, lmax)
		if err != nil {
			return nil, err
		}
	}
	if g.stages != stages {
		return nil, fmt.Errorf("internal: %d stages emitted, %d planned", g.stages, stages)
	}
	// Valid pipeline.
	valid := "valid_i"
	if stages > 0 {
		g.line("")
		g.line("reg [%d:0] valid_q;", stages-1)
		g.line("always @(posedge clk_i) begin")
		g.line("    if (rst_i) valid_q <= %d'd0;", stages)
		if stages == 1 {
			g.line("    else valid_q <= valid_i;")
		} else {
			g.line("    else valid_q <= {valid_q[%d:0], valid_i};", stages-2)
		}
		g.line("end")
		valid = fmt.Sprintf("valid_q[%d]", stages-1)
	} else {
		g.line("wire unused_clk_rst = &{1'b0, clk_i, rst_i};")
	}
	g.line("assign valid_o = %s;", valid)
	g.line("assign sum_o = %s;", sum)
	text := hdr.String() + g.b.String() + "endmodule\n\n`resetall\n"
	return &result{o: o, text: text, latency: stages, sumWidth: sumW}, nil
}

// tree emits the subtractors, leaves and adder tree and returns the sum.
func (g *gen) tree(ex func(string, int) string, arity, lv, sumW int, lmax uint64) (string, error) {
	o := g.o
	K, W := o.K, o.W
	v := o.variant
	// Leaf kinds.
	kind := make([]string, K)
	for k := range kind {
		switch v {
		case "cur":
			kind[k] = "xor"
			if k == K-1 {
				kind[k] = "inc"
			}
		case "fast":
			kind[k] = "xor"
			if k == K-1 {
				kind[k] = "mux"
			}
		case "inc", "mux":
			kind[k] = v
		case "popc", "tern":
			kind[k] = "xor"
		default:
			return "", fmt.Errorf("variant %q unknown", v)
		}
	}
	useCin := v != "popc"
	// Dry run: find the signs left at the root (to a popcount) and, for
	// fast, the sign the root would absorb (stolen by the unpaired item).
	dry := func(steal string, toRoot map[string]bool) (rootCin string, left []string) {
		items := make([]*item, K)
		for k := range items {
			it := &item{val: fmt.Sprint(k), lanes: 1}
			if kind[k] == "xor" {
				s := fmt.Sprintf("s_%d", k)
				if s != steal && !toRoot[s] {
					it.pend = []string{s}
				}
			}
			items[k] = it
		}
		for l := 1; l <= lv; l++ {
			var next []*item
			for i := 0; i < len(items); i += arity {
				grp := items[i:min(i+arity, len(items))]
				if len(grp) == 1 {
					it := grp[0]
					if v == "fast" && len(it.pend) > 0 {
						it = &item{val: it.val, lanes: it.lanes} // an incrementer absorbs them
					}
					next = append(next, it)
					continue
				}
				var pend []string
				for _, c := range grp {
					pend = append(pend, c.pend...)
				}
				nd := &item{}
				if useCin && len(pend) > 0 {
					if l == lv && len(items) <= arity {
						rootCin = pend[0]
					}
					pend = pend[1:]
				}
				nd.pend = pend
				next = append(next, nd)
			}
			items = next
		}
		return rootCin, items[0].pend
	}
	toRoot := map[string]bool{}
	_, left := dry("", toRoot)
	for _, s := range left {
		toRoot[s] = true
	}
	steal := ""
	if v == "fast" && K%2 == 1 && K > 1 {
		steal, _ = dry("", toRoot)
		if _, l2 := dry(steal, toRoot); len(l2) != 0 {
			return "", fmt.Errorf("internal: steal left signs %v", l2)
		}
	}

	// Subtractors.
	g.line("")
	g.line("// d = x - w in W+1 bits; s = its sign.")
	d := make([]string, K)
	nd := make([]string, K)
	for k := 0; k < K; k++ {
		d[k] = fmt.Sprintf("d_%d", k)
		g.line("wire [%d:0] %s = %s - %s;", W, d[k], ex("x_i", k), ex("w_i", k))
		if kind[k] == "mux" {
			nd[k] = fmt.Sprintf("e_%d", k)
			g.line("wire [%d:0] %s = %s - %s;", W-1, nd[k], fmt.Sprintf("w_i[%d +: %d]", k*W, W), fmt.Sprintf("x_i[%d +: %d]", k*W, W))
		}
	}
	if n := g.cuts["sub"]; n > 0 {
		var sigs []*string
		var ws []int
		for k := 0; k < K; k++ {
			sigs = append(sigs, &d[k])
			ws = append(ws, W+1)
			if nd[k] != "" {
				sigs = append(sigs, &nd[k])
				ws = append(ws, W)
			}
		}
		g.register("after the subtractors", n, sigs, ws)
	}
	// Leaves.
	g.line("")
	g.line("// Leaves.")
	items := make([]*item, K)
	var rootSigns []string
	for k := 0; k < K; k++ {
		s := fmt.Sprintf("s_%d", k)
		g.line("wire %s = %s[%d];", s, d[k], W)
		a := fmt.Sprintf("a_%d", k)
		it := &item{val: a, width: W, hi: lmax, lanes: 1}
		switch kind[k] {
		case "xor":
			g.line("wire [%d:0] %s = %s[%d:0] ^ {%d{%s}};", W-1, a, d[k], W-1, W, s)
			switch {
			case s == steal:
			case toRoot[s]:
				rootSigns = append(rootSigns, s)
			default:
				it.pend = []string{s}
			}
		case "inc":
			g.line("wire [%d:0] %s = (%s[%d:0] ^ {%d{%s}}) + {%d'd0, %s};", W-1, a, d[k], W-1, W, s, W-1, s)
		case "mux":
			g.line("wire [%d:0] %s = %s ? %s : %s[%d:0];", W-1, a, s, nd[k], d[k], W-1)
		}
		items[k] = it
	}
	if steal != "" {
		it := items[K-1]
		it.pend = []string{steal}
		it.stole = 1
	}
	pc, pcw := "", 0
	if len(rootSigns) > 0 {
		pc = "pc"
		pcw = ubits(uint64(len(rootSigns)))
		var terms []string
		for _, s := range rootSigns {
			terms = append(terms, ext(s, 1, pcw))
		}
		g.line("wire [%d:0] pc = %s; // popcount of the signs added at the root", pcw-1, strings.Join(terms, " + "))
	}
	regItems := func(where string, n int) {
		if n == 0 {
			return
		}
		sigs, ws := g.itemSigs(items)
		if pc != "" {
			sigs = append(sigs, &pc)
			ws = append(ws, pcw)
		}
		g.register(where, n, sigs, ws)
	}
	regItems("after the leaves", g.cuts["leaf"])
	for l := 1; l <= lv; l++ {
		g.line("")
		g.line("// Tree level %d.", l)
		var next []*item
		var halves []*half
		for i := 0; i < len(items); i += arity {
			grp := items[i:min(i+arity, len(items))]
			root := len(items) <= arity
			if len(grp) == 1 {
				it := grp[0]
				if v == "fast" && len(it.pend) > 0 {
					// An unpaired item absorbs its pending signs: one as a
					// carry-in, one as the second operand.
					w := ubits(it.hi + uint64(len(it.pend)))
					n := g.fresh(fmt.Sprintf("n%d", l))
					ops := []string{ext(it.val, it.width, w)}
					for _, p := range it.pend {
						ops = append(ops, ext(p, 1, w))
					}
					g.line("wire [%d:0] %s = %s;", w-1, n, strings.Join(ops, " + "))
					it = &item{val: n, width: w, hi: it.hi + uint64(len(it.pend)), lanes: it.lanes, stole: it.stole}
				}
				next = append(next, it)
				continue
			}
			var pend []string
			lanes, stole := 0, 0
			var hi uint64
			for _, c := range grp {
				pend = append(pend, c.pend...)
				lanes += c.lanes
				stole += c.stole
				hi += c.hi
			}
			var ops []string
			cin := ""
			if useCin && len(pend) > 0 {
				cin, pend = pend[0], pend[1:]
				hi++
			}
			if root && pc != "" {
				hi += uint64(len(rootSigns))
			}
			hi = min(hi, uint64(lanes)*lmax+uint64(stole))
			w := ubits(hi)
			if root {
				w = sumW
			}
			for _, c := range grp {
				ops = append(ops, ext(c.val, c.width, w))
			}
			if cin != "" {
				ops = append(ops, ext(cin, 1, w))
			}
			if root && pc != "" {
				ops = append(ops, ext(pc, pcw, w))
			}
			n := g.fresh(fmt.Sprintf("n%d", l))
			nit := &item{val: n, width: w, hi: hi, pend: pend, lanes: lanes, stole: stole}
			if split := g.cuts[fmt.Sprintf("%d.5", l)]; split > 0 && len(grp) == 2 && !(root && pc != "") {
				// A split adder: the low half (with its carry out) in this
				// stage, the high half after the register.
				h := w / 2
				ax, bx := n+"_a", n+"_b"
				g.line("wire [%d:0] %s = %s;", w-1, ax, ops[0])
				g.line("wire [%d:0] %s = %s;", w-1, bx, ops[1])
				lo := n + "_lo"
				cinx := fmt.Sprintf("%d'd0", h+1)
				if cin != "" {
					cinx = ext(cin, 1, h+1)
				}
				g.line("wire [%d:0] %s = {1'b0, %s[%d:0]} + {1'b0, %s[%d:0]} + %s;", h, lo, ax, h-1, bx, h-1, cinx)
				ah, bh := n+"_ah", n+"_bh"
				g.line("wire [%d:0] %s = %s[%d:%d];", w-h-1, ah, ax, w-1, h)
				g.line("wire [%d:0] %s = %s[%d:%d];", w-h-1, bh, bx, w-1, h)
				halves = append(halves, &half{n: n, lo: lo, ah: ah, bh: bh, h: h, w: w})
			} else {
				g.line("wire [%d:0] %s = %s;", w-1, n, strings.Join(ops, " + "))
			}
			next = append(next, nit)
		}
		if len(halves) > 0 {
			// Register everything live between the halves.
			sigs, ws := g.itemSigs(next)
			var keep []*string
			var kw []int
			for i, sg := range sigs {
				isHalf := false
				for _, hf := range halves {
					if *sg == hf.n {
						isHalf = true
					}
				}
				if !isHalf {
					keep = append(keep, sg)
					kw = append(kw, ws[i])
				}
			}
			for _, hf := range halves {
				keep = append(keep, &hf.lo, &hf.ah, &hf.bh)
				kw = append(kw, hf.h+1, hf.w-hf.h, hf.w-hf.h)
			}
			if pc != "" {
				keep = append(keep, &pc)
				kw = append(kw, pcw)
			}
			g.register(fmt.Sprintf("inside tree level %d", l), g.cuts[fmt.Sprintf("%d.5", l)], keep, kw)
			for _, hf := range halves {
				g.line("wire [%d:0] %s = {%s + %s + %s, %s[%d:0]};", hf.w-1, hf.n,
					hf.ah, hf.bh, ext(fmt.Sprintf("%s[%d]", hf.lo, hf.h), 1, hf.w-hf.h), hf.lo, hf.h-1)
			}
		}
		items = next
		regItems(fmt.Sprintf("after tree level %d", l), g.cuts[fmt.Sprint(l)])
	}
	if len(items) != 1 || len(items[0].pend) != 0 {
		return "", fmt.Errorf("internal: tree ends with %d items, pending %v", len(items), items[0].pend)
	}
	r := items[0]
	if r.width != sumW {
		return "", fmt.Errorf("internal: root width %d, want %d", r.width, sumW)
	}
	return r.val, nil
}

// verifyVariant runs the variant in Icarus on the PE testbench stimulus
// (edge cases, random vectors, idle gaps, a mid-stream reset) and compares
// every cycle with the cycle-true model.
func verifyVariant(r *result, vectors int) error {
	c := sim.PEConfig{Lanes: r.o.K, Width: r.o.W, Signed: r.o.signed, Latency: r.latency}
	in := testbench.Stimulus(c, vectors, 1)
	exp := testbench.Expected(c, in)
	dir, err := os.MkdirTemp("", "addergen-variant-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var xs, ws, cs, es strings.Builder
	for i, x := range in {
		fmt.Fprintln(&xs, pack(x.X, c.Width))
		fmt.Fprintln(&ws, pack(x.W, c.Width))
		ctl := 0
		if x.Rst {
			ctl |= 2
		}
		if x.Valid {
			ctl |= 1
		}
		fmt.Fprintf(&cs, "%x\n", ctl)
		var e uint64
		if exp[i].Valid != sim.X {
			e |= 1 << (r.sumWidth + 1)
		}
		if exp[i].Valid == sim.High {
			e |= 1<<r.sumWidth | exp[i].Sum
		}
		fmt.Fprintf(&es, "%x\n", e)
	}
	bench := struct {
		Top, Module                string
		Cycles                     int
		LaneBits, LaneMsb          int
		SumWidth, SumMsb           int
		ExpMsb, CheckBit, ValidBit int
		XFile, WFile, CFile, EFile string
	}{"tb_variant", r.o.name, len(in), c.Lanes * c.Width, c.Lanes*c.Width - 1, r.sumWidth, r.sumWidth - 1,
		r.sumWidth + 1, r.sumWidth + 1, r.sumWidth, "x.hex", "w.hex", "c.hex", "e.hex"}
	tb, err := rtl.Render("tb_mac_pe.v.tmpl", bench)
	if err != nil {
		return err
	}
	files := map[string]string{"dut.v": r.text, "tb.v": string(tb), "x.hex": xs.String(), "w.hex": ws.String(), "c.hex": cs.String(), "e.hex": es.String()}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644); err != nil {
			return err
		}
	}
	cmd := exec.Command("sh", "-c", "iverilog -g2005 -o sim.vvp -s tb_variant dut.v tb.v && vvp -n sim.vvp")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v\n%s", err, out)
	}
	m := regexp.MustCompile(`DONE \S+ cycles=(\d+) mismatches=(\d+)`).FindStringSubmatch(string(out))
	if m == nil || m[1] != fmt.Sprint(len(in)) || m[2] != "0" {
		return fmt.Errorf("simulation failed:\n%s", out)
	}
	return nil
}

func pack(v []int32, w int) string {
	bitsv := make([]byte, len(v)*w)
	for k, x := range v {
		for i := 0; i < w; i++ {
			bitsv[k*w+i] = byte(uint32(x) >> i & 1)
		}
	}
	var b strings.Builder
	for hi := (len(bitsv)+3)/4*4 - 4; hi >= 0; hi -= 4 {
		n := 0
		for i := 3; i >= 0; i-- {
			n <<= 1
			if hi+i < len(bitsv) {
				n |= int(bitsv[hi+i])
			}
		}
		b.WriteByte("0123456789abcdef"[n])
	}
	return b.String()
}
