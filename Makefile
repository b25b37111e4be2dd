# syncd's tasks. `make test` is the one command that runs every test; CI
# (.ci/run) calls it after starting what the tests need.

GO        ?= go
# Go 1.26.8 (this machine's) has vulnerabilities in net/http, crypto/tls
# and crypto/x509 that govulncheck finds reachable from syncd; 1.27.3 has
# the fixes. The go command fetches it through the module proxy once.
GOTOOLCHAIN ?= go1.27.3
export GOTOOLCHAIN

.PHONY: all build test vet vulncheck onnxruntime model bench run clean

all: build

build:
	$(GO) build -o syncd ./cmd/syncd

# Fetches the ONNX Runtime library (npm pack, sha256-checked, cached outside
# git) and runs every test with the race detector against the machine's
# MariaDB and Redis.
test: vet
	SYNCD_ONNXRUNTIME_LIB="$$(scripts/onnxruntime.sh)" $(GO) test -race -count=1 -timeout 30m ./...

vet:
	$(GO) vet ./...

# govulncheck ./... against a database taken through the module proxy
# (scripts/vulncheck.sh says how); fails when vulnerable code is reachable.
vulncheck:
	scripts/vulncheck.sh

onnxruntime:
	scripts/onnxruntime.sh

# Rebuilds the default intent model reproducibly (same data, same bytes),
# with `syncd bot train`'s defaults and syncd's background text, except
# --hidden -1: on the shop's evaluation sets the linear model is more
# accurate than the hidden layers the held-out tenth picks and accepts half
# as many out-of-scope messages, and the relay pays far less for it
# (docs/benchmarks-bot.md).
model:
	$(GO) run ./cmd/syncd bot train --quiet --hidden -1 --data bot/model/train.csv --out bot/model/default.onnx

bench:
	SYNCD_ONNXRUNTIME_LIB="$$(scripts/onnxruntime.sh)" $(GO) test -run '^$$' -bench . -benchtime 1x ./...

# The README's first command: syncd on its embedded default, with the intent
# bot on. ONNX Runtime is fetched and checked first (once; it is cached
# outside git); if that fails, syncd still starts, with the bot off, and
# turns it on when the library appears (`make onnxruntime`).
run:
	@lib="$$(scripts/onnxruntime.sh)" || { lib=; echo "make run: ONNX Runtime could not be fetched (see above); syncd starts with the intent bot off" >&2; }; \
	SYNCD_ONNXRUNTIME_LIB="$$lib" $(GO) run ./cmd/syncd run

clean:
	rm -f syncd syncd.db syncd.db-shm syncd.db-wal
