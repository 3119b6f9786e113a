#!/usr/bin/env bash
# Runs every go test -fuzz target in the repository for a bounded time
# (FUZZTIME, default 3s), one target per invocation, after its seed corpus
# (testdata/fuzz/FuzzXxx). Targets are discovered by grep, so new ones are
# included without editing this script. Exits non-zero on the first
# failure; go test then names the failing input it wrote under testdata.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-3s}
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
