package rtl

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"strings"
)

// weightLoader is what the top's runtime-weight loader prints: counter
// widths and, per memory, its last beat of a word and last address.
type weightLoader struct {
	MW, AW, BW int // memory index, word address and beat counter widths
	DW         int // assembled word register: BMax·32 bits
	MaxW       int // the widest memory's bits (wr_data_q above it is unused)
	BMax       int // the most beats of a word
	Slots      []int
	Last       int // the last memory's index
	Mems       []loaderMem
}

type loaderMem struct{ K, BeatLast, AddrLast int }

// loader sizes the top's weight loader (runtime weights) and sets each
// engine's WSelExpr, its wr_sel_i bits.
func (n *Net) loader() *weightLoader {
	if !n.Runtime {
		return nil
	}
	w := &weightLoader{MW: widthFor(len(n.WMems) - 1), Last: len(n.WMems) - 1}
	for _, m := range n.WMems {
		w.AW = max(w.AW, widthFor(m.Depth-1))
		w.BMax = max(w.BMax, m.Beats)
		w.MaxW = max(w.MaxW, m.Width)
		w.Mems = append(w.Mems, loaderMem{K: m.Index, BeatLast: m.Beats - 1, AddrLast: m.Depth - 1})
	}
	w.BW, w.DW = widthFor(w.BMax-1), w.BMax*WeightBeatBits
	for s := range w.BMax {
		w.Slots = append(w.Slots, s)
	}
	return w
}

// wrSelExpr is the Verilog concatenation of an engine's wr_sel_i bits:
// bit k is "the loader writes the engine's memory k this cycle".
func (n *Net) wrSelExpr(e *Engine) string {
	var terms []string
	for _, m := range n.WMems {
		if m.Engine == e {
			terms = append([]string{fmt.Sprintf("(wr_en_q && (wr_mem_q == %d'd%d))", widthFor(len(n.WMems)-1), m.Index)}, terms...)
		}
	}
	return "{" + strings.Join(terms, ", ") + "}"
}

// WeightBeatBits is the width of the top's weight stream s_axis_w_tdata
// (runtime weights).
const WeightBeatBits = 32

// WeightMem is one engine memory in the weight stream's load order.
type WeightMem struct {
	Engine *Engine
	EngineMem
	Index int // its number in the loader (Net.WMems order)
	Beats int // s_axis_w beats per word: ceil(Width / 32)
}

// WeightStreamBeats is the number of s_axis_w beats that load every
// memory once: Σ Depth·Beats.
func (n *Net) WeightStreamBeats() int {
	t := 0
	for _, m := range n.WMems {
		t += m.Depth * m.Beats
	}
	return t
}

// WeightStream returns the s_axis_w beats that load the design's memories
// with the contents it was planned from (runtime weights): for each
// memory in WMems order, each word from address 0 up, its bits least
// significant first in ceil(width/32) 32-bit beats, the last beat's bits
// above the word zero. The last beat carries s_axis_w_tlast. Errors: a
// memory whose contents do not have its depth and width (an internal
// error).
func (n *Net) WeightStream() ([]uint32, error) {
	out := make([]uint32, 0, n.WeightStreamBeats())
	for _, m := range n.WMems {
		text, ok := m.Engine.roms[m.File]
		if !ok {
			return nil, fmt.Errorf("rtl: weight stream: %s has no contents for %s", m.Engine.Module, m.File)
		}
		lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
		if len(lines) != m.Depth {
			return nil, fmt.Errorf("rtl: weight stream: %s holds %d words, want %d", m.File, len(lines), m.Depth)
		}
		for a, l := range lines {
			v, ok := new(big.Int).SetString(l, 16)
			if !ok || v.BitLen() > m.Width {
				return nil, fmt.Errorf("rtl: weight stream: %s word %d %q is not %d-bit hex", m.File, a, l, m.Width)
			}
			b := v.FillBytes(make([]byte, m.Beats*WeightBeatBits/8)) // big-endian
			for i := range m.Beats {
				j := len(b) - 4*(i+1)
				out = append(out, binary.BigEndian.Uint32(b[j:j+4]))
			}
		}
	}
	return out, nil
}

// WeightStreamBytes is WeightStream as the bytes a host sends: each beat
// little-endian (s_axis_w_tdata[7:0] first).
func (n *Net) WeightStreamBytes() ([]byte, error) {
	beats, err := n.WeightStream()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 4*len(beats))
	for i, v := range beats {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	return b, nil
}
