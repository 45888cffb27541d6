# internal/webdav (owner: client). Its unit tests run in test-go and
# test-wasm, its fuzz targets in test-fuzz; this adds the guard that keeps
# net/http out of the wasm build of the client.
TEST_SUITES += test-webdav-nonethttp

.PHONY: test-webdav-nonethttp test-webdav

## test-webdav-nonethttp: internal/webdav must not link net/http under GOOS=js
test-webdav-nonethttp:
	@if GOOS=js GOARCH=wasm $(GO) list -deps ./internal/webdav | grep -qx 'net/http'; then \
		echo "internal/webdav links net/http under GOOS=js: keep net/http in internal/webdav/httptransport"; exit 1; \
	else echo "internal/webdav: no net/http under GOOS=js"; fi

## test-webdav: the client's tests natively (with -race) and under wasm
test-webdav:
	$(GO) test -count=1 -race ./internal/webdav/...
	GOOS=js GOARCH=wasm $(WASMPATH) $(GO) test -count=1 -short ./internal/webdav/...
