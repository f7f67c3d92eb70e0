#!/usr/bin/env bash
# The README's first command: install, build (the CLI runs compiled), then run the main job (which
# sets up its peer if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
npm run --silent build
exec node bin/wslab.mjs lab "$@"
