#!/usr/bin/env bash
# `npm run fuzz`: schemathesis against the running gateway, over the local control plane.
#
# Starts the mesh (dist/scripts/start.js) in-process with a throw-away DATA_DIR and a fresh admin
# key, points schemathesis at /api/openapi.json with that key, and requires zero 5xx
# (`not_a_server_error`). Afterwards everything the run created is deleted through the API.
#
#   FUZZ_MAX_EXAMPLES  test cases per operation and phase (default 150)
#   FUZZ_MAX_TIME      optional time budget in seconds for the whole schemathesis run
#   FUZZ_WORKERS       concurrent schemathesis workers (default 1: more trip a CPython 3.11 AST bug in its generator)
#   FUZZ_SEED          seed, to replay a run
#   FUZZ_SKIP_BUILD=1  use dist/ as it is
#   FUZZ_KEEP=1        keep the work directory (mesh log, reports) even when the run passes
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$root/node_modules/.bin:$PATH"

venv="${FUZZ_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/berth/fuzz-venv}"
requirements="$root/scripts/fuzz/requirements.txt"
if ! cmp -s "$requirements" "$venv/.berth-requirements" 2>/dev/null || ! "$venv/bin/st" --version >/dev/null 2>&1; then
  echo "[fuzz] installing schemathesis into $venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/.berth-requirements"
fi
echo "[fuzz] $("$venv/bin/st" --version)"

if [ -z "${FUZZ_SKIP_BUILD:-}" ]; then
  echo "[fuzz] building"
  tsc -p tsconfig.build.json
fi

# The local control plane's apiserver; the mesh's own state stays in a temporary NeDB directory.
if [ -z "${KUBECONFIG:-}" ] && [ -f .cluster/env ]; then
  KUBECONFIG=$(sed -n 's/^export KUBECONFIG=//p' .cluster/env)
fi
if [ -z "${KUBECONFIG:-}" ] || [ ! -f "$KUBECONFIG" ]; then
  echo "[fuzz] no KUBECONFIG: start the local control plane first (npm run cluster:up)" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-fuzz.XXXXXX")
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
admin_key="berth_$(python3 -c 'import secrets; print(secrets.token_hex(6) + "_" + secrets.token_urlsafe(32))')"
base="http://127.0.0.1:$port"

env -u MONGO_URI -u TRANSPORTER -u SERVICES \
  KUBECONFIG="$KUBECONFIG" PORT="$port" HOST=127.0.0.1 DATA_DIR="$work/data" BERTH_ADMIN_KEY="$admin_key" \
  RATE_LIMIT=1000000000 LOG_LEVEL="${FUZZ_LOG_LEVEL:-warn}" BERTH_AUTO_CLUSTER=false \
  node dist/scripts/start.js >"$work/mesh.log" 2>&1 &
mesh_pid=$!

status=1
finish() {
  kill "$mesh_pid" 2>/dev/null && wait "$mesh_pid" 2>/dev/null || true
  if [ "$status" = 0 ] && [ -z "${FUZZ_KEEP:-}" ]; then rm -rf "$work"; else echo "[fuzz] mesh log and reports kept in $work"; fi
}
trap finish EXIT

echo "[fuzz] starting the mesh on $base"
for _ in $(seq 1 120); do
  if curl -fsS "$base/health/ready" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$mesh_pid" 2>/dev/null; then echo "[fuzz] the mesh exited:" >&2; tail -40 "$work/mesh.log" >&2; exit 1; fi
  sleep 0.5
done
curl -fsS "$base/health/ready" >/dev/null || { echo "[fuzz] the mesh is not ready:" >&2; curl -sS "$base/health/ready" >&2 || true; exit 1; }
# The gateway answers before every service has registered its routes: wait until the document settles.
count_operations() { curl -fsS "$base/api/openapi.json" | python3 -c 'import json, sys; d = json.load(sys.stdin); print(sum(len(v) for v in d["paths"].values()))'; }
operations=0
for _ in $(seq 1 60); do
  sleep 1
  now=$(count_operations)
  if [ "$now" = "$operations" ]; then break; fi
  operations=$now
done
echo "[fuzz] $operations operations in $base/api/openapi.json"

args=(run "$base/api/openapi.json"
  --checks not_a_server_error
  --header "Authorization: Bearer $admin_key"
  --max-examples "${FUZZ_MAX_EXAMPLES:-150}"
  --workers "${FUZZ_WORKERS:-1}"
  --request-timeout 30
  --suppress-health-check all
  --continue-on-failure
  --report json --report-dir "$work/report")
[ -n "${FUZZ_MAX_TIME:-}" ] && args+=(--max-time "$FUZZ_MAX_TIME")
[ -n "${FUZZ_SEED:-}" ] && args+=(--seed "$FUZZ_SEED")

st_status=0
"$venv/bin/st" "${args[@]}" | tee "$work/schemathesis.txt" || st_status=$?

# Everything the run made goes, through the API (namespaces last: they take what is left with them).
"$venv/bin/python" - "$base" "$admin_key" <<'PY' || echo "[fuzz] cleanup was incomplete" >&2
import json, sys, urllib.request, urllib.error
base, key = sys.argv[1], sys.argv[2]
def call(method, path):
    req = urllib.request.Request(base + path, method=method, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            body = res.read()
            return res.status, json.loads(body) if body else None
    except urllib.error.HTTPError as err:
        return err.code, None
_, doc = call("GET", "/api/openapi.json")
collections = [p[: -len("/{id}")] for p, ops in doc["paths"].items() if p.endswith("/{id}") and "delete" in ops and "get" in doc["paths"].get(p[: -len("/{id}")], {})]
collections.sort(key=lambda p: (p.endswith("/namespaces"), p.endswith("/keys")))
removed = 0
for path in collections:
    for _ in range(50):
        status, items = call("GET", path)
        items = items.get("rows", []) if isinstance(items, dict) else items or []
        items = [i for i in items if isinstance(i, dict) and i.get("id") and not (path.endswith("/keys") and (i.get("revokedAt") or i.get("userID") == "admin"))]
        if not items:
            break
        for item in items:
            if call("DELETE", f"{path}/{item['id']}")[0] < 300:
                removed += 1
print(f"[fuzz] cleanup: {removed} entities removed")
PY

python3 - "$work/report" <<'PY'
import glob, json, sys
paths = sorted(glob.glob(f"{sys.argv[1]}/json-*.json"))
if not paths:
    sys.exit("[fuzz] schemathesis wrote no report")
with open(paths[-1]) as f:
    report = json.load(f)
cases = report.get("test_cases", {})
print(f"[fuzz] test cases tried: {cases.get('generated', 0)} over {report.get('operations', {}).get('tested', 0)} operations; "
      f"with failures: {cases.get('with_failures', 0)}; errored: {cases.get('errored', 0)}")
for failure in report.get("failures", []):
    print(f"[fuzz]   {failure.get('code')} {failure.get('title')}: {', '.join(failure.get('operations', []))}")
for error in report.get("errors", []):
    print(f"[fuzz]   error: {error.get('title')} ×{error.get('count')}")
PY

status=$st_status
if [ "$status" = 0 ]; then echo "[fuzz] zero 5xx"; else echo "[fuzz] schemathesis found failures (see above)" >&2; fi
exit "$status"
