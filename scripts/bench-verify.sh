#!/usr/bin/env bash
# Times `addergen verify` in Verilator for the README's table: LeNet-5
# 8-bit (synth/testdata/nets/lenet5_q8.json.gz, 200 MNIST test images) and,
# when given a quantized ResNet-20 (R20=r8.json, see the README), ResNet-20
# on 2 CIFAR-10 test images (CIFAR=path of test_batch.bin). Each runs
# twice against an empty model cache: cold (the Verilator build included)
# and warm (the cached model reused). It prints verify's simulated
# images/s (run time only), the whole command's wall time, and the user
# CPU seconds of the whole command (less sensitive to other load on a
# shared machine). A benchmark, not a test.
#
#   ADDERGEN=./addergen R20=/tmp/r8h.json CIFAR=../shared/data/cifar10-jpeg/test_batch.bin scripts/bench-verify.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ADDERGEN=${ADDERGEN:-./addergen}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ADDERGEN_VERILATOR_CACHE="$work/cache"
zcat synth/testdata/nets/lenet5_q8.json.gz > "$work/lenet_q8.json"

echo "bench-verify: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(verilator --version), $(date -u '+%Y-%m-%d %H:%M UTC')"
printf '%-34s %-5s %12s %10s %10s\n' "design" "cache" "images/s" "wall s" "user s"
one() { # label cache args...
	local label=$1 cache=$2
	shift 2
	local out
	out=$( { /usr/bin/time -f "TIME %e %U %S" "$ADDERGEN" verify "$@" --simulator verilator --json > "$work/v.json"; } 2>&1 | grep '^TIME' || true)
	local ips
	ips=$(sed -n 's/.*"images_per_second": \([0-9.e+-]*\).*/\1/p' "$work/v.json")
	grep -q '"mismatches": 0,' "$work/v.json" || { echo "$label: mismatches or failure" >&2; cat "$work/v.json" >&2; exit 1; }
	set -- $out
	printf '%-34s %-5s %12.3f %10.1f %10.1f\n' "$label" "$cache" "$ips" "$2" "$(awk -v u="$3" -v s="$4" 'BEGIN{print u+s}')"
}
one "LeNet-5 8-bit, 200 images" cold --model "$work/lenet_q8.json" --data mnist --images 200
one "LeNet-5 8-bit, 200 images" warm --model "$work/lenet_q8.json" --data mnist --images 200
if [ -n "${R20:-}" ]; then
	one "ResNet-20 8-bit, 2 images" cold --model "$R20" --data "${CIFAR:?set CIFAR to test_batch.bin}" --preprocess --images 2
	one "ResNet-20 8-bit, 2 images" warm --model "$R20" --data "$CIFAR" --preprocess --images 2
fi
