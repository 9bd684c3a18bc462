"""SetLayout: a directory's layout (chain table, chunk size, stripe), inherited by new children.

Only root may change it (EPERM): a layout decides where data goes, which is
an administrator's choice. Existing files keep theirs.
"""

from __future__ import annotations

import dataclasses
import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.ops._common import OpContext, load_target
from fs3.meta.store.inode import store_inode
from fs3.meta.types import Inode, Layout, PathAt

__all__ = ["SetLayoutOp"]


class SetLayoutOp:
    def __init__(self, ctx: OpContext, target: PathAt | int, layout: Layout) -> None:
        self._ctx = ctx
        self._target = target
        self._layout = layout

    async def run(self, txn: Transaction) -> Inode:
        """Raises: Fs3Error EPERM (not root), ENOTDIR, ENOENT."""
        if self._ctx.user.uid != 0:
            raise fs_error(errno.EPERM, f"uid {self._ctx.user.uid} may not set layouts")
        directory = await load_target(txn, self._ctx, self._target, True)
        if not directory.is_directory:
            raise fs_error(errno.ENOTDIR, f"inode {directory.inode_id} is not a directory")
        updated = dataclasses.replace(directory, layout=self._layout, ctime_ns=self._ctx.now_ns)
        store_inode(txn, updated)
        return updated
