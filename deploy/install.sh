#!/usr/bin/env bash
# Install fs3 on a Debian machine as root: system packages, a virtualenv in
# .venv with the pinned Python dependencies, and `fs3` on the PATH.
# Usage: deploy/install.sh [extra]   (extra: "test" adds the test tools)
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"

if command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    # fuse3: fusermount3 (mounts by non-root users); the FUSE protocol itself is ours (no libfuse)
    # gcc: tests/fuse/kernel compiles a probe of <linux/fuse.h>; rsync and git: the FUSE tests
    # copy trees with rsync -aHX and run git on the mount
    packages=(python3 python3-venv python3-dev gcc fuse3 rsync git)
    missing=()
    for package in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if ((${#missing[@]})); then
        apt-get update -qq
        apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ -n "$extra" ]; then
    .venv/bin/python -m pip install -q -e ".[$extra]"
else
    .venv/bin/python -m pip install -q -e .
fi
ln -sf "$PWD/.venv/bin/fs3" /usr/local/bin/fs3
echo "fs3 installed: $(command -v fs3)"
