"""The request loop against a fake kernel: negotiation, dispatch, errors, bounds, locks.

Goal: every path of `Session` that a real mount rarely or never takes
(unknown opcodes, malformed bodies, failing operations, interrupts, the
in-flight bound, kept write payloads) answers exactly and keeps serving.
Method: a real `Session` reads requests from a SOCK_SEQPACKET socketpair
(`FakeKernel`) instead of /dev/fuse; each test writes raw requests and
checks the raw replies.
"""

from __future__ import annotations

import asyncio
import errno
import os
import stat

import pytest

from fs3.client.fuse import kernel
from fs3.client.fuse.kernel import F_RDLCK, F_UNLCK, F_WRLCK, EntryAttributes, FileLock, FUSEError, SessionLimits
from fs3.client.fuse.kernel.handlers import OFFSET_MAX
from fs3.client.fuse.kernel.protocol import (
    ATTR_OUT, BATCH_FORGET_IN, DIRENT, ENTRY_OUT, FATTR_ATIME, FATTR_ATIME_NOW, FATTR_MODE, FATTR_MTIME, FATTR_SIZE,
    FILE_LOCK, FLUSH_IN, FORGET_IN, FORGET_ONE, GETATTR_IN, GETXATTR_IN, GETXATTR_OUT, INIT_IN, INIT_OUT,
    INTERRUPT_IN, LK_FLOCK, LK_IN, MKDIR_IN, READ_IN, RELEASE_FLOCK_UNLOCK, RELEASE_IN, SETATTR_IN, SETXATTR_IN,
    WRITE_IN, WRITE_OUT, InitFlag, Opcode, dirent_aligned,
)
from tests.conftest import run_async
from tests.fuse.kernel.fake_kernel import KERNEL_FLAGS, FakeKernel

PYFUSE3_FLAGS = (InitFlag.ASYNC_READ | InitFlag.ATOMIC_O_TRUNC | InitFlag.EXPORT_SUPPORT | InitFlag.BIG_WRITES
                 | InitFlag.AUTO_INVAL_DATA | InitFlag.DO_READDIRPLUS | InitFlag.ASYNC_DIO | InitFlag.MAX_PAGES)


class Ops(kernel.Operations):
    """A root directory with a file "f" (inode 2); records calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple] = []
        self.xattrs: dict[bytes, bytes] = {}
        self.written: list[tuple[int, object]] = []

    def _attr(self, inode: int) -> EntryAttributes:
        mode = stat.S_IFDIR | 0o755 if inode == 1 else stat.S_IFREG | 0o644
        return EntryAttributes(st_ino=inode, st_mode=mode, st_size=10 * inode, entry_timeout=2.5, attr_timeout=0.25,
                               st_mtime_ns=-1_500_000_000)

    async def lookup(self, parent_inode, name, ctx=None):
        self.calls.append(("lookup", parent_inode, name, ctx))
        if name == b"boom":
            raise RuntimeError("a bug in the file system")
        if name == b"weird":
            raise FUSEError(100_000)
        if name != b"f":
            raise FUSEError(errno.ENOENT)
        return self._attr(2)

    async def getattr(self, inode, ctx=None):
        return self._attr(inode)

    async def setattr(self, inode, attr, fields, fh, ctx):
        self.calls.append(("setattr", inode, attr, fields, fh))
        return self._attr(inode)

    async def mkdir(self, parent_inode, name, mode, ctx):
        self.calls.append(("mkdir", parent_inode, name, mode, ctx))
        return self._attr(3)

    async def write(self, fh, off, buf):
        self.written.append((off, buf))  # kept as handed over: no copy
        return len(buf)

    async def getxattr(self, inode, name, ctx):
        try:
            return self.xattrs[name]
        except KeyError:
            raise FUSEError(kernel.ENOATTR) from None

    async def setxattr(self, inode, name, value, ctx):
        self.xattrs[name] = value

    async def listxattr(self, inode, ctx):
        return list(self.xattrs)

    async def opendir(self, inode, ctx):
        return 7

    async def readdir(self, fh, start_id, token):
        names = [b"a", b"bb", b"a-longer-name"]
        for index, name in enumerate(names[start_id:], start_id):
            if not kernel.readdir_reply(token, name, self._attr(10 + index), index + 1):
                return

    def forget(self, inode_list):
        self.calls.append(("forget", list(inode_list)))


class LockingOps(Ops):
    def __init__(self) -> None:
        super().__init__()
        self.unblock = asyncio.Event()

    async def getlk(self, fh, owner, lock, ctx):
        self.calls.append(("getlk", fh, owner, lock))
        if lock.start == 0:
            return FileLock(0, 99, F_WRLCK, 777)
        return FileLock(0, 0, F_UNLCK, 0)

    async def setlk(self, fh, owner, lock, sleep, ctx):
        self.calls.append(("setlk", fh, owner, lock, sleep))
        if sleep:
            try:
                await self.unblock.wait()
            except asyncio.CancelledError:
                self.calls.append(("setlk-cancelled", fh))
                raise

    async def flock(self, fh, owner, lock_type, sleep, ctx):
        self.calls.append(("flock", fh, owner, lock_type, sleep))

    async def flush(self, fh):
        self.calls.append(("flush", fh))

    async def release(self, fh):
        self.calls.append(("release", fh))


def _run(operations, work, limits=SessionLimits(), **options):
    async def main():
        async with FakeKernel(operations, limits, **options) as fake:
            await work(fake)

    run_async(main())


# ---- INIT ---------------------------------------------------------------------------------------
def test_init_settles_our_minor_and_the_flags_pyfuse3_negotiated():
    def check(fake):
        (major, minor, max_readahead, flags, max_background, congestion, max_write, time_gran, max_pages,
         map_alignment, flags2, *_) = fake.init_reply
        assert (major, minor) == (7, 38)
        assert flags == PYFUSE3_FLAGS  # as libfuse 3.14 answered for pyfuse3 (minus its stray INIT_EXT)
        assert (max_readahead, max_write, max_pages, time_gran) == (128 << 10, 1 << 20, 256, 1)
        assert (max_background, congestion, map_alignment, flags2) == (0, 0, 0, 0)
        assert fake.session.connection.minor == 38

    _run(Ops(), _async(check))


def test_init_with_lock_methods_asks_for_posix_and_flock_locks():
    class FlockOnly(Ops):
        async def flock(self, fh, owner, lock_type, sleep, ctx):
            pass

    _run(LockingOps(), _async(lambda fake: _assert_flags(fake, PYFUSE3_FLAGS | InitFlag.POSIX_LOCKS
                                                          | InitFlag.FLOCK_LOCKS)))
    _run(FlockOnly(), _async(lambda fake: _assert_flags(fake, PYFUSE3_FLAGS | InitFlag.FLOCK_LOCKS)))


def _assert_flags(fake, expected):
    assert fake.init_reply[3] == expected


def test_init_versions_older_minor_newer_major_and_too_old():
    async def work(fake):
        error, body = await fake.request(Opcode.INIT, INIT_IN.pack(8, 1, 0, 0))  # a future major: ours, then again
        assert error == 0 and INIT_OUT.unpack(body)[:2] == (7, 38) and fake.session.connection is None
        error, body = await fake.request(Opcode.INIT, INIT_IN.pack(7, 34, 65536, KERNEL_FLAGS))  # 16-byte init_in
        assert error == 0 and INIT_OUT.unpack(body)[:2] == (7, 34)
        assert (await fake.request(Opcode.GETATTR, GETATTR_IN.pack(0, 0, 0)))[0] == 0

    _run(Ops(), work, init=False)

    async def too_old(fake):
        error, _ = await fake.request(Opcode.INIT, INIT_IN.pack(7, 30, 0, KERNEL_FLAGS))
        assert error == errno.EPROTO

    _run(Ops(), too_old, init=False)


def test_a_request_before_init_is_eio():
    async def work(fake):
        assert (await fake.request(Opcode.GETATTR, GETATTR_IN.pack(0, 0, 0)))[0] == errno.EIO

    _run(Ops(), work, init=False)


# ---- dispatch and errors ------------------------------------------------------------------------------
def test_unknown_and_unimplemented_opcodes_get_enosys_and_serving_goes_on():
    async def work(fake):
        for opcode in (9999, Opcode.STATX, Opcode.IOCTL, Opcode.POLL, Opcode.LSEEK, Opcode.COPY_FILE_RANGE,
                       Opcode.BMAP, Opcode.TMPFILE, Opcode.SYNCFS, Opcode.GETLK, Opcode.SETLK, Opcode.FALLOCATE,
                       Opcode.READLINK, Opcode.ACCESS):
            error, body = await fake.request(opcode, bytes(64))
            assert (error, body) == (errno.ENOSYS, b""), Opcode(opcode).name if opcode in Opcode._value2member_map_ else opcode
        error, body = await fake.request(Opcode.GETATTR, GETATTR_IN.pack(0, 0, 0))
        assert error == 0 and ATTR_OUT.unpack(body)[3] == 1
        assert fake.session.replies[("9999", errno.ENOSYS)] == 1

    _run(Ops(), work)


def test_malformed_requests_get_einval_and_serving_goes_on():
    async def work(fake):
        assert (await fake.request(Opcode.LOOKUP, b"no-terminator"))[0] == errno.EINVAL
        assert (await fake.request(Opcode.OPEN, b"abc", nodeid=2))[0] == errno.EINVAL  # open_in is 8 bytes
        assert (await fake.request(Opcode.MKDIR, MKDIR_IN.pack(0o755, 0)))[0] == errno.EINVAL  # no name
        assert (await fake.request(Opcode.RENAME, bytes(8) + b"only-one\0"))[0] == errno.EINVAL
        write = WRITE_IN.pack(1, 0, 100, 0, 0, 0, 0) + b"x" * 10  # says 100 bytes, carries 10
        assert (await fake.request(Opcode.WRITE, write))[0] == errno.EINVAL
        assert (await fake.request(Opcode.SETXATTR, SETXATTR_IN.pack(50, 0) + b"user.a\0short"))[0] == errno.EINVAL
        await fake.send_raw(b"\x07" * 12)  # shorter than a header: nothing to answer, dropped
        assert (await fake.request(Opcode.LOOKUP, b"f\0"))[0] == 0

    _run(Ops(), work)


def test_fuse_errors_pass_through_and_other_exceptions_are_eio():
    operations = Ops()

    async def work(fake):
        assert (await fake.request(Opcode.LOOKUP, b"missing\0"))[0] == errno.ENOENT
        assert (await fake.request(Opcode.LOOKUP, b"boom\0"))[0] == errno.EIO
        assert (await fake.request(Opcode.LOOKUP, b"weird\0"))[0] == errno.EIO  # not an errno the kernel takes
        error, body = await fake.request(Opcode.LOOKUP, b"f\0", uid=1000, gid=100, pid=99)
        assert error == 0
        nodeid, generation, entry_s, attr_s, entry_ns, attr_ns, *attr = ENTRY_OUT.unpack(body)
        assert (nodeid, generation, entry_s, entry_ns, attr_s, attr_ns) == (2, 0, 2, 500_000_000, 0, 250_000_000)
        assert attr[0] == 2 and attr[1] == 20 and attr[9] == stat.S_IFREG | 0o644
        assert (attr[4], attr[7]) == (-2, 500_000_000)  # mtime -1.5 s: seconds floor, nanoseconds positive
        ctx = operations.calls[-1][3]
        assert (ctx.uid, ctx.gid, ctx.pid, ctx.umask) == (1000, 100, 99, 0)

    _run(operations, work)


def test_mkdir_gets_s_ifdir_and_the_umask():
    operations = Ops()

    async def work(fake):
        error, _ = await fake.request(Opcode.MKDIR, MKDIR_IN.pack(0o775, 0o022) + b"d\0")
        assert error == 0
        _, parent, name, mode, ctx = operations.calls[-1]
        assert (parent, name, mode, ctx.umask) == (1, b"d", stat.S_IFDIR | 0o775, 0o022)

    _run(operations, work)


def test_setattr_fields_times_and_utime_now():
    operations = Ops()

    async def work(fake):
        valid = FATTR_MODE | FATTR_SIZE | FATTR_ATIME | FATTR_ATIME_NOW | FATTR_MTIME
        body = SETATTR_IN.pack(valid, 0, 0, 4096, 0, 1_700_000_000, -5, 0, 7, 9, 0, stat.S_IFREG | 0o600, 0, 0, 0, 0)
        assert (await fake.request(Opcode.SETATTR, body, nodeid=2))[0] == 0
        _, inode, attr, fields, fh = operations.calls[-1]
        assert inode == 2 and fh is None
        assert (fields.update_mode, fields.update_size, fields.update_atime, fields.update_mtime) == (True,) * 4
        assert (fields.update_uid, fields.update_gid, fields.atime_now, fields.mtime_now) == (False, False, True, False)
        assert (attr.st_mode, attr.st_size) == (stat.S_IFREG | 0o600, 4096)
        assert (attr.st_atime_ns, attr.st_mtime_ns) == (1_700_000_000_000_000_007, -5_000_000_000 + 9)

    _run(operations, work)


# ---- xattrs and directories ------------------------------------------------------------------------
def test_xattr_size_probe_erange_and_create_replace_flags():
    async def work(fake):
        name = b"user.color\0"
        assert (await fake.request(Opcode.SETXATTR, SETXATTR_IN.pack(4, os.XATTR_REPLACE) + name + b"blue"))[0] \
            == errno.ENODATA
        assert (await fake.request(Opcode.SETXATTR, SETXATTR_IN.pack(4, os.XATTR_CREATE) + name + b"blue"))[0] == 0
        assert (await fake.request(Opcode.SETXATTR, SETXATTR_IN.pack(3, os.XATTR_CREATE) + name + b"red"))[0] \
            == errno.EEXIST
        error, body = await fake.request(Opcode.GETXATTR, GETXATTR_IN.pack(0, 0) + name)
        assert error == 0 and GETXATTR_OUT.unpack(body)[0] == 4
        assert await fake.request(Opcode.GETXATTR, GETXATTR_IN.pack(4, 0) + name) == (0, b"blue")
        assert (await fake.request(Opcode.GETXATTR, GETXATTR_IN.pack(3, 0) + name))[0] == errno.ERANGE
        error, body = await fake.request(Opcode.LISTXATTR, GETXATTR_IN.pack(0, 0))
        assert GETXATTR_OUT.unpack(body)[0] == len(b"user.color\0")
        assert await fake.request(Opcode.LISTXATTR, GETXATTR_IN.pack(100, 0)) == (0, b"user.color\0")

    _run(Ops(), work)


def _records(body: bytes, plus: bool) -> list[tuple[bytes, int, int]]:
    records, position = [], 0
    while position < len(body):
        start = position + (ENTRY_OUT.size if plus else 0)
        ino, offset, namelen, kind = DIRENT.unpack_from(body, start)
        name = body[start + DIRENT.size:start + DIRENT.size + namelen]
        size = dirent_aligned(start - position + DIRENT.size + namelen)
        assert size % 8 == 0 and body[start + DIRENT.size + namelen:position + size] == bytes(size - (
            start - position + DIRENT.size + namelen))
        if plus:
            assert ENTRY_OUT.unpack_from(body, position)[0] == ino
        records.append((name, ino, offset, kind))
        position += size
    return records


def test_readdir_and_readdirplus_records_are_8_byte_aligned_and_bounded():
    async def work(fake):
        for opcode, plus in ((Opcode.READDIR, False), (Opcode.READDIRPLUS, True)):
            error, body = await fake.request(opcode, READ_IN.pack(7, 0, 4096, 0, 0, 0, 0))
            assert error == 0
            assert _records(body, plus) == [(b"a", 10, 1, stat.S_IFREG >> 12), (b"bb", 11, 2, stat.S_IFREG >> 12),
                                            (b"a-longer-name", 12, 3, stat.S_IFREG >> 12)]
            one = dirent_aligned((ENTRY_OUT.size if plus else 0) + DIRENT.size + 1)
            error, body = await fake.request(opcode, READ_IN.pack(7, 0, one + 7, 0, 0, 0, 0))  # room for one
            assert [record[0] for record in _records(body, plus)] == [b"a"]
            error, body = await fake.request(opcode, READ_IN.pack(7, 2, 4096, 0, 0, 0, 0))  # resume at cookie 2
            assert [record[0] for record in _records(body, plus)] == [b"a-longer-name"]

    _run(Ops(), work)


def test_forget_and_batch_forget_reach_forget_without_a_reply():
    operations = Ops()

    async def work(fake):
        await fake.send(Opcode.FORGET, FORGET_IN.pack(3), nodeid=5)
        batch = BATCH_FORGET_IN.pack(2, 0) + FORGET_ONE.pack(6, 1) + FORGET_ONE.pack(7, 2)
        await fake.send(Opcode.BATCH_FORGET, batch)
        assert await fake.no_reply_within(0.2)
        assert [call for call in operations.calls if call[0] == "forget"] == [("forget", [(5, 3)]),
                                                                              ("forget", [(6, 1), (7, 2)])]

    _run(operations, work)


# ---- write payloads ------------------------------------------------------------------------------------
@pytest.mark.parametrize("lent_buffers_max", [64, 3, 0])
def test_kept_write_payloads_are_never_overwritten_by_later_requests(lent_buffers_max):
    """The payload is a view of the receive buffer (while lending is allowed); a file system
    that keeps it (as fs3 keeps aligned 1 MiB pieces in flight) must find its bytes intact
    after any number of later requests, and the buffers stay within their bound."""
    operations = Ops()
    # 64 KiB writes: a socketpair's message limit (~200 KiB) is below the kernel's 1 MiB
    limits = SessionLimits(max_write_bytes=64 << 10, requests_max=8, lent_buffers_max=lent_buffers_max)
    sizes = [64 << 10, 5, 4096, 30_000, 64 << 10, 1] * 8

    async def work(fake):
        for index, size in enumerate(sizes):
            payload = bytes([index % 251]) * size
            error, body = await fake.request(Opcode.WRITE, WRITE_IN.pack(1, index, size, 0, 0, 0, 0) + payload,
                                             nodeid=2)
            assert error == 0 and WRITE_OUT.unpack(body)[0] == size
            await fake.request(Opcode.LOOKUP, b"f\0")  # more requests through the same buffers
        pool = fake.session._buffers
        assert pool.allocated <= limits.requests_max + 1 + lent_buffers_max
        assert pool.lent <= lent_buffers_max

    _run(operations, work, limits)
    views = [buf for _, buf in operations.written if isinstance(buf, memoryview)]
    assert bool(views) == (lent_buffers_max > 0)
    for index, (offset, buf) in enumerate(operations.written):
        assert offset == index and bytes(buf) == bytes([index % 251]) * sizes[index]


# ---- bounds ------------------------------------------------------------------------------------------
def test_requests_in_flight_stay_within_requests_max():
    class Slow(Ops):
        def __init__(self) -> None:
            super().__init__()
            self.running = 0
            self.running_max = 0
            self.go = asyncio.Event()

        async def getattr(self, inode, ctx=None):
            self.running += 1
            self.running_max = max(self.running_max, self.running)
            await self.go.wait()
            self.running -= 1
            return self._attr(inode)

    operations = Slow()

    async def work(fake):
        uniques = {await fake.send(Opcode.GETATTR, GETATTR_IN.pack(0, 0, 0)) for _ in range(6)}
        await asyncio.sleep(0.2)
        assert operations.running == 2  # the rest wait in the kernel's queue (here: the socket)
        operations.go.set()
        replies = {(await fake.receive())[:2] for _ in range(6)}
        assert replies == {(unique, 0) for unique in uniques}
        assert operations.running_max == 2

    _run(operations, work, SessionLimits(requests_max=2))


# ---- locks ---------------------------------------------------------------------------------------------
def test_lock_requests_reach_getlk_setlk_and_flock():
    operations = LockingOps()

    async def work(fake):
        error, body = await fake.request(Opcode.GETLK, LK_IN.pack(3, 11, 0, OFFSET_MAX, F_WRLCK, 50, 0, 0))
        assert error == 0 and FILE_LOCK.unpack(body) == (0, 99, F_WRLCK, 777)
        error, body = await fake.request(Opcode.GETLK, LK_IN.pack(3, 11, 5, 9, F_RDLCK, 50, 0, 0))
        assert FILE_LOCK.unpack(body) == (5, 9, F_UNLCK, 0)  # no conflict: the asked range comes back
        assert (await fake.request(Opcode.SETLK, LK_IN.pack(3, 11, 0, 9, F_RDLCK, 50, 0, 0)))[0] == 0
        assert (await fake.request(Opcode.SETLK, LK_IN.pack(3, 12, 0, 0, F_WRLCK, 51, LK_FLOCK, 0)))[0] == 0
        assert operations.calls[-2] == ("setlk", 3, 11, FileLock(0, 9, F_RDLCK, 50), False)
        assert operations.calls[-1] == ("flock", 3, 12, F_WRLCK, False)
        # close: FLUSH drops the owner's POSIX locks, RELEASE the file's flock
        assert (await fake.request(Opcode.FLUSH, FLUSH_IN.pack(3, 0, 0, 11), pid=50))[0] == 0
        assert operations.calls[-2:] == [("flush", 3), ("setlk", 3, 11, FileLock(0, OFFSET_MAX, F_UNLCK, 50), False)]
        assert (await fake.request(Opcode.RELEASE, RELEASE_IN.pack(3, 0, RELEASE_FLOCK_UNLOCK, 12)))[0] == 0
        assert operations.calls[-2:] == [("flock", 3, 12, F_UNLCK, False), ("release", 3)]

    _run(operations, work)


def test_an_interrupted_lock_wait_answers_eintr_and_other_requests_pass_it():
    operations = LockingOps()

    async def work(fake):
        waiting = await fake.send(Opcode.SETLKW, LK_IN.pack(3, 11, 0, OFFSET_MAX, F_WRLCK, 50, 0, 0))
        await asyncio.sleep(0.1)
        assert (await fake.request(Opcode.LOOKUP, b"f\0"))[0] == 0  # served while the lock waits
        await fake.send(Opcode.INTERRUPT, INTERRUPT_IN.pack(waiting))
        assert await fake.receive() == (waiting, errno.EINTR, b"")
        assert ("setlk-cancelled", 3) in operations.calls
        await fake.send(Opcode.INTERRUPT, INTERRUPT_IN.pack(12345))  # unknown (already answered): ignored
        assert await fake.no_reply_within(0.1)
        assert (await fake.request(Opcode.LOOKUP, b"f\0"))[0] == 0

    _run(operations, work)


def test_lock_waits_do_not_use_up_requests_max():
    """With requests_max=1, waiting lockers still leave room for the unlock that frees them."""
    operations = LockingOps()

    async def work(fake):
        waiters = [await fake.send(Opcode.SETLKW, LK_IN.pack(3, owner, 0, OFFSET_MAX, F_WRLCK, 50, 0, 0))
                   for owner in range(5)]
        assert (await fake.request(Opcode.SETLK, LK_IN.pack(3, 99, 0, OFFSET_MAX, F_UNLCK, 51, 0, 0)))[0] == 0
        operations.unblock.set()
        assert sorted([(await fake.receive())[:2] for _ in waiters]) == [(unique, 0) for unique in waiters]

    _run(operations, work, SessionLimits(requests_max=1))


def test_the_end_of_the_connection_cancels_lock_waits_and_ends_run():
    operations = LockingOps()

    async def work(fake):
        await fake.send(Opcode.SETLKW, LK_IN.pack(3, 11, 0, OFFSET_MAX, F_WRLCK, 50, 0, 0))
        await asyncio.sleep(0.1)
        await fake.unmount()  # returns only once run() returned
        assert ("setlk-cancelled", 3) in operations.calls

    async def main():
        fake = FakeKernel(operations)
        await fake.__aenter__()
        await work(fake)

    run_async(main())


def _async(check):
    async def work(fake):
        check(fake)

    return work


def test_invalidate_notifications_are_unsolicited_messages(monkeypatch):
    from fs3.client.fuse.kernel import runtime
    from fs3.client.fuse.kernel.protocol import NOTIFY_DELETE_OUT, NOTIFY_INVAL_ENTRY_OUT, NOTIFY_INVAL_INODE_OUT

    async def work(fake):
        monkeypatch.setattr(runtime, "_session", fake.session)
        kernel.invalidate_inode(5, attr_only=True)
        assert await fake.receive() == (0, -2, NOTIFY_INVAL_INODE_OUT.pack(5, -1, 0))  # error field: the code
        kernel.invalidate_entry(1, b"name")
        assert await fake.receive() == (0, -3, NOTIFY_INVAL_ENTRY_OUT.pack(1, 4, 0) + b"name\0")
        kernel.invalidate_entry(1, b"gone", deleted=9)
        assert await fake.receive() == (0, -6, NOTIFY_DELETE_OUT.pack(1, 9, 4, 0) + b"gone\0")

    _run(Ops(), work)
