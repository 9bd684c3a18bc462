"""SetLength: truncate/extend a file, or (only_grow) report a written length."""

from __future__ import annotations

import dataclasses
import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.ops._common import OpContext, stored_length_if_current
from fs3.meta.store.inode import load_inode_or_raise, store_inode
from fs3.meta.store.permission import MAY_WRITE, check_access
from fs3.meta.types import Inode, InodeType, StoredLength

__all__ = ["SetLengthOp"]


class SetLengthOp:
    """Args:
        only_grow: a writer reporting its highest offset: never shrinks and
            needs no permission (the write session proves it); otherwise a
            truncate that needs write permission.
    """

    def __init__(self, ctx: OpContext, inode_id: int, length: int, only_grow: bool,
                 stored: StoredLength | None = None) -> None:
        self._stored = stored  # fsync: storage's length, applied if the inode is unchanged since
        self._ctx = ctx
        self._inode_id = inode_id
        self._length = length
        self._only_grow = only_grow

    async def run(self, txn: Transaction) -> Inode:
        """Raises: Fs3Error ENOENT, EISDIR, EINVAL (not a file), EACCES."""
        inode = await load_inode_or_raise(txn, self._inode_id)
        if inode.is_directory:
            raise fs_error(errno.EISDIR, f"inode {self._inode_id} is a directory")
        if inode.inode_type != InodeType.FILE:
            raise fs_error(errno.EINVAL, f"inode {self._inode_id} is not a regular file")
        length = self._length
        if self._only_grow:
            length = max(length, stored_length_if_current(self._stored, inode))
            if length <= inode.length:
                return inode
        else:
            check_access(self._ctx.user, inode, MAY_WRITE, "(truncate)")
        now_ns = self._ctx.now_ns
        updated = dataclasses.replace(inode, length=length, mtime_ns=now_ns, ctime_ns=now_ns)
        store_inode(txn, updated)
        return updated
