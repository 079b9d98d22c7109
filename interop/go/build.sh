#!/usr/bin/env bash
# Builds bin/nacos-interop-go (the real nacos-sdk-go/v2 behind a line protocol) when it is missing
# or older than go.mod, go.sum or a .go file. The first build downloads modules from the Go
# module proxy; later ones work offline from the module cache.
set -euo pipefail
cd "$(dirname "$0")"
. ../lib/cached-build.sh
# -mod=readonly: go.mod/go.sum are committed and complete. GOTOOLCHAIN=local: never download a toolchain.
build() { GOTOOLCHAIN=local GOFLAGS=-mod=readonly go build -trimpath -buildvcs=false -o bin/nacos-interop-go.tmp . && mv -f bin/nacos-interop-go.tmp bin/nacos-interop-go; }
cached_build bin/nacos-interop-go go.mod go.sum $(ls ./*.go) -- build
