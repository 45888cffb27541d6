#!/usr/bin/env bash
# make package: dist/davsync-<version>.zip for the Chrome Web Store and Edge
# Add-ons: the built extension with the manifest at the root, no "key", no
# host permissions granted up front (test builds add loopback ones), no docs.
set -euo pipefail
cd "$(dirname "$0")/.."
src=dist/extension
[ -f "$src/davsync.wasm" ] || { echo "package: run make build first" >&2; exit 1; }
version=$(node -p "require('./$src/manifest.json').version")
node -e '
const m = require(process.argv[1]);
const bad = [];
if (m.key) bad.push("key");
if (m.host_permissions) bad.push("host_permissions");
if (JSON.stringify(m).includes("<all_urls>")) bad.push("<all_urls>");
if (bad.length) { console.error("package: the manifest must not carry " + bad.join(", ")); process.exit(1); }
' "$PWD/$src/manifest.json"
out="$PWD/dist/davsync-$version.zip"
rm -f "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -R "$src/." "$stage/"
find "$stage" \( -name '*.md' -o -name '*.d.ts' \) -delete
# Reproducible archive: fixed timestamps, sorted names.
find "$stage" -exec touch -d '2026-01-01T00:00:00Z' {} +
if command -v zip >/dev/null; then
  (cd "$stage" && find . -type f | LC_ALL=C sort | sed 's|^\./||' | zip -q -X -9 "$out" -@)
else
  (cd "$stage" && python3 -c '
import sys, zipfile, os
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for root, _, files in os.walk("."):
        for f in files:
            p = os.path.relpath(os.path.join(root, f))
            z.write(p, p)
' "$out")
fi
echo "package: $out ($(stat -c %s "$out") bytes)"
unzip -l "$out" | awk 'NR>3 && $4 != "" {print "  " $4}' | head -40
