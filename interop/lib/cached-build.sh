#!/usr/bin/env bash
# cached_build ARTIFACT SOURCE... -- BUILD COMMAND...
# Runs the build command only when ARTIFACT is missing or older than any SOURCE (files or
# folders), under a lock so parallel test workers build once. Silent on a cache hit; on failure
# prints the build's output to stderr and returns non-zero.
cached_build() {
  local artifact=$1
  shift
  local sources=()
  while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do sources+=("$1"); shift; done
  shift
  stale() { [ ! -e "$artifact" ] || [ -n "$(find "${sources[@]}" -newer "$artifact" -print -quit)" ]; }
  stale || return 0
  mkdir -p "$(dirname "$artifact")"
  exec 9>"$(dirname "$artifact")/.build.lock"
  command -v flock >/dev/null && flock 9
  stale || return 0
  echo "build: building $artifact" >&2
  local log
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "build: $artifact failed to build" >&2
    return 1
  fi
  rm -f "$log"
  [ -e "$artifact" ] || { echo "build: $artifact was not produced" >&2; return 1; }
  touch "$artifact"
}
