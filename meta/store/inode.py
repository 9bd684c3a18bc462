"""Inode values in the KV store: encoding, load, store, remove.

Value format 1 (little-endian):
    u8 format | u64 inode_id | u8 type | u32 mode | u32 uid | u32 gid |
    u32 nlink | u64 length | i64 atime | i64 mtime | i64 ctime |
    u64 parent | u32 rdev | u8 has_layout | [layout: u32 table, u32 version,
    u32 chunk_size, u32 stripe_size, u32 first_chain, u64 seed] |
    u16 symlink_len | symlink bytes

Directories keep their times also in a DTIM key and their count of
subdirectories in a DSUB counter (see keys.py): `load` overlays both (nlink
= 2 + subdirectories), read as snapshots so hot parents do not conflict;
`touch_directory` updates the times with a blind write, and
`count_subdirectories` the counter with an atomic add. The nlink stored in
a directory's INOD value means nothing.
"""

from __future__ import annotations

import dataclasses
import errno
import struct

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.store import keys
from fs3.meta.types import Inode, InodeType, Layout

__all__ = [
    "encode_inode",
    "decode_inode",
    "load_inode",
    "load_inode_or_raise",
    "store_inode",
    "remove_inode",
    "touch_directory",
    "count_subdirectories",
    "add_directory_times_and_nlink",
]

_FORMAT = 1
_HEADER = struct.Struct("<BQBIIIIQqqqQIB")
_LAYOUT = struct.Struct("<IIIIIQ")
_SYMLINK_LEN = struct.Struct("<H")
_TIMES = struct.Struct("<Bqqq")
_COUNT = struct.Struct("<q")
# a directory's own entry in its parent plus its '.'
_DIRECTORY_BASE_NLINK = 2


def encode_inode(inode: Inode) -> bytes:
    layout = inode.layout
    parts = [
        _HEADER.pack(
            _FORMAT,
            inode.inode_id,
            int(inode.inode_type),
            inode.mode,
            inode.uid,
            inode.gid,
            inode.nlink,
            inode.length,
            inode.atime_ns,
            inode.mtime_ns,
            inode.ctime_ns,
            inode.parent,
            inode.rdev,
            layout is not None,
        )
    ]
    if layout is not None:
        parts.append(
            _LAYOUT.pack(
                layout.chain_table_id,
                layout.chain_table_version,
                layout.chunk_size,
                layout.stripe_size,
                layout.first_chain_index,
                layout.shuffle_seed,
            )
        )
    parts.append(_SYMLINK_LEN.pack(len(inode.symlink_target)))
    parts.append(inode.symlink_target)
    return b"".join(parts)


def decode_inode(value: bytes) -> Inode:
    assert value[0] == _FORMAT, f"unknown inode format {value[0]}"
    (_, inode_id, type_value, mode, uid, gid, nlink, length, atime, mtime, ctime,
     parent, rdev, has_layout) = _HEADER.unpack_from(value, 0)
    offset = _HEADER.size
    layout = None
    if has_layout:
        layout = Layout(*_LAYOUT.unpack_from(value, offset))
        offset += _LAYOUT.size
    (symlink_len,) = _SYMLINK_LEN.unpack_from(value, offset)
    offset += _SYMLINK_LEN.size
    symlink_target = bytes(value[offset : offset + symlink_len])
    assert len(symlink_target) == symlink_len, "truncated inode value"
    assert offset + symlink_len == len(value), "trailing bytes in inode value"
    return Inode(
        inode_id=inode_id,
        inode_type=InodeType(type_value),
        mode=mode,
        uid=uid,
        gid=gid,
        nlink=nlink,
        length=length,
        atime_ns=atime,
        mtime_ns=mtime,
        ctime_ns=ctime,
        layout=layout,
        symlink_target=symlink_target,
        parent=parent,
        rdev=rdev,
    )


async def load_inode(
    txn: Transaction, inode_id: int, *, snapshot: bool = False, with_times: bool = True
) -> Inode | None:
    """The inode `inode_id`, or None if it does not exist.

    The inode key is read with a conflict unless `snapshot`; a directory's
    DTIM times are always a snapshot read (they are informational).
    `with_times=False` skips the DTIM read for directories a path walk only
    passes through: their mtime/ctime may then be older than the truth, so
    such an inode must never be given to `store_inode` (touch_directory is
    fine: it only moves times forward, and atime is the same in both keys).
    """
    value = await txn.get(keys.inode_key(inode_id), snapshot=snapshot)
    if value is None:
        return None
    inode = decode_inode(value)
    assert inode.inode_id == inode_id, "inode stored under the wrong key"
    if inode.is_directory and with_times:
        inode = await add_directory_times_and_nlink(txn, inode)
    return inode


async def add_directory_times_and_nlink(txn: Transaction, directory: Inode) -> Inode:
    """`directory` with its times from the DTIM key and nlink from the DSUB counter (snapshot reads)."""
    assert directory.is_directory
    count = await txn.get(keys.subdir_count_key(directory.inode_id), snapshot=True)
    subdirectories = 0 if count is None else _COUNT.unpack(count)[0]
    assert subdirectories >= 0, f"directory {directory.inode_id} counts {subdirectories} subdirectories"
    directory = dataclasses.replace(directory, nlink=_DIRECTORY_BASE_NLINK + subdirectories)
    times = await txn.get(keys.dir_times_key(directory.inode_id), snapshot=True)
    if times is None:
        return directory
    format_byte, atime, mtime, ctime = _TIMES.unpack(times)
    assert format_byte == _FORMAT
    return dataclasses.replace(directory, atime_ns=atime, mtime_ns=mtime, ctime_ns=ctime)


async def load_inode_or_raise(txn: Transaction, inode_id: int, *, snapshot: bool = False) -> Inode:
    inode = await load_inode(txn, inode_id, snapshot=snapshot)
    if inode is None:
        raise fs_error(errno.ENOENT, f"no inode {inode_id}")
    return inode


def store_inode(txn: Transaction, inode: Inode) -> None:
    assert inode.inode_id > 0
    txn.set(keys.inode_key(inode.inode_id), encode_inode(inode))
    if inode.is_directory:
        # The times written here came from a snapshot read of DTIM: conflict if
        # someone changed them meanwhile (a utimes racing a setxattr), so the
        # retry starts from their times instead of silently undoing them.
        txn.add_read_conflict_key(keys.dir_times_key(inode.inode_id))
        txn.set(
            keys.dir_times_key(inode.inode_id),
            _TIMES.pack(_FORMAT, inode.atime_ns, inode.mtime_ns, inode.ctime_ns),
        )


def remove_inode(txn: Transaction, inode: Inode) -> None:
    """Delete the inode with its directory times and extended attributes."""
    txn.clear(keys.inode_key(inode.inode_id))
    txn.clear_range(*keys.xattr_range(inode.inode_id))
    if inode.is_directory:
        txn.clear(keys.dir_times_key(inode.inode_id))
        txn.clear(keys.subdir_count_key(inode.inode_id))


def touch_directory(txn: Transaction, directory: Inode, now_ns: int) -> None:
    """Set a directory's mtime and ctime to now after an entry change.

    A blind write of the DTIM key only: concurrent entry changes in one
    directory do not conflict (the last writer's time wins, all are "now").
    """
    assert directory.is_directory
    txn.set(
        keys.dir_times_key(directory.inode_id),
        _TIMES.pack(_FORMAT, directory.atime_ns, max(now_ns, directory.mtime_ns), max(now_ns, directory.ctime_ns)),
    )


def count_subdirectories(txn: Transaction, directory_id: int, delta: int) -> None:
    """A directory gained (+1) or lost (-1) a subdirectory: an atomic add, no conflict."""
    assert delta in (-1, 1)
    txn.atomic_add(keys.subdir_count_key(directory_id), delta)
