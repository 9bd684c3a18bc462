"""Listxattr: the names of an inode's extended attributes (trusted.* only for root).

Like Linux, listing needs no permission on the inode itself.
"""

from __future__ import annotations

from fs3.kv.interface import Transaction
from fs3.meta.ops._common import OpContext, load_target
from fs3.meta.store.xattr import list_xattr_names, visible_to
from fs3.meta.types import PathAt

__all__ = ["ListxattrOp"]


class ListxattrOp:
    def __init__(self, ctx: OpContext, target: PathAt | int, follow_last_symlink: bool = True) -> None:
        self._ctx = ctx
        self._target = target
        self._follow_last_symlink = follow_last_symlink

    async def run(self, txn: Transaction) -> list[bytes]:
        """Returns the names in byte order. Raises: Fs3Error ENOENT, EACCES (path walk)."""
        inode = await load_target(txn, self._ctx, self._target, self._follow_last_symlink)
        names = await list_xattr_names(txn, inode.inode_id, limit=self._ctx.config.xattr_list_max)
        return [name for name in names if visible_to(self._ctx.user, name)]
