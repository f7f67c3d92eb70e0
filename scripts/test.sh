#!/usr/bin/env bash
# The test command of the README and of .ci/run: set up, then run every test once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc -p tsconfig.json --noEmit
exec npx vitest run "$@"
