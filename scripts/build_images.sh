#!/usr/bin/env bash
# Build Distillery's two images with buildah and write them as OCI archives (`make image`):
#   distillery:<version>          the serving image: inference, teacher, curator, detector
#   distillery-trainer:<version>  the trainer (torch, CPU build)
#
# No base image is pulled: the base is Debian 12 made by mmdebstrap from Debian's apt repositories
# and imported as localhost/distillery-base:bookworm (cached in .images/cache/, rebuilt only when
# its package list changes). The Python wheels come from PyPI through the host's pip
# (`pip wheel` into .images/wheelhouse/, rebuilt only when pyproject.toml's requirements or
# requirements-nodeps.txt change)
# and are installed inside the build with --no-index. Everything lands in .images/ (git-ignored).
#
# Environment: IMAGE_TARGETS (default "serving trainer"), IMAGE_REPO (default: the name the
# manifests' kustomization maps `distillery` to, minus the last part), PYTHON_BIN (python3.11),
# BUILDAH_STORAGE_DRIVER (vfs), BUILDAH_LAYERS (true: every build step is cached, so a rebuild redoes only what changed; false: less disk).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=.images
CACHE=$OUT/cache
WHEELS=$OUT/wheelhouse
PYTHON_BIN=${PYTHON_BIN:-python3.11}
DRIVER=${BUILDAH_STORAGE_DRIVER:-vfs}
LAYERS=${BUILDAH_LAYERS:-true}
TARGETS=${IMAGE_TARGETS:-serving trainer}
SUITE=bookworm
BASE_PACKAGES=python3,python3-venv,ca-certificates,libstdc++6,libgomp1
BASE_IMAGE=localhost/distillery-base:$SUITE

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build_images: %s\n' "$*" >&2; exit 1; }
bh() { buildah --storage-driver "$DRIVER" "$@"; }

[ "$(id -u)" = 0 ] || die "needs root (buildah with $DRIVER storage and chroot isolation, apt-get for the tools): run as root, e.g. sudo make image"
command -v "$PYTHON_BIN" >/dev/null || die "needs $PYTHON_BIN on PATH (it builds the wheelhouse for Python 3.11)"

# ---- the tools ----
if ! command -v buildah >/dev/null || ! command -v mmdebstrap >/dev/null; then
    command -v apt-get >/dev/null || die "buildah and mmdebstrap are missing and there is no apt-get to install them"
    say "installing buildah and mmdebstrap"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q buildah mmdebstrap
fi
mkdir -p "$CACHE" "$WHEELS"

VERSION=$("$PYTHON_BIN" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
IMAGE_REPO=${IMAGE_REPO:-$(sed -n 's/^ *newName: *\(.*\)\/distillery *$/\1/p' deploy/k8s/base/kustomization.yaml | awk 'NR == 1')}

# ---- the base image: Debian 12 with python3 (3.11) ----
BASE_KEY=$(printf '%s %s %s\n' "$SUITE" "$BASE_PACKAGES" "docs-excluded-1" | sha256sum | cut -c1-16)
ROOTFS=$CACHE/rootfs-$SUITE-$BASE_KEY.tar
have_key=$(bh inspect --type image --format '{{index .OCIv1.Config.Labels "distillery.base.key"}}' "$BASE_IMAGE" 2>/dev/null || true)
if [ "$have_key" != "$BASE_KEY" ]; then
    if [ ! -s "$ROOTFS" ]; then
        say "making the Debian $SUITE root filesystem with mmdebstrap (about 40 s)"
        rm -f "$CACHE"/rootfs-*.tar
        mmdebstrap --variant=essential --include="$BASE_PACKAGES" \
            --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
            --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
            "$SUITE" "$ROOTFS.part"
        mv "$ROOTFS.part" "$ROOTFS"
    fi
    say "importing $ROOTFS as $BASE_IMAGE"
    ctr=$(bh from scratch)
    bh add "$ctr" "$ROOTFS" /
    bh config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
        --cmd /bin/sh --label distillery.base.key="$BASE_KEY" --label org.opencontainers.image.base.name="debian:$SUITE" "$ctr"
    bh commit --rm -q "$ctr" "$BASE_IMAGE" >/dev/null
fi

# ---- the wheelhouse: every wheel the images install, built on the host for Python 3.11 ----
"$PYTHON_BIN" - "$WHEELS" <<'EOF'
import sys, tomllib
from pathlib import Path
out = Path(sys.argv[1])
project = tomllib.load(open("pyproject.toml", "rb"))
files = {
    "requirements-serving.txt": project["project"]["dependencies"],
    "requirements-train.txt": project["project"]["optional-dependencies"]["train"],
    "requirements-build.txt": project["build-system"]["requires"],
}
nodeps = [line.strip() for line in open("requirements-nodeps.txt") if line.strip() and not line.startswith("#")]
files["requirements-nodeps.txt"] = nodeps  # wheels installed without their dependencies (teacher-lm's GGUF)
for name, reqs in files.items():
    text = "".join(f"{r}\n" for r in reqs)
    if not (out / name).exists() or (out / name).read_text() != text:
        (out / name).write_text(text)
EOF
WHEELS_KEY=$(cat "$WHEELS"/requirements-*.txt | sha256sum | cut -c1-16)
if [ "$(cat "$WHEELS/.key" 2>/dev/null)" != "$WHEELS_KEY" ]; then
    say "building the wheelhouse in $WHEELS (pip wheel; about a minute)"
    find "$WHEELS" -name '*.whl' -delete
    "$PYTHON_BIN" -m pip wheel -q --disable-pip-version-check -w "$WHEELS" \
        -r "$WHEELS/requirements-serving.txt" -r "$WHEELS/requirements-train.txt" -r "$WHEELS/requirements-build.txt" \
        2> >(grep -v "is neither a file nor a directory" >&2)
    "$PYTHON_BIN" -m pip wheel -q --disable-pip-version-check --no-deps -w "$WHEELS" -r "$WHEELS/requirements-nodeps.txt" \
        2> >(grep -v "is neither a file nor a directory" >&2)
    ls "$WHEELS"/torch-*+cpu-cp311-*.whl >/dev/null 2>&1 \
        || die "the wheelhouse lacks torch's CPU build for Python 3.11; see the pip output above"
    echo "$WHEELS_KEY" > "$WHEELS/.key"
fi

# ---- the images ----
REPORT=$OUT/build-report.txt
: > "$REPORT"
for target in $TARGETS; do
    case $target in
        serving) name=distillery ;;
        trainer) name=distillery-trainer ;;
        *) die "unknown target $target (serving, trainer)" ;;
    esac
    tags=(-t "localhost/$name:$VERSION")
    [ -n "$IMAGE_REPO" ] && tags+=(-t "$IMAGE_REPO/$name:$VERSION")
    say "building $name:$VERSION (target $target)"
    start=$(date +%s)
    bh bud --isolation chroot --layers="$LAYERS" --pull-never --target "$target" \
        --build-arg BASE="$BASE_IMAGE" "${tags[@]}" -f Dockerfile . >&2
    built=$(date +%s)
    archive=$OUT/$name-$VERSION.oci.tar
    rm -f "$archive"
    bh push -q "localhost/$name:$VERSION" "oci-archive:$archive:$name:$VERSION" >/dev/null
    end=$(date +%s)
    # awk reads to the end: `head -1` may close the pipe first, and pipefail turns SIGPIPE into failure.
    size=$(bh images --format '{{.Size}}' "localhost/$name:$VERSION" | awk 'NR == 1')
    printf '%s:%s build %ss, archive %ss, archive %s MiB, image %s\n' "$name" "$VERSION" \
        $((built - start)) $((end - built)) $(( $(stat -c %s "$archive") / 1048576 )) "$size" | tee -a "$REPORT" >&2
done
# Intermediate stages without a name take space in the store; the cache of step layers stays.
[ "$LAYERS" = true ] || bh rmi --prune >/dev/null 2>&1 || true
say "done: $(ls "$OUT"/*.oci.tar | tr '\n' ' ')"
