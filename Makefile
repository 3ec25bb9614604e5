# Stockade. On a fresh Debian machine: `make demo`, `make test`.
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
BIN := bin/stockade

.PHONY: all deps build demo test check test-root test-unprivileged bench clean

all: build

deps:
	@scripts/install-deps

build: deps
	$(GO) build -o $(BIN) ./cmd/stockade

# The main job: a sandboxed command streaming its output.
demo: build
	@echo '$$ stockade run --profile container -- sh -c ...'
	@$(BIN) run --profile container -- /bin/sh -c \
		'for i in 1 2 3 4 5; do echo "line $$i from $$(hostname), pid $$$$, uid $$(id -u), / holds: $$(ls / | tr "\n" " ")"; sleep 0.2; done'
	@echo '$$ stockade run -- sh -c "exit 3"   (the exit status comes back)'
	@$(BIN) run -- /bin/sh -c 'exit 3' || echo "exit status $$?"
	@echo '$$ go run ./examples/stream-follow   (Go API: a sandboxed tail -f as channel values, filtered)'
	@$(GO) run ./examples/stream-follow

# The whole suite: formatting and vet, then every test with the race
# detector, as the caller and (when that is root) as an unprivileged user;
# syscallproxy once more with its zygote off (STOCKADE_ZYGOTE=off), the
# direct spawn path.
test: deps check test-root test-unprivileged

check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

test-root:
	$(GO) test -race -count=1 $(TESTFLAGS) ./...
	STOCKADE_ZYGOTE=off $(GO) test -race -count=1 $(TESTFLAGS) ./syscallproxy/

test-unprivileged:
	@scripts/test-unprivileged

# Stockade side by side with os/exec, bwrap and a C floor; stdout through
# a stream against a plain read loop on the same pipe sizes; output and
# spawns through actors against the channel and a direct spawn.
bench: deps
	$(GO) run ./bench/compare $(BENCHFLAGS)
	$(GO) test -run '^$$' -bench 'PlainReadLoop|Stream|CopyChannel' -benchtime 4x -benchmem ./stream
	$(GO) test -run '^$$' -bench . -benchtime 20x ./actor ./supervisor

clean:
	rm -rf bin bench/.build
