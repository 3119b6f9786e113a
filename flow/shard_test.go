package flow

import (
	"strings"
	"testing"
)

// TestShardRangesPartition: the n shards of a split cover every item once,
// in order, with sizes differing by at most one.
func TestShardRangesPartition(t *testing.T) {
	for n := 1; n <= 17; n++ {
		for total := 0; total <= 40; total++ {
			next, small, big := 0, total, 0
			for i := 1; i <= n; i++ {
				lo, hi := Shard{Index: i, Count: n}.Range(total)
				if lo != next || hi < lo {
					t.Fatalf("%d items, shard %d/%d: [%d, %d), want it to start at %d", total, i, n, lo, hi, next)
				}
				next = hi
				small, big = min(small, hi-lo), max(big, hi-lo)
			}
			if next != total || big-small > 1 {
				t.Fatalf("%d items in %d shards: cover up to %d, sizes %d..%d", total, n, next, small, big)
			}
		}
	}
	if lo, hi := (Shard{}).Range(7); lo != 0 || hi != 7 {
		t.Fatalf("zero Shard selects [%d, %d), want all of [0, 7)", lo, hi)
	}
}

func TestParseShard(t *testing.T) {
	for s, want := range map[string]Shard{"": {}, "1/1": {1, 1}, "3/8": {3, 8}, " 2 / 4 ": {2, 4}} {
		got, err := ParseShard("--shard", s)
		if err != nil || got != want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"0/4", "5/4", "4", "a/4", "1/0", "-1/3", "1/2/3", "1/2000000"} {
		_, err := ParseShard("--shard", s)
		if err == nil || !strings.Contains(err.Error(), "--shard") || !strings.Contains(err.Error(), s) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseShard(%q): error %v; want one line naming the flag and value", s, err)
		}
	}
	if _, _, err := (Shard{Index: 1, Count: 5}).Select("--shard", 3, "images"); err == nil {
		t.Error("an empty shard (1/5 of 3 images) was accepted")
	}
}

// TestCheckCover: the complete set in any order passes and comes back in
// index order; gaps, duplicates, other splits and other runs are refused.
func TestCheckCover(t *testing.T) {
	info := func(i, n, total int, flag string) *Info {
		return NewInfo(CmdCompare, Shard{Index: i, Count: n}, total, map[string]string{"data": flag})
	}
	names := []string{"c", "a", "b"}
	order, err := CheckCover(names, []*Info{info(3, 3, 10, "x"), info(1, 3, 10, "x"), info(2, 3, 10, "x")})
	if err != nil || len(order) != 3 || order[0] != 1 || order[1] != 2 || order[2] != 0 {
		t.Fatalf("complete set: order %v, %v", order, err)
	}
	for _, c := range []struct {
		infos []*Info
		want  string
	}{
		{[]*Info{info(1, 3, 10, "x"), info(3, 3, 10, "x")}, "missing shard(s) 2/3"},
		{[]*Info{info(1, 3, 10, "x"), info(1, 3, 10, "x"), info(2, 3, 10, "x")}, "given twice"},
		{[]*Info{info(1, 3, 10, "x"), info(2, 4, 10, "x"), info(3, 3, 10, "x")}, "different splits"},
		{[]*Info{info(1, 3, 10, "x"), info(2, 3, 11, "x"), info(3, 3, 10, "x")}, "different splits"},
		{[]*Info{info(1, 3, 10, "x"), info(2, 3, 10, "y"), info(3, 3, 10, "x")}, `different runs: --data "x" against "y"`},
		{[]*Info{info(1, 3, 10, "x"), nil, info(3, 3, 10, "x")}, "not a shard result"},
	} {
		_, err := CheckCover(names[:len(c.infos)], c.infos)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d infos: error %v, want %q", len(c.infos), err, c.want)
		}
	}
	bad := info(2, 3, 10, "x")
	bad.Start++
	if _, err := CheckCover(names, []*Info{info(1, 3, 10, "x"), bad, info(3, 3, 10, "x")}); err == nil || !strings.Contains(err.Error(), "holds items") {
		t.Errorf("a shard whose slice is not its index's: %v", err)
	}
}
