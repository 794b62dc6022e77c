# shellcheck shell=bash disable=SC2034  # sourced; the variables are used by the scripts sourcing it
# Shared by up.sh, down.sh, status.sh and smoke.sh: paths, ports, logging and the health checks.
# Sourced, never run. Everything the scripts write lives under $CLUSTER_DIR (the repo's .cluster/,
# gitignored), so a fresh clone starts from nothing and two clones never share state.
#
# A second, isolated instance (the fault suite stops and restarts its parts) takes its own directory,
# kwokctl cluster name and ports; the defaults are the shared instance everybody else uses:
#   BERTH_CLUSTER_DIR=.cluster-faults BERTH_CLUSTER_NAME=berth-faults \
#   KUBE_APISERVER_PORT=6543 NATS_PORT=4322 FERRET_PORT=27117 scripts/cluster/up.sh

cluster_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$cluster_here/versions.sh"

REPO_ROOT="$(cd "$cluster_here/../.." && pwd)"
CLUSTER_DIR="${BERTH_CLUSTER_DIR:-$REPO_ROOT/.cluster}"
case "$CLUSTER_DIR" in /*) ;; *) CLUSTER_DIR="$REPO_ROOT/$CLUSTER_DIR" ;; esac # relative: to the repo
LOG_DIR="$CLUSTER_DIR/logs"
PID_DIR="$CLUSTER_DIR/pids"
STARTED_FILE="$CLUSTER_DIR/started"
KUBECONFIG_FILE="$CLUSTER_DIR/kubeconfig"
ENV_FILE="$CLUSTER_DIR/env"
# kwokctl keeps its clusters, certificates and etcd data under KWOK_WORKDIR; pointing it into
# .cluster/ keeps ~/.kwok (and any kwok.yaml a user has there) out of the picture.
export KWOK_WORKDIR="$CLUSTER_DIR/kwok"

CLUSTER_NAME="${BERTH_CLUSTER_NAME:-berth}"
NODE_NAME="berth-node-0"
BIND_ADDRESS="127.0.0.1"
KUBE_APISERVER_PORT="${KUBE_APISERVER_PORT:-6443}"
NATS_PORT_GIVEN="${NATS_PORT:+yes}" FERRET_PORT_GIVEN="${FERRET_PORT:+yes}"
NATS_PORT="${NATS_PORT:-4222}"
FERRET_PORT="${FERRET_PORT:-27017}"

# status.sh and smoke.sh look at the ports up.sh last wrote into .cluster/env, so a
# NATS_PORT / FERRET_PORT override need not be repeated for them (an explicit one still wins).
use_ports_from_env_file() {
  [ -f "$ENV_FILE" ] || return 0
  local p
  p="$(sed -n 's|^export NATS_URL=nats://[^:]*:\([0-9]*\)$|\1|p' "$ENV_FILE")"
  [ -z "$NATS_PORT_GIVEN" ] && [ -n "$p" ] && NATS_PORT="$p"
  p="$(sed -n 's|^export MONGO_URI=mongodb://[^:]*:\([0-9]*\)/.*$|\1|p' "$ENV_FILE")"
  [ -z "$FERRET_PORT_GIVEN" ] && [ -n "$p" ] && FERRET_PORT="$p"
  return 0
}

K8S_BIN="$BERTH_CACHE/kubernetes-$K8S_VERSION/bin"
ETCD_BIN="$BERTH_CACHE/etcd-$ETCD_VERSION/bin"
KWOK_BIN="$BERTH_CACHE/kwok-$KWOK_VERSION/bin"
FERRET_BIN="$BERTH_CACHE/ferretdb-$FERRETDB_VERSION/bin"

# The kubectl we built must win over Debian's (1.20): kwokctl runs the first kubectl on PATH.
export PATH="$K8S_BIN:$KWOK_BIN:$PATH"

COMPONENTS=(k8s nats ferretdb)

say() { printf '[cluster] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

kctl() { kubectl --kubeconfig "$KUBECONFIG_FILE" "$@"; }
# For health probes: a hung apiserver must not hang status.sh. (Not for watches such as
# `kubectl wait`, whose requests may legitimately outlive the timeout.)
kprobe() { kctl --request-timeout=5s "$@"; }

# True when something accepts TCP connections on 127.0.0.1:$1 (bash's /dev/tcp, no extra tools).
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$BIND_ADDRESS/$1" 2>/dev/null; }

# NATS greets every client with an INFO line, which tells it apart from any other listener.
nats_healthy() {
  local greeting
  greeting="$(timeout 3 bash -c "exec 3<>/dev/tcp/$BIND_ADDRESS/$NATS_PORT && head -c 4 <&3" 2>/dev/null)" || return 1
  [ "$greeting" = INFO ]
}

# A MongoDB-wire "ping" must come back with ok: 1.0, so a port held by something else, or a
# FerretDB that cannot open its SQLite directory, counts as down. The request is a hand-made OP_MSG
# {ping: 1, $db: "admin"}; dd reads exactly the reply's announced length, so nothing waits on EOF.
_ferret_ping() {
  exec 3<>"/dev/tcp/$BIND_ADDRESS/$FERRET_PORT" || return 1
  printf '\x33\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00\x00\x00\x00\x00\x00' >&3
  # shellcheck disable=SC2016 # $db is a literal BSON key
  printf '\x1e\x00\x00\x00\x10ping\x00\x01\x00\x00\x00\x02$db\x00\x06\x00\x00\x00admin\x00\x00' >&3
  local len
  len=$(dd bs=4 count=1 iflag=fullblock status=none <&3 | od -An -tu4 | tr -d ' \n')
  [ -n "$len" ] && [ "$len" -gt 4 ] && [ "$len" -lt 65536 ] || return 1
  dd bs=$((len - 4)) count=1 iflag=fullblock status=none <&3 | od -An -tx1 | tr -d ' \n'
}
ferret_healthy() {
  export -f _ferret_ping; export BIND_ADDRESS FERRET_PORT
  local reply
  reply="$(timeout 3 bash -c _ferret_ping 2>/dev/null)" || return 1
  [[ "$reply" == *016f6b00000000000000f03f* ]] # element 0x01 (double) "ok" = 1.0
}

apiserver_ready() { [ -f "$KUBECONFIG_FILE" ] && kprobe get --raw /readyz >/dev/null 2>&1; }

node_ready() {
  [ "$(kprobe get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = "True" ]
}

default_sa_exists() { kprobe -n default get serviceaccount default -o name >/dev/null 2>&1; }

k8s_healthy() { apiserver_ready && node_ready && default_sa_exists; }

healthy() { # component
  case "$1" in
    k8s) k8s_healthy ;;
    nats) nats_healthy ;;
    ferretdb) ferret_healthy ;;
  esac
}

# .cluster/started lists the components up.sh launched itself; down.sh stops only those, so a
# nats-server or FerretDB someone else runs on the same port is reused and left alone.
mark_started() { mkdir -p "$CLUSTER_DIR"; grep -qx "$1" "$STARTED_FILE" 2>/dev/null || echo "$1" >> "$STARTED_FILE"; }
was_started() { grep -qx "$1" "$STARTED_FILE" 2>/dev/null; }
unmark_started() {
  [ -f "$STARTED_FILE" ] || return 0
  grep -vx "$1" "$STARTED_FILE" > "$STARTED_FILE.tmp" || true
  mv "$STARTED_FILE.tmp" "$STARTED_FILE"
}

# kill -0 also succeeds for a zombie (exited, not yet reaped by its parent, e.g. kwokctl).
pid_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)"
  [ "$state" != Z ]
}

# The pid in a pid file, if that process is alive and still the program we launched (pids get reused).
live_pid() { # name binary-basename
  local f="$PID_DIR/$1.pid" pid
  [ -f "$f" ] || return 1
  pid="$(cat "$f" 2>/dev/null)"
  [ -n "$pid" ] && pid_alive "$pid" || return 1
  local cmd
  cmd="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)"
  [[ "$cmd" == *"$2"* ]] || return 1
  echo "$pid"
}

# Print the end of a component's log to help diagnose a failure.
show_log() { # file
  [ -f "$1" ] || return 0
  say "last lines of $1:"
  tail -n "${2:-30}" "$1" | sed 's/^/    /' >&2
}

# Two runs at once (parallel test runners, CI steps) would both create the cluster: take turns on
# a lock. The lock is fd 9, which every daemon we start must close ("9>&-"), or it would hold the
# lock for as long as it lives.
take_lock() {
  mkdir -p "$CLUSTER_DIR"
  exec 9> "$CLUSTER_DIR/.lock"
  flock -w 600 9 || die "another up.sh or down.sh still holds $CLUSTER_DIR/.lock after 10 minutes"
}

# Poll a command until it succeeds or the deadline passes.
wait_for() { # seconds description command...
  local secs="$1" what="$2"; shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    if ((SECONDS >= deadline)); then say "timed out after ${secs}s waiting for $what"; return 1; fi
    sleep 0.5
  done
}
