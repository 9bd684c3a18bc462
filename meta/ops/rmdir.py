"""Rmdir: remove an empty directory."""

from __future__ import annotations

import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.ops._common import OpContext, check_may_delete
from fs3.meta.store.dir_entry import directory_is_empty, remove_dir_entry
from fs3.meta.store.inode import count_subdirectories, remove_inode, touch_directory
from fs3.meta.store.path_resolve import PathResolver
from fs3.meta.types import ROOT_INODE_ID, PathAt

__all__ = ["RmdirOp"]

# Linux: rmdir("/") EBUSY, rmdir(".") EINVAL, rmdir("..") ENOTEMPTY.
_DOT_NAME_ERRORS = {b"": errno.EBUSY, b".": errno.EINVAL, b"..": errno.ENOTEMPTY}


class RmdirOp:
    def __init__(self, ctx: OpContext, path_at: PathAt) -> None:
        self._ctx = ctx
        self._path_at = path_at

    async def run(self, txn: Transaction) -> None:
        """Raises: Fs3Error ENOENT, ENOTDIR, ENOTEMPTY, EBUSY, EINVAL, EACCES, EPERM."""
        resolver = PathResolver(txn, self._ctx.user, self._ctx.config)
        located = await resolver.resolve_parent(self._path_at)
        if not located.is_plain_name:
            raise fs_error(_DOT_NAME_ERRORS[located.name], f"cannot rmdir {self._path_at.path!r}")
        parent = located.parent
        victim = await resolver.lookup_component(parent, located.name)
        if victim is None:
            raise fs_error(errno.ENOENT, f"no entry {located.name!r} in directory {parent.inode_id}")
        check_may_delete(self._ctx.user, parent, victim)
        if not victim.is_directory:
            raise fs_error(errno.ENOTDIR, f"{located.name!r} is not a directory")
        assert victim.inode_id != ROOT_INODE_ID, "the root has no dir entry"
        if not await directory_is_empty(txn, victim.inode_id):
            raise fs_error(errno.ENOTEMPTY, f"directory {located.name!r} is not empty")
        remove_dir_entry(txn, parent.inode_id, located.name)
        remove_inode(txn, victim)
        count_subdirectories(txn, parent.inode_id, -1)
        touch_directory(txn, parent, self._ctx.now_ns)
