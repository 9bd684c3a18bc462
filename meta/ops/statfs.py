"""Statfs: space from the storage capacity, file counts from the inode keys."""

from __future__ import annotations

from fs3.kv.interface import Transaction, prefix_range
from fs3.meta.ops._common import OpContext
from fs3.meta.store import keys
from fs3.meta.types import Capacity, StatfsResult

__all__ = ["StatfsOp"]


class StatfsOp:
    """Args: capacity: the storage's bytes, read by the operator from its capacity provider."""

    def __init__(self, ctx: OpContext, capacity: Capacity) -> None:
        self._ctx = ctx
        self._capacity = capacity

    async def run(self, txn: Transaction) -> StatfsResult:
        config = self._ctx.config
        begin, end = prefix_range(keys.INODE_PREFIX)
        rows = await txn.get_range(begin, end, limit=config.statfs_inode_scan_max, snapshot=True)
        used_files = len(rows)
        total_files = max(config.statfs_files_max, used_files)
        assert 0 <= self._capacity.free_bytes <= self._capacity.total_bytes
        return StatfsResult(
            total_bytes=self._capacity.total_bytes, free_bytes=self._capacity.free_bytes,
            total_files=total_files, free_files=total_files - used_files, name_bytes_max=config.name_bytes_max,
        )
