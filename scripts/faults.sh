#!/usr/bin/env bash
# `npm run test:faults`: the fault-injection suite. It brings up its own control plane, nats-server
# and FerretDB (.cluster-faults/: apiserver 6543, nats 4322, FerretDB 27117), freezes and kills
# parts of it and Berth's node processes, and takes it down again; the shared instance (.cluster/)
# that other test runs use is never touched. Every scenario prints its recovery time and its
# lost/duplicated counts (also in test-output/faults.json). Extra arguments go to jest.
#   KEEP_FAULTS_CLUSTER=1   leave the fault instance up afterwards
#   FAULTS_NO_BUILD=1       skip the build (scripts/test.sh has just built)
#   FAULTS_CLUSTER_DIR, FAULTS_CLUSTER_NAME, FAULTS_APISERVER_PORT, FAULTS_NATS_PORT, FAULTS_FERRET_PORT
#                           another instance (default .cluster-faults, berth-faults, 6543, 4322, 27117)
#   FAULTS_NODE_LOG_LEVEL=info, FAULTS_DEBUG=1   more of what the nodes did
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
if [ -z "${FAULTS_NO_BUILD:-}" ]; then
  bash scripts/setup.sh
  echo "[faults] building dist/ (the scenarios run real node processes of dist/scripts/start.js)"
  tsc -p tsconfig.build.json
fi
# Two fault runs at once (from this clone or another) would share ports and freeze each other's
# apiserver: take turns, machine-wide.
lock="${TMPDIR:-/tmp}/berth-faults-${FAULTS_APISERVER_PORT:-6543}.lock"
exec 8> "$lock"
flock -w 900 8 || { echo "[faults] another fault run still holds $lock after 15 minutes" >&2; exit 1; }
mkdir -p test-output
status=0
started=$SECONDS
# A leaked handle must not hold CI: the run is bounded and exits when its tests are done.
timeout -k 30 1200 jest -c jest.faults.config.js --runInBand --forceExit "$@" || status=$?
if [ -f test-output/faults.json ]; then
  echo "[faults] figures (recovery time, lost, duplicated):"
  # shellcheck disable=SC2016 # a JavaScript template literal, not a shell expansion
  node -e '
    for (const f of require("./test-output/faults.json"))
      console.log(`  ${f.scenario.padEnd(52)} ${(f.recoveryMs / 1000).toFixed(1).padStart(6)} s   lost ${f.lost}   duplicated ${f.duplicated}`);'
fi
echo "[faults] suite took $((SECONDS - started)) s"
exit $status
