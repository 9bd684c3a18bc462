"""Cluster-wide file locks: set (lock or unlock a range), test, release an owner's locks.

POSIX semantics per holder (client_id, owner): a new lock replaces the
holder's own locks over its range (splitting them), adjacent and
overlapping ranges of one type merge, F_UNLCK cuts a hole. A request that
overlaps another holder's lock where either writes fails with EAGAIN; the
client waits and retries for F_SETLKW / blocking flock. Locks of a client
not seen for `client_session_timeout_s` are stale: a conflicting request
drops them (the session pruner also sweeps them).

Deadlocks (POSIX locks, as the kernel detects them): a refused request that
will wait (`wait`) records what its holder waits for (store/lock_wait.py)
and first walks the wait-for graph from the holders in its way: holder ->
the lock it waits for -> that lock's holders -> ... If the walk reaches the
requester, waiting would never end: EDEADLK. The walk reads the wait records
with conflicts, so two requests closing a cycle at once are serialised and
the second sees the first's record.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.ops._common import OpContext
from fs3.meta.store.client import load_client_seen, touch_client
from fs3.meta.store.file_lock import (
    OFFSET_MAX, FileLock, LockKind, LockType, load_file_locks, remove_file_lock, remove_owner_locks, store_file_lock,
)
from fs3.meta.store.inode import load_inode_or_raise
from fs3.meta.store.lock_wait import LockWait, clear_lock_wait, load_lock_wait, store_lock_wait

__all__ = ["LockRequest", "LockOutcome", "SetFileLockOp", "GetFileLockOp", "ReleaseFileLocksOp", "StopLockWaitOp",
           "holder_is_dead"]


class LockOutcome(enum.Enum):
    """What a SetFileLockOp committed: the lock, a recorded wait (EAGAIN), or nothing (EDEADLK)."""

    GRANTED = "granted"
    WAITING = "waiting"
    DEADLOCK = "deadlock"


@dataclasses.dataclass(frozen=True, slots=True)
class LockRequest:
    inode_id: int
    kind: LockKind
    client_id: int
    owner: int
    lock_type: LockType
    start: int = 0
    end: int = OFFSET_MAX  # inclusive
    pid: int = 0
    wait: bool = False  # F_SETLKW / blocking flock: the caller retries a refusal until granted

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end <= OFFSET_MAX:
            raise fs_error(errno.EINVAL, f"lock range {self.start}..{self.end} is empty or out of bounds")
        if self.kind == LockKind.FLOCK and (self.start, self.end) != (0, OFFSET_MAX):
            raise fs_error(errno.EINVAL, "an flock lock covers the whole file")

    @property
    def holder(self) -> tuple[int, int]:
        return (self.client_id, self.owner)


async def holder_is_dead(txn: Transaction, lock: FileLock, now_ns: int, timeout_ns: int) -> bool:
    """A lock whose client has not been seen (heartbeat, session, lock) for the timeout."""
    seen_ns = await load_client_seen(txn, lock.client_id, snapshot=True) if lock.client_id else None
    return now_ns - max(seen_ns or 0, lock.acquired_ns) > timeout_ns


async def _live_conflicts(ctx: OpContext, txn: Transaction, locks: list[FileLock], request: LockRequest,
                          *, drop_stale: bool) -> list[FileLock]:
    timeout_ns = int(ctx.config.client_session_timeout_s * 1e9)
    conflicts = []
    for lock in locks:
        if lock.holder == request.holder or not lock.conflicts_with(request.lock_type, request.start, request.end):
            continue
        if await holder_is_dead(txn, lock, ctx.now_ns, timeout_ns):
            if drop_stale:
                remove_file_lock(txn, lock)
            continue
        conflicts.append(lock)
    return conflicts


def _normalize(pieces: list[tuple[int, int, LockType]]) -> list[tuple[int, int, LockType]]:
    """Sort and merge overlapping or adjacent ranges of the same type."""
    merged: list[tuple[int, int, LockType]] = []
    for start, end, lock_type in sorted(pieces):
        if merged and merged[-1][2] == lock_type and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end), lock_type)
        else:
            merged.append((start, end, lock_type))
    return merged


def _conflict_message(request: LockRequest, holder: FileLock) -> str:
    return (f"inode {request.inode_id}: {holder.lock_type.name.lower()} lock {holder.start}..{holder.end} held by "
            f"client {holder.client_id} (pid {holder.pid})")


class SetFileLockOp:
    def __init__(self, ctx: OpContext, request: LockRequest) -> None:
        self._ctx = ctx
        self._request = request
        self.message = ""  # why the lock was not granted

    async def run(self, txn: Transaction) -> LockOutcome:
        """Raises: Fs3Error ENOENT (no inode), EAGAIN (held by another live holder, not waiting)."""
        request = self._request
        await load_inode_or_raise(txn, request.inode_id, snapshot=True)
        locks = await load_file_locks(txn, request.inode_id, request.kind)  # conflicting: serialises lockers
        detects_deadlocks = request.kind == LockKind.POSIX
        if request.lock_type != LockType.UNLOCK:
            conflicts = await _live_conflicts(self._ctx, txn, locks, request, drop_stale=True)
            if conflicts:
                self.message = _conflict_message(request, conflicts[0])
                if not (request.wait and detects_deadlocks):
                    raise fs_error(errno.EAGAIN, self.message)
                cycle = await self._wait_cycle(txn, conflicts)
                if cycle is not None:
                    clear_lock_wait(txn, request.client_id, request.owner)
                    self.message = (f"inode {request.inode_id} {request.start}..{request.end}: waiting would "
                                    f"deadlock (waits for: {' -> '.join(cycle)})")
                    return LockOutcome.DEADLOCK
                store_lock_wait(txn, LockWait(request.client_id, request.owner, request.inode_id, request.start,
                                              request.end, request.lock_type, self._ctx.now_ns))
                touch_client(txn, request.client_id, self._ctx.now_ns)
                return LockOutcome.WAITING
        mine = [lock for lock in locks if lock.holder == request.holder]
        pieces: list[tuple[int, int, LockType]] = []
        for lock in mine:  # what stays of our own locks outside the request's range
            if lock.start < request.start:
                pieces.append((lock.start, min(lock.end, request.start - 1), lock.lock_type))
            if lock.end > request.end:
                pieces.append((max(lock.start, request.end + 1), lock.end, lock.lock_type))
        if request.lock_type != LockType.UNLOCK:
            pieces.append((request.start, request.end, request.lock_type))
        for lock in mine:
            remove_file_lock(txn, lock)
        previous = {(lock.start, lock.end, lock.lock_type): lock for lock in mine}
        for start, end, lock_type in _normalize(pieces):
            kept = previous.get((start, end, lock_type))
            store_file_lock(txn, FileLock(
                request.inode_id, request.kind, request.client_id, request.owner, start, end, lock_type,
                request.pid if kept is None else kept.pid, self._ctx.now_ns))
        if detects_deadlocks:  # the holder got what it asked for: it waits for nothing (a blind clear)
            clear_lock_wait(txn, request.client_id, request.owner)
        touch_client(txn, request.client_id, self._ctx.now_ns)
        return LockOutcome.GRANTED

    async def _wait_cycle(self, txn: Transaction, conflicts: list[FileLock]) -> list[str] | None:
        """The wait-for path from the requester back to itself, if waiting for `conflicts` closes one.

        Breadth first over holders; at most `lock_deadlock_search_max` of them (beyond: no deadlock
        reported, as the kernel's own bounded search does)."""
        request = self._request
        stale_ns = self._ctx.now_ns - int(self._ctx.config.lock_wait_stale_s * 1e9)
        came_from: dict[tuple[int, int], tuple[int, int]] = {}
        frontier: collections.deque[tuple[int, int]] = collections.deque()
        for lock in conflicts:
            if lock.holder not in came_from:
                came_from[lock.holder] = request.holder
                frontier.append(lock.holder)
        visited = 0
        while frontier and visited < self._ctx.config.lock_deadlock_search_max:
            holder = frontier.popleft()
            visited += 1
            wait = await load_lock_wait(txn, *holder)  # conflicting: a racing new wait makes one of us retry
            if wait is None or wait.updated_ns < stale_ns:
                continue
            waited_for = LockRequest(wait.inode_id, LockKind.POSIX, wait.client_id, wait.owner, wait.lock_type,
                                     wait.start, wait.end)
            locks = await load_file_locks(txn, wait.inode_id, LockKind.POSIX, snapshot=True)
            for lock in await _live_conflicts(self._ctx, txn, locks, waited_for, drop_stale=False):
                if lock.holder == request.holder:
                    path = [holder]
                    while path[-1] != request.holder:
                        path.append(came_from[path[-1]])
                    return [f"client {client} owner {owner:#x}" for client, owner in [*reversed(path), request.holder]]
                if lock.holder not in came_from:
                    came_from[lock.holder] = holder
                    frontier.append(lock.holder)
        return None


class GetFileLockOp:
    """F_GETLK: the first live lock of another holder that would block the request, or None."""

    def __init__(self, ctx: OpContext, request: LockRequest) -> None:
        self._ctx = ctx
        self._request = request

    async def run(self, txn: Transaction) -> FileLock | None:
        request = self._request
        await load_inode_or_raise(txn, request.inode_id, snapshot=True)
        if request.lock_type == LockType.UNLOCK:
            raise fs_error(errno.EINVAL, "F_GETLK needs a read or write lock to test")
        locks = await load_file_locks(txn, request.inode_id, request.kind, snapshot=True)
        conflicts = await _live_conflicts(self._ctx, txn, locks, request, drop_stale=False)
        return conflicts[0] if conflicts else None


class ReleaseFileLocksOp:
    """Drop every lock of one holder on an inode (close of a file: POSIX locks of the closing
    process; release of an open file: its flock lock). Absent inode or locks: nothing to do."""

    def __init__(self, ctx: OpContext, inode_id: int, kind: LockKind, client_id: int, owner: int) -> None:
        self._ctx = ctx
        self._args = (inode_id, kind, client_id, owner)

    async def run(self, txn: Transaction) -> None:
        remove_owner_locks(txn, *self._args)


class StopLockWaitOp:
    """The holder gave up waiting (interrupted): its wait no longer counts for deadlock detection."""

    def __init__(self, ctx: OpContext, client_id: int, owner: int) -> None:
        self._ctx = ctx
        self._holder = (client_id, owner)

    async def run(self, txn: Transaction) -> None:
        clear_lock_wait(txn, *self._holder)
