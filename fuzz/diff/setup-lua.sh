#!/usr/bin/env bash
# What the differential fuzzer needs, idempotent and quick when done: a `luajit` (luajit2, the
# OpenResty branch that libnginx-mod-http-lua uses; Debian's plain `luajit` conflicts with it) and
# the original protocol.lua from Debian's lua-nginx-websocket 0.08 (protocol.lua is unchanged
# from v0.08 to v0.13 but for _VERSION), extracted under .cache/ (never committed).
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=.cache/lua-nginx-websocket
proto=$dest/usr/share/lua/5.1/nginx/websocket/protocol.lua
apt_get() { apt-get -o DPkg::Lock::Timeout=600 "$@"; }
if ! command -v luajit >/dev/null 2>&1; then
  apt_get update -qq
  DEBIAN_FRONTEND=noninteractive apt_get install -y -qq luajit2 >/dev/null
fi
if [ ! -f "$proto" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download lua-nginx-websocket >/dev/null 2>&1 || { apt_get update -qq && apt-get download lua-nginx-websocket >/dev/null; })
  mkdir -p "$dest"
  dpkg -x "$tmp"/lua-nginx-websocket_*.deb "$dest"
fi
echo "luajit: $(command -v luajit); protocol.lua: $proto"
