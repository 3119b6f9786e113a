package flow

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Shard selects the Index-th of Count contiguous slices of a command's work
// items (images for verify and compare, design points for sweep). Index
// runs from 1 to Count. The zero Shard means "not sharded": all items.
type Shard struct {
	Index, Count int
}

// MaxShards bounds n in --shard i/n.
const MaxShards = 1 << 20

// ParseShard parses a --shard value "i/n" (1 ≤ i ≤ n ≤ MaxShards). The
// empty string is the zero Shard (not sharded). The error names flag and
// value in one line.
func ParseShard(flag, s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("%s %q: want i/n, the i-th of n shards (1 ≤ i ≤ n), such as 1/4", flag, s)
	}
	if n < 1 || n > MaxShards {
		return Shard{}, fmt.Errorf("%s %q: shard count %d out of range: must be 1..%d", flag, s, n, MaxShards)
	}
	if i < 1 || i > n {
		return Shard{}, fmt.Errorf("%s %q: shard index %d out of range: must be 1..%d (shards count from 1)", flag, s, i, n)
	}
	return Shard{Index: i, Count: n}, nil
}

// Set reports whether s selects a shard (is not the zero Shard).
func (s Shard) Set() bool { return s.Count > 0 }

// String returns "i/n", or "" for the zero Shard.
func (s Shard) String() string {
	if !s.Set() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Range returns the half-open slice [lo, hi) of total items that s
// selects: item k belongs to the shard with lo ≤ k < hi, where
// lo = ⌊total·(i−1)/n⌋ and hi = ⌊total·i/n⌋. The n shards of a split cover
// 0..total−1 exactly once, in order, and differ in size by at most one.
// The zero Shard selects [0, total).
func (s Shard) Range(total int) (lo, hi int) {
	if !s.Set() {
		return 0, total
	}
	return int(int64(total) * int64(s.Index-1) / int64(s.Count)), int(int64(total) * int64(s.Index) / int64(s.Count))
}

// Select returns the slice of total items s selects, or an error (naming
// flag and what the items are) when that slice is empty: a split into
// more shards than items.
func (s Shard) Select(flag string, total int, items string) (lo, hi int, err error) {
	lo, hi = s.Range(total)
	if hi <= lo {
		return 0, 0, fmt.Errorf("%s %s: shard %d of %d is empty: %d %s split into %d shards (use at most %d shards)",
			flag, s, s.Index, s.Count, total, items, s.Count, total)
	}
	return lo, hi, nil
}

// Info is the "shard" object of a shard's --json report: which slice of
// which run it holds. Merge checks it.
type Info struct {
	// Command is the command that wrote the shard: verify, compare or sweep.
	Command string `json:"command"`
	// Index and Count are the shard's i and n (1 ≤ i ≤ n).
	Index int `json:"index"`
	Count int `json:"count"`
	// Start and End are the items it holds, [Start, End) of Total: images
	// for verify and compare, design points for sweep.
	Start int `json:"start"`
	End   int `json:"end"`
	Total int `json:"total"`
	// Flags are the command's flags that define the run (every flag but
	// --shard and those that only name outputs), as name → value. The
	// shards of one run hold equal flags.
	Flags map[string]string `json:"flags"`
	// Output is the absolute path of the shard's --output logits, and
	// OutputSHA256 the file's SHA-256 (hex), when the command wrote one.
	Output       string `json:"output,omitempty"`
	OutputSHA256 string `json:"output_sha256,omitempty"`
}

// NewInfo returns the Info of shard s of command over total items.
func NewInfo(command string, s Shard, total int, flags map[string]string) *Info {
	lo, hi := s.Range(total)
	return &Info{Command: command, Index: s.Index, Count: s.Count, Start: lo, End: hi, Total: total, Flags: flags}
}

// CheckCover checks that infos (one per shard file, named by names) are
// the n shards of one split of one run, each exactly once: the same
// command, count, total and flags, every index from 1 to n present once,
// and each slice the one its index selects. It returns the permutation
// that orders them by index. Errors are one line and name the files.
func CheckCover(names []string, infos []*Info) ([]int, error) {
	if len(infos) == 0 {
		return nil, fmt.Errorf("no shard files given")
	}
	for k, in := range infos {
		if in == nil {
			return nil, fmt.Errorf("%s: not a shard result (no \"shard\" object: run the command with --shard i/n --json)", names[k])
		}
	}
	first := infos[0]
	for k, in := range infos {
		s := Shard{Index: in.Index, Count: in.Count}
		switch {
		case in.Command != first.Command:
			return nil, fmt.Errorf("%s is a %s shard but %s is a %s shard", names[k], in.Command, names[0], first.Command)
		case in.Count < 1 || in.Index < 1 || in.Index > in.Count:
			return nil, fmt.Errorf("%s: shard %d/%d is not a valid shard", names[k], in.Index, in.Count)
		case in.Count != first.Count || in.Total != first.Total:
			return nil, fmt.Errorf("%s is shard %d/%d of %d items but %s is shard %d/%d of %d items: shards of different splits overlap",
				names[k], in.Index, in.Count, in.Total, names[0], first.Index, first.Count, first.Total)
		}
		if lo, hi := s.Range(in.Total); lo != in.Start || hi != in.End {
			return nil, fmt.Errorf("%s: shard %d/%d holds items [%d, %d) but that shard of %d items is [%d, %d)",
				names[k], in.Index, in.Count, in.Start, in.End, in.Total, lo, hi)
		}
		if f := diffFlags(first.Flags, in.Flags); f != "" {
			return nil, fmt.Errorf("%s and %s are shards of different runs: %s", names[0], names[k], f)
		}
	}
	byIndex := map[int]int{}
	for k, in := range infos {
		if j, dup := byIndex[in.Index]; dup {
			return nil, fmt.Errorf("shard %d/%d given twice (%s and %s): shards overlap", in.Index, in.Count, names[j], names[k])
		}
		byIndex[in.Index] = k
	}
	var missing []string
	for i := 1; i <= first.Count; i++ {
		if _, ok := byIndex[i]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", i, first.Count))
		}
	}
	if len(missing) > 0 {
		more := ""
		if len(missing) > 10 {
			more = fmt.Sprintf(" and %d more", len(missing)-10)
			missing = missing[:10]
		}
		return nil, fmt.Errorf("missing shard(s) %s%s: got %d of %d", strings.Join(missing, ", "), more, len(infos), first.Count)
	}
	order := make([]int, len(infos))
	for k := range order {
		order[k] = k
	}
	sort.Slice(order, func(a, b int) bool { return infos[order[a]].Index < infos[order[b]].Index })
	return order, nil
}

// diffFlags describes the first flag whose value differs between a and b,
// or returns "".
func diffFlags(a, b map[string]string) string {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		va, oka := a[k]
		vb, okb := b[k]
		if oka != okb || va != vb {
			return fmt.Sprintf("--%s %q against %q", k, va, vb)
		}
	}
	return ""
}
