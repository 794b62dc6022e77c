#!/usr/bin/env bash
# Proves, against the running local cluster, what the project's tests rely on:
#   1. a Deployment's pods reach Ready,
#   2. a Job completes (kwok moves Job-owned pods to Succeeded),
#   3. PersistentVolumeClaims bind (ReadWriteOnce and ReadWriteMany, Mi and Gi, default class),
#   4. `kubectl logs` returns kwok's simulated log lines through the apiserver,
# plus NATS and FerretDB answering on their ports. Works in a throwaway namespace, removed after.
#
#   scripts/cluster/up.sh && scripts/cluster/smoke.sh     # --k8s-only skips NATS and FerretDB
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
use_ports_from_env_file

[ -f "$KUBECONFIG_FILE" ] || die "no $KUBECONFIG_FILE: run scripts/cluster/up.sh first"
ns="berth-smoke-$$"
image="registry.invalid/berth/smoke:1" # never pulled: kwok runs no containers

ok() { say "ok   $1 ($((SECONDS - t0))s)"; }
fail() {
  say "FAIL $1"
  kctl -n "$ns" get all,pvc -o wide >&2 2>/dev/null || true
  kctl -n "$ns" get events --sort-by=.lastTimestamp 2>/dev/null | tail -n 20 >&2 || true
  exit 1
}
cleanup() { kctl delete namespace "$ns" --wait=false > /dev/null 2>&1 || true; }
trap cleanup EXIT

check_deployment() {
  t0=$SECONDS
  kctl -n "$ns" create deployment web --image="$image" --replicas=2 > /dev/null
  kctl -n "$ns" rollout status deployment/web --timeout=60s > /dev/null || fail "deployment web did not roll out"
  local ready
  ready="$(kctl -n "$ns" get deployment web -o jsonpath='{.status.readyReplicas}')"
  [ "$ready" = 2 ] || fail "deployment web has readyReplicas=$ready, want 2"
  kctl -n "$ns" wait pod -l app=web --for=condition=Ready --timeout=30s > /dev/null || fail "web pods not Ready"
  ok "Deployment web: 2/2 pods Ready"
}

check_job() {
  t0=$SECONDS
  kctl -n "$ns" create job once --image="$image" > /dev/null
  kctl -n "$ns" wait job/once --for=condition=Complete --timeout=60s > /dev/null || fail "job once did not complete"
  local phase
  phase="$(kctl -n "$ns" get pod -l job-name=once -o jsonpath='{.items[0].status.phase}')"
  [ "$phase" = Succeeded ] || fail "job pod phase is $phase, want Succeeded"
  ok "Job once: Complete, pod Succeeded"
}

# One PersistentVolumeClaim document: name, access modes, size and, optionally, a storage class.
pvc_doc() {
  printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: %s}\nspec:\n' "$1"
  if [ -n "${4:-}" ]; then printf '  storageClassName: %s\n' "$4"; fi
  printf '  accessModes: [%s]\n  resources: {requests: {storage: %s}}\n---\n' "$2" "$3"
}

check_pvcs() {
  t0=$SECONDS
  {
    pvc_doc data-rwo ReadWriteOnce 1Gi
    pvc_doc data-rwx ReadWriteMany 300Mi
    pvc_doc data-big "ReadWriteOnce, ReadOnlyMany" 250Gi standard
  } | kctl -n "$ns" apply -f - > /dev/null
  local pvc
  for pvc in data-rwo data-rwx data-big; do
    kctl -n "$ns" wait "pvc/$pvc" --for=jsonpath='{.status.phase}'=Bound --timeout=30s > /dev/null \
      || fail "pvc $pvc did not bind"
  done
  local cap
  cap="$(kctl -n "$ns" get pvc data-rwx -o jsonpath='{.status.capacity.storage}')"
  [ "$cap" = 300Mi ] || fail "pvc data-rwx capacity is $cap, want 300Mi"
  ok "PVCs data-rwo (RWO 1Gi), data-rwx (RWX 300Mi), data-big (250Gi): Bound"
}

check_logs() {
  t0=$SECONDS
  local pod out
  pod="$(kctl -n "$ns" get pod -l app=web -o jsonpath='{.items[0].metadata.name}')"
  out="$(kctl -n "$ns" logs "$pod")" || fail "kubectl logs $pod failed"
  grep -q 'berth simulated log line 1' <<< "$out" || fail "kubectl logs $pod: simulated lines missing; got: $out"
  out="$(kctl -n "$ns" logs "$pod" --tail=1)" || fail "kubectl logs --tail=1 failed"
  [ "$out" = "berth simulated log line 5: still running" ] || fail "kubectl logs --tail=1 returned: $out"
  out="$(kctl -n "$ns" logs "$pod" --since=1h | wc -l)"
  [ "$out" = 3 ] || fail "kubectl logs --since=1h returned $out lines, want 3 (the fixture's 2099 lines)"
  ok "kubectl logs $pod: $(kctl -n "$ns" logs "$pod" | wc -l) simulated lines; --tail and --since work"
}

check_daemons() {
  t0=$SECONDS
  nats_healthy || fail "NATS does not answer on $BIND_ADDRESS:$NATS_PORT"
  ferret_healthy || fail "FerretDB does not answer a ping on $BIND_ADDRESS:$FERRET_PORT"
  ok "NATS INFO on :$NATS_PORT, FerretDB ping on :$FERRET_PORT"
}

main() {
  local start=$SECONDS
  kctl create namespace "$ns" > /dev/null
  kctl -n "$ns" wait serviceaccount/default --for=create --timeout=30s > /dev/null 2>&1 || true
  check_deployment
  check_job
  check_pvcs
  check_logs
  if [ "${1:-}" != --k8s-only ]; then check_daemons; fi
  say "smoke passed in $((SECONDS - start))s"
}

main "$@"
