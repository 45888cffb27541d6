# extension.mk: the extension's suites and benchmarks (owner: ext).
# Included by the Makefile; uses its GO, DIST, WASMPATH variables.

# The wasm module must stay small: the service worker fetches and compiles
# it on every cold start.
# The issue started the budget at 4.5 MB; the module with the whole sync
# stack (encoding/json, encoding/xml, gzip, AES-GCM, gjson) measures 6.4 MB
# raw, 1.7 MB gzip, so the budget sits just above what it holds today and
# any growth has to be argued for here.
# Raised to 7.2 MB for several servers, provider presets, discovery and the
# folder picker, the typed protocol table and the hostile-server limits
# (7.02 MB raw, 1.87 MB gzip measured); the gzip size, what a download of
# the package costs, grew 10%.
# Raised to 7.3 MB for the message catalog: every error, warning and note
# Go reports now carries a message key beside its English (about 200
# messages; the English stays in the module for the error strings the
# worker logs and the English pages show): 7.20 MB raw, 1.91 MB gzip
# measured, +30 KB.
WASM_BUDGET_BYTES ?= 7300000
CHROMIUM ?= /usr/bin/chromium

TEST_SUITES   += test-extension test-browser
BENCH_TARGETS += bench-extension

.PHONY: test-extension test-browser bench-extension deps-chromium

## test-extension: wasm size budget, no net/http in the module, locales complete
test-extension: build deps-node
	@size=$$(stat -c %s $(DIST)/davsync.wasm); \
	  echo "davsync.wasm: $$size bytes raw, $$(gzip -9 -c $(DIST)/davsync.wasm | wc -c) gzip (budget $(WASM_BUDGET_BYTES))"; \
	  test $$size -le $(WASM_BUDGET_BYTES) || { echo "davsync.wasm is over the size budget"; exit 1; }
	@if GOOS=js GOARCH=wasm $(GO) list -deps ./wasm | grep -qx 'net/http'; then \
	  echo "the wasm module links net/http; use wasm/jsfetch instead"; exit 1; fi
	node --test tests/browser/static.test.js

# Chromium, and a CJK font so the zh_CN screenshots show characters (root only).
deps-chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei; \
	  else echo "install Debian's chromium (apt-get install chromium) or set CHROMIUM="; exit 1; fi; }
	@if [ "$$(id -u)" = 0 ] && ! fc-list 2>/dev/null | grep -qi 'wqy\|noto.*cjk'; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1 || true; fi

## test-browser: the extension in real Chromium against a real WebDAV server
test-browser: build deps-node deps-chromium
	@mkdir -p .run/bin
	$(GO) build -o .run/bin/xnetdav ./scripts/servers/xnetdav
	CHROMIUM=$(CHROMIUM) node --test --test-concurrency=1 --test-timeout=240000 tests/browser/e2e.test.js tests/browser/worker.test.js tests/browser/hostile.test.js tests/browser/servers.test.js tests/browser/a11y.test.js tests/browser/languages.test.js

## bench-extension: cold start, wasm size, 10k merge in the browser vs native
bench-extension: build deps-node deps-chromium
	@mkdir -p .run/bin
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -o .run/bin/empty.wasm ./wasm/emptymain
	CHROMIUM=$(CHROMIUM) node tests/browser/bench.js
