# Pinned versions of the local control plane and its neighbours.
# Sourced by the other cluster scripts; bump a pin here and the cache key changes with it.
K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
FERRETDB_VERSION="${FERRETDB_VERSION:-v1.24.2}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
BERTH_CACHE="${BERTH_CACHE:-$HOME/.cache/berth}"
export GOTOOLCHAIN=local CGO_ENABLED=0
