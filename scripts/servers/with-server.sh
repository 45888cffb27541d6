#!/usr/bin/env bash
# Run a command against freshly started real WebDAV servers:
#   scripts/servers/with-server.sh NAME[,NAME...]|all COMMAND [ARGS...]
# The command gets DAVSYNC_TEST_SERVERS, a file with one JSON object per
# server ({"name","url","user","pass","pid","dir","data"}, nextcloud adds
# "files_url"), and, when one server was asked for, DAVSYNC_TEST_URL, _USER,
# _PASS, _SERVER and _DATA (nextcloud adds _FILES_URL). `all` does not
# include nextcloud; name it.
# The servers are stopped by their PIDs when the command ends, fails or is
# interrupted. Names: `go run ./scripts/servers names`.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 2 ] || { echo "usage: $0 NAME[,NAME...]|all COMMAND [ARGS...]" >&2; exit 2; }
IFS=, read -r -a names <<<"$1"; shift
servers() { go run ./scripts/servers "$@"; }
# Beside the default run directory, which is under the system's temp
# directory when the web servers' www-data could not enter the repository.
dir="$(servers rundir)-with-$$"
child=
cleanup() { servers stop -dir "$dir" all || true; rm -rf "$dir"; }
trap cleanup EXIT
# A signal stops the command too; EXIT then stops the servers.
trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 130' INT TERM
mkdir -p "$dir"
servers start -dir "$dir" -json "${names[@]}" >"$dir/servers.json"
export DAVSYNC_TEST_SERVERS="$dir/servers.json"
if [ "${#names[@]}" -eq 1 ] && [ "${names[0]}" != all ]; then
	while IFS= read -r line; do export "${line?}"; done < <(servers env -dir "$dir" "${names[0]}")
	echo "with-server: ${names[0]} at $DAVSYNC_TEST_URL" >&2
else
	echo "with-server: $(wc -l <"$dir/servers.json") servers in $DAVSYNC_TEST_SERVERS" >&2
fi
# In the background so that a signal interrupts `wait` at once instead of
# waiting for the command to end.
"$@" <&0 &
child=$!
wait "$child"
