"""Symlink: create a symbolic link holding `target`."""

from __future__ import annotations

import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.ops._common import OpContext, check_may_create, new_inode
from fs3.meta.store.dir_entry import store_dir_entry
from fs3.meta.store.inode import store_inode, touch_directory
from fs3.meta.store.path_resolve import PathResolver
from fs3.meta.types import DirEntry, Inode, InodeType, PathAt

__all__ = ["SymlinkOp"]


class SymlinkOp:
    """Args: target: the link's content (checked by the operator: non-empty, no NUL, <= PATH_MAX)."""

    def __init__(self, ctx: OpContext, path_at: PathAt, target: bytes) -> None:
        self._ctx = ctx
        self._path_at = path_at
        self._target = target

    async def run(self, txn: Transaction) -> Inode:
        """Raises: Fs3Error EEXIST, ENOENT, ENOTDIR, EACCES."""
        resolver = PathResolver(txn, self._ctx.user, self._ctx.config)
        located = await resolver.resolve_parent(self._path_at)
        if not located.is_plain_name:
            raise fs_error(errno.EEXIST, f"{located.name!r} exists")
        parent = located.parent
        if await resolver.lookup_component(parent, located.name) is not None:
            raise fs_error(errno.EEXIST, f"{located.name!r} exists in directory {parent.inode_id}")
        if located.trailing_slash:
            raise fs_error(errno.ENOENT, f"a symlink cannot be named {self._path_at.path!r}")
        check_may_create(self._ctx.user, parent)
        inode_id = await self._ctx.allocate_inode_id()
        inode = new_inode(self._ctx, inode_id, InodeType.SYMLINK, parent, 0o777, symlink_target=self._target)
        store_inode(txn, inode)
        store_dir_entry(txn, parent.inode_id, DirEntry(located.name, inode_id, InodeType.SYMLINK))
        touch_directory(txn, parent, self._ctx.now_ns)
        return inode
