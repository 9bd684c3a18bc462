"""Getxattr: one extended attribute's value."""

from __future__ import annotations

import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.ops._common import OpContext, load_target
from fs3.meta.store.permission import MAY_READ
from fs3.meta.store.xattr import check_xattr_access, load_xattr
from fs3.meta.types import PathAt

__all__ = ["GetxattrOp"]


class GetxattrOp:
    def __init__(self, ctx: OpContext, target: PathAt | int, name: bytes, follow_last_symlink: bool = True) -> None:
        self._ctx = ctx
        self._target = target
        self._name = name
        self._follow_last_symlink = follow_last_symlink

    async def run(self, txn: Transaction) -> bytes:
        """Raises: Fs3Error ENODATA (absent, or trusted.* for non-root), EACCES, ENOENT."""
        inode = await load_target(txn, self._ctx, self._target, self._follow_last_symlink)
        check_xattr_access(self._ctx.user, inode, self._name, MAY_READ)
        value = await load_xattr(txn, inode.inode_id, self._name)
        if value is None:
            raise fs_error(errno.ENODATA, f"no xattr {self._name!r} on inode {inode.inode_id}")
        return value
