#!/usr/bin/env bash
# The test command of the README and of .ci/run: set up, type-check, build the package (its tests
# import it as users do), then run every test once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc -p tsconfig.json --noEmit
npx tsc -p tsconfig.build.json
exec npx vitest run "$@"
