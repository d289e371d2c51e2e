# usher's developer commands. `make test` is what CI runs (through .ci/run).
GO ?= go

.PHONY: test test-sqlite build lint npm-tools chromium directory-servers

# Every test on SQLite and on a throwaway PostgreSQL cluster (scripts/with-postgres.sh), with the
# pinned npm tools some tests run (scripts/npm-tools.sh), the browser the console tests drive
# (scripts/chromium.sh) and the directory servers the directory tests start
# (scripts/directory-servers.sh).
test: npm-tools chromium directory-servers
	scripts/with-postgres.sh $(GO) test -race -count=1 -timeout 30m ./...

# The npm packages tools/npm/package-lock.json pins (the OpenAPI linter, axe-core), installed once
# into .tools/.
npm-tools:
	scripts/npm-tools.sh

# Debian's chromium for the console's browser tests (internal/web/browsertest), installed if missing.
chromium:
	scripts/chromium.sh

# Debian's slapd and Samba AD DC for the directory tests (internal/directory/dirtest), installed if
# missing.
directory-servers:
	scripts/directory-servers.sh

# Every test on SQLite only; no PostgreSQL needed.
test-sqlite:
	$(GO) test -race ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/usher ./cmd/usher

lint:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt: these files need formatting:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	@if command -v staticcheck >/dev/null 2>&1; then \
		echo staticcheck ./...; staticcheck ./...; \
	else \
		echo $(GO) run honnef.co/go/tools/cmd/staticcheck@latest ./...; $(GO) run honnef.co/go/tools/cmd/staticcheck@latest ./...; \
	fi
