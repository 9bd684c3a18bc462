#!/usr/bin/env bash
# The README's first command: install everything and start a local cluster
# (1 cluster manager, 2 metadata services, 3 storage services x 5 targets,
# replication 3) with all its data under ${FS3_LOCAL_DIR:-~/.fs3/local}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install.sh
fs3 local up
