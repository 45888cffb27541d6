#!/usr/bin/env bash
# make run: build davsync, start a local WebDAV server (x/net/webdav with Basic
# auth and If-Match, data in .run/davdata), and launch Chromium with the
# extension in a fresh profile, already pointed at that server.
#   With a display ($DISPLAY or $WAYLAND_DISPLAY): opens the Import/Export
#   page and waits until you close the browser.
#   Without one: runs headless, adds sample accounts, syncs, prints what is
#   on the server, and exits.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build
mkdir -p .run/bin .run/davdata
go build -o .run/bin/xnetdav ./scripts/servers/xnetdav
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else echo "run: install Chromium (sudo apt-get install chromium) or set CHROMIUM=/path/to/chrome" >&2; exit 1; fi
fi
export CHROMIUM
exec node tests/browser/run.js
