# sync.mk: the local store and the sync cycle (owner: sync).
# Included by the Makefile; uses its GO and WASMPATH variables.
#
# test-go and test-wasm already run internal/local, internal/cycle and internal/app: the
# unit tests, 1000 randomized multi-device schedules (60 under wasm/-short)
# and the fault + concurrency suites through scripts/faultproxy against
# golang.org/x/net/webdav in-process (with and without precondition support).
# test-sync-servers adds the same fault suites against real Apache (honours
# If-Match) and nginx (ignores it).

TEST_SUITES   += test-sync-servers
BENCH_TARGETS += bench-sync

SOAK_SCHEDULES ?= 20000

.PHONY: test-sync test-sync-servers soak bench-sync

## test-sync: internal/local, internal/cycle and internal/app, natively and under wasm
test-sync:
	$(GO) test -count=1 ./internal/local/... ./internal/cycle/... ./internal/app/...
	GOOS=js GOARCH=wasm $(WASMPATH) $(GO) test -count=1 -short ./internal/local/... ./internal/cycle/... ./internal/app/...

## test-sync-servers: every fault kind through the fault proxy against Apache and nginx,
## and, against every server, the idle cycle at 10k accounts (one request, under 2 KB)
## and two devices syncing at the same moment
test-sync-servers: servers-install
	DAVSYNC_SYNC_LISTED_ONLY=1 scripts/servers/with-server.sh apache,nginx \
		$(GO) test -count=1 -timeout 20m -parallel 8 -run 'RealServer' -skip 'IdleFloor|Simultaneous|BackToBack' ./internal/app/
	DAVSYNC_SYNC_LISTED_ONLY=1 scripts/servers/with-server.sh all \
		$(GO) test -count=1 -timeout 10m -run 'RealServerIdleFloor|RealServerSimultaneous|RealServerBackToBack' ./internal/app/

## soak: many more randomized multi-device schedules (SOAK_SCHEDULES, new seeds each run)
soak:
	$(GO) test -count=1 -timeout 120m -run 'Randomized' ./internal/app/ \
		-args -schedules $(SOAK_SCHEDULES) -userops $(SOAK_SCHEDULES) -seedbase $$(date +%s)

## bench-sync: requests and bytes per cycle (nothing/local/remote/both changed) and 10k-account cycle times,
## in memory, against x/net webdav in-process, and against Apache and nginx; the idle cycle per server
bench-sync: servers-install
	@mkdir -p .run
	@scripts/servers/with-server.sh apache,nginx \
		$(GO) test -count=1 -timeout 20m -run 'TestBenchTable' -v ./internal/app/ -args -benchtable \
		>.run/bench-sync.log 2>&1; status=$$?; grep -v '^=== \|^    [ab]: ' .run/bench-sync.log; exit $$status
	@DAVSYNC_SYNC_LISTED_ONLY=1 scripts/servers/with-server.sh all \
		$(GO) test -count=1 -timeout 10m -run 'RealServerIdleFloor' -v ./internal/app/ \
		>.run/bench-idle.log 2>&1; status=$$?; grep '^        |\|^        idle\|FAIL' .run/bench-idle.log | sed 's/^        //'; exit $$status
	$(GO) test -count=1 -run '^$$' -bench 'Cycle10k' -benchtime 10x ./internal/app/
