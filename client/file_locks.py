"""Cluster-wide file locks for the client core (native API and FUSE mount).

Locks live in the metadata services (meta/ops/file_lock.py), held by
(this client's id, an owner): the FUSE daemon passes the kernel's lock
owner (a process, for POSIX locks) or the open file's owner (flock); the
native API uses one owner per open `Fs3File`. A blocking request retries a
refused (EAGAIN) one with a growing pause until it wins or is cancelled —
the FUSE daemon cancels it when the kernel interrupts the waiting call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import fcntl

from fs3._proto import meta_pb2
from fs3.errors import Fs3Error
from fs3.net.methods import MetaMethod

__all__ = ["LockRetry", "FileLocks", "POSIX", "FLOCK", "OFFSET_MAX", "LockHolder"]

POSIX = meta_pb2.LOCK_POSIX
FLOCK = meta_pb2.LOCK_FLOCK
OFFSET_MAX = (1 << 63) - 1
_LOCK_TYPES = (fcntl.F_RDLCK, fcntl.F_WRLCK, fcntl.F_UNLCK)


@dataclasses.dataclass(frozen=True, slots=True)
class LockRetry:
    """Pause between attempts of a blocking lock: first, growth factor, ceiling."""

    first_delay_s: float = 0.005
    growth: float = 2.0
    delay_max_s: float = 0.25


@dataclasses.dataclass(frozen=True, slots=True)
class LockHolder:
    """A lock that blocks a request (F_GETLK's answer)."""

    lock_type: int
    start: int
    end: int
    pid: int
    client_id: int


class FileLocks:
    def __init__(self, meta, client_id: int, retry: LockRetry = LockRetry()) -> None:
        self._meta = meta
        self._client_id = client_id
        self._retry = retry

    def _spec(self, inode_id: int, kind: int, owner: int, lock_type: int, start: int, end: int,
              pid: int) -> meta_pb2.FileLockSpec:
        if lock_type not in _LOCK_TYPES:
            raise Fs3Error(errno.EINVAL, f"lock type {lock_type} is not F_RDLCK, F_WRLCK or F_UNLCK")
        return meta_pb2.FileLockSpec(inode_id=inode_id, kind=kind, client_id=self._client_id, owner=owner,
                                     lock_type=lock_type, start=start, end=end, pid=pid)

    async def set(self, user, inode_id: int, kind: int, owner: int, lock_type: int, start: int = 0,
                  end: int = OFFSET_MAX, *, wait: bool = False, pid: int = 0) -> None:
        """Lock (F_RDLCK/F_WRLCK) or unlock (F_UNLCK) [start, end]; `wait`: until granted.

        Raises: Fs3Error EAGAIN if held elsewhere and not `wait`.
        """
        request = meta_pb2.SetFileLockRequest(user=user, lock=self._spec(inode_id, kind, owner, lock_type, start,
                                                                         end, pid))
        delay_s = self._retry.first_delay_s
        while True:
            try:
                await self._meta.call(MetaMethod.SET_FILE_LOCK, request)
                return
            except Fs3Error as error:
                if error.code != errno.EAGAIN or not wait:
                    raise
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * self._retry.growth, self._retry.delay_max_s)

    async def test(self, user, inode_id: int, kind: int, owner: int, lock_type: int, start: int = 0,
                   end: int = OFFSET_MAX) -> LockHolder | None:
        """F_GETLK: the lock that would block this request, or None."""
        response = await self._meta.call(MetaMethod.GET_FILE_LOCK, meta_pb2.GetFileLockRequest(
            user=user, lock=self._spec(inode_id, kind, owner, lock_type, start, end, 0)))
        if not response.blocked:
            return None
        holder = response.holder
        return LockHolder(holder.lock_type, holder.start, holder.end, holder.pid, holder.client_id)

    async def release(self, user, inode_id: int, kind: int, owner: int) -> None:
        """Drop every lock of `owner` on the inode (close / release)."""
        await self._meta.call(MetaMethod.RELEASE_FILE_LOCKS, meta_pb2.ReleaseFileLocksRequest(
            user=user, inode_id=inode_id, kind=kind, client_id=self._client_id, owner=owner))
