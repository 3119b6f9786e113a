#!/usr/bin/env bash
# Run an addergen verify, compare or sweep in N shards on this machine with
# GNU parallel (Debian: apt-get install parallel), then merge them into the
# report one unsharded run gives.
#
#   scripts/shard-parallel.sh [-j JOBS] N OUT -- CMD ARGS...
#
# e.g. 8 shards of a 1000-image Verilator regression, 2 at a time:
#   scripts/shard-parallel.sh -j 2 8 out/verify -- verify --model q8.json \
#       --data mnist --images 1000 --simulator verilator
#
# JOBS defaults to the number of cores. ADDERGEN names the binary (default
# addergen on PATH). Files land in OUT as scripts/shard-lib.sh describes.
# A failed shard stops the run (exit non-zero); rerunning the script
# reruns only the shards without a report.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/shard-lib.sh"

usage() {
	echo "usage: $0 [-j JOBS] N OUT -- verify|compare|sweep ARGS..." >&2
	exit 2
}
jobs=$(nproc)
if [ "${1:-}" = -j ]; then
	jobs=${2:-}
	shift 2 || usage
fi
[ $# -ge 4 ] && [ "$3" = -- ] || usage
n=$1 out=$2
shift 3
case $n in '' | *[!0-9]* | 0*) echo "$0: N $n: want a positive number of shards" >&2; exit 2 ;; esac
command -v parallel > /dev/null || { echo "$0: GNU parallel not found: apt-get install parallel" >&2; exit 2; }

todo=()
for ((i = 1; i <= n; i++)); do
	[ -s "$out/shard-$i.json" ] || todo+=("$i")
done
if [ ${#todo[@]} -gt 0 ]; then
	export ADDERGEN
	export -f shard_run
	# The command's words travel quoted, one per argument, after the index.
	parallel --will-cite -q --halt soon,fail=1 -j "$jobs" shard_run {1} "$n" "$out" "$@" ::: "${todo[@]}"
fi
shard_merge "$n" "$out" "$1"
