"""Reply bodies: the `api` objects packed into the kernel's layouts.

Each function returns the bytes that follow the `fuse_out_header`. They
convert the way libfuse's replies did for pyfuse3 (`convert_stat`,
`fill_entry`, `fill_open`, `convert_statfs`): timeouts in seconds become
whole seconds plus nanoseconds, clamped to [0, 2**64); times in nanoseconds
become signed seconds plus nanoseconds; a directory entry's type is its
mode's file-type bits shifted down by 12.
"""

from __future__ import annotations

import math

from fs3.client.fuse.kernel.api import EntryAttributes, FileInfo, FileLock, StatvfsData
from fs3.client.fuse.kernel.protocol import (
    ATTR_OUT, DIRENT, ENTRY_OUT, FILE_LOCK, FOPEN_DIRECT_IO, FOPEN_KEEP_CACHE, FOPEN_NONSEEKABLE, KSTATFS,
    OPEN_OUT, dirent_aligned,
)

__all__ = ["attr_out", "entry_out", "open_out", "statfs_out", "lock_out", "dirent", "direntplus", "timeout"]

_NS_PER_S = 1_000_000_000
_U64_MAX = (1 << 64) - 1
_U32_MASK = 0xFFFFFFFF
_S_IFMT = 0o170000


def timeout(seconds: float) -> tuple[int, int]:
    """A cache timeout as (seconds, nanoseconds): negative is 0, beyond 2**64 s is the maximum."""
    if not seconds > 0:  # also NaN
        return 0, 0
    if seconds >= _U64_MAX:
        return _U64_MAX, _NS_PER_S - 1
    whole = math.floor(seconds)
    return whole, min(int((seconds - whole) * _NS_PER_S), _NS_PER_S - 1)


def _attr_fields(attr: EntryAttributes) -> tuple:
    atime_s, atime_ns = divmod(attr.st_atime_ns, _NS_PER_S)
    mtime_s, mtime_ns = divmod(attr.st_mtime_ns, _NS_PER_S)
    ctime_s, ctime_ns = divmod(attr.st_ctime_ns, _NS_PER_S)
    # rdev travels as 32 bits (new_encode_dev), as libfuse truncated it
    return (attr.st_ino, attr.st_size, attr.st_blocks, atime_s, mtime_s, ctime_s, atime_ns, mtime_ns, ctime_ns,
            attr.st_mode, attr.st_nlink, attr.st_uid, attr.st_gid, attr.st_rdev & _U32_MASK, attr.st_blksize, 0)


def attr_out(attr: EntryAttributes) -> bytes:
    """GETATTR/SETATTR reply: the attributes and their attr_timeout."""
    valid_s, valid_ns = timeout(attr.attr_timeout)
    return ATTR_OUT.pack(valid_s, valid_ns, 0, *_attr_fields(attr))


def entry_out(entry: EntryAttributes) -> bytes:
    """LOOKUP/MKNOD/MKDIR/SYMLINK/LINK (and CREATE's first part): a new reference to st_ino.

    st_ino 0 is a negative entry: the kernel caches "no such name" for entry_timeout.
    """
    entry_s, entry_ns = timeout(entry.entry_timeout)
    attr_s, attr_ns = timeout(entry.attr_timeout)
    return ENTRY_OUT.pack(entry.st_ino, entry.generation, entry_s, attr_s, entry_ns, attr_ns, *_attr_fields(entry))


def open_out(info: FileInfo) -> bytes:
    flags = 0
    if info.direct_io:
        flags |= FOPEN_DIRECT_IO
    if info.keep_cache:
        flags |= FOPEN_KEEP_CACHE
    if info.nonseekable:
        flags |= FOPEN_NONSEEKABLE
    return OPEN_OUT.pack(info.fh, flags, 0)


def statfs_out(data: StatvfsData) -> bytes:
    return KSTATFS.pack(data.f_blocks, data.f_bfree, data.f_bavail, data.f_files, data.f_ffree, data.f_bsize,
                        data.f_namemax, data.f_frsize, 0, 0, 0, 0, 0, 0, 0)


def lock_out(lock: FileLock) -> bytes:
    return FILE_LOCK.pack(lock.start, lock.end, lock.type, lock.pid)


def dirent(name: bytes, attr: EntryAttributes, next_id: int) -> bytes:
    """A READDIR record: fuse_dirent and the name, padded to 8 bytes."""
    record = DIRENT.pack(attr.st_ino, next_id, len(name), (attr.st_mode & _S_IFMT) >> 12) + name
    return record + bytes(dirent_aligned(len(record)) - len(record))


def direntplus(name: bytes, attr: EntryAttributes, next_id: int) -> bytes:
    """A READDIRPLUS record: an entry_out (a lookup reference, unless st_ino is 0) then the dirent."""
    return entry_out(attr) + dirent(name, attr, next_id)
