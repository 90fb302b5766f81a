#!/usr/bin/env bash
# Install the system packages the tests need: Debian's prometheus-pushgateway (a real Pushgateway
# the tests start on a loopback port), prometheus (for promtool, which checks and unit-tests the
# alert rules) and shellcheck (`make shellcheck` lints scripts/). Idempotent and non-interactive; CI runs it as root on Debian.
# apt does not start the pushgateway for us in a container (no systemd), and the tests do not
# want it to: each test starts its own with an empty persistence file on a free port.
set -euo pipefail

need=()
command -v prometheus-pushgateway >/dev/null 2>&1 || need+=(prometheus-pushgateway)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
# The real API server tier runs in a network namespace: unshare (util-linux) and ip (iproute2).
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v ip >/dev/null 2>&1 || need+=(iproute2)

if [[ ${#need[@]} -eq 0 ]]; then
  echo "system deps present: prometheus-pushgateway, promtool, shellcheck, unshare, ip" >&2
  exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "need root (or sudo) to install: ${need[*]}" >&2
    exit 1
  fi
else
  sudo=()
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# Refresh the package lists only when apt does not know the packages yet (a fresh container
# has empty lists); a second run on the same machine does no network work at all.
if ! apt-cache show "${need[@]}" >/dev/null 2>&1; then
  "${sudo[@]}" apt-get update -q
fi

# policy-rc.d stops the packages' maintainer scripts from starting daemons where an init
# system exists; we remove it again only if we created it.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod +x "$policy"
  created_policy=1
fi
cleanup() { if [[ $created_policy -eq 1 ]]; then "${sudo[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

"${sudo[@]}" apt-get install "${apt_opts[@]}" "${need[@]}"

command -v prometheus-pushgateway >/dev/null
command -v promtool >/dev/null
command -v shellcheck >/dev/null
command -v unshare >/dev/null
command -v ip >/dev/null
echo "installed: ${need[*]}" >&2
