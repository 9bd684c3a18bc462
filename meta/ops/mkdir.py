"""Mkdir: create a directory, or with `recursive` every missing one on the path (mkdir -p)."""

from __future__ import annotations

import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.ops._common import OpContext, check_may_create, new_inode
from fs3.meta.store.dir_entry import store_dir_entry
from fs3.meta.store.inode import add_directory_times_and_nlink, count_subdirectories, store_inode, touch_directory
from fs3.meta.store.names import check_path, split_path
from fs3.meta.store.path_resolve import ParentAndName, PathResolver
from fs3.meta.types import DirEntry, Inode, InodeType, PathAt

__all__ = ["MkdirOp"]


class MkdirOp:
    """Args: mode: permission bits (umask already applied by the caller)."""

    def __init__(self, ctx: OpContext, path_at: PathAt, mode: int, recursive: bool) -> None:
        self._ctx = ctx
        self._path_at = path_at
        self._mode = mode
        self._recursive = recursive

    async def run(self, txn: Transaction) -> Inode:
        """Returns the new directory (recursive: the last one, new or existing).

        Raises:
            Fs3Error: EEXIST (also for '.', '..', '/'), ENOENT, ENOTDIR, EACCES.
        """
        resolver = PathResolver(txn, self._ctx.user, self._ctx.config)
        if self._recursive:
            return await self._make_all(txn, resolver)
        located = await resolver.resolve_parent(self._path_at)
        if not located.is_plain_name:
            raise fs_error(errno.EEXIST, f"{located.name!r} exists")
        if await resolver.lookup_component(located.parent, located.name) is not None:
            raise fs_error(errno.EEXIST, f"{located.name!r} exists in directory {located.parent.inode_id}")
        return await self._make_one(txn, located.parent, located.name)

    async def _make_all(self, txn: Transaction, resolver: PathResolver) -> Inode:
        check_path(self._path_at.path, self._ctx.config)
        current = await resolver.start_directory(self._path_at)
        components = split_path(self._path_at.path)
        if not components:
            return await add_directory_times_and_nlink(txn, current)  # start_directory skips the times
        for index, name in enumerate(components):
            is_last = index == len(components) - 1
            existing = await resolver.lookup_component(current, name)
            if existing is None:
                current = await self._make_one(txn, current, name)
                continue
            if existing.is_symlink:
                located = ParentAndName(parent=current, name=name, trailing_slash=False)
                existing = await resolver.resolve_last(located, follow_last_symlink=True)
            if not existing.is_directory:
                code = errno.EEXIST if is_last else errno.ENOTDIR
                raise fs_error(code, f"{name!r} exists and is not a directory")
            current = existing
        return current

    async def _make_one(self, txn: Transaction, parent: Inode, name: bytes) -> Inode:
        check_may_create(self._ctx.user, parent)
        inode_id = await self._ctx.allocate_inode_id()
        directory = new_inode(self._ctx, inode_id, InodeType.DIRECTORY, parent, self._mode)
        store_inode(txn, directory)
        store_dir_entry(txn, parent.inode_id, DirEntry(name, inode_id, InodeType.DIRECTORY))
        count_subdirectories(txn, parent.inode_id, +1)
        touch_directory(txn, parent, self._ctx.now_ns)
        return directory
