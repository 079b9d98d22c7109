#!/usr/bin/env bash
# Builds target/nacos-interop-java.jar (the real nacos-client 2.2.4 behind a line protocol) when
# it is missing or older than pom.xml or anything in src/.
set -euo pipefail
cd "$(dirname "$0")"
. ../lib/cached-build.sh
cached_build target/nacos-interop-java.jar pom.xml src -- mvn -q -B -DskipTests package
