"""Unlink: remove a non-directory name; at zero links the inode goes and its chunks are queued for GC."""

from __future__ import annotations

import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.ops._common import OpContext, check_may_delete, drop_link
from fs3.meta.store.dir_entry import remove_dir_entry
from fs3.meta.store.inode import touch_directory
from fs3.meta.store.path_resolve import PathResolver
from fs3.meta.types import PathAt

__all__ = ["UnlinkOp"]


class UnlinkOp:
    def __init__(self, ctx: OpContext, path_at: PathAt) -> None:
        self._ctx = ctx
        self._path_at = path_at

    async def run(self, txn: Transaction) -> None:
        """Raises: Fs3Error ENOENT, EISDIR (directories, '.', '..', '/'),
        ENOTDIR (trailing '/' on a file), EACCES, EPERM (sticky directory)."""
        resolver = PathResolver(txn, self._ctx.user, self._ctx.config)
        located = await resolver.resolve_parent(self._path_at)
        if not located.is_plain_name:
            raise fs_error(errno.EISDIR, f"cannot unlink {located.name!r}")
        parent = located.parent
        victim = await resolver.lookup_component(parent, located.name)
        if victim is None:
            raise fs_error(errno.ENOENT, f"no entry {located.name!r} in directory {parent.inode_id}")
        if located.trailing_slash:
            code = errno.EISDIR if victim.is_directory else errno.ENOTDIR
            raise fs_error(code, f"unlink of {self._path_at.path!r} with a trailing '/'")
        check_may_delete(self._ctx.user, parent, victim)
        if victim.is_directory:
            raise fs_error(errno.EISDIR, f"{located.name!r} is a directory")
        remove_dir_entry(txn, parent.inode_id, located.name)
        await drop_link(txn, victim, self._ctx.now_ns)
        touch_directory(txn, parent, self._ctx.now_ns)
