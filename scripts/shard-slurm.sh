#!/usr/bin/env bash
# Run an addergen verify, compare or sweep as a Slurm job array of N shards,
# then merge them in a job that starts when every shard has succeeded.
#
#   scripts/shard-slurm.sh N OUT -- CMD ARGS...       (on the login node)
#
# e.g. 64 shards of the CIFAR-10 test set through ResNet-20 in Verilator:
#   scripts/shard-slurm.sh 64 /scratch/r20 -- verify --model r8.json \
#       --data test_batch.bin --preprocess --images 10000 --simulator verilator
#
# It submits two jobs with sbatch: the array (tasks 1..N; each runs
# "addergen CMD ARGS --shard I/N --json") and the merge (afterok on the
# array). OUT must be on a file system every node sees. Extra sbatch
# options go in SBATCH_ARGS (e.g. SBATCH_ARGS="--partition=cpu --time=2:00:00
# --cpus-per-task=1"); ADDERGEN names the binary (default addergen on PATH).
# Files land in OUT as scripts/shard-lib.sh describes.
#
# The same script is the job body: sbatch runs it with --task (one shard,
# I = SLURM_ARRAY_TASK_ID) or --merge.
set -euo pipefail
# Slurm runs a copy of this script from its spool: the submitting run
# passes its own folder on in ADDERGEN_SCRIPTS (sbatch exports the
# environment).
here=${ADDERGEN_SCRIPTS:-$(cd "$(dirname "$0")" && pwd)}
export ADDERGEN_SCRIPTS=$here
. "$here/shard-lib.sh"
export ADDERGEN

usage() {
	echo "usage: $0 N OUT -- verify|compare|sweep ARGS..." >&2
	exit 2
}
mode=submit
case ${1:-} in --task | --merge) mode=${1#--}; shift ;; esac
[ $# -ge 4 ] && [ "$3" = -- ] || usage
n=$1 out=$2
shift 3
case $n in '' | *[!0-9]* | 0*) echo "$0: N $n: want a positive number of shards" >&2; exit 2 ;; esac

case $mode in
task)
	i=${SLURM_ARRAY_TASK_ID:?"--task runs inside a Slurm array job (SLURM_ARRAY_TASK_ID unset)"}
	shard_run "$i" "$n" "$out" "$@"
	;;
merge)
	shard_merge "$n" "$out" "$1"
	;;
submit)
	command -v sbatch > /dev/null || { echo "$0: sbatch not found: run this on a Slurm login node" >&2; exit 2; }
	mkdir -p "$out"
	# shellcheck disable=SC2086 # SBATCH_ARGS is a list of options
	array=$(sbatch --parsable ${SBATCH_ARGS:-} --job-name=addergen-shards --array="1-$n" \
		--output="$out/slurm-%A_%a.out" "$0" --task "$n" "$out" -- "$@")
	# shellcheck disable=SC2086
	merge=$(sbatch --parsable ${SBATCH_ARGS:-} --job-name=addergen-merge --dependency="afterok:${array%%;*}" \
		--output="$out/slurm-merge-%j.out" "$0" --merge "$n" "$out" -- "$@")
	echo "submitted: shards job ${array%%;*} (array 1-$n), merge job ${merge%%;*}; results in $out/merged.json"
	;;
esac
