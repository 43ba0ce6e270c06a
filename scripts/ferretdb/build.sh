#!/usr/bin/env bash
# Builds the FerretDB v1.24.2 test server (scripts/ferretdb/main.go, SQLite backend, no cgo) into
#   ${MCP0_CACHE:-$HOME/.cache/mcp0}/ferretdb-1.24.2/ferretdb-test
# only when it is missing or was built from different sources (a stamp file records a hash of
# main.go, go.mod and go.sum). Needs Go >= 1.24 (or GOTOOLCHAIN=auto) and the Go module proxy; the
# committed go.sum pins every module. The first build compiles modernc SQLite and takes minutes.
# Prints the binary's path on stdout as its last line.
set -euo pipefail
cd "$(dirname "$0")"

FERRETDB_VERSION=1.24.2
CACHE="${MCP0_CACHE:-$HOME/.cache/mcp0}"
OUT_DIR="$CACHE/ferretdb-$FERRETDB_VERSION"
BIN="$OUT_DIR/ferretdb-test"
STAMP="$BIN.sources"

sources_hash=$(cat main.go go.mod go.sum | sha256sum | cut -d' ' -f1)

if [ -x "$BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$sources_hash" ]; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { echo "build.sh: the Go toolchain (go >= 1.24) is required to build FerretDB" >&2; exit 1; }

mkdir -p "$OUT_DIR"
tmp="$(mktemp "$OUT_DIR/.ferretdb-test.XXXXXX")"
trap 'rm -f "$tmp"' EXIT

echo "== building FerretDB $FERRETDB_VERSION test server with $(go version) (first run only; minutes)" >&2
start=$(date +%s)
# -mod=readonly: go.sum is committed and must already cover every module.
CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly -buildvcs=false" \
  go build -trimpath -ldflags='-s -w' -o "$tmp" .
chmod +x "$tmp"
mv -f "$tmp" "$BIN"
echo "$sources_hash" > "$STAMP"
echo "== built $BIN in $(( $(date +%s) - start ))s" >&2
echo "$BIN"
