"""Cluster-wide file locks for the client core (native API and FUSE mount).

Locks live in the metadata services (meta/ops/file_lock.py), held by
(this client's id, an owner): the FUSE daemon passes the kernel's lock
owner (a process, for POSIX locks) or the open file's owner (flock); the
native API uses one owner per open `Fs3File`. A blocking request retries a
refused (EAGAIN) one with a growing pause until it wins or is cancelled —
the FUSE daemon cancels it when the kernel interrupts the waiting call.
A blocking POSIX request tells the service it waits (`wait`), so a wait
that would never end (a cycle of holders across clients) fails with
EDEADLK; one that gives up tells the service it stopped waiting.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import fcntl
import logging

from fs3._proto import meta_pb2
from fs3.errors import Fs3Error
from fs3.net.methods import MetaMethod

__all__ = ["LockRetry", "FileLocks", "POSIX", "FLOCK", "OFFSET_MAX", "LockHolder"]

POSIX = meta_pb2.LOCK_POSIX
FLOCK = meta_pb2.LOCK_FLOCK
OFFSET_MAX = (1 << 63) - 1
logger = logging.getLogger(__name__)
_LOCK_TYPES = (fcntl.F_RDLCK, fcntl.F_WRLCK, fcntl.F_UNLCK)


@dataclasses.dataclass(frozen=True, slots=True)
class LockRetry:
    """Pause between attempts of a blocking lock: first, growth factor, ceiling; and how long giving
    up may wait for the service to hear of it."""

    first_delay_s: float = 0.005
    growth: float = 2.0
    delay_max_s: float = 0.25
    withdraw_timeout_s: float = 2.0  # for telling the service a wait was given up


@dataclasses.dataclass(frozen=True, slots=True)
class LockHolder:
    """A lock that blocks a request (F_GETLK's answer)."""

    lock_type: int
    start: int
    end: int
    pid: int
    client_id: int


def _retrieve_outcome(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()


def _log_stop_failure(task: asyncio.Future) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("could not withdraw a lock wait (it goes stale by itself): %s", task.exception())


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

        Raises: Fs3Error EAGAIN if held elsewhere and not `wait`; EDEADLK if a POSIX lock's wait
        would never end (another holder in its way waits, directly or not, for one of `owner`'s locks).
        """
        request = meta_pb2.SetFileLockRequest(user=user, lock=self._spec(inode_id, kind, owner, lock_type, start,
                                                                         end, pid), wait=wait)
        delay_s = self._retry.first_delay_s
        # A blocking POSIX request may leave a wait record at the service (for deadlock detection)
        # from its first attempt on: every way out but a grant or EDEADLK withdraws it.
        records_waits = wait and kind == POSIX
        try:
            while True:
                attempt = asyncio.ensure_future(self._meta.call(MetaMethod.SET_FILE_LOCK, request))
                attempt.add_done_callback(_retrieve_outcome)  # (an abandoned attempt ends unobserved)
                try:
                    await asyncio.shield(attempt)
                    return  # granted: the service dropped any record
                except asyncio.CancelledError:
                    if records_waits:  # an attempt still under way could record a wait after our withdrawal
                        await self._settle(attempt)
                    raise
                except Fs3Error as error:
                    if error.code == errno.EDEADLK:
                        records_waits = False  # refused for good: the service dropped the record
                    if error.code != errno.EAGAIN or not wait:
                        raise
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * self._retry.growth, self._retry.delay_max_s)
        except BaseException:
            if records_waits:  # gave up (cancelled, an error): the wait must not count in deadlock checks
                await self._withdraw_wait(user, owner)
            raise

    async def _settle(self, attempt: asyncio.Future) -> None:
        """Let an abandoned attempt finish (bounded), whatever its outcome."""
        try:
            await asyncio.wait_for(attempt, self._retry.withdraw_timeout_s)
        except Exception:  # noqa: BLE001 - only its end matters here
            pass

    async def _withdraw_wait(self, user, owner: int) -> None:
        """Before the caller learns it gave up (EINTR), so its next request finds no wait of its own."""
        stop = asyncio.ensure_future(self._meta.call(MetaMethod.STOP_LOCK_WAIT, meta_pb2.StopLockWaitRequest(
            user=user, client_id=self._client_id, owner=owner)))
        stop.add_done_callback(_log_stop_failure)  # (its failure is only logged: the caller's outcome matters)
        await self._settle(asyncio.shield(stop))  # past the bound it still goes on

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
