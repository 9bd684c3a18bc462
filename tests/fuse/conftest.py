"""A real fs3 mount over a real cluster, for every test in this folder.

The mount is made by the real `fs3 mount` machinery (a background daemon)
and is always unmounted in teardown, lazily and with the daemon killed if a
clean unmount fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import pytest

from tests.conftest import running_cluster


def fuse_unavailable_reason() -> str | None:
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing"
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        return "/dev/fuse is not accessible to this user"
    if os.geteuid() != 0 and shutil.which("fusermount3") is None:
        return "not root and fusermount3 is not installed"
    return None


_REASON = fuse_unavailable_reason()
requires_fuse = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")


def force_unmount(mountpoint, pid_file) -> None:
    """Last resort: lazy unmount and kill the daemon."""
    subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        pass


class Mount:
    def __init__(self, mountpoint, pid_file, pid: int, mgmtd_address: str) -> None:
        self.path = mountpoint
        self.pid_file = pid_file
        self.pid = pid
        self.mgmtd_address = mgmtd_address


def mount_cluster(cluster, folder) -> Mount:
    from fs3.client.fuse.mount_control import start_background

    mountpoint = folder / "mnt"
    mountpoint.mkdir()
    pid_file = folder / "fuse.pid"
    pid = start_background(str(mountpoint), [cluster.mgmtd_address], pid_file=pid_file, timeout_s=30,
                           allow_other=True)  # other users reach the mount: per-caller permission tests
    return Mount(mountpoint, pid_file, pid, cluster.mgmtd_address)


def unmount_cluster(mount: Mount) -> None:
    from fs3.client.fuse.mount_control import is_mounted, unmount

    try:
        unmount(str(mount.path), pid_file=mount.pid_file, timeout_s=20)
    except Exception:
        force_unmount(mount.path, mount.pid_file)
        raise
    finally:
        if is_mounted(str(mount.path)):
            force_unmount(mount.path, mount.pid_file)


@pytest.fixture(scope="module")
def fuse_cluster(tmp_path_factory):
    if _REASON is not None:
        pytest.skip(_REASON)
    # one target per storage service (one chain): each target preallocates 256 MiB slot
    # files per slot size, so fifteen targets would take many GiB of disk for small files
    with running_cluster(tmp_path_factory.mktemp("fuse-cluster"), targets_per_storage=1) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def mount(fuse_cluster, tmp_path_factory):
    mounted = mount_cluster(fuse_cluster, tmp_path_factory.mktemp("fuse-mount"))
    try:
        yield mounted
    finally:
        unmount_cluster(mounted)
