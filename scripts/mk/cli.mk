# cli.mk: the command-line tool cmd/davsync.
# Included by the Makefile; uses its GO variable.
#
# test-go runs its tests against golang.org/x/net/webdav in-process;
# test-cli runs them again against real Apache and nginx.

TEST_SUITES += test-cli

.PHONY: cli test-cli

## cli: the command-line tool in dist/davsync
cli:
	@mkdir -p dist
	$(GO) build -trimpath -o dist/davsync ./cmd/davsync

## test-cli: the tool against files the extension's engine wrote on Apache and nginx
test-cli: servers-install
	DAVSYNC_CLI_LISTED_ONLY=1 scripts/servers/with-server.sh apache,nginx \
		$(GO) test -count=1 -timeout 10m ./cmd/davsync/
