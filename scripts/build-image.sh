#!/usr/bin/env bash
# Build the weft container image from an already-built release binary, with no
# container registry:
#
#   scripts/build-image.sh [BINARY]      (or WEFT_BIN=...; default
#                                         ${CARGO_TARGET_DIR:-target}/release/weft)
#
# 1. installs buildah, podman and debootstrap from apt when missing (root, Debian);
# 2. makes the base image localhost/weft-base:bookworm once: `debootstrap
#    --variant=minbase bookworm` (plus busybox-static) into
#    ${WEFT_TOOLS_DIR:-~/.cache/weft/tools}/image/rootfs-bookworm, then
#    `podman import`; it serves only deploy/Containerfile's first stage (ldd);
# 3. lays out a build context (the binary, the plugins weft.yaml declares, weft.yaml with
#    `state: /var/lib/weft`, flows/) and runs `buildah bud --isolation chroot`
#    (RUN works where containers cannot be started) in the docker format (the
#    OCI format drops HEALTHCHECK);
# 4. tags localhost/weft:<version> and localhost/weft:latest and prints the size,
#    the user, the layers and the files of the image.
#
# Environment: WEFT_IMAGE (default localhost/weft), WEFT_BASE_IMAGE (default
# localhost/weft-base:bookworm), WEFT_REBUILD_BASE=1 to make the base again,
# WEFT_PLUGINS_DIR (default plugins/dist; only the plugins weft.yaml declares are taken),
# WEFT_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
bin="${1:-${WEFT_BIN:-$target/release/weft}}"
image="${WEFT_IMAGE:-localhost/weft}"
base="${WEFT_BASE_IMAGE:-localhost/weft-base:bookworm}"
tools="${WEFT_TOOLS_DIR:-$HOME/.cache/weft/tools}"
mirror="${WEFT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

fail() { echo "build-image: $*" >&2; exit 1; }

[ -x "$bin" ] || fail "no weft binary at $bin (build one with \`cargo build --release --bin weft\`, or pass its path)"
file_info="$(head -c 4 "$bin" | od -An -c | tr -d ' ')"
[ "$file_info" = "177ELF" ] || fail "$bin is not an ELF executable"
version="$("$bin" --version | head -n 1 | awk '{print $NF}' | tr -cd 'A-Za-z0-9_.-')"
[ -n "$version" ] || fail "\`$bin --version\` printed no version"

need=()
command -v buildah >/dev/null || need+=(buildah)
command -v podman >/dev/null || need+=(podman)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
        fail "missing ${need[*]}: install them (Debian: apt-get install ${need[*]})"
    echo "build-image: installing ${need[*]} from apt" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${need[@]}" uidmap fuse-overlayfs >&2
fi

if [ "${WEFT_REBUILD_BASE:-0}" = 1 ] || ! podman image exists "$base"; then
    rootfs="$tools/image/rootfs-bookworm"
    if [ "${WEFT_REBUILD_BASE:-0}" = 1 ] || ! [ -x "$rootfs/bin/busybox" ]; then
        echo "build-image: debootstrap --variant=minbase bookworm into $rootfs" >&2
        rm -rf "$rootfs"
        mkdir -p "$(dirname "$rootfs")"
        debootstrap --variant=minbase --include=busybox-static bookworm "$rootfs" "$mirror" >&2
    fi
    echo "build-image: importing $rootfs as $base" >&2
    tar --numeric-owner -C "$rootfs" -c . | podman import - "$base" >/dev/null
fi

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp "$bin" "$ctx/weft"
mkdir -p "$ctx/plugins" "$ctx/project"
# The reference plugins: those weft.yaml declares (plugins/dist also holds the
# hostile test plugins, which stay out of the image).
plugins_dir="${WEFT_PLUGINS_DIR:-$repo/plugins/dist}"
wanted=($(sed -n 's|^ *path: *plugins/dist/\([A-Za-z0-9_.-]*\.wasm\) *$|\1|p' "$repo/weft.yaml"))
[ ${#wanted[@]} -gt 0 ] || fail "weft.yaml declares no plugins/dist/*.wasm"
missing=()
for w in "${wanted[@]}"; do
    if [ -f "$plugins_dir/$w" ]; then cp "$plugins_dir/$w" "$ctx/plugins/"; else missing+=("$w"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "${WEFT_IMAGE_NO_PLUGINS:-0}" = 1 ] ||
        fail "$plugins_dir lacks ${missing[*]}: run scripts/build-plugins.sh (or set WEFT_PLUGINS_DIR; WEFT_IMAGE_NO_PLUGINS=1 builds without them)"
    echo "build-image: WARNING: without ${missing[*]}; the image's example project will not validate" >&2
fi
sed 's|^state: .*|state: /var/lib/weft|' "$repo/weft.yaml" > "$ctx/project/weft.yaml"
grep -q '^state: /var/lib/weft$' "$ctx/project/weft.yaml" || echo 'state: /var/lib/weft' >> "$ctx/project/weft.yaml"
cp -r "$repo/flows" "$ctx/project/flows"

echo "build-image: building $image:$version from $bin" >&2
buildah bud --isolation chroot --format docker --layers=false \
    --build-arg "BASE=$base" \
    --label "org.opencontainers.image.title=weft" \
    --label "org.opencontainers.image.version=$version" \
    --label "org.opencontainers.image.revision=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)" \
    -f "$repo/deploy/Containerfile" -t "$image:$version" -t "$image:latest" "$ctx" >&2

# What was built.
podman image inspect "$image:$version" --format \
    'image {{.RepoTags}}
id {{.Id}}
size {{.Size}} bytes
user {{.Config.User}}
entrypoint {{.Config.Entrypoint}} cmd {{.Config.Cmd}}
workdir {{.Config.WorkingDir}} ports {{.Config.ExposedPorts}}
healthcheck {{.Config.Healthcheck}}
layers {{len .RootFS.Layers}}'
if [ "${WEFT_IMAGE_LIST_FILES:-1}" = 1 ]; then
    mnt="$(podman image mount "$image:$version")"
    echo "files:"
    (cd "$mnt" && find . -mindepth 1 -printf '  %M %u:%g %10s %p\n' | sort -k4)
    podman image unmount "$image:$version" >/dev/null
fi
