#!/usr/bin/env bash
# The container image check of scripts/test.sh: builds the image
# (scripts/build-image.sh) from the weft binary the tests built, inspects it,
# and tries its filesystem with scripts/smoke-image.sh (a daemon in a chroot of
# the image runs a flow to its end; containers themselves cannot be started
# where the sandbox refuses setrlimit, see docs/deploy.md).
#
#   scripts/check-image.sh [BINARY]    (default WEFT_BIN, else
#                                       $CARGO_TARGET_DIR/{release,debug}/weft)
#
# A machine that cannot build images at all (not root and no rootless buildah,
# no apt to install buildah/podman/debootstrap, or no Debian mirror for the
# base) gets one line that says which, and exit 0: that is a fact about the
# machine, not about weft. Once the tools are there, any failure (the build,
# an inspected fact, the smoke run) exits 1.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
bin="${1:-${WEFT_BIN:-}}"
if [ -z "$bin" ]; then
    for b in "$target/release/weft" "$target/debug/weft"; do
        if [ -x "$b" ]; then bin="$b"; break; fi
    done
fi
image="${WEFT_CHECK_IMAGE:-localhost/weft-check}"
cannot() { echo "check-image: SKIPPED, this machine cannot build images: $*" >&2; exit 0; }
fail() { echo "check-image: FAIL: $*" >&2; exit 1; }

[ -n "$bin" ] && [ -x "$bin" ] || fail "no weft binary (build one, or pass its path)"
if [ "$(id -u)" != 0 ]; then
    command -v buildah >/dev/null && buildah info >/dev/null 2>&1 ||
        cannot "not root, and no working rootless buildah (see docs/deploy.md, \"The image\")"
fi
if ! command -v buildah >/dev/null || ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
    command -v apt-get >/dev/null || cannot "buildah, podman or debootstrap is missing and there is no apt-get to install them"
fi
mirror="${WEFT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if ! podman image exists "${WEFT_BASE_IMAGE:-localhost/weft-base:bookworm}" 2>/dev/null &&
    ! [ -x "${WEFT_TOOLS_DIR:-$HOME/.cache/weft/tools}/image/rootfs-bookworm/bin/busybox" ]; then
    curl -fsS -o /dev/null --max-time 20 "$mirror/dists/bookworm/Release" ||
        cannot "the Debian mirror $mirror (for the image's base) is not reachable"
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
WEFT_IMAGE="$image" WEFT_IMAGE_LIST_FILES=0 "$repo/scripts/build-image.sh" "$bin" >"$log" 2>&1 ||
    { tail -n 40 "$log" >&2; fail "scripts/build-image.sh failed"; }
grep -E '^(image|size|user|entrypoint|healthcheck) ' "$log" | sed 's/^/check-image: /'

inspect() { podman image inspect "$image:latest" --format "$1"; }
[ "$(inspect '{{.Config.User}}')" = "10001:10001" ] || fail "the image does not run as 10001:10001"
[ "$(inspect '{{json .Config.Entrypoint}}')" = '["/usr/local/bin/weft"]' ] || fail "entrypoint is not weft"
inspect '{{json .Config.Cmd}}' | grep -q '"daemon"' || fail "the default command is not \`weft daemon\`"
inspect '{{json .Config.Healthcheck}}' | grep -q '/healthz' || fail "no HEALTHCHECK on /healthz"
mnt="$(podman image mount "$image:latest")"
unmount() { podman image unmount "$image:latest" >/dev/null 2>&1 || true; }
trap 'unmount; rm -f "$log"' EXIT
for f in usr/local/bin/weft srv/weft/weft.yaml srv/weft/plugins/dist/echo.wasm bin/busybox; do
    [ -e "$mnt/$f" ] || fail "the image lacks /$f"
done
for f in usr/bin/gcc usr/bin/cc usr/bin/apt-get usr/bin/dpkg usr/bin/rustc usr/bin/python3; do
    [ ! -e "$mnt/$f" ] || fail "the image holds /$f (it must hold no compiler or package manager)"
done
[ ! -e "$mnt/srv/weft/plugins/dist/hostile-loop.wasm" ] || fail "a hostile test plugin is in the image"
echo "check-image: $(find "$mnt" -type f | wc -l) files; user, entrypoint, command, healthcheck, contents ok"
unmount
# agent-demo (an agent step and the mock model): support-triage's Python step
# takes minutes to compile under a debug build on a loaded 2-core machine.
empty_input="{}"
if ! WEFT_SMOKE_FLOW="${WEFT_SMOKE_FLOW:-agent-demo}" WEFT_SMOKE_INPUT="${WEFT_SMOKE_INPUT:-$empty_input}" \
    "$repo/scripts/smoke-image.sh" "$image:latest" 2>&1 | sed 's/^/check-image: /'; then
    fail "scripts/smoke-image.sh failed"
fi
echo "check-image: ok"
