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


_LOCKER = """
import fcntl, os, signal, sys

def give_up(*_):
    raise TimeoutError

signal.signal(signal.SIGALRM, give_up)
fds = {}
for line in sys.stdin:
    verb, path, start, length = line.split()
    fd = fds.setdefault(path, os.open(path, os.O_RDWR))
    try:
        if verb == "wait-1s":
            signal.alarm(1)
        fcntl.lockf(fd, fcntl.LOCK_UN if verb == "unlock" else fcntl.LOCK_EX, int(length), int(start))
        signal.alarm(0)
        print("ok", flush=True)
    except TimeoutError:
        print("timeout", flush=True)
    except OSError as error:
        print("errno", error.errno, flush=True)
"""


def test_a_lock_wait_that_would_deadlock_across_mounts_fails_with_edeadlk(mount, second_mount):
    """Two processes on two mounts (two clients) each hold a range the other then waits for: the
    second wait fails with EDEADLK (as the kernel answers on one host) instead of hanging, and
    once that process unlocks, the first gets its lock."""
    for name in ("deadlock-a", "deadlock-b"):
        (mount.path / name).write_bytes(b"x" * 100)
    lockers = [subprocess.Popen([sys.executable, "-c", _LOCKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True) for _ in range(2)]
    first_file, second_file = mount.path / "deadlock-a", second_mount.path / "deadlock-b"

    def ask(locker, line: str) -> None:
        locker.stdin.write(line + "\n")
        locker.stdin.flush()

    try:
        ask(lockers[0], f"wait {first_file} 0 10")
        assert lockers[0].stdout.readline().split() == ["ok"]
        ask(lockers[1], f"wait {second_file} 0 10")
        assert lockers[1].stdout.readline().split() == ["ok"]
        ask(lockers[0], f"wait {mount.path / 'deadlock-b'} 5 1")  # blocks: the second process holds it
        time.sleep(0.5)
        started = time.monotonic()
        ask(lockers[1], f"wait {second_mount.path / 'deadlock-a'} 0 1")
        assert lockers[1].stdout.readline().split() == ["errno", str(errno.EDEADLK)]
        assert time.monotonic() - started < 10
        ask(lockers[1], f"unlock {second_file} 0 10")
        assert lockers[1].stdout.readline().split() == ["ok"]
        assert lockers[0].stdout.readline().split() == ["ok"]  # the first process's wait ends
        # a wait given up (interrupted) no longer counts: now the second process may wait for the first
        ask(lockers[1], f"wait-1s {second_mount.path / 'deadlock-a'} 50 1")  # free: the first holds 0..9
        assert lockers[1].stdout.readline().split() == ["ok"]
        ask(lockers[0], f"wait-1s {mount.path / 'deadlock-a'} 50 1")
        assert lockers[0].stdout.readline().split() == ["timeout"]
        ask(lockers[1], f"wait {second_mount.path / 'deadlock-a'} 0 1")  # blocks, no EDEADLK
        time.sleep(0.5)
        ask(lockers[0], f"unlock {first_file} 0 10")
        assert lockers[0].stdout.readline().split() == ["ok"]
        assert lockers[1].stdout.readline().split() == ["ok"]
    finally:
        for locker in lockers:
            locker.stdin.close()
            locker.wait(timeout=30)
    for name in ("deadlock-a", "deadlock-b"):
        os.unlink(mount.path / name)


def test_xattr_create_from_two_mounts_at_once_succeeds_once(mount, second_mount):
    """XATTR_CREATE is checked by the metadata service with the change, not by a getxattr before it:
    of two clients creating one attribute at the same moment exactly one succeeds, the other gets
    EEXIST, and the value is the winner's."""
    import threading

    (mount.path / "xattr-race").write_bytes(b"")
    paths = [mount.path / "xattr-race", second_mount.path / "xattr-race"]
    for attempt in range(30):
        name = f"user.race{attempt}"
        barrier = threading.Barrier(2)
        outcomes: list = [None, None]

        def create(index: int) -> None:
            barrier.wait()
            try:
                os.setxattr(paths[index], name, b"mount%d" % index, os.XATTR_CREATE)
                outcomes[index] = "ok"
            except OSError as error:
                outcomes[index] = error.errno

        threads = [threading.Thread(target=create, args=(index,)) for index in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes, key=str) == sorted(["ok", errno.EEXIST], key=str), outcomes
        assert os.getxattr(paths[0], name) == b"mount%d" % outcomes.index("ok")
    with pytest.raises(OSError) as missing:
        os.setxattr(paths[1], "user.absent", b"x", os.XATTR_REPLACE)
    assert missing.value.errno == errno.ENODATA
    os.unlink(paths[0])
