# Real WebDAV servers (scripts/servers) and the contract suite against them
# (tests/contract). Owner: servers.

SERVERS_CLI     := $(GO) run ./scripts/servers
# The server wasm/jsfetch's own tests run against under Node.
JSFETCH_SERVER  ?= apache

.PHONY: servers-install servers-start servers-stop test-servers

## servers-install: the Debian packages and npm modules the test servers need
servers-install:
	$(SERVERS_CLI) install

## servers-start: start all test servers in .run/servers (prints NAME URL USER PASS)
servers-start: servers-install
	$(SERVERS_CLI) start all

## servers-stop: stop the servers started by servers-start
servers-stop:
	$(SERVERS_CLI) stop all

## test-servers: the contract suite against every real server, natively and
## through the browser transport (fetch under Node), and wasm/jsfetch's own
## tests against one real server (and a hostile proxy in front of it)
test-servers: servers-install
	$(GO) test -count=1 -timeout 8m ./tests/contract/...
	scripts/servers/with-server.sh all \
		env GOOS=js GOARCH=wasm $(WASMPATH) $(GO) test -count=1 -short -timeout 8m ./tests/contract/...
	scripts/servers/with-server.sh $(JSFETCH_SERVER) scripts/with-faultproxy.sh \
		env GOOS=js GOARCH=wasm $(WASMPATH) $(GO) test -count=1 -short ./wasm/jsfetch/...

TEST_SUITES += test-servers
