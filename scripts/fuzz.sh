#!/usr/bin/env bash
# A short run of every Go fuzz target: the committed seed corpus always runs
# as part of `go test`; this adds a fixed number of new inputs per target.
# A count, not a duration: Go 1.26's coordinator can fail a time-bounded run
# with a bare "context deadline exceeded" when the deadline lands while a
# worker is minimising (golang/go#75804), and a count is reproducible anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${FUZZTIME:-50000x}"
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
