# The two commands of the README's quick start: `make demo` and `make test`.
GO        ?= go
GOBIN     := $(shell $(GO) env GOPATH)/bin
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)

.PHONY: all build deps test lint unit schema-check demo clean

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
# under test/ (which build the binaries themselves).
unit:
	$(GO) test -count=1 -timeout 20m ./...

# schema-check validates every example and fixture with ajv, a JSON Schema validator ctlops did
# not write, so the schema and the loader cannot drift apart unnoticed.
schema-check:
	bash scripts/ajv-check.sh

test: deps lint build unit schema-check

demo: deps build
	@bash scripts/demo.sh

clean:
	rm -rf $(BIN)
