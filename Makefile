# The two commands of the README's quick start: `make demo` and `make test`.
GO        ?= go
GOBIN     := $(shell $(GO) env GOPATH)/bin
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null)
# The revision is linked in too: Go stamps it (vcs.revision) only in a plain git checkout, not
# in a worktree or with -buildvcs=false.
LDFLAGS   := -X main.version=$(VERSION) -X main.revision=$(REVISION)

.PHONY: all build deps test lint unit schema-check demo release clean

all: build

deps:
	@bash scripts/install-deps.sh

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ctlops ./cmd/ctlops
	@if [ -d cmd/ctl-provider ]; then $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ctl-provider ./cmd/ctl-provider; fi

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GOBIN)/staticcheck ./...

# unit runs every Go test, including the fuzz targets' seed corpora and the end-to-end tests
# under test/ (which build the binaries themselves). ./test is named first so that the longest
# package starts first; go test runs each package once.
unit:
	$(GO) test -count=1 -timeout 20m ./test ./...

# schema-check validates every example and fixture with ajv, a JSON Schema validator ctlops did
# not write, so the schema and the loader cannot drift apart unnoticed.
schema-check:
	bash scripts/ajv-check.sh

test: deps lint build unit schema-check

demo: deps build
	@bash scripts/demo.sh

# release cross-compiles ctlops for linux/amd64, linux/arm64, darwin/arm64 and windows/amd64
# into dist/ with SHA256SUMS. PKCS#11 needs cgo, so each target needs its C cross-compiler; the
# script skips (and names) the targets whose compiler this machine lacks.
release:
	@VERSION=$(VERSION) REVISION=$(REVISION) GO=$(GO) bash scripts/release.sh

clean:
	rm -rf $(BIN) dist
