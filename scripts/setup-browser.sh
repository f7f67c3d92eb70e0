#!/usr/bin/env bash
# Installs Debian's chromium (idempotent, instant when present): the real browser the lab uses as a
# client (interop's browser direction, the chromium-client conformance agent) and to check that the
# HTML reports render. playwright-core drives it at /usr/bin/chromium; no browser is downloaded.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "setup-browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) at /usr/bin/chromium"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  # Optional for the lab: the browser parts say they were skipped and why; the rest runs.
  echo "setup-browser: chromium is missing; run as root: sudo bash scripts/setup-browser.sh (the browser parts are skipped until then)" >&2
  exit 0
fi
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; }
echo "setup-browser: installing chromium"
apt_get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 || { apt_get update -qq && apt_get install -y -qq --no-install-recommends chromium >/dev/null; }
echo "setup-browser: $(/usr/bin/chromium --version 2>/dev/null) at /usr/bin/chromium"
