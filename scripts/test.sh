#!/usr/bin/env bash
# `npm test`: build and type-check, bring up what the integration tier needs (control plane, NATS,
# FerretDB) unless it already runs, run every test tier in one jest run, tear down what we started.
# Without arguments the fault-injection suite (scripts/faults.sh, about 2-3 minutes on its own
# instance) runs first, so the output still ends with the main run's jest summary; `npm test -- <jest
# arguments>` runs only that selection of the main run. Either suite failing fails `npm test`.
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

# The chart's tests run helm, built from the Go module proxy and cached like the control plane.
bash scripts/cluster/build.sh helm || echo "[test] helm did not build: the chart's tests will fail and say so" >&2

# The browser tests drive Debian's Chromium; CI runs on a fresh machine as root, with apt.
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  echo "[test] installing Debian's chromium for the browser tests"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
      || echo "[test] apt-get could not install chromium: the browser tests will fail and say so" >&2
  else
    echo "[test] chromium is missing and apt-get cannot run as root here: the browser tests will fail and say so" >&2
  fi
fi

mkdir -p test-output
faults_status=0
if [ $# -eq 0 ]; then
  echo "[test] fault-injection suite (its own control plane, nats-server and FerretDB in .cluster-faults/)"
  FAULTS_NO_BUILD=1 bash scripts/faults.sh || faults_status=$?
  if [ "$faults_status" != 0 ]; then echo "[test] the fault suite FAILED (exit $faults_status, see above); npm test will fail after the main run" >&2; fi
fi
status=0
jest --runInBand --forceExit "$@" || status=$?
[ "$status" != 0 ] || status=$faults_status
exit $status
