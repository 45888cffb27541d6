#!/usr/bin/env bash
# Run a command with scripts/faultproxy in front of the server in
# DAVSYNC_TEST_URL (as scripts/servers/with-server.sh exports it):
#   scripts/with-faultproxy.sh COMMAND [ARGS...]
# The command gets DAVSYNC_PROXY_URL, the same folder through the proxy,
# and DAVSYNC_PROXY_CONTROL, the proxy's control API (see
# scripts/faultproxy/control.go). The proxy stops when the command ends.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DAVSYNC_TEST_URL:?run this under scripts/servers/with-server.sh}"
origin=$(sed -E 's#^(https?://[^/]+).*#\1#' <<<"$DAVSYNC_TEST_URL")
path=${DAVSYNC_TEST_URL#"$origin"}
mkdir -p .run/bin
go build -o .run/bin/faultproxy ./scripts/faultproxy/cmd/faultproxy
out=$(mktemp)
.run/bin/faultproxy -target "$origin" >"$out" &
proxy=$!
trap 'kill "$proxy" 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.05; done
url=$(head -n1 "$out")
[ -n "$url" ] || { echo "with-faultproxy: the proxy did not start" >&2; exit 1; }
export DAVSYNC_PROXY_URL="$url$path" DAVSYNC_PROXY_CONTROL="$url/_faultproxy"
"$@"
