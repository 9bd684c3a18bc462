"""Read-only administrator views of the namespace store: inode pages, inode
states (for the orphaned-chunk search), the GC queue, and fsck.

Every read is a snapshot: inspecting never conflicts with client operations.
Only root (uid 0) may inspect; the service additionally requires an admin
connection once tokens are on.
"""

from __future__ import annotations

import dataclasses
import enum
import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction, key_after, prefix_range
from fs3.meta.fsck import FsckReport, check_namespace
from fs3.meta.ops._common import OpContext
from fs3.meta.store import keys
from fs3.meta.store.gc_queue import GcRecord, list_gc_records
from fs3.meta.store.inode import add_directory_times_and_nlink, decode_inode
from fs3.meta.types import Inode

__all__ = ["InodeState", "InodePage", "DumpInodesOp", "CheckInodesOp", "ListGcQueueOp", "FsckOp"]


class InodeState(enum.IntEnum):
    MISSING = 0  # neither live nor queued: chunks of it are orphans
    LIVE = 1
    GC_QUEUED = 2  # removed; its chunks are being (or will be) deleted


def _require_root(ctx: OpContext, what: str) -> None:
    if ctx.user.uid != 0:
        raise fs_error(errno.EPERM, f"{what} is for administrators (uid 0)")


@dataclasses.dataclass(frozen=True, slots=True)
class InodePage:
    inodes: list[Inode]
    more: bool


class DumpInodesOp:
    """A page of inodes in key order (ids are stored little-endian: not numeric order), after
    the inode `after_inode_id` (None: from the start)."""

    def __init__(self, ctx: OpContext, after_inode_id: int | None, limit: int) -> None:
        assert limit > 0
        self._ctx, self._after, self._limit = ctx, after_inode_id, limit

    async def run(self, txn: Transaction) -> InodePage:
        _require_root(self._ctx, "dump-inodes")
        begin, end = prefix_range(keys.INODE_PREFIX)
        if self._after is not None:
            begin = key_after(keys.inode_key(self._after))
        rows = await txn.get_range(begin, end, limit=self._limit + 1, snapshot=True)
        inodes = []
        for row in rows[: self._limit]:
            inode = decode_inode(row.value)
            inodes.append(await add_directory_times_and_nlink(txn, inode) if inode.is_directory else inode)
        return InodePage(inodes, len(rows) > self._limit)


class CheckInodesOp:
    def __init__(self, ctx: OpContext, inode_ids: list[int]) -> None:
        self._ctx, self._inode_ids = ctx, inode_ids

    async def run(self, txn: Transaction) -> list[InodeState]:
        _require_root(self._ctx, "checking inodes")
        states = []
        for inode_id in self._inode_ids:
            if await txn.get(keys.inode_key(inode_id), snapshot=True) is not None:
                states.append(InodeState.LIVE)
            elif await txn.get(keys.gc_queue_key(inode_id), snapshot=True) is not None:
                states.append(InodeState.GC_QUEUED)
            else:
                states.append(InodeState.MISSING)
        return states


class ListGcQueueOp:
    def __init__(self, ctx: OpContext, after_inode_id: int | None, limit: int) -> None:
        assert limit > 0
        self._ctx, self._after, self._limit = ctx, after_inode_id, limit

    async def run(self, txn: Transaction) -> tuple[list[GcRecord], bool]:
        _require_root(self._ctx, "listing the GC queue")
        records = await list_gc_records(txn, limit=self._limit + 1, after_inode_id=self._after, snapshot=True)
        return records[: self._limit], len(records) > self._limit


class FsckOp:
    def __init__(self, ctx: OpContext) -> None:
        self._ctx = ctx

    async def run(self, txn: Transaction) -> FsckReport:
        _require_root(self._ctx, "fsck")
        return await check_namespace(txn, inodes_max=self._ctx.config.fsck_inodes_max)
