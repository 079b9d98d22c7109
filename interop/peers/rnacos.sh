#!/usr/bin/env bash
# r-nacos (crate `rnacos` on crates.io), a Nacos-compatible server in Rust, as a real peer for
# interop tests and benchmarks. Kept out of the fast test path: the first install compiles it
# (about 10 minutes on 2 cores), later calls find the cached binary and do nothing.
#
#   interop/peers/rnacos.sh install              build into the cache if absent; prints the binary path
#   interop/peers/rnacos.sh bin                  prints the binary path (exit 1 if not installed)
#   interop/peers/rnacos.sh run PORT DATA_DIR    runs it in the foreground (exec) on 127.0.0.1:
#                                                HTTP PORT, gRPC PORT+1000, console off
#   interop/peers/rnacos.sh wait PORT [SECONDS]  waits until GET /nacos/v1/console/health/readiness is 200
#                                                and GET /nacos/v1/raft/metrics says "state":"Leader"
#                                                (readiness alone answers OK from the first ms; writes
#                                                need the single-node raft leader, elected soon after)
#                                                and the gRPC port accepts TCP (if that port is taken,
#                                                rnacos 0.8.8 panics in its gRPC task but keeps serving
#                                                HTTP, so HTTP readiness alone would lie)
#
# Environment:
#   RNACOS_CACHE    install root (default $HOME/.cache/nacos-remote/rnacos; binary in $RNACOS_CACHE/bin)
#   RNACOS_VERSION  crate version to install (default below)
#   Any RNACOS_* setting the server reads is passed through; `run` sets these unless already set:
#     RNACOS_HTTP_PORT=PORT  RNACOS_GRPC_PORT=PORT+1000  RNACOS_DATA_DIR=DATA_DIR
#     RNACOS_SDK_HOST=127.0.0.1 (bind address of HTTP and gRPC; the server's default is 0.0.0.0)
#     RNACOS_CONSOLE_HOST=127.0.0.1
#     RNACOS_HTTP_CONSOLE_PORT=0 (0 = no console listener; the server's default is PORT+2000)
#     RNACOS_RAFT_NODE_ADDR=127.0.0.1:PORT+1000 (its default too; raft traffic rides the gRPC port)
#     RUST_LOG=warn
#   The server also loads a .env file from its working directory (dotenv); `run` passes
#   --env-file /dev/null so a stray .env cannot change settings.
set -euo pipefail

RNACOS_VERSION="${RNACOS_VERSION:-0.8.8}"
RNACOS_CACHE="${RNACOS_CACHE:-${HOME}/.cache/nacos-remote/rnacos}"
BIN="${RNACOS_CACHE}/bin/rnacos"

die() { echo "rnacos.sh: $*" >&2; exit 1; }

cmd_install() {
  if [[ -x "$BIN" ]]; then
    echo "$BIN"
    return 0
  fi
  command -v cargo >/dev/null || die "cargo not found (install Rust, or put ~/.cargo/bin on PATH)"
  mkdir -p "$RNACOS_CACHE"
  echo "rnacos.sh: building rnacos ${RNACOS_VERSION} into ${RNACOS_CACHE} (takes minutes)" >&2
  cargo install rnacos --version "=${RNACOS_VERSION}" --locked --root "$RNACOS_CACHE" >&2
  [[ -x "$BIN" ]] || die "cargo install finished but $BIN is missing"
  echo "$BIN"
}

cmd_bin() {
  [[ -x "$BIN" ]] || die "not installed: run '$0 install'"
  echo "$BIN"
}

cmd_run() {
  local port="${1:-}" data="${2:-}"
  [[ "$port" =~ ^[0-9]+$ ]] || die "usage: $0 run PORT DATA_DIR"
  [[ -n "$data" ]] || die "usage: $0 run PORT DATA_DIR"
  (( port >= 1 && port + 1000 <= 65535 )) || die "PORT+1000 must be a valid port"
  [[ -x "$BIN" ]] || die "not installed: run '$0 install'"
  mkdir -p "$data"
  export RNACOS_HTTP_PORT="$port"
  export RNACOS_GRPC_PORT="${RNACOS_GRPC_PORT:-$((port + 1000))}"
  export RNACOS_DATA_DIR="$data"
  export RNACOS_SDK_HOST="${RNACOS_SDK_HOST:-127.0.0.1}"
  export RNACOS_CONSOLE_HOST="${RNACOS_CONSOLE_HOST:-127.0.0.1}"
  export RNACOS_HTTP_CONSOLE_PORT="${RNACOS_HTTP_CONSOLE_PORT:-0}"
  export RNACOS_RAFT_NODE_ADDR="${RNACOS_RAFT_NODE_ADDR:-127.0.0.1:${RNACOS_GRPC_PORT}}"
  export RUST_LOG="${RUST_LOG:-warn}"
  cd "$data"
  exec "$BIN" --env-file /dev/null
}

cmd_wait() {
  local port="${1:-}" seconds="${2:-60}"
  [[ "$port" =~ ^[0-9]+$ ]] || die "usage: $0 wait PORT [SECONDS]"
  local grpc_port="${RNACOS_GRPC_PORT:-$((port + 1000))}"
  local url="http://127.0.0.1:${port}/nacos/v1/console/health/readiness"
  local deadline=$((SECONDS + seconds))
  while (( SECONDS < deadline )); do
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)" == 200 ]] &&
      curl -s --max-time 2 "http://127.0.0.1:${port}/nacos/v1/raft/metrics" | grep -q '"state":"Leader"' &&
      (exec 3<>"/dev/tcp/127.0.0.1/${grpc_port}") 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  die "not ready after ${seconds}s: $url"
}

case "${1:-}" in
  install) cmd_install ;;
  bin) cmd_bin ;;
  run) shift; cmd_run "$@" ;;
  wait) shift; cmd_wait "$@" ;;
  *) die "usage: $0 install | bin | run PORT DATA_DIR | wait PORT [SECONDS]" ;;
esac
