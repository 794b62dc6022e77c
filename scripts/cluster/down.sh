#!/usr/bin/env bash
# Stops what scripts/cluster/up.sh started (listed in .cluster/started), and nothing else: a
# nats-server or FerretDB that up.sh found already running is left alone. Safe to run twice.
#
#   scripts/cluster/down.sh            # stop; keep FerretDB data and logs in .cluster/
#   scripts/cluster/down.sh --purge    # stop, then delete .cluster/ entirely
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"

# kwokctl stops etcd, the apiserver, controller-manager, scheduler and kwok-controller, removes its
# workdir (etcd data included) and the cluster's entry from our kubeconfig. kwok's volume stages run
# inside kwok-controller, so there is no separate provisioner process to stop.
stop_k8s() {
  if [ -d "$KWOK_WORKDIR/clusters/$CLUSTER_NAME" ]; then
    say "k8s: deleting cluster '$CLUSTER_NAME'"
    mkdir -p "$LOG_DIR"
    if ! kwokctl --name "$CLUSTER_NAME" delete cluster --kubeconfig "$KUBECONFIG_FILE" >> "$LOG_DIR/kwokctl.log" 2>&1; then
      show_log "$LOG_DIR/kwokctl.log" 15
      say "k8s: kwokctl delete failed; removing the workdir anyway"
    fi
    rm -rf "$KWOK_WORKDIR/clusters/$CLUSTER_NAME"
  else
    say "k8s: no cluster to delete"
  fi
  rm -f "$KUBECONFIG_FILE" "$LOG_DIR/k8s"
}

# TERM, wait up to 10 s, then KILL; only the pid recorded by up.sh, and only if it is still ours.
stop_daemon() { # name binary-basename
  local pid
  if ! pid="$(live_pid "$1" "$2")"; then
    say "$1: not running"
  else
    say "$1: stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
    if pid_alive "$pid"; then
      say "$1: still running after 10s; killing"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$PID_DIR/$1.pid"
}

stop_nats() { stop_daemon nats nats-server; }
stop_ferretdb() { stop_daemon ferretdb ferretdb; }

# Evidence that survives a lost .cluster/started: the kwok workdir lives inside .cluster/, and pid
# files are written only for daemons up.sh spawned.
ours_running() {
  case "$1" in
    k8s) [ -d "$KWOK_WORKDIR/clusters/$CLUSTER_NAME" ] ;;
    nats) live_pid nats nats-server > /dev/null ;;
    ferretdb) live_pid ferretdb ferretdb > /dev/null ;;
  esac
}

main() {
  local purge=false
  case "${1:-}" in
    "") ;;
    --purge) purge=true ;;
    *) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
  [ -d "$CLUSTER_DIR" ] || { say "nothing to stop: no $CLUSTER_DIR"; exit 0; }
  take_lock
  local c stopped=0
  for c in ferretdb nats k8s; do
    if was_started "$c" || ours_running "$c"; then "stop_$c"; unmark_started "$c"; stopped=$((stopped + 1)); fi
  done
  ((stopped)) || say "nothing that up.sh started is recorded in $STARTED_FILE"
  [ -f "$STARTED_FILE" ] && [ ! -s "$STARTED_FILE" ] && rm -f "$STARTED_FILE"
  if $purge; then
    say "removing $CLUSTER_DIR"
    rm -rf "$CLUSTER_DIR"
  fi
  say "down"
}

main "$@"
