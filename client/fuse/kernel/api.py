"""What a file system implements and receives: the pyfuse3-compatible surface.

`Operations` is the base class a file system subclasses (as it subclassed
`pyfuse3.Operations`): every method it does not override answers ENOSYS,
after which the kernel stops asking for most of them. Methods get and return
the plain types below; the names, signatures and defaults are pyfuse3 3.5's,
so code written for pyfuse3 runs unchanged. Added here, and absent from
pyfuse3: the optional lock methods (`getlk`, `setlk`, `flock`), `fallocate`,
`FileLock`, and `SetattrFields.atime_now`/`mtime_now`.

Nothing in this module touches the kernel; `encoding` turns these objects
into reply bytes and `handlers` calls the methods.
"""

from __future__ import annotations

import dataclasses
import errno as errno_module
import fcntl
import os
import stat
from typing import Sequence

from fs3.client.fuse.kernel.protocol import ROOT_ID

__all__ = [
    "ROOT_INODE", "FUSEError", "RequestContext", "SetattrFields", "EntryAttributes", "FileInfo", "StatvfsData",
    "FileLock", "Operations", "F_RDLCK", "F_WRLCK", "F_UNLCK", "ENOATTR",
]

ROOT_INODE = ROOT_ID
ENOATTR = errno_module.ENODATA  # what getxattr/removexattr raise for a missing attribute on Linux
F_RDLCK = fcntl.F_RDLCK
F_WRLCK = fcntl.F_WRLCK
F_UNLCK = fcntl.F_UNLCK


class FUSEError(Exception):
    """Raised by an operation: the system call that caused the request fails with `errno`."""

    def __init__(self, errno: int) -> None:
        super().__init__(errno)
        self._errno = errno

    @property
    def errno(self) -> int:
        return self._errno

    def __str__(self) -> str:
        try:
            return os.strerror(self._errno)
        except ValueError:
            return f"errno: {self._errno}"


@dataclasses.dataclass(frozen=True, slots=True)
class RequestContext:
    """The process whose system call caused the request (umask only for create/mknod/mkdir)."""

    uid: int = 0
    gid: int = 0
    pid: int = 0
    umask: int = 0


@dataclasses.dataclass(slots=True)
class SetattrFields:
    """Which attributes a `setattr` changes.

    As in pyfuse3, a time set to "now" (UTIME_NOW) arrives as an explicit time
    (the daemon's clock) with `update_atime`/`update_mtime`; `atime_now` and
    `mtime_now` (not in pyfuse3) tell such a time apart from an explicit one.
    """

    update_atime: bool = False
    update_mtime: bool = False
    update_ctime: bool = False
    update_mode: bool = False
    update_uid: bool = False
    update_gid: bool = False
    update_size: bool = False
    atime_now: bool = False
    mtime_now: bool = False


@dataclasses.dataclass(slots=True)
class EntryAttributes:
    """An inode's attributes, and how long the kernel may cache them and its name.

    Defaults are pyfuse3's: a regular file, one link, 4 KiB blocks, both
    timeouts 300 s. `st_birthtime_ns` is kept for compatibility; Linux has none.
    """

    st_ino: int = 0
    generation: int = 0
    entry_timeout: float = 300
    attr_timeout: float = 300
    st_mode: int = stat.S_IFREG
    st_nlink: int = 1
    st_uid: int = 0
    st_gid: int = 0
    st_rdev: int = 0
    st_size: int = 0
    st_blocks: int = 0
    st_blksize: int = 4096
    st_atime_ns: int = 0
    st_mtime_ns: int = 0
    st_ctime_ns: int = 0
    st_birthtime_ns: int = 0


@dataclasses.dataclass(slots=True)
class FileInfo:
    """What `open` and `create` return: the handle and how the kernel caches the file.

    keep_cache defaults to True, as in pyfuse3 (keep the page cache across opens).
    """

    fh: int = 0
    direct_io: bool = False
    keep_cache: bool = True
    nonseekable: bool = False


@dataclasses.dataclass(slots=True)
class StatvfsData:
    """What `statfs` returns (statvfs(2) fields; f_favail is not sent to the kernel)."""

    f_bsize: int = 0
    f_frsize: int = 0
    f_blocks: int = 0
    f_bfree: int = 0
    f_bavail: int = 0
    f_files: int = 0
    f_ffree: int = 0
    f_favail: int = 0
    f_namemax: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class FileLock:
    """A POSIX byte-range lock as the kernel passes it: `end` is inclusive
    (0x7fffffffffffffff for "to the end of the file"), `type` F_RDLCK, F_WRLCK
    or F_UNLCK, `pid` the locking (or, in a getlk answer, holding) process."""

    start: int
    end: int
    type: int
    pid: int = 0


class Operations:
    """Base class of a file system; every request handler defaults to ENOSYS.

    Handlers are coroutines (except `init`, and `forget`, which may be either).
    A handler fails a request by raising `FUSEError(errno)`; any other
    exception is logged and answered with EIO.

    Optional, not defined here (the session looks for them and negotiates the
    matching kernel features only if they exist):

    - ``async def getlk(self, fh, owner, lock: FileLock, ctx) -> FileLock`` and
      ``async def setlk(self, fh, owner, lock: FileLock, sleep: bool, ctx)``:
      POSIX (fcntl) locks kept by the file system. Without both, the kernel
      keeps POSIX locks itself, local to this mount. Closing a file releases
      its owner's locks: the session calls ``setlk(fh, owner, FileLock(0,
      OFFSET_MAX, F_UNLCK), False, ctx)`` after `flush`. A waiting setlk
      (``sleep=True``) is cancelled when the caller is interrupted (EINTR).
    - ``async def flock(self, fh, owner, lock_type, sleep: bool, ctx)``: BSD
      flock locks (lock_type F_RDLCK for LOCK_SH, F_WRLCK for LOCK_EX,
      F_UNLCK). The session unlocks (F_UNLCK) before `release` of a file
      the kernel says held a flock.
    - ``async def fallocate(self, fh, offset, length, mode)``.

    Attributes:
        supports_dot_lookup: lookup answers "." and ".." (negotiates export support).
        enable_writeback_cache: let the kernel buffer writes (FUSE_WRITEBACK_CACHE).
        enable_acl: the kernel enforces POSIX ACLs (FUSE_POSIX_ACL).
    """

    supports_dot_lookup: bool = True
    enable_writeback_cache: bool = False
    enable_acl: bool = False

    def init(self) -> None:
        """Called once the kernel connection is set up, before the first request."""

    async def lookup(self, parent_inode: int, name: bytes, ctx: RequestContext) -> EntryAttributes:
        raise FUSEError(errno_module.ENOSYS)

    async def forget(self, inode_list: Sequence[tuple[int, int]]) -> None:
        """The kernel dropped `count` lookups of each (inode, count); must not raise."""

    async def getattr(self, inode: int, ctx: RequestContext) -> EntryAttributes:
        raise FUSEError(errno_module.ENOSYS)

    async def setattr(self, inode: int, attr: EntryAttributes, fields: SetattrFields, fh: int | None,
                      ctx: RequestContext) -> EntryAttributes:
        raise FUSEError(errno_module.ENOSYS)

    async def readlink(self, inode: int, ctx: RequestContext) -> bytes:
        raise FUSEError(errno_module.ENOSYS)

    async def mknod(self, parent_inode: int, name: bytes, mode: int, rdev: int,
                    ctx: RequestContext) -> EntryAttributes:
        raise FUSEError(errno_module.ENOSYS)

    async def mkdir(self, parent_inode: int, name: bytes, mode: int, ctx: RequestContext) -> EntryAttributes:
        raise FUSEError(errno_module.ENOSYS)

    async def unlink(self, parent_inode: int, name: bytes, ctx: RequestContext) -> None:
        raise FUSEError(errno_module.ENOSYS)

    async def rmdir(self, parent_inode: int, name: bytes, ctx: RequestContext) -> None:
        raise FUSEError(errno_module.ENOSYS)

    async def symlink(self, parent_inode: int, name: bytes, target: bytes, ctx: RequestContext) -> EntryAttributes:
        raise FUSEError(errno_module.ENOSYS)

    async def rename(self, parent_inode_old: int, name_old: bytes, parent_inode_new: int, name_new: bytes,
                     flags: int, ctx: RequestContext) -> None:
        raise FUSEError(errno_module.ENOSYS)

    async def link(self, inode: int, new_parent_inode: int, new_name: bytes, ctx: RequestContext) -> EntryAttributes:
        raise FUSEError(errno_module.ENOSYS)

    async def open(self, inode: int, flags: int, ctx: RequestContext) -> FileInfo:
        raise FUSEError(errno_module.ENOSYS)

    async def read(self, fh: int, off: int, size: int) -> bytes:
        raise FUSEError(errno_module.ENOSYS)

    async def write(self, fh: int, off: int, buf: memoryview) -> int:
        """`buf` is a view of the request's receive buffer: the session reuses that
        buffer only once no view of it is left, so keeping a slice is safe."""
        raise FUSEError(errno_module.ENOSYS)

    async def flush(self, fh: int) -> None:
        raise FUSEError(errno_module.ENOSYS)

    async def release(self, fh: int) -> None:
        raise FUSEError(errno_module.ENOSYS)

    async def fsync(self, fh: int, datasync: bool) -> None:
        raise FUSEError(errno_module.ENOSYS)

    async def poll(self, inode: int, fh: int, ph, ctx: RequestContext) -> int:
        raise FUSEError(errno_module.ENOSYS)

    async def opendir(self, inode: int, ctx: RequestContext) -> int:
        raise FUSEError(errno_module.ENOSYS)

    async def readdir(self, fh: int, start_id: int, token) -> None:
        """Call `readdir_reply(token, name, attr, next_id)` per entry until it returns False."""
        raise FUSEError(errno_module.ENOSYS)

    async def releasedir(self, fh: int) -> None:
        raise FUSEError(errno_module.ENOSYS)

    async def fsyncdir(self, fh: int, datasync: bool) -> None:
        raise FUSEError(errno_module.ENOSYS)

    async def statfs(self, ctx: RequestContext) -> StatvfsData:
        raise FUSEError(errno_module.ENOSYS)

    def stacktrace(self) -> None:
        """pyfuse3 compatibility; never called by this layer."""

    async def setxattr(self, inode: int, name: bytes, value: bytes, ctx: RequestContext) -> None:
        raise FUSEError(errno_module.ENOSYS)

    async def getxattr(self, inode: int, name: bytes, ctx: RequestContext) -> bytes:
        raise FUSEError(errno_module.ENOSYS)

    async def listxattr(self, inode: int, ctx: RequestContext) -> Sequence[bytes]:
        raise FUSEError(errno_module.ENOSYS)

    async def removexattr(self, inode: int, name: bytes, ctx: RequestContext) -> None:
        raise FUSEError(errno_module.ENOSYS)

    async def access(self, inode: int, mode: int, ctx: RequestContext) -> bool:
        raise FUSEError(errno_module.ENOSYS)

    async def create(self, parent_inode: int, name: bytes, mode: int, flags: int,
                     ctx: RequestContext) -> tuple[FileInfo, EntryAttributes]:
        raise FUSEError(errno_module.ENOSYS)
