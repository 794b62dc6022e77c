#!/usr/bin/env bash
# Installs the npm dependencies (Node 24 among them) when they are missing or older than the lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ ! -x node_modules/.bin/node ]; then
  echo "[setup] npm ci (first run: installs Node 24 and the dependencies at the lockfile's versions)" >&2
  # The lockfile lists every platform's optional binaries (test/unit/lockfile.test.ts keeps it so).
  npm ci --no-audit --no-fund --loglevel=error
fi
