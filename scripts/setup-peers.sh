#!/usr/bin/env bash
# Installs the real peer on Debian (idempotent, seconds when done): nginx + libnginx-mod-http-lua
# (which brings lua-resty-core, the NDK module and libluajit2), lua-cjson for our Lua endpoints,
# luajit2 for the differential fuzzer, and Debian's lua-nginx-websocket 0.08 extracted (never
# installed: its package depends on nginx-extras) under .cache/. Our shim in fixtures/lua/shim maps
# resty.websocket.* onto its nginx.websocket.* modules.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.cache/lua-nginx-websocket
lib=$dest/usr/share/lua/5.1/nginx/websocket
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; }

missing=()
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
[ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] || missing+=(libnginx-mod-http-lua)
[ -f /usr/lib/x86_64-linux-gnu/lua/5.1/cjson.so ] || ls /usr/lib/*/lua/5.1/cjson.so >/dev/null 2>&1 || missing+=(lua-cjson)
command -v luajit >/dev/null 2>&1 || missing+=(luajit2)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-peers: missing ${missing[*]}; run as root: sudo bash scripts/setup-peers.sh" >&2
    exit 1
  fi
  echo "setup-peers: installing ${missing[*]}"
  apt_get update -qq
  # Debian's nginx package would start a system nginx on port 80; we only want the binary.
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created_policy=1
  fi
  apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

if [ ! -f "$lib/protocol.lua" ] || [ ! -f "$lib/client.lua" ] || [ ! -f "$lib/server.lua" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && { apt-get download lua-nginx-websocket >/dev/null 2>&1 || { apt_get update -qq && apt-get download lua-nginx-websocket >/dev/null; }; })
  mkdir -p "$dest"
  dpkg -x "$tmp"/lua-nginx-websocket_*.deb "$dest"
fi
echo "setup-peers: nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), ngx_lua module, luajit, lua-nginx-websocket at $lib"
