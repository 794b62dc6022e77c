#!/usr/bin/env bash
# Builds the local control plane from the Go module proxy into a cache outside the repository,
# keyed by version. Each component is skipped when its binaries already exist.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/versions.sh"

log() { printf '[cluster:build] %s\n' "$*" >&2; }

k8s_dir="$BERTH_CACHE/kubernetes-$K8S_VERSION"
etcd_dir="$BERTH_CACHE/etcd-$ETCD_VERSION"
kwok_dir="$BERTH_CACHE/kwok-$KWOK_VERSION"
ferret_dir="$BERTH_CACHE/ferretdb-$FERRETDB_VERSION"
helm_dir="$BERTH_CACHE/helm-$HELM_VERSION"

have() { for f in "$@"; do [ -x "$f" ] || return 1; done; }

# k8s.io/kubernetes replaces its staging modules with ./staging paths; a wrapper module swaps each
# for the published k8s.io/X at the matching v0.x tag.
build_kubernetes() {
  local bin="$k8s_dir/bin"
  if have "$bin/kube-apiserver" "$bin/kube-controller-manager" "$bin/kube-scheduler" "$bin/kubectl"; then
    log "kubernetes $K8S_VERSION: cached in $bin"; return
  fi
  log "kubernetes $K8S_VERSION: building (cold: about 1 GB of modules and 10-25 minutes on 2 cores)"
  local mod="$k8s_dir/src"; mkdir -p "$mod" "$bin"; cd "$mod"
  local staging="v0.${K8S_VERSION#v1.}"
  [ -f go.mod ] || go mod init berth.local/kubernetes-build >/dev/null 2>&1
  local gomod; gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  grep -E '^\s*k8s.io/[^ ]+ => \./staging' "$gomod" | awk '{print $1}' | while read -r m; do
    go mod edit -replace "$m=$m@$staging"
  done
  go mod edit -require "k8s.io/kubernetes@$K8S_VERSION"
  local cmds=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
  printf 'package tools\n\nimport (\n' > tools.go
  for c in "${cmds[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c" >> tools.go; done
  printf ')\n' >> tools.go
  sed -i '1i //go:build tools\n' tools.go
  log "resolving modules"
  go mod tidy -e >/dev/null 2>&1 || go mod tidy
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  for c in "${cmds[@]}"; do
    log "go build $c"
    go build -trimpath -ldflags "$ld" -o "$bin/$c.tmp" "k8s.io/kubernetes/cmd/$c"
    mv "$bin/$c.tmp" "$bin/$c"
  done
}

build_wrapped() { # name dir module version package... : a wrapper module that builds packages of one module
  local name="$1" dir="$2" module="$3" version="$4"; shift 4
  local mod="$dir/src"; mkdir -p "$mod" "$dir/bin"; cd "$mod"
  [ -f go.mod ] || go mod init "berth.local/$name-build" >/dev/null 2>&1
  printf '//go:build tools\n\npackage tools\n\nimport (\n' > tools.go
  for p in "$@"; do printf '\t_ "%s"\n' "$p" >> tools.go; done
  printf ')\n' >> tools.go
  go mod edit -require "$module@$version"
  go mod tidy -e >/dev/null 2>&1 || go mod tidy
  for p in "$@"; do
    log "go build $p"
    go build -trimpath -ldflags "-s -w" -o "$dir/bin/$(basename "$p").tmp" "$p"
    mv "$dir/bin/$(basename "$p").tmp" "$dir/bin/$(basename "$p")"
  done
}

build_etcd() {
  if have "$etcd_dir/bin/etcd"; then log "etcd $ETCD_VERSION: cached"; return; fi
  log "etcd $ETCD_VERSION: building"
  build_wrapped etcd "$etcd_dir" go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3
  mv "$etcd_dir/bin/v3" "$etcd_dir/bin/etcd"
}

build_kwok() {
  if have "$kwok_dir/bin/kwok" "$kwok_dir/bin/kwokctl"; then log "kwok $KWOK_VERSION: cached"; return; fi
  log "kwok $KWOK_VERSION: building"
  build_wrapped kwok "$kwok_dir" sigs.k8s.io/kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
}

# FerretDB panics at start unless build/version/version.txt is embedded, and Go stamps the main
# package's own module as the main module, so a wrapper module cannot supply that file. Build from a
# writable copy of the module source instead, with version.txt written in.
build_ferretdb() {
  local bin="$ferret_dir/bin/ferretdb"
  if have "$bin" && "$bin" --version >/dev/null 2>&1; then log "ferretdb $FERRETDB_VERSION: cached"; return; fi
  log "ferretdb $FERRETDB_VERSION: building"
  local src mod="$ferret_dir/src"
  src=$(cd / && go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  [ -d "$src" ] || { log "ferretdb: module download failed"; return 1; }
  rm -rf "$mod"; mkdir -p "$ferret_dir/bin"
  cp -R "$src" "$mod"; chmod -R u+w "$mod"
  printf '%s\n' "$FERRETDB_VERSION" > "$mod/build/version/version.txt"
  cd "$mod"
  log "go build github.com/FerretDB/FerretDB/cmd/ferretdb"
  go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$bin.tmp" ./cmd/ferretdb
  mv "$bin.tmp" "$bin"
}

# helm: for the chart's tests (helm lint, helm template); not part of the control plane.
build_helm() {
  if have "$helm_dir/bin/helm"; then log "helm $HELM_VERSION: cached"; return; fi
  log "helm $HELM_VERSION: building"
  build_wrapped helm "$helm_dir" helm.sh/helm/v3 "$HELM_VERSION" helm.sh/helm/v3/cmd/helm
}

what="${1:-all}"
case "$what" in
  all) build_etcd; build_kwok; build_ferretdb; build_kubernetes ;;
  kubernetes|etcd|kwok|ferretdb|helm) "build_$what" ;;
  *) echo "usage: build.sh [all|kubernetes|etcd|kwok|ferretdb|helm]" >&2; exit 2 ;;
esac
log "done"
