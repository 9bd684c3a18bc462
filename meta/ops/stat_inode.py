"""StatInode: an inode by id (no path, so no search permission applies)."""

from __future__ import annotations

from fs3.kv.interface import Transaction
from fs3.meta.ops._common import OpContext
from fs3.meta.store.inode import load_inode_or_raise
from fs3.meta.types import Inode

__all__ = ["StatInodeOp"]


class StatInodeOp:
    def __init__(self, ctx: OpContext, inode_id: int) -> None:
        self._ctx = ctx
        self._inode_id = inode_id

    async def run(self, txn: Transaction) -> Inode:
        """Raises: Fs3Error ENOENT for an unknown id."""
        return await load_inode_or_raise(txn, self._inode_id)
