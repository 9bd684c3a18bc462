"""Real mounts of a small in-memory file system on the kernel layer.

Goal: through the real kernel, lock calls reach a file system that
implements them (fcntl and flock from other processes, blocking waits,
release at close, interrupted waits) and stay the kernel's own for one that
does not; an opcode we do not implement is answered ENOSYS and the mount
keeps serving; SIGTERM leaves no mount behind; both mount paths (mount(2)
and fusermount3) work. Method: `tests.fuse.kernel.memory_fs` runs as its own
process per mount and records the calls it gets; lockers are separate
processes (POSIX locks are per process).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fs3.client.fuse.kernel.mount import mounted_device
from fs3.client.fuse.kernel.protocol import InitFlag
from tests.fuse.conftest import requires_fuse

pytestmark = requires_fuse

ROOT = Path(__file__).resolve().parents[3]
FSTYPE = "fuse.memoryfs"
FLOCK = struct.Struct("hhqqi4x")  # struct flock on x86-64: type whence start len pid
MiB = 1 << 20

HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
if sys.argv[2] == "posix":
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
else:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("locked", flush=True)
sys.stdin.readline()
os.close(fd)
print("closed", flush=True)
"""

WAITER = """
import fcntl, os, signal, sys
class Interrupted(Exception):
    pass
def on_alarm(*_):
    raise Interrupted()
signal.signal(signal.SIGALRM, on_alarm)
fd = os.open(sys.argv[1], os.O_RDWR)
print("waiting", flush=True)
if len(sys.argv) > 2:
    signal.alarm(int(sys.argv[2]))
try:
    fcntl.lockf(fd, fcntl.LOCK_EX)
    print("locked", flush=True)
except Interrupted:
    print("interrupted", flush=True)
except OSError as error:
    print(f"error {error.errno}", flush=True)
"""


class MemoryMount:
    def __init__(self, folder: Path, *, locks: bool = False, fusermount: bool = False) -> None:
        self.path = folder / "mnt"
        self.path.mkdir()
        self.record_path = folder / "record.jsonl"
        self.log_path = folder / "daemon.log"
        command = [sys.executable, "-m", "tests.fuse.kernel.memory_fs", str(self.path), "--record",
                   str(self.record_path)] + (["--locks"] if locks else []) + (["--fusermount"] if fusermount else [])
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while not self.mounted():
            assert self.process.poll() is None, f"memory_fs exited: {self.log()}"
            assert time.monotonic() < deadline, f"no mount after 20 s: {self.log()}"
            time.sleep(0.05)

    def mounted(self) -> bool:
        return mounted_device(str(self.path), FSTYPE) is not None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def records(self, op: str | None = None) -> list[dict]:
        lines = self.record_path.read_text().splitlines() if self.record_path.exists() else []
        return [record for record in map(json.loads, lines) if op is None or record["op"] == op]

    def stop(self) -> int:
        """SIGTERM; the daemon must unmount and exit by itself (forced only on failure)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            if self.mounted():
                subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


@pytest.fixture
def start_mount(tmp_path):
    mounts: list[MemoryMount] = []

    def start(**options) -> MemoryMount:
        folder = tmp_path / f"m{len(mounts)}"
        folder.mkdir()
        mounts.append(MemoryMount(folder, **options))
        return mounts[-1]

    yield start
    for mount in mounts:
        mount.stop()


class Helper:
    """A Python snippet in its own process, talked to line by line."""

    def __init__(self, script: str, *arguments: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", script, *arguments], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def line(self, timeout_s: float = 10) -> str | None:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout_s)
        if not ready:
            return None
        line = self.process.stdout.readline().strip()
        if not line and self.process.poll() is not None:
            return f"exited {self.process.returncode}: {self.process.stderr.read()}"
        return line

    def tell(self) -> None:
        self.process.stdin.write("\n")
        self.process.stdin.flush()

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


def _getlk(path: Path) -> tuple[int, int]:
    fd = os.open(path, os.O_RDWR)
    try:
        lock_type, _, _, _, pid = FLOCK.unpack(fcntl.fcntl(fd, fcntl.F_GETLK, FLOCK.pack(fcntl.F_WRLCK, 0, 0, 0, 0)))
        return lock_type, pid
    finally:
        os.close(fd)


def _try_lock(path: Path, kind: str) -> int:
    """0 if the lock was taken (and dropped again), else the errno."""
    fd = os.open(path, os.O_RDWR)
    try:
        (fcntl.lockf if kind == "posix" else fcntl.flock)(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return 0
    except OSError as error:
        return error.errno
    finally:
        os.close(fd)


# ---- mounting ------------------------------------------------------------------------------------
@pytest.mark.parametrize("fusermount", [False, True], ids=["mount-syscall", "fusermount3"])
def test_files_directories_and_xattrs_through_the_mount(start_mount, fusermount):
    mount = start_mount(fusermount=fusermount)
    top = mount.path / "dir"
    top.mkdir()
    data = os.urandom(3 * MiB + 123)  # several 1 MiB writes and reads
    (top / "big.bin").write_bytes(data)
    assert (top / "big.bin").read_bytes() == data and os.stat(top / "big.bin").st_size == len(data)
    os.rename(top / "big.bin", top / "moved.bin")
    os.symlink("moved.bin", top / "link")
    assert os.readlink(top / "link") == "moved.bin" and (top / "link").read_bytes()[:10] == data[:10]
    os.setxattr(top / "moved.bin", "user.k", b"v" * 300)
    assert os.getxattr(top / "moved.bin", "user.k") == b"v" * 300 and os.listxattr(top / "moved.bin") == ["user.k"]
    names = [f"f{index:04d}" for index in range(300)]  # several READDIRPLUS pages
    for name in names:
        (top / name).write_bytes(b"")
    assert sorted(os.listdir(top)) == sorted(names + ["link", "moved.bin"])
    os.truncate(top / "moved.bin", 10)
    assert (top / "moved.bin").read_bytes() == data[:10]
    os.unlink(top / "link")
    assert os.statvfs(mount.path).f_namemax == 255
    with open("/proc/self/mountinfo") as file:
        line = next(line for line in file if f" {mount.path} " in line)
    assert " - fuse.memoryfs memoryfs " in line and "max_read=1048576" in line
    assert mount.stop() == 0 and not mount.mounted()


def test_sigterm_unmounts_even_with_a_lock_waiter_and_open_files(start_mount):
    mount = start_mount(locks=True)
    (mount.path / "f").write_bytes(b"x")
    holder = Helper(HOLDER, str(mount.path / "f"), "posix")
    assert holder.line() == "locked"
    waiter = Helper(WAITER, str(mount.path / "f"))
    try:
        assert waiter.line() == "waiting"
        time.sleep(0.3)
        started = time.monotonic()
        assert mount.stop() == 0
        assert time.monotonic() - started < 15
        assert not mount.mounted()
        assert waiter.line().startswith("error")  # its SETLKW ended with the connection
    finally:
        holder.end()
        waiter.end()


# ---- locks -------------------------------------------------------------------------------------------
def test_posix_locks_and_flock_go_to_a_file_system_that_implements_them(start_mount):
    mount = start_mount(locks=True)
    path = mount.path / "locked"
    path.write_bytes(b"data")
    assert mount.records("init")[0]["flags"] & (InitFlag.POSIX_LOCKS | InitFlag.FLOCK_LOCKS) == \
        InitFlag.POSIX_LOCKS | InitFlag.FLOCK_LOCKS
    holder = Helper(HOLDER, str(path), "posix")
    waiter = None
    try:
        assert holder.line() == "locked"
        assert _try_lock(path, "posix") in (errno.EAGAIN, errno.EACCES)
        assert _getlk(path) == (fcntl.F_WRLCK, holder.process.pid)
        waiter = Helper(WAITER, str(path))
        assert waiter.line() == "waiting"
        assert waiter.line(timeout_s=0.5) is None  # blocked in F_SETLKW
        holder.tell()  # the holder closes its file: FLUSH drops its locks
        assert holder.line() == "closed"
        assert waiter.line() == "locked"
    finally:
        holder.end()
        if waiter is not None:
            waiter.end()
    setlks = mount.records("setlk")
    assert any(record["sleep"] for record in setlks) and any(not record["sleep"] for record in setlks)
    assert any(record["type"] == fcntl.F_UNLCK and record["pid"] == holder.process.pid for record in setlks)
    assert mount.records("getlk")

    flocker = Helper(HOLDER, str(path), "flock")
    try:
        assert flocker.line() == "locked"
        assert _try_lock(path, "flock") == errno.EWOULDBLOCK
        flocker.tell()  # closed: RELEASE drops the flock
        assert flocker.line() == "closed"
        deadline = time.monotonic() + 5  # RELEASE is asynchronous to close()
        while _try_lock(path, "flock") != 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        flocker.end()
    flocks = mount.records("flock")
    assert [record["type"] for record in flocks][:2] == [fcntl.F_WRLCK, fcntl.F_WRLCK]
    assert any(record["type"] == fcntl.F_UNLCK for record in flocks)


def test_an_interrupted_lock_wait_fails_with_eintr_and_the_mount_goes_on(start_mount):
    mount = start_mount(locks=True)
    path = mount.path / "locked"
    path.write_bytes(b"data")
    holder = Helper(HOLDER, str(path), "posix")
    assert holder.line() == "locked"
    waiter = Helper(WAITER, str(path), "1")  # SIGALRM after 1 s, its handler raises
    try:
        assert waiter.line() == "waiting"
        assert waiter.line() == "interrupted"
        assert mount.records("setlk-interrupted")
        assert path.read_bytes() == b"data"
    finally:
        holder.end()
        waiter.end()


def test_without_lock_methods_the_kernel_keeps_locks_itself(start_mount):
    mount = start_mount(locks=False)
    path = mount.path / "locked"
    path.write_bytes(b"data")
    assert mount.records("init")[0]["flags"] & (InitFlag.POSIX_LOCKS | InitFlag.FLOCK_LOCKS) == 0
    for kind, busy in (("posix", (errno.EAGAIN, errno.EACCES)), ("flock", (errno.EWOULDBLOCK,))):
        holder = Helper(HOLDER, str(path), kind)
        try:
            assert holder.line() == "locked"
            assert _try_lock(path, kind) in busy
            holder.tell()
            assert holder.line() == "closed"
            assert _try_lock(path, kind) == 0
        finally:
            holder.end()


# ---- what we do not implement ------------------------------------------------------------------------
def test_an_opcode_we_do_not_implement_gets_enosys_and_the_mount_keeps_serving(start_mount):
    mount = start_mount()
    path = mount.path / "f"
    path.write_bytes(b"still here")
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(OSError) as caught:
            fcntl.ioctl(fd, 0x80086601, b"\0" * 8)  # FS_IOC_GETFLAGS: FUSE_IOCTL, ENOSYS, the caller sees ENOTTY
        assert caught.value.errno == errno.ENOTTY
    finally:
        os.close(fd)
    assert path.read_bytes() == b"still here"
    assert "opcode IOCTL is not implemented: ENOSYS" in mount.log()


def test_fallocate_reaches_a_file_system_that_implements_it(start_mount):
    mount = start_mount(locks=True)
    path = mount.path / "f"
    path.write_bytes(b"")
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, 8192)
    finally:
        os.close(fd)
    assert mount.records("fallocate") == [{"op": "fallocate", "offset": 0, "length": 8192, "mode": 0}]
    assert os.stat(path).st_size == 8192
