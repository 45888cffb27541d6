#!/usr/bin/env bash
# A short run of every Go fuzz target: the committed seed corpus always runs
# as part of `go test`; this adds a few seconds of new inputs per target.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${FUZZTIME:-4s}"
found=0
while IFS= read -r file; do
	pkg="./$(dirname "$file")"
	for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
		found=$((found + 1))
		echo "fuzz $pkg $target ($secs)"
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="$secs" "$pkg"
	done
done < <(grep -rlE '^func Fuzz' --include='*_test.go' internal wasm scripts 2>/dev/null || true)
echo "fuzz: $found targets"
