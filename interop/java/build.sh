#!/usr/bin/env bash
# Builds target/nacos-interop-java.jar if it is missing or older than pom.xml / anything in src/.
# Silent on success; on failure prints Maven's output to stderr and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")"
JAR=target/nacos-interop-java.jar

stale() { [ ! -f "$JAR" ] || [ -n "$(find pom.xml src -newer "$JAR" -print -quit)" ]; }

stale || exit 0

mkdir -p target
# Serialise concurrent callers (e.g. parallel test workers); re-check once we hold the lock.
exec 9>target/.build.lock
command -v flock >/dev/null && flock 9
stale || exit 0

echo "build.sh: building $JAR" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! mvn -q -B -DskipTests package >"$log" 2>&1; then
  cat "$log" >&2
  echo "build.sh: maven build failed" >&2
  exit 1
fi
[ -f "$JAR" ] || { cat "$log" >&2; echo "build.sh: $JAR not produced" >&2; exit 1; }
touch "$JAR"
