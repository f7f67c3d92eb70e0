#!/usr/bin/env bash
# Sets up everything the lab and its tests need on a fresh Debian machine (idempotent):
# npm dependencies, then the native nginx + Lua peer, the browser (chromium), then the container runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
for step in setup-peers.sh setup-browser.sh setup-podman.sh; do
  if [ -f "scripts/$step" ]; then bash "scripts/$step"; fi
done
