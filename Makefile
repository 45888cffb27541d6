# davsync — every task a developer or CI needs. `make test` and `make run`
# install what they need (Go tools, npm packages, Debian packages) themselves.

GO        ?= go
GOROOT    := $(shell $(GO) env GOROOT)
WASM_EXEC := $(GOROOT)/lib/wasm/wasm_exec.js
DIST      := dist/extension
WASMPATH  := PATH="$$PATH:$(GOROOT)/lib/wasm"
GOBIN     := $(shell $(GO) env GOPATH)/bin
STATICCHECK_VERSION := v0.8.2

TEST_SUITES  :=
BENCH_TARGETS :=
# Each part of the project adds its suites and targets in its own fragment.
-include scripts/mk/*.mk

.PHONY: all build wasm extension test test-go test-wasm test-fuzz lint bench run package clean deps-node

all: build

## build: the wasm module and the unpacked extension in dist/extension/
build: extension cli

wasm: $(DIST)/davsync.wasm

$(DIST)/davsync.wasm: $(shell find wasm internal -name '*.go' 2>/dev/null) go.mod go.sum
	@mkdir -p $(DIST)
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -o $@ ./wasm

extension: wasm
	@mkdir -p $(DIST)
	cp -R extension/. $(DIST)/
	cp "$(WASM_EXEC)" $(DIST)/wasm_exec.js
	@# The module's build id: the worker keeps a copy of the module under it (extension/wasmcache.js).
	@echo "self.DAVSYNC_WASM_ID = '$$(sha256sum $(DIST)/davsync.wasm | cut -c1-32)';" >$(DIST)/wasm-id.js

## test: every test the project has
test: lint test-go test-wasm test-fuzz $(TEST_SUITES)
	@echo "make test: all suites passed"

# The suites under tests/ start servers or browsers and run from their own targets.
test-go:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v '/tests/')

# The platform-free packages again, compiled to wasm and run under Node,
# exactly as they run inside the extension. wasm/jsfetch needs a real server
# and runs in test-servers.
test-wasm:
	GOOS=js GOARCH=wasm $(WASMPATH) $(GO) test -count=1 -short $$(GOOS=js GOARCH=wasm $(GO) list ./internal/... ./wasm/... | grep -v '/wasm/jsfetch$$')

test-fuzz:
	@scripts/fuzz.sh

lint: deps-node
	@test -z "$$(gofmt -l . | grep -v '^node_modules/')" || { gofmt -l . | grep -v '^node_modules/'; echo "gofmt: the files above need formatting"; exit 1; }
	$(GO) run ./internal/protocol/gen -root . -check
	node scripts/typecheck.js
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./wasm/... ./internal/...
	@test -x "$(GOBIN)/staticcheck" || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GOBIN)/staticcheck ./...
	GOOS=js GOARCH=wasm $(GOBIN)/staticcheck ./wasm/... ./internal/...

## bench: every benchmark, with ratios to an encoding/json baseline measured in the same run
bench: $(BENCH_TARGETS)
	@mkdir -p .run
	@$(GO) test -run='^$$' -bench=. -benchmem ./internal/... >.run/bench-go.log 2>&1; status=$$?; \
	  $(GO) run ./scripts/benchratio <.run/bench-go.log; exit $$status

run:
	@if [ ! -d extension ] || [ ! -f extension/manifest.json ]; then echo "davsync: the extension is not built yet"; exit 0; fi
	@scripts/run.sh

package: build
	@scripts/package.sh

deps-node: node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

clean:
	rm -rf dist .run test-results
