#!/usr/bin/env bash
# Run govulncheck ./... with no network at scan time.
#
# govulncheck reads its vulnerability database from vuln.go.dev, which this
# project's machines and CI cannot reach. The same data is published as
# the Go module golang.org/x/vulndb (its data/osv holds every report as OSV
# JSON), which the module proxy serves like any module. This script takes
# its newest version through the proxy, turns data/osv into the database
# layout govulncheck reads with the module's own cmd/indexdb, caches the
# result per version, and scans against it with -db file://. Without the
# proxy it falls back to the newest database in the cache, and says so.
#
# Usage: scripts/vulncheck.sh [PACKAGES]   (default ./...)
# Exit status: govulncheck's (0: no vulnerable code is called; 3: some is).
set -euo pipefail
cd "$(dirname "$0")/.."

tool=golang.org/x/vuln/cmd/govulncheck@v1.9.0
cache=${XDG_CACHE_HOME:-$HOME/.cache}/syncd/vulndb
mkdir -p "$cache"

# Module queries outside this module, so go.mod and go.sum stay as they are.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && go mod init vulncheck >/dev/null 2>&1)

version=$(cd "$scratch" && go list -m -f '{{.Version}}' golang.org/x/vulndb@latest 2>/dev/null || true)
if [ -z "$version" ]; then
  db=$(ls -d "$cache"/v* 2>/dev/null | sort | tail -n 1 || true)
  if [ -z "$db" ]; then
    echo "vulncheck: golang.org/x/vulndb is not reachable through the module proxy and nothing is cached" >&2
    exit 1
  fi
  echo "vulncheck: module proxy unreachable; using the cached database $(basename "$db")" >&2
else
  db=$cache/$version
  if [ ! -f "$db/index/db.json" ]; then
    src=$(cd "$scratch" && go mod download -json "golang.org/x/vulndb@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    rm -rf "$db.tmp"
    (cd "$scratch" && go run "golang.org/x/vulndb/cmd/indexdb@$version" -vulns "$src/data/osv" -out "$db.tmp")
    mv "$db.tmp" "$db"
  fi
  echo "vulncheck: database golang.org/x/vulndb@$version" >&2
fi

go run "$tool" -db "file://$db" "${@:-./...}"
