"""File locks in the KV store, shared by every client of the cluster.

`FLCK + inode + kind + client + owner + start(BE) -> (end, type, pid, acquired_ns)`

Two independent kinds, as on Linux: POSIX record locks (fcntl F_SETLK;
byte ranges, owned by a client's lock owner, i.e. a process) and flock
locks (whole file, owned by an open file). A lock is held by
(client_id, owner); ranges are inclusive like the kernel's, `OFFSET_MAX`
meaning "to the end of the file, whatever its length".

Every change of an inode's locks reads all of them with a conflicting range
read, so two clients locking one file are serialised by the transaction and
exactly one wins a conflict.
"""

from __future__ import annotations

import dataclasses
import enum
import struct

from fs3.kv.interface import Transaction
from fs3.meta.store import keys

__all__ = ["LockKind", "LockType", "FileLock", "OFFSET_MAX", "decode_file_lock", "load_file_locks", "store_file_lock",
           "remove_file_lock", "remove_owner_locks"]

OFFSET_MAX = (1 << 63) - 1

_FORMAT = 1
_VALUE = struct.Struct("<BQBIq")
_KEY_TAIL = struct.Struct("<BQQ")  # kind, client, owner (after prefix + inode)
_START = struct.Struct(">Q")


class LockKind(enum.IntEnum):
    POSIX = 1
    FLOCK = 2


class LockType(enum.IntEnum):
    """fcntl's values (F_RDLCK, F_WRLCK, F_UNLCK)."""

    READ = 0
    WRITE = 1
    UNLOCK = 2


@dataclasses.dataclass(frozen=True, slots=True)
class FileLock:
    inode_id: int
    kind: LockKind
    client_id: int
    owner: int
    start: int
    end: int  # inclusive
    lock_type: LockType  # READ or WRITE
    pid: int = 0
    acquired_ns: int = 0

    def __post_init__(self) -> None:
        assert 0 <= self.start <= self.end <= OFFSET_MAX, f"bad lock range {self.start}..{self.end}"
        assert self.lock_type in (LockType.READ, LockType.WRITE), f"a stored lock is read or write: {self.lock_type}"

    @property
    def holder(self) -> tuple[int, int]:
        return (self.client_id, self.owner)

    def overlaps(self, start: int, end: int) -> bool:
        return self.start <= end and start <= self.end

    def conflicts_with(self, lock_type: LockType, start: int, end: int) -> bool:
        """Another holder's lock against a request: overlapping, and at least one of them writes."""
        return self.overlaps(start, end) and (self.lock_type == LockType.WRITE or lock_type == LockType.WRITE)


def decode_file_lock(key: bytes, value: bytes) -> FileLock:
    offset = len(keys.FILE_LOCK_PREFIX)
    (inode_id,) = struct.unpack_from("<Q", key, offset)
    kind, client_id, owner = _KEY_TAIL.unpack_from(key, offset + 8)
    (start,) = _START.unpack_from(key, offset + 8 + _KEY_TAIL.size)
    format_byte, end, lock_type, pid, acquired_ns = _VALUE.unpack(value)
    assert format_byte == _FORMAT, f"unknown file lock format {format_byte}"
    return FileLock(inode_id, LockKind(kind), client_id, owner, start, end, LockType(lock_type), pid, acquired_ns)


async def load_file_locks(txn: Transaction, inode_id: int, kind: LockKind | None = None, *,
                          snapshot: bool = False) -> list[FileLock]:
    rows = await txn.get_range(*keys.file_lock_range(inode_id, None if kind is None else int(kind)),
                               snapshot=snapshot)
    return [decode_file_lock(row.key, row.value) for row in rows]


def store_file_lock(txn: Transaction, lock: FileLock) -> None:
    txn.set(keys.file_lock_key(lock.inode_id, int(lock.kind), lock.client_id, lock.owner, lock.start),
            _VALUE.pack(_FORMAT, lock.end, int(lock.lock_type), lock.pid, lock.acquired_ns))


def remove_file_lock(txn: Transaction, lock: FileLock) -> None:
    txn.clear(keys.file_lock_key(lock.inode_id, int(lock.kind), lock.client_id, lock.owner, lock.start))


def remove_owner_locks(txn: Transaction, inode_id: int, kind: LockKind, client_id: int, owner: int) -> None:
    txn.clear_range(*keys.file_lock_owner_range(inode_id, int(kind), client_id, owner))
