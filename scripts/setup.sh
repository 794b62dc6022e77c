#!/usr/bin/env bash
# Installs the npm dependencies (Node 24 among them) when they are missing or older than the lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ ! -x node_modules/.bin/node ]; then
  echo "[setup] npm install (first run: installs Node 24 and the dependencies at the lockfile's versions)" >&2
  # Not `npm ci`: this npm writes lockfiles without the other platforms' optional binaries
  # (@swc/core-darwin-*, …) and then `npm ci` calls the lockfile out of sync. `npm install` installs
  # exactly the locked versions all the same.
  npm install --no-audit --no-fund --loglevel=error
fi
