#!/usr/bin/env bash
# Regenerates sim/proto-schema.ts, the simulator's protobuf table, from k8s.io/api and
# k8s.io/apimachinery (the version in scripts/proto-schema/go.mod: the real tier's release).
# Needs Go and the modules (the Go module cache of scripts/build-real-cluster.sh has them);
# CI does not run it: the output is checked in.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
(cd scripts/proto-schema && go run .) >sim/proto-schema.ts.tmp
mv sim/proto-schema.ts.tmp sim/proto-schema.ts
npx prettier --write sim/proto-schema.ts >/dev/null
