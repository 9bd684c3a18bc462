"""File locks are cluster-wide: two mounts of one cluster (two clients) exclude each other with
flock and fcntl record locks, a blocked locker gets the lock when the holder closes, F_GETLK names
the holder's range; plus fallocate and O_DIRECT through the mount."""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import struct
import subprocess
import sys
import time

import pytest

from tests.fuse.conftest import mount_cluster, requires_fuse, unmount_cluster

pytestmark = requires_fuse
MiB = 1 << 20


@pytest.fixture(scope="module")
def second_mount(fuse_cluster, tmp_path_factory):
    mounted = mount_cluster(fuse_cluster, tmp_path_factory.mktemp("fuse-mount-2"))
    try:
        yield mounted
    finally:
        unmount_cluster(mounted)


def _holder(path, script: str) -> subprocess.Popen:
    """A process that takes a lock as `script` says, prints 'held', and keeps it until stdin closes."""
    code = (f"import fcntl, os, struct, sys\nfd = os.open({str(path)!r}, os.O_RDWR)\n{script}\n"
            "print('held', flush=True)\nsys.stdin.read()\n")
    process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def _release(process: subprocess.Popen) -> None:
    process.stdin.close()
    assert process.wait(timeout=30) == 0


def test_flock_excludes_across_mounts_and_close_releases(mount, second_mount):
    first, second = mount.path / "flocked", second_mount.path / "flocked"
    first.write_bytes(b"x")
    holder = _holder(first, "fcntl.flock(fd, fcntl.LOCK_EX)")
    try:
        fd = os.open(second, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            # the util-linux tool sees the same
            busy = subprocess.run(["flock", "-n", str(second), "-c", "true"], capture_output=True)
            assert busy.returncode == 1
            waiter = subprocess.Popen(["flock", "-w", "30", str(second), "-c", "echo got"], stdout=subprocess.PIPE,
                                      text=True)
            time.sleep(0.5)
            assert waiter.poll() is None, "a blocking flock waits while the other mount's process holds it"
        finally:
            os.close(fd)
    finally:
        _release(holder)  # its exit closes the file: the lock goes
    assert waiter.communicate(timeout=30)[0].strip() == "got" and waiter.returncode == 0
    again = subprocess.run(["flock", "-n", str(first), "-c", "true"], capture_output=True)
    assert again.returncode == 0


def test_record_locks_exclude_overlapping_ranges_across_mounts(mount, second_mount):
    first, second = mount.path / "records", second_mount.path / "records"
    first.write_bytes(b"y" * 4096)
    holder = _holder(first, "fcntl.lockf(fd, fcntl.LOCK_EX, 100, 0)")  # bytes 0..99
    try:
        fd = os.open(second, os.O_RDWR)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 100)  # disjoint: granted
            with pytest.raises(OSError) as refused:
                fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 10, 50)
            assert refused.value.errno in (errno.EAGAIN, errno.EACCES)
            # F_GETLK: struct flock {short type, whence; off_t start, len; pid_t pid}
            query = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
            lock_type, _whence, start, length, _pid = struct.unpack("hhqqi", fcntl.fcntl(fd, fcntl.F_GETLK, query))
            assert (lock_type, start, length) == (fcntl.F_WRLCK, 0, 100)
        finally:
            os.close(fd)  # drops this process's locks
    finally:
        _release(holder)
    fd = os.open(second, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 0, 0)  # the whole file is free again
    finally:
        os.close(fd)


def test_fallocate_grows_and_keep_size_and_unsupported_modes(mount):
    path = mount.path / "allocated"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"head")
        os.posix_fallocate(fd, 0, 3 * MiB + 5)
        assert os.fstat(fd).st_size == 3 * MiB + 5
        assert os.pread(fd, 8, 0) == b"head\0\0\0\0" and os.pread(fd, 5, 3 * MiB) == b"\0" * 5
    finally:
        os.close(fd)
    assert os.stat(path).st_size == 3 * MiB + 5
    kept = subprocess.run(["fallocate", "-n", "-l", str(8 * MiB), str(path)], capture_output=True, text=True)
    assert kept.returncode == 0, kept.stderr
    assert os.stat(path).st_size == 3 * MiB + 5
    punched = subprocess.run(["fallocate", "-p", "-o", "0", "-l", "4096", str(path)], capture_output=True, text=True)
    assert punched.returncode != 0 and "unsupported" in punched.stderr.replace("not supported", "unsupported")


def test_o_direct_reads_and_writes(mount):
    path = mount.path / "direct"
    buffer = mmap.mmap(-1, MiB)  # page-aligned, as O_DIRECT wants
    buffer.write(os.urandom(MiB))
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_DIRECT, 0o644)
    try:
        assert os.pwritev(fd, [buffer], 0) == MiB
        assert os.pwritev(fd, [buffer], MiB) == MiB
        back = mmap.mmap(-1, MiB)
        assert os.preadv(fd, [back], MiB) == MiB
        assert back[:] == buffer[:]
    finally:
        os.close(fd)
    assert path.read_bytes() == buffer[:] * 2
