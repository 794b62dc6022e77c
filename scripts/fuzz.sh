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

# What both Python steps below start with: the base URL and the admin key from argv, and
# call(method, path, body=None), which answers (status, the parsed JSON or None), an HTTP error too.
api_prelude='import json, re, secrets, sys, urllib.request, urllib.error
base, key = sys.argv[1], sys.argv[2]
def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {key}", **({"Content-Type": "application/json"} if data is not None else {})}
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            text = res.read()
            return res.status, json.loads(text) if text else None
    except urllib.error.HTTPError as err:
        return err.code, None'
# Runs the Python on stdin after the prelude, with the arguments given.
api_python() { { printf '%s\n' "$api_prelude"; cat; } | "$venv/bin/python" - "$@"; }

# One entity in each collection, so the `{id}` routes reach their handlers instead of answering 404
# to every made-up id: made through the create routes with bodies built from the document, and
# handed to schemathesis as the `id` of every route but DELETE (which would end it early).
api_python "$base" "$admin_key" "$work/schemathesis.toml" <<'PY' || echo "[fuzz] seeding was incomplete" >&2
config_path = sys.argv[3]
_, doc = call("GET", "/api/openapi.json")
paths = doc["paths"]
def noun(path):
    n = path.rstrip("/").split("/")[-1]
    n = n[:-1] if n.endswith("s") else n
    return None if n == "key" else n
by_name = {"size": "1Gi", "storage": "1Gi", "cpu": "100m", "memory": "64Mi", "mountPath": "/data", "key": "FUZZ_VALUE", "cmd": "true", "command": "true", "value": "fuzz"}
def string(schema, name):
    pattern = schema.get("pattern")
    for c in [by_name.get(name), f"fuzz-{secrets.token_hex(3)}", "x"]:
        if c is None:
            continue
        try:
            if pattern and not re.search(pattern, c):
                continue
        except re.error:
            pass
        if schema.get("minLength", 0) <= len(c) <= schema.get("maxLength", 10**9):
            return c
    return "x" * max(1, schema.get("minLength", 1))
def value(schema, name, refs):
    if name in refs:
        return refs[name]
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if "anyOf" in schema:
        return value(next((s for s in schema["anyOf"] if s.get("type") != "null"), schema["anyOf"][0]), name, refs)
    t = schema.get("type")
    t = next((x for x in t if x != "null"), None) if isinstance(t, list) else t
    if t == "string":
        return string(schema, name)
    if t in ("integer", "number"):
        return max(1, schema.get("minimum", 1)) if "maximum" not in schema else min(max(1, schema.get("minimum", 1)), schema["maximum"])
    if t == "boolean":
        return False
    if t == "array":
        return [value(schema.get("items", {}), name.rstrip("s"), refs) for _ in range(schema.get("minItems", 0))]
    if t == "object":
        req = set(schema.get("required", []))
        return {k: value(v, k, refs) for k, v in schema.get("properties", {}).items() if k in req or k == "cmd"}
    return "x"
# What a schema cannot say enough about: a spec service's `deployment` is a YAML document.
fixtures = {"/api/v1/k8s/services": {"deployment": "containers:\n  - name: web\n    image: nginx:1.27\n    ports:\n      - name: http\n        port: 80\n"}}
collections = sorted({p[: p.index("/{")] for p in paths if "/{" in p})
creators = [c for c in collections if "post" in paths.get(c, {})]
refs, seeded = {}, {}
for _ in range(4):
    for c in creators:
        if c in seeded:
            continue
        schema = paths[c]["post"].get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {"type": "object"})
        status, body = call("POST", c, {**value(schema, "", refs), **fixtures.get(c, {})})
        if status < 300 and isinstance(body, dict) and isinstance(body.get("id"), str):
            seeded[c] = body["id"]
            if noun(c):
                refs.setdefault(noun(c), body["id"])
    for c in collections:
        n = noun(c)
        if n and n not in refs and "get" in paths.get(c, {}):
            status, items = call("GET", c)
            if status == 200 and isinstance(items, list) and items and isinstance(items[0], dict) and isinstance(items[0].get("id"), str):
                refs[n] = items[0]["id"]
                seeded.setdefault(c, items[0]["id"])
with open(config_path, "w") as f:
    for c, id_ in seeded.items():
        for p in paths:
            if p.startswith(c + "/{"):
                param = p[len(c) + 2 : p.index("}", len(c))]
                f.write(f'[[operations]]\ninclude-path = {json.dumps(p)}\ninclude-method = ["GET", "POST", "PUT", "PATCH"]\nparameters = {{ {json.dumps(param)} = {json.dumps(id_)} }}\n\n')
print(f"[fuzz] seeded {len(seeded)} collections: {', '.join(sorted(seeded))}")
PY

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
config=()
[ -s "$work/schemathesis.toml" ] && config=(--config-file "$work/schemathesis.toml")
# `POST .../clean` removes everything of its kind, seeds included: those routes get their own run, last.
# (From the work directory: schemathesis keeps its example database in ./.schemathesis.)
(cd "$work" && "$venv/bin/st" "${config[@]}" "${args[@]}" --exclude-path-regex '/clean$') | tee "$work/schemathesis.txt" || st_status=$?
(cd "$work" && "$venv/bin/st" "${args[@]}" --include-path-regex '/clean$' --phases coverage,fuzzing) | tee -a "$work/schemathesis.txt" || st_status=$?

# Everything the run made goes, through the API (namespaces last: they take what is left with them).
api_python "$base" "$admin_key" <<'PY' || echo "[fuzz] cleanup was incomplete" >&2
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
generated = with_failures = errored = operations = 0
for path in paths:
    with open(path) as f:
        report = json.load(f)
    cases = report.get("test_cases", {})
    generated += cases.get("generated", 0)
    with_failures += cases.get("with_failures", 0)
    errored += cases.get("errored", 0)
    operations += report.get("operations", {}).get("tested", 0)
    for failure in report.get("failures", []):
        print(f"[fuzz]   {failure.get('code')} {failure.get('title')}: {', '.join(failure.get('operations', []))}")
    for error in report.get("errors", []):
        print(f"[fuzz]   error: {error.get('title')} ×{error.get('count')}")
print(f"[fuzz] test cases tried: {generated} over {operations} operations; with failures: {with_failures}; errored: {errored}")
PY

status=$st_status
if [ "$status" = 0 ]; then echo "[fuzz] zero 5xx"; else echo "[fuzz] schemathesis found failures (see above)" >&2; fi
exit "$status"
