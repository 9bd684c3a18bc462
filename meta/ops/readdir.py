"""Readdir: one page of a directory's entries in name order (no '.'/'..').

The directory is named by a path (search permission on the way, as
opendir) or by inode id (an open directory handle: read permission only;
a directory may be readable without being searchable).
"""

from __future__ import annotations

import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.ops._common import OpContext, load_target
from fs3.meta.store.dir_entry import list_dir_entries
from fs3.meta.store.inode import load_inode
from fs3.meta.store.permission import MAY_READ, check_access
from fs3.meta.types import PathAt, ReaddirResult

__all__ = ["ReaddirOp"]


class ReaddirOp:
    """Args:
        target: the directory: a path (its last symlink followed) or an inode id.
        after_name: cookie: list names after this one (b"" from the start).
        limit: page size; 0 means config.readdir_limit_default; capped at
            config.readdir_limit_max.
        with_inodes: also return each entry's inode.
    """

    def __init__(
        self, ctx: OpContext, target: PathAt | int, after_name: bytes, limit: int, with_inodes: bool
    ) -> None:
        self._ctx = ctx
        self._target = target
        self._after_name = after_name
        config = ctx.config
        self._limit = min(limit or config.readdir_limit_default, config.readdir_limit_max)
        self._with_inodes = with_inodes

    async def run(self, txn: Transaction) -> ReaddirResult:
        """Raises: Fs3Error ENOENT, ENOTDIR, EACCES (no read permission)."""
        directory = await load_target(txn, self._ctx, self._target, follow_last_symlink=True)
        if not directory.is_directory:
            raise fs_error(errno.ENOTDIR, f"inode {directory.inode_id} is not a directory")
        check_access(self._ctx.user, directory, MAY_READ, "(list)")
        entries = await list_dir_entries(
            txn, directory.inode_id, after_name=self._after_name, limit=self._limit + 1
        )
        more = len(entries) > self._limit
        entries = entries[: self._limit]
        inodes = []
        if self._with_inodes:
            for entry in entries:
                inode = await load_inode(txn, entry.inode_id, snapshot=True)
                assert inode is not None, f"dir entry {entry} points at a missing inode"
                inodes.append(inode)
        return ReaddirResult(entries=tuple(entries), inodes=tuple(inodes), more=more)
