# bench.mk: the browser sync-cycle bench (tests/browser/cyclebench.js).
# Included by the Makefile; uses its GO variable and extension.mk's CHROMIUM,
# deps-node and deps-chromium.
#
# The real extension in headless Chromium syncs through the counting relay
# (scripts/faultproxy, no rules) to real Apache and nginx, at 100, 10,000 and
# 50,000 accounts, for the cycle kinds first / idle / edit / remote / both.
# Prints a table per server, writes dist/bench/cycle.json and cycle.svg.
# cyclebench.js builds the relay (.run/bin/faultproxy) itself.
# CYCLEBENCH_SIZES=100 (or 100,10000) for a quick run; CYCLEBENCH_RUNS=3 or
# 100:5,10000:5,50000:3 for the runs per size; CYCLEBENCH_SERVERS=apache.

CYCLEBENCH_SERVERS_START ?= apache,nginx

BENCH_TARGETS += bench-cycle

.PHONY: bench-cycle

## bench-cycle: requests, bytes and time per sync cycle in the browser, Apache and nginx, 100 to 50k accounts
bench-cycle: build deps-node deps-chromium servers-install
	CHROMIUM=$(CHROMIUM) scripts/servers/with-server.sh $(CYCLEBENCH_SERVERS_START) node tests/browser/cyclebench.js
