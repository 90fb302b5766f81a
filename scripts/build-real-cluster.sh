#!/usr/bin/env bash
# Build the real test cluster's kube-apiserver and etcd from Go modules, into .cache/real/bin.
# Versions are pinned in scripts/real-cluster-versions.env; a warm run builds nothing.
#
# k8s.io/kubernetes is not meant to be required as a module: its go.mod names its 31 staging
# modules as k8s.io/<name> v0.0.0 and resolves them with replace directives into staging/,
# which a dependent module does not see. A wrapper module replaces each of those exact v0.0.0
# requirements with the published v0.<minor>.<patch> release; k8s.io/utils and
# k8s.io/kube-openapi keep their pseudo-versions. etcd's server module has replace directives
# too, so `go install` refuses it; it is built as the main package of a wrapper module.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=/dev/null
source scripts/real-cluster-versions.env

root="$PWD/.cache/real"
bin="$root/bin"
apiserver="$bin/kube-apiserver-$KUBERNETES_VERSION"
etcd="$bin/etcd-$ETCD_VERSION"
mkdir -p "$bin"
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local

build_apiserver() {
  local src="$root/src/kube-apiserver-$KUBERNETES_VERSION"
  local staging="v0.${KUBERNETES_VERSION#v1.}"
  mkdir -p "$src"
  local upstream
  upstream=$(cd "$src" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [[ -f "$upstream" ]] || { echo "build-real-cluster: no go.mod for k8s.io/kubernetes@$KUBERNETES_VERSION" >&2; exit 1; }
  {
    echo "module pvc-chonker.test/kube-apiserver"
    echo
    echo "go $(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')"
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    # Only the requirements written exactly as v0.0.0 are staging modules.
    awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print "replace " $1 " => " $1 " '"$staging"'" }' "$upstream" | sort -u
  } >"$src/go.mod"
  local n
  n=$(grep -c '^replace ' "$src/go.mod")
  echo "build-real-cluster: kube-apiserver $KUBERNETES_VERSION, $n staging modules replaced by $staging" >&2
  cat >"$src/tools.go" <<'GO'
//go:build tools

// Keeps k8s.io/kubernetes/cmd/kube-apiserver in the module graph for `go mod tidy`.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
  (cd "$src" && go mod tidy >/dev/null &&
    go build -trimpath -o "$apiserver.tmp" -ldflags "-s -w \
      -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION \
      -X k8s.io/component-base/version.gitMajor=1 \
      -X k8s.io/component-base/version.gitMinor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2) \
      -X k8s.io/component-base/version.gitTreeState=clean \
      -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION" \
      k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$apiserver.tmp" "$apiserver"
}

build_etcd() {
  local src="$root/src/etcd-$ETCD_VERSION"
  mkdir -p "$src"
  cat >"$src/go.mod" <<MOD
module pvc-chonker.test/etcd

go $(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
MOD
  cat >"$src/main.go" <<'GO'
// etcd's own main, built from the server module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$src" && go mod tidy >/dev/null && go build -trimpath -ldflags "-s -w" -o "$etcd.tmp" .)
  mv "$etcd.tmp" "$etcd"
}

start=$SECONDS
[[ -x "$etcd" ]] || build_etcd
[[ -x "$apiserver" ]] || build_apiserver
echo "build-real-cluster: $("$apiserver" --version), etcd $("$etcd" --version | sed -n 's/^etcd Version: //p') ready in $((SECONDS - start)) s" >&2
