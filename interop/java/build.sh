#!/usr/bin/env bash
# Builds the harness jars around the real nacos-client when missing or older than pom.xml or
# anything in src/: target/nacos-interop-java.jar (2.2.4) and target/nacos-interop-java-3.1.0.jar
# (3.1.0, the current client; naming and config harnesses only).
set -euo pipefail
cd "$(dirname "$0")"
. ../lib/cached-build.sh
cached_build target/nacos-interop-java.jar pom.xml src -- mvn -q -B -DskipTests package
cached_build target/nacos-interop-java-3.1.0.jar pom.xml src -- mvn -q -B -DskipTests -P nacos3 package
