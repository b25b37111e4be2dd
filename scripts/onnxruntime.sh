#!/usr/bin/env bash
# Fetch the ONNX Runtime shared library that the intent bot (bot/) loads.
#
# The library comes from the npm package onnxruntime-node, which ships a
# prebuilt libonnxruntime.so.1. `npm pack` downloads the tarball without
# running the package's install scripts, so nothing else is fetched or built.
# The file is cached outside the repository (it is ~20 MB and must never be
# committed) and checked against a pinned sha256, so a changed upstream
# tarball fails loudly instead of loading an unknown binary.
#
# Usage: scripts/onnxruntime.sh [DEST]
#   DEST defaults to
#   ${XDG_CACHE_HOME:-$HOME/.cache}/syncd/onnxruntime-1.24.1/libonnxruntime.so.1
# It prints the library's path on stdout and does nothing when the file is
# already there with the right hash. Without DEST, a SYNCD_ONNXRUNTIME_LIB
# that names an existing file wins: that is the operator's own library, so
# it is printed as it is, never checked or overwritten. That makes
#   SYNCD_ONNXRUNTIME_LIB="$(scripts/onnxruntime.sh)" go test ./...
# right in both cases.
set -euo pipefail

version=1.24.1
want=53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4
member=package/bin/napi-v6/linux/x64/libonnxruntime.so.1

if [ $# -eq 0 ] && [ -n "${SYNCD_ONNXRUNTIME_LIB:-}" ]; then
  if [ -f "$SYNCD_ONNXRUNTIME_LIB" ]; then
    printf '%s\n' "$SYNCD_ONNXRUNTIME_LIB"
    exit 0
  fi
  echo "onnxruntime.sh: SYNCD_ONNXRUNTIME_LIB=$SYNCD_ONNXRUNTIME_LIB does not exist; using the cache instead" >&2
fi
dest="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/syncd/onnxruntime-$version/libonnxruntime.so.1}"

sha() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$dest" ] && [ "$(sha "$dest")" = "$want" ]; then
  printf '%s\n' "$dest"
  exit 0
fi

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) ;;
  *) echo "onnxruntime.sh: only linux/x86_64 is pinned here; set SYNCD_ONNXRUNTIME_LIB to your own libonnxruntime" >&2; exit 1 ;;
esac
command -v npm >/dev/null || { echo "onnxruntime.sh: npm is needed (apt-get install npm)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# npm writes progress to stderr and the tarball name to stdout.
tgz=$(cd "$work" && npm pack --silent "onnxruntime-node@$version" | tail -n 1)
tar -xzf "$work/$tgz" -C "$work" "$member"

got=$(sha "$work/$member")
if [ "$got" != "$want" ]; then
  echo "onnxruntime.sh: sha256 mismatch for libonnxruntime.so.1: got $got, want $want" >&2
  exit 1
fi

mkdir -p "$(dirname "$dest")"
# Copy then rename so a concurrent reader never sees half a file.
cp "$work/$member" "$dest.tmp.$$"
chmod 0644 "$dest.tmp.$$"
mv -f "$dest.tmp.$$" "$dest"
printf '%s\n' "$dest"
