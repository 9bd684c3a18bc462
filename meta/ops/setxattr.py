"""Setxattr: create or replace one extended attribute (XATTR_CREATE / XATTR_REPLACE)."""

from __future__ import annotations

import dataclasses
import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.flags import XATTR_CREATE, XATTR_REPLACE
from fs3.meta.ops._common import OpContext, load_target
from fs3.meta.store.inode import store_inode
from fs3.meta.store.permission import MAY_WRITE
from fs3.meta.store.xattr import check_xattr_access, list_xattr_names, load_xattr, store_xattr
from fs3.meta.types import Inode, PathAt

__all__ = ["SetxattrOp"]


class SetxattrOp:
    """Args: flags: 0, XATTR_CREATE or XATTR_REPLACE (checked by the operator)."""

    def __init__(self, ctx: OpContext, target: PathAt | int, name: bytes, value: bytes, flags: int,
                 follow_last_symlink: bool = True) -> None:
        self._ctx = ctx
        self._target = target
        self._name = name
        self._value = value
        self._flags = flags
        self._follow_last_symlink = follow_last_symlink

    async def run(self, txn: Transaction) -> Inode:
        """Returns the inode with its new ctime.

        Raises: Fs3Error EEXIST (XATTR_CREATE), ENODATA (XATTR_REPLACE), EPERM,
            EACCES, ENOSPC (more than xattr_list_max attributes), ENOENT.
        """
        inode = await load_target(txn, self._ctx, self._target, self._follow_last_symlink)
        check_xattr_access(self._ctx.user, inode, self._name, MAY_WRITE)
        existing = await load_xattr(txn, inode.inode_id, self._name)
        if existing is not None and self._flags & XATTR_CREATE:
            raise fs_error(errno.EEXIST, f"xattr {self._name!r} exists on inode {inode.inode_id}")
        if existing is None:
            if self._flags & XATTR_REPLACE:
                raise fs_error(errno.ENODATA, f"no xattr {self._name!r} on inode {inode.inode_id}")
            bound = self._ctx.config.xattr_list_max
            if len(await list_xattr_names(txn, inode.inode_id, limit=bound)) >= bound:
                raise fs_error(errno.ENOSPC, f"inode {inode.inode_id} has {bound} xattrs already")
        store_xattr(txn, inode.inode_id, self._name, self._value)
        updated = dataclasses.replace(inode, ctime_ns=self._ctx.now_ns)
        store_inode(txn, updated)
        return updated
