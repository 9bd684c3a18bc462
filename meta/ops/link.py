"""Link: a new name for an existing non-directory (hard link)."""

from __future__ import annotations

import dataclasses
import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.ops._common import OpContext, check_may_create
from fs3.meta.store.dir_entry import store_dir_entry
from fs3.meta.store.inode import store_inode, touch_directory
from fs3.meta.store.path_resolve import PathResolver
from fs3.meta.types import DirEntry, Inode, PathAt

__all__ = ["LinkOp"]

_NLINK_MAX = (1 << 32) - 1


class LinkOp:
    """Args: old_path: the existing inode (its last symlink is not followed, like linkat)."""

    def __init__(self, ctx: OpContext, old_path: PathAt, new_path: PathAt) -> None:
        self._ctx = ctx
        self._old_path = old_path
        self._new_path = new_path

    async def run(self, txn: Transaction) -> Inode:
        """Returns the linked inode with its raised link count.

        Raises:
            Fs3Error: ENOENT, EEXIST, EACCES, EPERM (directory), EMLINK.
        """
        old_resolver = PathResolver(txn, self._ctx.user, self._ctx.config)
        inode = await old_resolver.resolve(self._old_path, follow_last_symlink=False)
        new_resolver = PathResolver(txn, self._ctx.user, self._ctx.config)
        located = await new_resolver.resolve_parent(self._new_path)
        if not located.is_plain_name:
            raise fs_error(errno.EEXIST, f"{located.name!r} exists")
        parent = located.parent
        if await new_resolver.lookup_component(parent, located.name) is not None:
            raise fs_error(errno.EEXIST, f"{located.name!r} exists in directory {parent.inode_id}")
        if located.trailing_slash:
            raise fs_error(errno.ENOENT, f"a link cannot be named {self._new_path.path!r}")
        check_may_create(self._ctx.user, parent)
        if inode.is_directory:
            raise fs_error(errno.EPERM, f"inode {inode.inode_id} is a directory")
        if inode.nlink >= _NLINK_MAX:
            raise fs_error(errno.EMLINK, f"inode {inode.inode_id} has too many links")
        linked = dataclasses.replace(inode, nlink=inode.nlink + 1, ctime_ns=self._ctx.now_ns)
        store_inode(txn, linked)
        store_dir_entry(txn, parent.inode_id, DirEntry(located.name, inode.inode_id, inode.inode_type))
        touch_directory(txn, parent, self._ctx.now_ns)
        return linked
