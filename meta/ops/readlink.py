"""Readlink: the target of a symbolic link."""

from __future__ import annotations

import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.ops._common import OpContext
from fs3.meta.store.path_resolve import PathResolver
from fs3.meta.types import PathAt

__all__ = ["ReadlinkOp"]


class ReadlinkOp:
    def __init__(self, ctx: OpContext, path_at: PathAt) -> None:
        self._ctx = ctx
        self._path_at = path_at

    async def run(self, txn: Transaction) -> bytes:
        """Raises: Fs3Error EINVAL (not a symlink), ENOENT, ENOTDIR, EACCES."""
        resolver = PathResolver(txn, self._ctx.user, self._ctx.config)
        inode = await resolver.resolve(self._path_at, follow_last_symlink=False)
        if not inode.is_symlink:
            raise fs_error(errno.EINVAL, f"inode {inode.inode_id} is not a symlink")
        return inode.symlink_target
