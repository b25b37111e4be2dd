# syncd's tasks. `make test` is the one command that runs every test; CI
# (.ci/run) calls it after starting what the tests need.

GO        ?= go

.PHONY: all build test vet onnxruntime model bench run clean

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

onnxruntime:
	scripts/onnxruntime.sh

# Rebuilds the default intent model reproducibly (same data, same bytes),
# with `syncd bot train`'s defaults and syncd's background text.
model:
	$(GO) run ./cmd/syncd bot train --quiet --data bot/model/train.csv --out bot/model/default.onnx

bench:
	SYNCD_ONNXRUNTIME_LIB="$$(scripts/onnxruntime.sh)" $(GO) test -run '^$$' -bench . -benchtime 1x ./...

run:
	$(GO) run ./cmd/syncd run

clean:
	rm -f syncd syncd.db syncd.db-shm syncd.db-wal
