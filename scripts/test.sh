#!/usr/bin/env bash
# `npm test`: build and type-check, bring up what the integration tier needs (control plane, NATS,
# FerretDB) unless it already runs, run every test tier in one jest run, tear down what we started.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
echo "[test] node $(node -v); building and type-checking"
npm run --silent build
npm run --silent typecheck

started_cluster=0
if ! bash scripts/cluster/status.sh >/dev/null 2>&1; then
  echo "[test] bringing up the local control plane, nats-server and FerretDB"
  if bash scripts/cluster/up.sh; then started_cluster=1; else echo "[test] the local control plane did not start: integration tests will fail and say so" >&2; fi
fi
teardown() {
  if [ "$started_cluster" = 1 ] && [ -z "${KEEP_CLUSTER:-}" ]; then bash scripts/cluster/down.sh >/dev/null 2>&1 || true; fi
}
trap teardown EXIT

mkdir -p test-output
status=0
jest --runInBand --forceExit "$@" || status=$?
exit $status
