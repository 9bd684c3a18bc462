#!/usr/bin/env bash
# The README's first command: install everything and start a local cluster
# (1 cluster manager, 2 metadata services, 3 storage services x 5 targets,
# replication 3) with all its data under ${FS3_LOCAL_DIR:-~/.fs3/local}, and
# mount it at ${FS3_MOUNTPOINT:-/mnt/fs3}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install.sh
fs3 local up
# Mount it (FUSE) where training jobs expect a file system.
mountpoint="${FS3_MOUNTPOINT:-/mnt/fs3}"
mkdir -p "$mountpoint"
if [ -e /dev/fuse ]; then
    fs3 mount "$mountpoint"
else
    echo "no /dev/fuse here: the cluster runs, but is not mounted" >&2
fi
