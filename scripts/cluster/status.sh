#!/usr/bin/env bash
# Prints whether each part of the local test environment is up; exit 0 only if all are.
#
#   scripts/cluster/status.sh
#   apiserver  up    v1.36.3 at https://127.0.0.1:6443
#   node       up    berth-node-0 Ready
#   nats       up    nats://127.0.0.1:4222 (started by up.sh, pid 1234)
#   ferretdb   up    mongodb://127.0.0.1:27017 (started by up.sh, pid 1235)
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
use_ports_from_env_file

failures=0
row() { # name up|down detail
  printf '%-10s %-5s %s\n' "$1" "$2" "$3"
  [ "$2" = up ] || failures=$((failures + 1))
}

# Who runs a daemon matters to down.sh, so say it: ours (pid file) or found already running.
owner() { # name binary-basename
  local pid
  if pid="$(live_pid "$1" "$2")"; then echo "started by up.sh, pid $pid"; else echo "not started by up.sh"; fi
}

status_apiserver() {
  if [ ! -f "$KUBECONFIG_FILE" ]; then row apiserver down "no $KUBECONFIG_FILE (run scripts/cluster/up.sh)"; return; fi
  local server version
  server="$(kprobe config view --minify -o jsonpath='{.clusters[0].cluster.server}' 2>/dev/null || true)"
  version="$(kprobe get --raw /version 2>/dev/null | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p' || true)"
  if [ -n "$version" ] && apiserver_ready; then
    row apiserver up "$version at $server"
  else
    row apiserver down "no answer from ${server:-the server in the kubeconfig}"
  fi
}

status_node() {
  if node_ready; then
    row node up "$NODE_NAME Ready"
  else
    local ready
    ready="$(kprobe get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)"
    if [ -n "$ready" ]; then row node down "$NODE_NAME Ready=$ready"; else row node down "$NODE_NAME not found"; fi
  fi
}

status_nats() {
  if nats_healthy; then row nats up "nats://$BIND_ADDRESS:$NATS_PORT ($(owner nats nats-server))"
  else row nats down "nothing speaks NATS on $BIND_ADDRESS:$NATS_PORT"; fi
}

status_ferretdb() {
  if ferret_healthy; then row ferretdb up "mongodb://$BIND_ADDRESS:$FERRET_PORT ($(owner ferretdb ferretdb))"
  else row ferretdb down "no MongoDB ping answer on $BIND_ADDRESS:$FERRET_PORT"; fi
}

status_apiserver
status_node
status_nats
status_ferretdb
((failures == 0))
