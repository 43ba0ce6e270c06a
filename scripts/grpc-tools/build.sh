#!/usr/bin/env bash
# Builds the stock gRPC tools the SDK's transport is tested with (sdk/test/rpc/stock-tools.test.ts):
#   grpcurl            github.com/fullstorydev/grpcurl/cmd/grpcurl        (server reflection, calls)
#   grpc-health-probe  github.com/grpc-ecosystem/grpc-health-probe        (grpc.health.v1)
# with `go install` at pinned versions into
#   ${MCP0_CACHE:-$HOME/.cache/mcp0}/grpc-tools-grpcurl<v>-probe<v>/bin
# once, then reuses them (a .complete marker is written only after both are in place). Needs Go
# >= 1.26 (grpc-health-probe's go.mod says go 1.26.0; grpcurl's 1.25.0) and the Go module proxy;
# the modules' own go.sum files and the checksum database pin every dependency. GOTOOLCHAIN=local:
# the probe's go.mod also names `toolchain go1.27.x`, which GOTOOLCHAIN=auto would go and download
# although the local Go builds it.
# Prints grpcurl's path, then grpc-health-probe's, on stdout as its last two lines; .ci/run exports
# them as MCP0_GRPCURL and MCP0_GRPC_HEALTH_PROBE.
set -euo pipefail

GRPCURL_VERSION=v1.9.4
HEALTH_PROBE_VERSION=v0.4.63
CACHE="${MCP0_CACHE:-$HOME/.cache/mcp0}"
OUT_DIR="$CACHE/grpc-tools-grpcurl${GRPCURL_VERSION#v}-probe${HEALTH_PROBE_VERSION#v}"
GRPCURL="$OUT_DIR/bin/grpcurl"
PROBE="$OUT_DIR/bin/grpc-health-probe"

mkdir -p "$CACHE"
# One builder at a time: two CI steps or two clones may share the cache.
exec 9>"$OUT_DIR.lock"
flock 9

if [ ! -f "$OUT_DIR/.complete" ] || [ ! -x "$GRPCURL" ] || [ ! -x "$PROBE" ]; then
  command -v go >/dev/null || { echo "build.sh: the Go toolchain (go >= 1.24) is required to build grpcurl and grpc-health-probe" >&2; exit 1; }
  echo "== building grpcurl $GRPCURL_VERSION and grpc-health-probe $HEALTH_PROBE_VERSION with $(go version) (first run only)" >&2
  start=$(date +%s)
  rm -rf "$OUT_DIR"
  mkdir -p "$OUT_DIR"
  tmp="$(mktemp -d "$OUT_DIR/.bin.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  # `go install pkg@version` builds outside any main module, from that module's own go.mod and
  # go.sum, one module per command; -mod=mod keeps a -mod=vendor or -mod=readonly in the caller's
  # GOFLAGS from getting in the way.
  for pkg in "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION" "github.com/grpc-ecosystem/grpc-health-probe@$HEALTH_PROBE_VERSION"; do
    CGO_ENABLED=0 GOTOOLCHAIN=local GOBIN="$tmp" GOFLAGS="${GOFLAGS:-} -mod=mod -buildvcs=false" \
      go install -trimpath -ldflags='-s -w' "$pkg"
  done
  chmod 755 "$tmp"
  mv "$tmp" "$OUT_DIR/bin"
  touch "$OUT_DIR/.complete"
  echo "== built $OUT_DIR/bin in $(( $(date +%s) - start ))s" >&2
fi
echo "$GRPCURL"
echo "$PROBE"
