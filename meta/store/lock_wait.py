"""Blocked POSIX lock requests, for deadlock detection across clients.

`FLKW + client + owner -> (inode, start, end, type, updated_ns)`

A holder (client, owner: a process) blocked in F_SETLKW waits for one lock
at a time, as in the kernel. Its client retries the request with a growing
pause (at most a quarter second); each refused attempt refreshes the record
and a granted one, a failed one or the client giving up (interrupt) clears
it. A record not refreshed for `lock_wait_stale_s` (a killed client) counts
as gone; the session pruner sweeps such records. The refresh times come from
the clocks of the metadata services that served each attempt: they must
agree to well within `lock_wait_stale_s` (NTP), or a live wait may look stale
(a deadlock missed) or, for a client killed while waiting, a stale one live.
Several threads sharing one lock owner share its one record (as in the
kernel, a POSIX lock owner is a process).
"""

from __future__ import annotations

import dataclasses
import struct

from fs3.kv.interface import Transaction
from fs3.meta.store import keys
from fs3.meta.store.file_lock import LockType

__all__ = ["LockWait", "load_lock_wait", "store_lock_wait", "clear_lock_wait", "lock_wait_updated_ns"]

_FORMAT = 1
_VALUE = struct.Struct("<BQQQBq")  # format, inode, start, end, type, updated_ns


@dataclasses.dataclass(frozen=True, slots=True)
class LockWait:
    client_id: int
    owner: int
    inode_id: int
    start: int
    end: int  # inclusive
    lock_type: LockType
    updated_ns: int

    @property
    def holder(self) -> tuple[int, int]:
        return (self.client_id, self.owner)


def lock_wait_updated_ns(value: bytes) -> int:
    format_byte, *_, updated_ns = _VALUE.unpack(value)
    assert format_byte == _FORMAT, f"unknown lock wait format {format_byte}"
    return updated_ns


async def load_lock_wait(txn: Transaction, client_id: int, owner: int, *, snapshot: bool = False) -> LockWait | None:
    value = await txn.get(keys.lock_wait_key(client_id, owner), snapshot=snapshot)
    if value is None:
        return None
    format_byte, inode_id, start, end, lock_type, updated_ns = _VALUE.unpack(value)
    assert format_byte == _FORMAT, f"unknown lock wait format {format_byte}"
    return LockWait(client_id, owner, inode_id, start, end, LockType(lock_type), updated_ns)


def store_lock_wait(txn: Transaction, wait: LockWait) -> None:
    assert wait.lock_type in (LockType.READ, LockType.WRITE), f"a wait is for a read or write lock: {wait.lock_type}"
    txn.set(keys.lock_wait_key(wait.client_id, wait.owner),
            _VALUE.pack(_FORMAT, wait.inode_id, wait.start, wait.end, int(wait.lock_type), wait.updated_ns))


def clear_lock_wait(txn: Transaction, client_id: int, owner: int) -> None:
    txn.clear(keys.lock_wait_key(client_id, owner))
