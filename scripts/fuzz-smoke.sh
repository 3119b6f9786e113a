#!/usr/bin/env bash
# Runs every go test -fuzz target in the repository for a bounded number of
# executions (FUZZTIME, default 10000x), one target per invocation, after its
# seed corpus (testdata/fuzz/FuzzXxx). Targets are discovered by grep, so new
# ones are included without editing this script. Exits non-zero on the first
# failure; go test then names the failing input it wrote under testdata.
#
# The budget is a count, not a duration: with a duration (-fuzztime 3s) Go's
# fuzz coordinator can fail a target with a bare "context deadline exceeded"
# and no failing input when the deadline races a worker under load
# (golang/go#75804, unfixed in Go 1.26; it failed CI here on
# FuzzReadStateDict). A count has no deadline to race. 10000 executions take
# 3-10 s per target on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10000x}
n=0
while IFS=: read -r file _ name; do
	pkg=./$(dirname "$file")
	echo "fuzz $pkg $name ($FUZZTIME)"
	"$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg"
	n=$((n + 1))
done < <(grep -rEo --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)' . |
	sed -E 's#^\./##; s#:func #::#' | sort)
if [ "$n" -eq 0 ]; then
	echo "fuzz-smoke: no fuzz targets found" >&2
	exit 1
fi
echo "fuzz-smoke: $n targets passed"
