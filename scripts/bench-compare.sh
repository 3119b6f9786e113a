#!/usr/bin/env bash
# make bench-compare: one side-by-side run on this machine, a benchmark
# (not a test). For LeNet-5 (8-bit, 256 images per run) and ResNet-20
# (8-bit, the official checkpoint, 8 images per run) it times
#   - addergen's bit-exact simulator, portable build and GOEXPERIMENT=simd
#     build (amd64), and the float reference (model package forward) in
#     both builds (its AVX2 kernels need the simd build),
#     through sim's go test benchmarks, COUNT runs each (default 3);
#   - PyTorch's official AdderNet forward and torch.cdist(p=1), when a
#     python3 with torch is found (scripts/bench_torch.py; optional: the
#     rows are skipped with a message otherwise);
# and prints images/s (medians) and the ratio of each row to PyTorch's
# official forward and to the portable simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
COUNT=${COUNT:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
benches='^(BenchmarkRunNetLeNet|BenchmarkRunNetResNet20|BenchmarkFloatLeNet|BenchmarkFloatResNet20)$'

# median NAME FILE: the median images/s of benchmark NAME in a go test log.
median() {
	awk -v name="$1" '$1 ~ "^"name"(-[0-9]+)?$" { for (i = 2; i < NF; i++) if ($(i+1) == "images/s") print $i }' "$2" |
		sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2 }'
}

echo "bench-compare: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "portable build: go test -bench (count $COUNT) ..."
GOEXPERIMENT= "$GO" test -run '^$' -bench "$benches" -count "$COUNT" ./sim > "$out/portable.txt"
rows=()
if [ "$("$GO" env GOARCH)" = amd64 ]; then
	echo "GOEXPERIMENT=simd build: go test -bench (count $COUNT) ..."
	GOEXPERIMENT=simd "$GO" test -run '^$' -bench "$benches" -count "$COUNT" ./sim > "$out/simd.txt"
	kernel=$(GOEXPERIMENT=simd "$GO" run ./cmd/addergen version --json | sed -n 's/.*"sim_kernel":"\([^"]*\)".*/\1/p')
	echo "  (simd build's kernel on this CPU: $kernel)"
fi

py=""
for p in ${PYTHON:-} /usr/bin/python3 python3; do
	if command -v "$p" > /dev/null && "$p" -c 'import torch' 2> /dev/null; then
		py=$p
		break
	fi
done
if [ -n "$py" ]; then
	echo "PyTorch: $py scripts/bench_torch.py (count $COUNT) ..."
	"$py" scripts/bench_torch.py --count "$COUNT" > "$out/torch.txt"
else
	echo "PyTorch: not installed (Debian: apt-get install python3-torch); its rows are skipped"
	: > "$out/torch.txt"
fi

for net in LeNet ResNet20; do
	label=$net
	[ "$net" = ResNet20 ] && label=ResNet-20
	echo
	printf '%-44s %12s %14s %14s\n' "$label" "images/s" "vs torch" "vs sim"
	printf '%-44s %12s %14s %14s\n' "" "" "official" "portable"
	official=$(awk -v n="$label" '$1 == "torch-official" && $2 == n { print $3 }' "$out/torch.txt")
	portable=$(median "BenchmarkRunNet$net" "$out/portable.txt")
	{
		echo "sim 8-bit, portable build|$portable"
		[ -f "$out/simd.txt" ] && echo "sim 8-bit, GOEXPERIMENT=simd build|$(median "BenchmarkRunNet$net" "$out/simd.txt")"
		echo "float reference, portable build|$(median "BenchmarkFloat$net" "$out/portable.txt")"
		[ -f "$out/simd.txt" ] && echo "float reference, GOEXPERIMENT=simd build|$(median "BenchmarkFloat$net" "$out/simd.txt")"
		awk -v n="$label" '$2 == n { sub("torch-", "", $1); print "PyTorch " $1 " forward|" $3 }' "$out/torch.txt"
	} | while IFS='|' read -r what v; do
		ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "" || b + 0 == 0) print "-"; else printf "%.2f×", a / b }'; }
		printf '%-44s %12.1f %14s %14s\n' "$what" "$v" "$(ratio "$v" "$official")" "$(ratio "$v" "$portable")"
	done
done
