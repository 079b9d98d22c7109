#!/usr/bin/env bash
# A real Nacos 2.2.4 server (standalone, embedded Derby storage, auth off) as a peer for interop
# tests. Built from Maven Central only: the io.springboot.nacos 2.2.4 republication of the server
# modules (nacos-config, nacos-naming, nacos-core, nacos-plugin-default-impl, ...) plus the small
# launcher in nacos-server/src (nacos-console, which holds com.alibaba.nacos.Nacos, is not on
# Maven Central under any group tried). nacos-server/src also restores the raft groups that the
# republication stubs out (see RaftGroupsFix.java). Kept out of the fast test path.
#
#   interop/peers/nacos-server.sh build             build the jar into the cache if absent; prints its path
#   interop/peers/nacos-server.sh jar               prints the jar path (exit 1 if not built)
#   interop/peers/nacos-server.sh run PORT HOME     runs it in the foreground (exec), HTTP on 127.0.0.1:PORT
#   interop/peers/nacos-server.sh wait PORT [SECS]  waits until GET /nacos/v1/console/health/readiness is 200
#
# Ports taken by `run` (fixed offsets in Nacos 2.2.4, not configurable):
#   PORT       HTTP (Tomcat, bound to 127.0.0.1), context path /nacos
#   PORT+1000  client gRPC (Request / BiRequestStream)   -- bound to all interfaces by Nacos
#   PORT+1001  cluster gRPC                                -- bound to all interfaces by Nacos
#   PORT-1000  JRaft (naming persistent data)              -- bound to all interfaces by Nacos
# All four must be free; PORT must be in 1001..64534.
#
# Environment:
#   NACOS_SERVER_CACHE  cache dir (default $HOME/.cache/nacos-remote/nacos-server)
#   NACOS_JAVA          java binary (default: java on PATH; Java 17 works)
#   NACOS_JAVA_OPTS     JVM options (default: -Xms256m -Xmx512m -XX:+UseG1GC)
# Logs: the per-module files of a real install (nacos.log, remote.log, remote-digest.log,
#   naming-server.log, config-*.log, ...) in HOME/logs; Spring Boot's own lines on stdout.
#   Extra arguments after HOME are passed to Spring Boot (e.g. --nacos.core.auth.enabled=true).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT="${HERE}/nacos-server"
NACOS_SERVER_CACHE="${NACOS_SERVER_CACHE:-${HOME}/.cache/nacos-remote/nacos-server}"
JAVA="${NACOS_JAVA:-java}"

die() { echo "nacos-server.sh: $*" >&2; exit 1; }

# The jar name carries a hash of the project's sources, so an edit to them means a rebuild.
stamp() {
  (cd "$PROJECT" && find pom.xml src -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-12
}
jar_path() { echo "${NACOS_SERVER_CACHE}/nacos-server-2.2.4-$(stamp).jar"; }

cmd_build() {
  local jar
  jar="$(jar_path)"
  if [[ -f "$jar" ]]; then
    echo "$jar"
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found"
  mkdir -p "$NACOS_SERVER_CACHE"
  local build="${NACOS_SERVER_CACHE}/build"
  echo "nacos-server.sh: building ${jar} (first time downloads ~120 MB from Maven Central)" >&2
  mvn -B -q -f "${PROJECT}/pom.xml" -Dpeer.build.dir="$build" -DskipTests package >&2
  rm -f "${NACOS_SERVER_CACHE}"/nacos-server-2.2.4-*.jar # stale builds of older sources
  cp "${build}/nacos-server-peer.jar" "${jar}.tmp"
  mv "${jar}.tmp" "$jar"
  echo "$jar"
}

cmd_jar() {
  local jar
  jar="$(jar_path)"
  [[ -f "$jar" ]] || die "not built: run '$0 build'"
  echo "$jar"
}

cmd_run() {
  local port="${1:-}" home="${2:-}"
  [[ "$port" =~ ^[0-9]+$ && -n "$home" ]] || die "usage: $0 run PORT HOME [--spring.args ...]"
  shift 2
  (( port > 1000 && port + 1001 <= 65535 )) || die "PORT must be in 1001..64534 (uses PORT-1000..PORT+1001)"
  local jar
  jar="$(cmd_jar)"
  mkdir -p "$home"
  home="$(cd "$home" && pwd)"
  cd "$home" # Tomcat's basedir and derby.log land in the working directory
  # shellcheck disable=SC2086
  exec "$JAVA" ${NACOS_JAVA_OPTS:--Xms256m -Xmx512m -XX:+UseG1GC} \
    -Dnacos.standalone=true \
    -Dnacos.home="$home" \
    -Djava.io.tmpdir="$home" \
    -jar "$jar" \
    --server.port="$port" \
    --server.address=127.0.0.1 \
    --nacos.inetutils.ip-address=127.0.0.1 \
    --nacos.core.auth.enabled=false \
    --logging.config=classpath:META-INF/logback/nacos.xml \
    --nacos.logs.path="$home/logs" \
    "$@"
}

cmd_wait() {
  local port="${1:-}" seconds="${2:-120}"
  [[ "$port" =~ ^[0-9]+$ ]] || die "usage: $0 wait PORT [SECONDS]"
  local url="http://127.0.0.1:${port}/nacos/v1/console/health/readiness"
  local deadline=$((SECONDS + seconds))
  while (( SECONDS < deadline )); do
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)" == 200 ]]; then
      return 0
    fi
    sleep 0.5
  done
  die "not ready after ${seconds}s: $url"
}

case "${1:-}" in
  build) cmd_build ;;
  jar) cmd_jar ;;
  run) shift; cmd_run "$@" ;;
  wait) shift; cmd_wait "$@" ;;
  *) die "usage: $0 build | jar | run PORT HOME [spring args] | wait PORT [SECONDS]" ;;
esac
