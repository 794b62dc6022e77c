# Shared by up.sh, down.sh, status.sh and smoke.sh: paths, ports, logging and the health checks.
# Sourced, never run. Everything the scripts write lives under $CLUSTER_DIR (the repo's .cluster/,
# gitignored), so a fresh clone starts from nothing and two clones never share state.

cluster_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$cluster_here/versions.sh"

REPO_ROOT="$(cd "$cluster_here/../.." && pwd)"
CLUSTER_DIR="${BERTH_CLUSTER_DIR:-$REPO_ROOT/.cluster}"
LOG_DIR="$CLUSTER_DIR/logs"
PID_DIR="$CLUSTER_DIR/pids"
STARTED_FILE="$CLUSTER_DIR/started"
KUBECONFIG_FILE="$CLUSTER_DIR/kubeconfig"
ENV_FILE="$CLUSTER_DIR/env"
# kwokctl keeps its clusters, certificates and etcd data under KWOK_WORKDIR; pointing it into
# .cluster/ keeps ~/.kwok (and any kwok.yaml a user has there) out of the picture.
export KWOK_WORKDIR="$CLUSTER_DIR/kwok"

CLUSTER_NAME="berth"
NODE_NAME="berth-node-0"
BIND_ADDRESS="127.0.0.1"
KUBE_APISERVER_PORT="${KUBE_APISERVER_PORT:-6443}"
NATS_PORT="${NATS_PORT:-4222}"
FERRET_PORT="${FERRET_PORT:-27017}"

K8S_BIN="$BERTH_CACHE/kubernetes-$K8S_VERSION/bin"
ETCD_BIN="$BERTH_CACHE/etcd-$ETCD_VERSION/bin"
KWOK_BIN="$BERTH_CACHE/kwok-$KWOK_VERSION/bin"
FERRET_BIN="$BERTH_CACHE/ferretdb-$FERRETDB_VERSION/bin"

# The kubectl we built must win over Debian's (1.20): kwokctl runs the first kubectl on PATH.
export PATH="$K8S_BIN:$KWOK_BIN:$PATH"

COMPONENTS=(k8s nats ferretdb)

say() { printf '[cluster] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

kctl() { kubectl --kubeconfig "$KUBECONFIG_FILE" --request-timeout=5s "$@"; }

# True when something accepts TCP connections on 127.0.0.1:$1 (bash's /dev/tcp, no extra tools).
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$BIND_ADDRESS/$1" 2>/dev/null; }

# NATS greets every client with an INFO line, which tells it apart from any other listener.
nats_healthy() {
  timeout 3 bash -c "exec 3<>/dev/tcp/$BIND_ADDRESS/$NATS_PORT && head -c 4 <&3" 2>/dev/null | grep -q '^INFO'
}

# A MongoDB-wire "ping" must come back with ok: 1.0, so a port held by something else, or a
# FerretDB that cannot open its SQLite directory, counts as down. The request is a hand-made OP_MSG
# {ping: 1, $db: "admin"}; dd reads exactly the reply's announced length, so nothing waits on EOF.
_ferret_ping() {
  exec 3<>"/dev/tcp/$BIND_ADDRESS/$FERRET_PORT" || return 1
  printf '\x33\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00\x00\x00\x00\x00\x00' >&3
  printf '\x1e\x00\x00\x00\x10ping\x00\x01\x00\x00\x00\x02$db\x00\x06\x00\x00\x00admin\x00\x00' >&3
  local len
  len=$(dd bs=4 count=1 iflag=fullblock status=none <&3 | od -An -tu4 | tr -d ' \n')
  [ -n "$len" ] && [ "$len" -gt 4 ] && [ "$len" -lt 65536 ] || return 1
  dd bs=$((len - 4)) count=1 iflag=fullblock status=none <&3 | od -An -tx1 | tr -d ' \n'
}
ferret_healthy() {
  export -f _ferret_ping; export BIND_ADDRESS FERRET_PORT
  timeout 3 bash -c _ferret_ping 2>/dev/null | grep -q '016f6b00000000000000f03f' # 0x01 "ok" double 1.0
}

apiserver_ready() { [ -f "$KUBECONFIG_FILE" ] && kctl get --raw /readyz >/dev/null 2>&1; }

node_ready() {
  [ "$(kctl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = "True" ]
}

k8s_healthy() { apiserver_ready && node_ready && kctl -n default get serviceaccount default >/dev/null 2>&1; }

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

# The pid in a pid file, if that process is alive and still the program we launched (pids get reused).
live_pid() { # name binary-basename
  local f="$PID_DIR/$1.pid" pid
  [ -f "$f" ] || return 1
  pid="$(cat "$f" 2>/dev/null)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "$2" || return 1
  echo "$pid"
}

# Print the end of a component's log to help diagnose a failure.
show_log() { # file
  [ -f "$1" ] || return 0
  say "last lines of $1:"
  tail -n "${2:-30}" "$1" | sed 's/^/    /' >&2
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
