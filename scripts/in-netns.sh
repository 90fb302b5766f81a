#!/usr/bin/env bash
# Runs a command inside a private network namespace whose loopback also carries TEST-NET-1
# (192.0.2.1/24): the real API server tier's fake kubelets and webhooks listen there, because
# kube-apiserver's node proxy refuses loopback addresses. Nothing in the namespace can reach any
# other network. Needs root (CI runs as root), or unprivileged user namespaces.
set -euo pipefail
if [[ "${PVC_CHONKER_IN_NETNS:-}" != 1 ]]; then
  if [[ "$(id -u)" -eq 0 ]]; then
    exec unshare --net -- env PVC_CHONKER_IN_NETNS=1 bash "$0" "$@"
  fi
  exec unshare --user --map-root-user --net -- env PVC_CHONKER_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
ip addr add 192.0.2.1/24 dev lo
exec "$@"
