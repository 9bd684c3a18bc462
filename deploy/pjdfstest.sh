#!/usr/bin/env bash
# pjdfstest (an independent POSIX test suite, github.com/pjd/pjdfstest) against
# a fresh local cluster: 1 manager, 2 metadata services, 3 storage services
# (one target each) at replication 3, mounted by `fs3 mount` as root with
# allow_other and the kernel's permission checks (default_permissions, always
# on). Builds pjdfstest and runs everything in a scratch folder outside the
# repository, removed at the end. Not part of the default test run (~6 min).
#
# Usage: deploy/pjdfstest.sh PJDFSTEST_SOURCE [prove arguments...]
#   PJDFSTEST_SOURCE  a clone (or bare mirror) or a source folder of pjdfstest
#   prove arguments   default: -r over the whole tests/ folder; e.g. `-v tests/rename`
#                     (paths under tests/ are taken relative to the build)
# Environment: FS3_PJDFSTEST_SCRATCH (default: a new /tmp/fs3-pjdfstest.XXXXXX),
#   FS3_PJDFSTEST_KEEP=1 keeps the scratch folder (cluster logs) afterwards.
# Needs: root, fuse3, autoconf automake libtool make gcc, perl's prove.
# The figures and the files pjdfstest skips on Linux: client/fuse/README.md.
set -euo pipefail
repository="$(cd "$(dirname "$0")/.." && pwd)"
source_path="${1:?usage: deploy/pjdfstest.sh PJDFSTEST_SOURCE [prove arguments...]}"
shift
source_path="$(cd "$source_path" && pwd)"
[ "$(id -u)" = 0 ] || { echo "pjdfstest needs root (it switches users and makes device nodes)" >&2; exit 2; }

fs3="$repository/.venv/bin/fs3"
[ -x "$fs3" ] || fs3="$(command -v fs3)"
scratch="${FS3_PJDFSTEST_SCRATCH:-$(mktemp -d /tmp/fs3-pjdfstest.XXXXXX)}"
mkdir -p "$scratch"
chmod 755 "$scratch"  # pjdfstest runs parts as uid 65534
export FS3_LOCAL_DIR="$scratch/cluster"
mountpoint="$scratch/mnt"

cleanup() {
    cd /
    "$fs3" umount "$mountpoint" >/dev/null 2>&1 || umount -l "$mountpoint" >/dev/null 2>&1 || true
    "$fs3" local down >/dev/null 2>&1 || true
    if [ "${FS3_PJDFSTEST_KEEP:-0}" = 1 ]; then
        echo "kept $scratch"
    else
        rm -rf "$scratch"
    fi
}
trap cleanup EXIT

echo "== building pjdfstest in $scratch/pjdfstest"
if git -C "$source_path" rev-parse --git-dir >/dev/null 2>&1; then
    git clone -q "$source_path" "$scratch/pjdfstest"
else
    cp -r "$source_path" "$scratch/pjdfstest"
fi
(cd "$scratch/pjdfstest" && autoreconf -ifs && ./configure && make) >"$scratch/build.log" 2>&1 \
    || { tail -20 "$scratch/build.log" >&2; exit 1; }

echo "== starting a local cluster in $FS3_LOCAL_DIR"
"$fs3" local up --storage 3 --targets 1 --replication 3 --meta 2 | tail -1
mkdir -p "$mountpoint"
"$fs3" mount "$mountpoint" --allow-other --pid-file "$scratch/fuse.pid"
mount | grep -F " $mountpoint " >&2

work="$mountpoint/pjdfstest-run"
mkdir "$work"
cd "$work"
if [ $# -eq 0 ]; then
    set -- -r "$scratch/pjdfstest/tests"
else
    arguments=()
    for argument in "$@"; do
        case "$argument" in
            tests/*|tests) arguments+=("$scratch/pjdfstest/$argument") ;;
            *) arguments+=("$argument") ;;
        esac
    done
    set -- "${arguments[@]}"
fi
echo "== prove $* (in $work)"
status=0
prove "$@" || status=$?
exit "$status"
