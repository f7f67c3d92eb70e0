#!/usr/bin/env bash
# The README's first command: install (npm packages, chromium), build (the CLI runs compiled), then
# run the main job (which sets up its peer if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
# The browser parts (interop's browser direction, the chromium-client agent) are skipped without it.
bash scripts/setup-browser.sh || echo "start: continuing without chromium (the browser parts are skipped)" >&2
npm run --silent build
exec node bin/wslab.mjs lab "$@"
