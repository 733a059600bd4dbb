#!/usr/bin/env bash
# The offline checks of deploy/ (docs/deploy.md): the Kubernetes overlays
# rendered with `kubectl kustomize` and validated with kubernetes-validate
# against a pinned Kubernetes version (K8S_VERSION, default 1.32.0), the KEDA
# ScaledObject against a structural schema, both autoscalers against the scaling
# rule, the Compose file (podman-compose config and structural checks), the
# Prometheus rules and their unit tests (promtool), the Grafana dashboard, the
# Containerfile; and that every file they mount exists, every probe path is a
# route of host/server/src/lib.rs and every flag is in `weft daemon|worker
# --help` (WEFT_BIN, else $CARGO_TARGET_DIR/{release,debug}/weft, else the clap
# structs). Exits 1 on any failure.
#
# Installs what it needs: kubernetes-validate, PyYAML, jsonschema and
# podman-compose from PyPI into ${WEFT_TOOLS_DIR:-~/.cache/weft/tools}/deploy-venv;
# promtool (Debian's `prometheus` package), podman (which podman-compose asks
# for its version) and kubectl, if missing, from apt (as root on Debian).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${WEFT_TOOLS_DIR:-$HOME/.cache/weft/tools}"
venv="$tools/deploy-venv"
requirements=(kubernetes-validate==1.37.0 PyYAML==6.0.3 jsonschema==4.26.0 podman-compose==1.6.0)

fail() { echo "check-deploy: $*" >&2; exit 1; }

if ! [ -x "$venv/bin/python" ] || [ "$(cat "$venv/.weft-requirements" 2>/dev/null)" != "${requirements[*]}" ]; then
    command -v python3 >/dev/null || fail "python3 (with venv) is required"
    echo "check-deploy: installing ${requirements[*]} into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${requirements[@]}" >&2
    echo "${requirements[*]}" > "$venv/.weft-requirements"
fi

apt_install() {
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || fail "$1 is missing: install $2"
    echo "check-deploy: installing $2 from apt" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >&2
}
command -v promtool >/dev/null || apt_install promtool prometheus
# `podman-compose config` asks `podman version` first, even offline.
command -v podman >/dev/null || apt_install podman podman
# kubectl with kustomize v5 (components, labels); Debian's kubernetes-client is
# too old for them, so it is only the last resort.
command -v kubectl >/dev/null || apt_install kubectl kubernetes-client
kubectl kustomize --help >/dev/null 2>&1 || fail "\`kubectl kustomize\` is not available"

export KUBECTL="${KUBECTL:-kubectl}" PROMTOOL="${PROMTOOL:-promtool}"
export KUBERNETES_VALIDATE="$venv/bin/kubernetes-validate" PODMAN_COMPOSE="$venv/bin/podman-compose"
exec "$venv/bin/python" "$repo/deploy/check_deploy.py" "$repo"
