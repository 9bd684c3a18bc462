"""The metadata key schema: every key meta writes is built here.

Ids are little-endian u64 after a 4-byte prefix, as in 3FS: consecutive ids
land far apart in key order, so inode traffic spreads across KV shards.
Directory entries sort by parent then name, so a listing is one range read.

| prefix | key                                   | value                        |
|--------|---------------------------------------|------------------------------|
| INOD   | INOD + inode_id                       | inode (store/inode.py)       |
| DTIM   | DTIM + inode_id                       | directory atime/mtime/ctime  |
| DSUB   | DSUB + inode_id                       | subdirectory count (i64 LE)  |
| DENT   | DENT + parent_id + name               | dir entry (store/dir_entry)  |
| SESS   | SESS + inode_id + session_id          | write session (store/session)|
| GCQU   | GCQU + inode_id                       | removed file to GC (gc_queue)|
| IDAL   | IDAL + shard (u16 LE)                 | batches handed out (u64 LE)  |
| IDEM   | IDEM + client_id + request_id         | create result (idempotence)  |
| IDOP   | IDOP + client_id + request_id         | other op's result (idempotence) |
| XATT   | XATT + inode_id + name                | extended attribute value     |
| CLNT   | CLNT + client_id                      | client last seen (client.py) |
| TRSH   | TRSH + expire_at_ns (u64 BE) + inode  | trash entry (store/trash.py) |
| FLCK   | FLCK + inode + kind + client + owner + start (u64 BE) | file lock (store/file_lock.py) |

Directory times live in their own key so that entry changes can update a
parent's mtime with a blind write (no read conflict on a hot directory);
the inode key itself only changes on rare operations (rename, chmod, rmdir).
For the same reason a directory's count of subdirectories (its nlink is 2
plus that count) is a counter changed by atomic adds: concurrent mkdirs in
one directory do not conflict.
"""

from __future__ import annotations

import struct

from fs3.kv.interface import prefix_range

__all__ = [
    "INODE_PREFIX",
    "DIR_TIMES_PREFIX",
    "SUBDIR_COUNT_PREFIX",
    "DIR_ENTRY_PREFIX",
    "SESSION_PREFIX",
    "GC_QUEUE_PREFIX",
    "INODE_ID_ALLOCATOR_PREFIX",
    "IDEMPOTENCE_PREFIX",
    "inode_key",
    "dir_times_key",
    "subdir_count_key",
    "dir_entry_key",
    "dir_entry_range",
    "dir_entry_name",
    "session_key",
    "session_range",
    "gc_queue_key",
    "gc_queue_range",
    "inode_id_allocator_key",
    "idempotence_key",
    "OP_RECORD_PREFIX",
    "op_record_key",
    "XATTR_PREFIX",
    "xattr_key",
    "xattr_range",
    "xattr_name",
    "CLIENT_PREFIX",
    "client_key",
    "client_range",
    "session_all_range",
    "TRASH_PREFIX",
    "trash_key",
    "trash_range_until",
    "FILE_LOCK_PREFIX",
    "file_lock_key",
    "file_lock_range",
    "file_lock_owner_range",
    "LOCK_WAIT_PREFIX",
    "lock_wait_key",
]

INODE_PREFIX = b"INOD"
DIR_TIMES_PREFIX = b"DTIM"
SUBDIR_COUNT_PREFIX = b"DSUB"
DIR_ENTRY_PREFIX = b"DENT"
SESSION_PREFIX = b"SESS"
GC_QUEUE_PREFIX = b"GCQU"
INODE_ID_ALLOCATOR_PREFIX = b"IDAL"
IDEMPOTENCE_PREFIX = b"IDEM"
OP_RECORD_PREFIX = b"IDOP"
XATTR_PREFIX = b"XATT"
CLIENT_PREFIX = b"CLNT"
TRASH_PREFIX = b"TRSH"
FILE_LOCK_PREFIX = b"FLCK"
LOCK_WAIT_PREFIX = b"FLKW"

_U64 = struct.Struct("<Q")
_U16 = struct.Struct("<H")


def inode_key(inode_id: int) -> bytes:
    return INODE_PREFIX + _U64.pack(inode_id)


def dir_times_key(inode_id: int) -> bytes:
    return DIR_TIMES_PREFIX + _U64.pack(inode_id)


def subdir_count_key(inode_id: int) -> bytes:
    return SUBDIR_COUNT_PREFIX + _U64.pack(inode_id)


def dir_entry_key(parent_id: int, name: bytes) -> bytes:
    assert name, "a dir entry needs a name"
    return DIR_ENTRY_PREFIX + _U64.pack(parent_id) + name


def dir_entry_range(parent_id: int) -> tuple[bytes, bytes]:
    """The key range holding every entry of directory `parent_id`."""
    return prefix_range(DIR_ENTRY_PREFIX + _U64.pack(parent_id))


def dir_entry_name(key: bytes) -> bytes:
    """The name part of a dir entry key."""
    assert key.startswith(DIR_ENTRY_PREFIX)
    return key[len(DIR_ENTRY_PREFIX) + _U64.size :]


def session_key(inode_id: int, session_id: int) -> bytes:
    return SESSION_PREFIX + _U64.pack(inode_id) + _U64.pack(session_id)


def session_range(inode_id: int) -> tuple[bytes, bytes]:
    return prefix_range(SESSION_PREFIX + _U64.pack(inode_id))


def session_all_range() -> tuple[bytes, bytes]:
    """Every write session of every inode."""
    return prefix_range(SESSION_PREFIX)


def client_key(client_id: int) -> bytes:
    return CLIENT_PREFIX + _U64.pack(client_id)


def client_range() -> tuple[bytes, bytes]:
    return prefix_range(CLIENT_PREFIX)


_U64_BE = struct.Struct(">Q")


def trash_key(expire_at_ns: int, inode_id: int) -> bytes:
    """Big-endian expiry first: a range read from the prefix yields entries in expiry order."""
    return TRASH_PREFIX + _U64_BE.pack(max(0, expire_at_ns)) + _U64.pack(inode_id)


def trash_range_until(now_ns: int) -> tuple[bytes, bytes]:
    """Trash records whose expiry is <= now_ns."""
    return TRASH_PREFIX, TRASH_PREFIX + _U64_BE.pack(max(0, now_ns) + 1)


def trash_key_fields(key: bytes) -> tuple[int, int]:
    """(expire_at_ns, inode_id) of a trash key."""
    assert key.startswith(TRASH_PREFIX)
    offset = len(TRASH_PREFIX)
    return _U64_BE.unpack_from(key, offset)[0], _U64.unpack_from(key, offset + 8)[0]


def gc_queue_key(inode_id: int) -> bytes:
    return GC_QUEUE_PREFIX + _U64.pack(inode_id)


def gc_queue_range() -> tuple[bytes, bytes]:
    return prefix_range(GC_QUEUE_PREFIX)


def inode_id_allocator_key(shard: int) -> bytes:
    return INODE_ID_ALLOCATOR_PREFIX + _U16.pack(shard)


def idempotence_key(client_id: int, request_id: bytes) -> bytes:
    return IDEMPOTENCE_PREFIX + _U64.pack(client_id) + request_id


def op_record_key(client_id: int, request_id: bytes) -> bytes:
    return OP_RECORD_PREFIX + _U64.pack(client_id) + request_id


def xattr_key(inode_id: int, name: bytes) -> bytes:
    assert name, "an xattr needs a name"
    return XATTR_PREFIX + _U64.pack(inode_id) + name


def xattr_range(inode_id: int) -> tuple[bytes, bytes]:
    """The key range holding every extended attribute of `inode_id`."""
    return prefix_range(XATTR_PREFIX + _U64.pack(inode_id))


def xattr_name(key: bytes) -> bytes:
    assert key.startswith(XATTR_PREFIX)
    return key[len(XATTR_PREFIX) + _U64.size :]


def file_lock_key(inode_id: int, kind: int, client_id: int, owner: int, start: int) -> bytes:
    return (FILE_LOCK_PREFIX + _U64.pack(inode_id) + bytes([kind]) + _U64.pack(client_id) + _U64.pack(owner)
            + _U64_BE.pack(start))


def file_lock_range(inode_id: int, kind: int | None = None) -> tuple[bytes, bytes]:
    """Every lock of an inode (of one kind if given)."""
    prefix = FILE_LOCK_PREFIX + _U64.pack(inode_id) + (b"" if kind is None else bytes([kind]))
    return prefix_range(prefix)


def file_lock_owner_range(inode_id: int, kind: int, client_id: int, owner: int) -> tuple[bytes, bytes]:
    return prefix_range(FILE_LOCK_PREFIX + _U64.pack(inode_id) + bytes([kind]) + _U64.pack(client_id)
                        + _U64.pack(owner))


def lock_wait_key(client_id: int, owner: int) -> bytes:
    return LOCK_WAIT_PREFIX + _U64.pack(client_id) + _U64.pack(owner)
