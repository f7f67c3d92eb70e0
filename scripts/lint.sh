#!/usr/bin/env bash
# `npm run lint`, also run by `npm test`: biome's linter with the rules the code follows (biome.json).
# The formatter stays off: the code's layout (long lines, several properties per line) is not one
# any formatter reproduces, and reformatting the tree would rewrite most files. The package's
# exports are checked by publint and @arethetypeswrong/cli in scripts/packages.test.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
exec npx biome lint --error-on-warnings "$@" .
