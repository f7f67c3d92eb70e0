#!/usr/bin/env bash
# The test command of the README and of .ci/run: set up, type-check, lint, build both packages
# (the packaging test packs and installs them; the CLI runs compiled), then run every test once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc -p tsconfig.json --noEmit
bash scripts/lint.sh
npm run --silent build
exec npx vitest run "$@"
