"""Stat: the inode a path names."""

from __future__ import annotations

from fs3.kv.interface import Transaction
from fs3.meta.ops._common import OpContext
from fs3.meta.store.path_resolve import PathResolver
from fs3.meta.types import Inode, PathAt

__all__ = ["StatOp"]


class StatOp:
    def __init__(self, ctx: OpContext, path_at: PathAt, follow_last_symlink: bool) -> None:
        self._ctx = ctx
        self._path_at = path_at
        self._follow_last_symlink = follow_last_symlink

    async def run(self, txn: Transaction) -> Inode:
        """Raises: Fs3Error ENOENT, ENOTDIR, EACCES, ELOOP, EINVAL, ENAMETOOLONG."""
        resolver = PathResolver(txn, self._ctx.user, self._ctx.config)
        return await resolver.resolve(self._path_at, follow_last_symlink=self._follow_last_symlink)
