#!/usr/bin/env bash
# Prints the packages whose tests run the bit-exact simulator (sim itself
# and every package that imports it, directly or through its tests), one
# per line: `make test` runs these a second time in the portable build.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
{
	echo github.com/addergen/addergen/sim
	"$GO" list -test -f '{{.ImportPath}} {{join .Deps " "}}' ./... |
	awk '{ for (i = 2; i <= NF; i++) if ($i == "github.com/addergen/addergen/sim") { print $1; break } }' |
	sed -E "s/_test$//" | grep -v "\.test$"
} | sort -u
