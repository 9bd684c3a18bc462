"""One thin handler per opcode: unpack the arguments, call the operation, pack the reply.

A handler gets the session (for its operations object and connection) and a
decoded `Request`, and returns the reply body: None (no body), a bytes-like
object, or a tuple of them (sent with one writev, without joining). Failing
is raising: `FUSEError(errno)`, `MalformedRequest` (the body does not hold
what the opcode needs: EINVAL) or anything else (EIO, logged); the session
turns that into the reply. Opcodes without an entry in `HANDLERS` are
answered ENOSYS by the session.

Signatures and semantics follow pyfuse3's handlers (so existing operations
run unchanged): mkdir's mode carries S_IFDIR, XATTR_CREATE/XATTR_REPLACE are
checked with a getxattr before setxattr, a getxattr/listxattr of size 0 is a
size probe and a value larger than `size` is ERANGE, READDIR and READDIRPLUS
both go to `readdir`. Locks go to the optional `getlk`/`setlk`/`flock`.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import stat
import struct
import time
from typing import TYPE_CHECKING, Awaitable, Callable

from fs3.client.fuse.kernel import encoding
from fs3.client.fuse.kernel.api import ENOATTR, F_UNLCK, EntryAttributes, FileLock, FUSEError, RequestContext, SetattrFields
from fs3.client.fuse.kernel.directory import ReaddirToken
from fs3.client.fuse.kernel.protocol import (
    ACCESS_IN, CREATE_IN, FALLOCATE_IN, FATTR_ATIME, FATTR_ATIME_NOW, FATTR_CTIME, FATTR_FH, FATTR_GID, FATTR_MODE,
    FATTR_MTIME, FATTR_MTIME_NOW, FATTR_SIZE, FATTR_UID, FLUSH_IN, FSYNC_FDATASYNC, FSYNC_IN, GETXATTR_IN,
    GETXATTR_OUT, LINK_IN, LK_FLOCK, LK_IN, MKDIR_IN, MKNOD_IN, OPEN_IN, OPEN_OUT, READ_IN, RELEASE_FLOCK_UNLOCK,
    RELEASE_IN, RENAME2_IN, RENAME_IN, SETATTR_IN, SETXATTR_IN, WRITE_IN, WRITE_OUT, InitFlag, Opcode,
)

if TYPE_CHECKING:
    from fs3.client.fuse.kernel.session import Session

__all__ = ["Request", "MalformedRequest", "HANDLERS", "Handler", "OFFSET_MAX"]

logger = logging.getLogger(__name__)

OFFSET_MAX = (1 << 63) - 1  # a lock "to the end of the file"
_XATTR_CREATE = os.XATTR_CREATE
_S_IFMT = 0o170000
_XATTR_REPLACE = os.XATTR_REPLACE


class MalformedRequest(ValueError):
    """The request's body does not hold what its opcode needs."""


@dataclasses.dataclass(slots=True)
class Request:
    """One decoded request: header fields, the body after the header (a copy), and
    for WRITE the payload (a view of the receive buffer, or a copy)."""

    unique: int
    opcode: int
    nodeid: int
    uid: int
    gid: int
    pid: int
    body: bytes
    payload: memoryview | bytes | None = None

    def context(self, umask: int = 0) -> RequestContext:
        return RequestContext(uid=self.uid, gid=self.gid, pid=self.pid, umask=umask)


Handler = Callable[["Session", Request], Awaitable[object]]


def _unpack(layout: struct.Struct, body: bytes, offset: int = 0) -> tuple:
    try:
        return layout.unpack_from(body, offset)
    except struct.error:
        raise MalformedRequest(f"{len(body)}-byte body, {layout.size} bytes of arguments expected") from None


def _names(body: bytes, offset: int, count: int) -> list[bytes]:
    """`count` NUL-terminated strings starting at `offset`."""
    names = []
    for _ in range(count):
        end = body.find(b"\0", offset)
        if end < 0:
            raise MalformedRequest(f"name at byte {offset} is not NUL-terminated")
        names.append(body[offset:end])
        offset = end + 1
    return names


def _name(body: bytes, offset: int = 0) -> bytes:
    return _names(body, offset, 1)[0]


# ---- names and attributes ------------------------------------------------------------------
async def lookup(session: Session, request: Request):
    entry = await session.operations.lookup(request.nodeid, _name(request.body), request.context())
    return encoding.entry_out(entry)


async def getattr_(session: Session, request: Request):
    # fuse_getattr_in (flags, fh) is not passed on: pyfuse3's getattr has no fh
    return encoding.attr_out(await session.operations.getattr(request.nodeid, request.context()))


def _setattr_arguments(body: bytes) -> tuple[EntryAttributes, SetattrFields, int | None]:
    (valid, _, fh, size, _, atime, mtime, ctime, atime_ns, mtime_ns, ctime_ns, mode, _, uid, gid,
     _) = _unpack(SETATTR_IN, body)
    # as pyfuse3: a struct stat with only the settable fields filled, the rest zero
    attr = EntryAttributes(st_mode=mode, st_nlink=0, st_blksize=0, st_uid=uid, st_gid=gid, st_size=size,
                           st_atime_ns=atime * 1_000_000_000 + atime_ns, st_mtime_ns=mtime * 1_000_000_000 + mtime_ns,
                           st_ctime_ns=ctime * 1_000_000_000 + ctime_ns)
    fields = SetattrFields(update_mode=bool(valid & FATTR_MODE), update_uid=bool(valid & FATTR_UID),
                           update_gid=bool(valid & FATTR_GID), update_size=bool(valid & FATTR_SIZE),
                           update_ctime=bool(valid & FATTR_CTIME), atime_now=bool(valid & FATTR_ATIME_NOW),
                           mtime_now=bool(valid & FATTR_MTIME_NOW))
    # the kernel sends UTIME_NOW as FATTR_xTIME with its current time plus FATTR_xTIME_NOW;
    # NOW alone (not sent by Linux) gets the daemon's clock, as in pyfuse3
    if valid & FATTR_ATIME:
        fields.update_atime = True
    elif valid & FATTR_ATIME_NOW:
        fields.update_atime = True
        attr.st_atime_ns = time.time_ns()
    if valid & FATTR_MTIME:
        fields.update_mtime = True
    elif valid & FATTR_MTIME_NOW:
        fields.update_mtime = True
        attr.st_mtime_ns = time.time_ns()
    return attr, fields, fh if valid & FATTR_FH else None


async def setattr_(session: Session, request: Request):
    attr, fields, fh = _setattr_arguments(request.body)
    result = await session.operations.setattr(request.nodeid, attr, fields, fh, request.context())
    return encoding.attr_out(result)


async def readlink(session: Session, request: Request):
    target = await session.operations.readlink(request.nodeid, request.context())
    return bytes(target).split(b"\0", 1)[0]


async def mknod(session: Session, request: Request):
    mode, rdev, umask, _ = _unpack(MKNOD_IN, request.body)
    name = _name(request.body, MKNOD_IN.size)
    entry = await session.operations.mknod(request.nodeid, name, mode, rdev, request.context(umask))
    return encoding.entry_out(entry)


async def mkdir(session: Session, request: Request):
    mode, umask = _unpack(MKDIR_IN, request.body)
    name = _name(request.body, MKDIR_IN.size)
    mode = (mode & ~_S_IFMT) | stat.S_IFDIR  # as pyfuse3: the type is always a directory
    entry = await session.operations.mkdir(request.nodeid, name, mode, request.context(umask))
    return encoding.entry_out(entry)


async def unlink(session: Session, request: Request):
    await session.operations.unlink(request.nodeid, _name(request.body), request.context())


async def rmdir(session: Session, request: Request):
    await session.operations.rmdir(request.nodeid, _name(request.body), request.context())


async def symlink(session: Session, request: Request):
    name, target = _names(request.body, 0, 2)  # the new entry's name first, then the link's target
    entry = await session.operations.symlink(request.nodeid, name, target, request.context())
    return encoding.entry_out(entry)


async def rename(session: Session, request: Request):
    (new_parent,) = _unpack(RENAME_IN, request.body)
    old, new = _names(request.body, RENAME_IN.size, 2)
    await session.operations.rename(request.nodeid, old, new_parent, new, 0, request.context())


async def rename2(session: Session, request: Request):
    new_parent, flags, _ = _unpack(RENAME2_IN, request.body)
    old, new = _names(request.body, RENAME2_IN.size, 2)
    await session.operations.rename(request.nodeid, old, new_parent, new, flags, request.context())


async def link(session: Session, request: Request):
    (old_inode,) = _unpack(LINK_IN, request.body)
    name = _name(request.body, LINK_IN.size)
    entry = await session.operations.link(old_inode, request.nodeid, name, request.context())
    return encoding.entry_out(entry)


async def statfs(session: Session, request: Request):
    return encoding.statfs_out(await session.operations.statfs(request.context()))


async def access(session: Session, request: Request):
    mask, _ = _unpack(ACCESS_IN, request.body)
    if not await session.operations.access(request.nodeid, mask, request.context()):
        raise FUSEError(errno.EACCES)


# ---- extended attributes -----------------------------------------------------------------------
async def setxattr(session: Session, request: Request):
    size, flags = _unpack(SETXATTR_IN, request.body)
    name = _name(request.body, SETXATTR_IN.size)
    start = SETXATTR_IN.size + len(name) + 1
    value = request.body[start:start + size]
    if len(value) != size:
        raise MalformedRequest(f"setxattr value of {len(value)} bytes, header says {size}")
    if flags & ~(_XATTR_CREATE | _XATTR_REPLACE):
        raise FUSEError(errno.EINVAL)
    operations, ctx = session.operations, request.context()
    with_flags = getattr(operations, "setxattr_with_flags", None)
    if with_flags is not None:  # the operations check XATTR_CREATE/REPLACE themselves (atomically)
        await with_flags(request.nodeid, name, value, flags, ctx)
        return
    # as pyfuse3: the flags are checked with a getxattr first (not atomic)
    if flags & _XATTR_CREATE:
        try:
            await operations.getxattr(request.nodeid, name, ctx)
        except FUSEError as error:
            if error.errno != ENOATTR:
                raise
        else:
            raise FUSEError(errno.EEXIST)
    elif flags & _XATTR_REPLACE:
        await operations.getxattr(request.nodeid, name, ctx)
    await operations.setxattr(request.nodeid, name, value, ctx)


def _sized(value: bytes, size: int):
    """A getxattr/listxattr answer: the length for a size-0 probe, the value if it fits, else ERANGE."""
    if size == 0:
        return GETXATTR_OUT.pack(len(value), 0)
    if len(value) > size:
        raise FUSEError(errno.ERANGE)
    return value


async def getxattr(session: Session, request: Request):
    size, _ = _unpack(GETXATTR_IN, request.body)
    name = _name(request.body, GETXATTR_IN.size)
    value = await session.operations.getxattr(request.nodeid, name, request.context())
    return _sized(bytes(value), size)


async def listxattr(session: Session, request: Request):
    size, _ = _unpack(GETXATTR_IN, request.body)
    names = await session.operations.listxattr(request.nodeid, request.context())
    listing = b"".join(bytes(name) + b"\0" for name in names)
    return _sized(listing, size)


async def removexattr(session: Session, request: Request):
    await session.operations.removexattr(request.nodeid, _name(request.body), request.context())


# ---- files ---------------------------------------------------------------------------------------
async def open_(session: Session, request: Request):
    flags, _ = _unpack(OPEN_IN, request.body)
    return encoding.open_out(await session.operations.open(request.nodeid, flags, request.context()))


async def create(session: Session, request: Request):
    flags, mode, umask, _ = _unpack(CREATE_IN, request.body)
    name = _name(request.body, CREATE_IN.size)
    info, entry = await session.operations.create(request.nodeid, name, mode, flags, request.context(umask))
    return encoding.entry_out(entry), encoding.open_out(info)


async def read(session: Session, request: Request):
    fh, offset, size, _, _, _, _ = _unpack(READ_IN, request.body)
    data = memoryview(await session.operations.read(fh, offset, size))
    if not data.c_contiguous:
        data = memoryview(data.tobytes())
    data = data.cast("B")
    if data.nbytes > size:
        logger.error("read(fh=%d, off=%d, size=%d) returned %d bytes: cut to size", fh, offset, size, data.nbytes)
        data = data[:size]
    return data


async def write(session: Session, request: Request):
    fh, offset, size, _, _, _, _ = _unpack(WRITE_IN, request.body)
    payload = request.payload
    if payload is None or len(payload) != size:
        raise MalformedRequest(f"write of {size} bytes carries {0 if payload is None else len(payload)}")
    request.payload = None  # the operation holds the only reference the session gave out
    count = await session.operations.write(fh, offset, payload)
    del payload
    return WRITE_OUT.pack(count, 0)


async def flush(session: Session, request: Request):
    fh, _, _, lock_owner = _unpack(FLUSH_IN, request.body)
    try:
        await session.operations.flush(fh)
    finally:
        if session.connection.has(InitFlag.POSIX_LOCKS):
            # close() drops the closing process's POSIX locks on the file (the kernel leaves it to FLUSH)
            await _unlock_quietly(session.operations.setlk(
                fh, lock_owner, FileLock(0, OFFSET_MAX, F_UNLCK, request.pid), False, request.context()))


async def release(session: Session, request: Request):
    fh, _, release_flags, lock_owner = _unpack(RELEASE_IN, request.body)
    if release_flags & RELEASE_FLOCK_UNLOCK and session.connection.has(InitFlag.FLOCK_LOCKS):
        await _unlock_quietly(session.operations.flock(fh, lock_owner, F_UNLCK, False, request.context()))
    await session.operations.release(fh)


async def _unlock_quietly(call: Awaitable) -> None:
    try:
        await call
    except FUSEError as error:
        logger.debug("unlock at close: errno %d", error.errno)
    except Exception:  # noqa: BLE001 - the close itself still succeeds
        logger.exception("unlock at close failed")


async def fsync(session: Session, request: Request):
    fh, flags, _ = _unpack(FSYNC_IN, request.body)
    await session.operations.fsync(fh, bool(flags & FSYNC_FDATASYNC))


async def fallocate(session: Session, request: Request):
    if not session.capabilities.fallocate:
        raise FUSEError(errno.ENOSYS)
    fh, offset, length, mode, _ = _unpack(FALLOCATE_IN, request.body)
    await session.operations.fallocate(fh, offset, length, mode)


# ---- directories ---------------------------------------------------------------------------------
async def opendir(session: Session, request: Request):
    fh = await session.operations.opendir(request.nodeid, request.context())
    return OPEN_OUT.pack(fh, 0, 0)


async def _readdir(session: Session, request: Request, plus: bool):
    fh, offset, size, _, _, _, _ = _unpack(READ_IN, request.body)
    token = ReaddirToken(size, plus)
    await session.operations.readdir(fh, offset, token)
    return token.body()


async def readdir(session: Session, request: Request):
    return await _readdir(session, request, plus=False)


async def readdirplus(session: Session, request: Request):
    return await _readdir(session, request, plus=True)


async def releasedir(session: Session, request: Request):
    fh, _, _, _ = _unpack(RELEASE_IN, request.body)
    await session.operations.releasedir(fh)


async def fsyncdir(session: Session, request: Request):
    fh, flags, _ = _unpack(FSYNC_IN, request.body)
    await session.operations.fsyncdir(fh, bool(flags & FSYNC_FDATASYNC))


# ---- locks -------------------------------------------------------------------------------------------
def _lock_arguments(body: bytes) -> tuple[int, int, FileLock, int]:
    fh, owner, start, end, lock_type, pid, lk_flags, _ = _unpack(LK_IN, body)
    return fh, owner, FileLock(start, end, lock_type, pid), lk_flags


async def getlk(session: Session, request: Request):
    if not session.capabilities.posix_locks:
        raise FUSEError(errno.ENOSYS)
    fh, owner, lock, _ = _lock_arguments(request.body)
    found = await session.operations.getlk(fh, owner, lock, request.context())
    if found.type == F_UNLCK:
        # no conflict: the kernel still checks start <= end, so answer with the asked range
        found = FileLock(lock.start, lock.end, F_UNLCK, 0)
    return encoding.lock_out(found)


async def setlk(session: Session, request: Request):
    fh, owner, lock, lk_flags = _lock_arguments(request.body)
    sleep = request.opcode == Opcode.SETLKW
    if lk_flags & LK_FLOCK:
        if not session.capabilities.flock:
            raise FUSEError(errno.ENOSYS)
        await session.operations.flock(fh, owner, lock.type, sleep, request.context())
    else:
        if not session.capabilities.posix_locks:
            raise FUSEError(errno.ENOSYS)
        await session.operations.setlk(fh, owner, lock, sleep, request.context())


HANDLERS: dict[int, Handler] = {
    Opcode.LOOKUP: lookup,
    Opcode.GETATTR: getattr_,
    Opcode.SETATTR: setattr_,
    Opcode.READLINK: readlink,
    Opcode.SYMLINK: symlink,
    Opcode.MKNOD: mknod,
    Opcode.MKDIR: mkdir,
    Opcode.UNLINK: unlink,
    Opcode.RMDIR: rmdir,
    Opcode.RENAME: rename,
    Opcode.RENAME2: rename2,
    Opcode.LINK: link,
    Opcode.OPEN: open_,
    Opcode.READ: read,
    Opcode.WRITE: write,
    Opcode.STATFS: statfs,
    Opcode.RELEASE: release,
    Opcode.FSYNC: fsync,
    Opcode.SETXATTR: setxattr,
    Opcode.GETXATTR: getxattr,
    Opcode.LISTXATTR: listxattr,
    Opcode.REMOVEXATTR: removexattr,
    Opcode.FLUSH: flush,
    Opcode.OPENDIR: opendir,
    Opcode.READDIR: readdir,
    Opcode.READDIRPLUS: readdirplus,
    Opcode.RELEASEDIR: releasedir,
    Opcode.FSYNCDIR: fsyncdir,
    Opcode.GETLK: getlk,
    Opcode.SETLK: setlk,
    Opcode.SETLKW: setlk,
    Opcode.ACCESS: access,
    Opcode.CREATE: create,
    Opcode.FALLOCATE: fallocate,
}
# Answered ENOSYS by their absence (the kernel falls back or stops asking): BMAP, IOCTL, POLL,
# LSEEK, COPY_FILE_RANGE, SETUPMAPPING, REMOVEMAPPING, SYNCFS, TMPFILE, STATX and anything newer.
# INIT, DESTROY, FORGET, BATCH_FORGET, INTERRUPT and NOTIFY_REPLY are the session's own.
