#!/usr/bin/env bash
# Try the image's filesystem where containers cannot be started (no setrlimit,
# no cgroups: `podman run` fails here): a writable copy of the image
# (`buildah from` + `buildah mount`), with /proc and /dev bound in, is entered
# with chroot as the image's user (10001), and there
#   - `weft --version` and `weft validate` run in /srv/weft (the binary, its
#     libraries, the plugins and the example project are all in the image);
#   - `weft daemon --no-auth` on a loopback port opens its store in
#     /var/lib/weft (writable by uid 10001), answers /healthz and /readyz, and
#     runs flows/support-triage.yaml (WEFT_SMOKE_FLOW, WEFT_SMOKE_INPUT) to its
#     end with its in-process workers.
# This is the image's content, not a container: no namespaces, no cgroup limits,
# no HEALTHCHECK run by a runtime.
#
#   scripts/smoke-image.sh [IMAGE]     (default localhost/weft:latest; root)
set -euo pipefail
image="${1:-localhost/weft:latest}"
port="${WEFT_SMOKE_PORT:-17878}"
# The flow run, and its input (JSON).
flow="${WEFT_SMOKE_FLOW:-support-triage}"
input="${WEFT_SMOKE_INPUT:-}"
[ -n "$input" ] || input='{"ticket":{"id":7,"body":"Refund please"}}'
fail() { echo "smoke-image: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (chroot, mounts)"

ctr="$(buildah from --name "weft-smoke-$$" "$image")"
mnt="$(buildah mount "$ctr")"
daemon_pid=""
cleanup() {
    if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
        kill -TERM "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
    fi
    umount "$mnt/proc" 2>/dev/null || true
    umount "$mnt/dev" 2>/dev/null || true
    buildah umount "$ctr" >/dev/null 2>&1 || true
    buildah rm "$ctr" >/dev/null 2>&1 || true
}
trap cleanup EXIT
mkdir -p "$mnt/proc" "$mnt/dev"
mount -t proc proc "$mnt/proc"
mount --bind /dev "$mnt/dev"

# `exec` all the way down (chroot, busybox sh, weft), so that a background
# in_image's $! is the weft process itself.
in_image() {
    exec chroot --userspec=10001:10001 "$mnt" /bin/busybox env -i HOME=/home/weft \
        WEFT_COMPONENT_CACHE=/var/cache/weft/components PATH=/usr/local/bin:/bin \
        /bin/busybox sh -c "cd /srv/weft && $1"
}

echo "smoke-image: $( (in_image 'id -u; weft --version') | tr '\n' ' ')"
(in_image 'weft validate') || fail "weft validate failed in the image"
! curl -s -o /dev/null "http://127.0.0.1:$port/healthz" || fail "port $port is taken (WEFT_SMOKE_PORT)"

log="$(mktemp)"
(in_image "exec weft daemon --listen 127.0.0.1:$port --no-auth --state /var/lib/weft --workers 2 --no-index") >"$log" 2>&1 &
daemon_pid=$!
url="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
    curl -fsS "$url/healthz" >/dev/null 2>&1 && break
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$log" >&2; fail "the daemon exited"; }
    sleep 0.1
done
curl -fsS "$url/healthz" >/dev/null || { cat "$log" >&2; fail "/healthz"; }
ready=""
for _ in $(seq 1 100); do
    ready="$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz" || true)"
    [ "$ready" = 200 ] && break
    sleep 0.1
done
echo "smoke-image: /healthz ok, /readyz $ready"
run="$(curl -fsS "$url/v1/runs" -H 'content-type: application/json' \
    -d "{\"flow\":\"$flow\",\"input\":$input}")"
id="$(printf '%s' "$run" | python3 -c 'import json,sys; print(json.load(sys.stdin)["run_id"])')"
# The first run compiles every plugin it uses (cached in /var/cache/weft after).
status=""
for _ in $(seq 1 ${WEFT_SMOKE_WAITS:-10}); do
    status="$(curl -fsS "$url/v1/runs/$id?wait=30" | python3 -c 'import json,sys; print(json.load(sys.stdin)["run"]["status"])')"
    case "$status" in queued|running) ;; *) break ;; esac
done
echo "smoke-image: run $id: $status"
ls -ln "$mnt/var/lib/weft" | sed 's/^/smoke-image:   /'
[ "$status" = succeeded ] || { cat "$log" >&2; fail "the run ended $status"; }
[ "$ready" = 200 ] || fail "/readyz answered $ready"
echo "smoke-image: ok"
