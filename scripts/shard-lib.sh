# shellcheck shell=bash
# Shared by scripts/shard-parallel.sh and scripts/shard-slurm.sh: run one
# shard of an addergen verify, compare or sweep command, and merge the
# shards. No scheduling here: the caller (GNU parallel, a Slurm job array,
# a loop) decides where and when each shard runs.
#
# Layout of OUT (created on first use):
#   OUT/shard-I.json      shard I's --json report
#   OUT/y.I.npy           verify: shard I's logits (--output)
#   OUT/shard-I/          sweep: shard I's --out folder
#   OUT/merged.json       the merged report (as one run's --json)
#   OUT/y.npy             verify: the merged logits
#   OUT/merged/           compare, sweep: the merged report's files
#   OUT/shard-I.log       shard I's stderr
# The command's own --shard, --json, --output and --out are set here: do
# not pass them.

ADDERGEN=${ADDERGEN:-addergen}

# shard_run I N OUT CMD [ARGS...]: run shard I of N of "addergen CMD ARGS".
# The report is written under a temporary name and renamed when the shard
# succeeds, so OUT never holds a half-written shard.
shard_run() {
	local i=$1 n=$2 out=$3
	shift 3
	local cmd=$1
	local extra=()
	case $cmd in
	verify) extra=(--output "$out/y.$i.npy") ;;
	sweep) extra=(--out "$out/shard-$i") ;;
	compare) ;;
	*)
		echo "shard_run: $cmd takes no --shard (want verify, compare or sweep)" >&2
		return 2
		;;
	esac
	mkdir -p "$out"
	local tmp="$out/.shard-$i.json.tmp"
	if "$ADDERGEN" "$@" "${extra[@]}" --shard "$i/$n" --json > "$tmp" 2> "$out/shard-$i.log"; then
		mv -f "$tmp" "$out/shard-$i.json"
	else
		local rc=$?
		rm -f "$tmp"
		echo "shard $i/$n failed (exit $rc): see $out/shard-$i.log" >&2
		return "$rc"
	fi
}

# shard_merge N OUT CMD: merge the N shards in OUT into OUT/merged.json
# (and OUT/y.npy for verify, OUT/merged/ for compare and sweep), then
# print the merged text summary. Exit code: addergen merge's.
shard_merge() {
	local n=$1 out=$2 cmd=$3
	local files=() extra=() i
	for ((i = 1; i <= n; i++)); do
		files+=("$out/shard-$i.json")
	done
	case $cmd in
	verify) extra=(--output "$out/y.npy") ;;
	*) extra=(--out "$out/merged") ;;
	esac
	local rc=0
	"$ADDERGEN" merge "${files[@]}" "${extra[@]}" --json > "$out/.merged.json.tmp" || rc=$?
	if [ ! -s "$out/.merged.json.tmp" ]; then
		rm -f "$out/.merged.json.tmp"
		return "$rc"
	fi
	mv -f "$out/.merged.json.tmp" "$out/merged.json"
	"$ADDERGEN" merge "${files[@]}" || true # the text summary (the files are written above)
	echo "merged $n shards: $out/merged.json${extra[1]:+, ${extra[1]}}"
	return "$rc"
}
