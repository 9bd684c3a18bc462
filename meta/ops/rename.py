"""Rename: move a name atomically, within or across directories.

Linux semantics: replacing a non-directory, or an empty directory by a
directory; EISDIR/ENOTDIR on type mismatch; ENOTEMPTY for a non-empty
target directory; EINVAL when a directory would move into its own subtree
(found by walking ancestors of the destination parent); ENOTEMPTY when the
target is an ancestor of the source; RENAME_NOREPLACE (EEXIST) and
RENAME_EXCHANGE (swap); a rename onto the same inode does nothing.
"""

from __future__ import annotations

import dataclasses
import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.flags import RENAME_EXCHANGE, RENAME_FLAGS_KNOWN, RENAME_NOREPLACE
from fs3.meta.ops._common import OpContext, check_may_create, check_may_delete, drop_link, is_ancestor
from fs3.meta.store.dir_entry import directory_is_empty, remove_dir_entry, store_dir_entry
from fs3.meta.store.inode import count_subdirectories, remove_inode, store_inode, touch_directory
from fs3.meta.store.path_resolve import ParentAndName, PathResolver
from fs3.meta.store.permission import MAY_WRITE, check_access
from fs3.meta.types import DirEntry, Inode, PathAt

__all__ = ["RenameOp"]


@dataclasses.dataclass(frozen=True, slots=True)
class _Side:
    located: ParentAndName
    inode: Inode | None

    @property
    def parent(self) -> Inode:
        return self.located.parent

    @property
    def name(self) -> bytes:
        return self.located.name


class RenameOp:
    def __init__(self, ctx: OpContext, src: PathAt, dst: PathAt, flags: int) -> None:
        self._ctx = ctx
        self._src = src
        self._dst = dst
        self._flags = flags

    async def run(self, txn: Transaction) -> Inode:
        """Returns the moved inode (for an exchange: the one now at `dst`).

        Raises:
            Fs3Error: EINVAL (flags, own subtree), EBUSY ('.', '..', '/'), ENOENT,
                EEXIST (NOREPLACE), ENOTDIR, EISDIR, ENOTEMPTY, EACCES, EPERM.
        """
        if self._flags & ~RENAME_FLAGS_KNOWN:
            raise fs_error(errno.EINVAL, f"unknown rename flags {self._flags:#x}")
        exchange = bool(self._flags & RENAME_EXCHANGE)
        noreplace = bool(self._flags & RENAME_NOREPLACE)
        if exchange and noreplace:
            raise fs_error(errno.EINVAL, "RENAME_EXCHANGE with RENAME_NOREPLACE")
        src, dst = await self._lookup_sides(txn, noreplace, exchange)
        assert src.inode is not None
        await self._check_loops(txn, src, dst, exchange)
        if dst.inode is not None and dst.inode.inode_id == src.inode.inode_id:
            return src.inode
        await self._check_permissions_and_types(txn, src, dst, exchange)
        if exchange:
            return self._exchange(txn, src, dst)
        return await self._move(txn, src, dst)

    async def _lookup_sides(self, txn: Transaction, noreplace: bool, exchange: bool) -> tuple[_Side, _Side]:
        user, config = self._ctx.user, self._ctx.config
        src_resolver = PathResolver(txn, user, config)
        dst_resolver = PathResolver(txn, user, config)
        src_located = await src_resolver.resolve_parent(self._src)
        dst_located = await dst_resolver.resolve_parent(self._dst)
        if not src_located.is_plain_name:
            raise fs_error(errno.EBUSY, f"cannot rename {self._src.path!r}")
        if not dst_located.is_plain_name:
            raise fs_error(errno.EEXIST if noreplace else errno.EBUSY, f"cannot rename onto {self._dst.path!r}")
        src_inode = await src_resolver.lookup_component(src_located.parent, src_located.name)
        if src_inode is None:
            raise fs_error(errno.ENOENT, f"no entry {src_located.name!r} in directory {src_located.parent.inode_id}")
        dst_inode = await dst_resolver.lookup_component(dst_located.parent, dst_located.name)
        if noreplace and dst_inode is not None:
            raise fs_error(errno.EEXIST, f"{dst_located.name!r} exists (RENAME_NOREPLACE)")
        if exchange and dst_inode is None:
            raise fs_error(errno.ENOENT, f"no entry {dst_located.name!r} to exchange with")
        if src_located.trailing_slash and not src_inode.is_directory:
            raise fs_error(errno.ENOTDIR, f"{self._src.path!r} is not a directory")
        if dst_located.trailing_slash:
            dst_is_directory = dst_inode.is_directory if dst_inode is not None else src_inode.is_directory
            if not dst_is_directory:
                raise fs_error(errno.ENOTDIR, f"{self._dst.path!r} is not a directory")
        return _Side(src_located, src_inode), _Side(dst_located, dst_inode)

    async def _check_loops(self, txn: Transaction, src: _Side, dst: _Side, exchange: bool) -> None:
        """A directory may not move into its own subtree; a target may not be an ancestor of the source."""
        if src.parent.inode_id == dst.parent.inode_id:
            return
        config = self._ctx.config
        assert src.inode is not None
        if src.inode.is_directory and await is_ancestor(txn, src.inode.inode_id, dst.parent, config):
            raise fs_error(errno.EINVAL, f"cannot move directory {src.inode.inode_id} into its own subtree")
        if dst.inode is not None and dst.inode.is_directory:
            if await is_ancestor(txn, dst.inode.inode_id, src.parent, config):
                code = errno.EINVAL if exchange else errno.ENOTEMPTY
                raise fs_error(code, f"target directory {dst.inode.inode_id} is an ancestor of the source")

    async def _check_permissions_and_types(self, txn: Transaction, src: _Side, dst: _Side, exchange: bool) -> None:
        user = self._ctx.user
        assert src.inode is not None
        check_may_delete(user, src.parent, src.inode)
        if dst.inode is None:
            check_may_create(user, dst.parent)
        else:
            check_may_delete(user, dst.parent, dst.inode)
            if not exchange and src.inode.is_directory and not dst.inode.is_directory:
                raise fs_error(errno.ENOTDIR, f"{dst.name!r} is not a directory")
            if not exchange and not src.inode.is_directory and dst.inode.is_directory:
                raise fs_error(errno.EISDIR, f"{dst.name!r} is a directory")
        if src.parent.inode_id != dst.parent.inode_id:
            # Moving a directory rewrites its '..': Linux wants write permission on it.
            if src.inode.is_directory:
                check_access(user, src.inode, MAY_WRITE, "(move directory)")
            if exchange and dst.inode is not None and dst.inode.is_directory:
                check_access(user, dst.inode, MAY_WRITE, "(move directory)")
        if not exchange and dst.inode is not None and dst.inode.is_directory:
            if not await directory_is_empty(txn, dst.inode.inode_id):
                raise fs_error(errno.ENOTEMPTY, f"target directory {dst.name!r} is not empty")

    async def _move(self, txn: Transaction, src: _Side, dst: _Side) -> Inode:
        now_ns = self._ctx.now_ns
        assert src.inode is not None
        if dst.inode is not None:
            if dst.inode.is_directory:
                remove_inode(txn, dst.inode)
                count_subdirectories(txn, dst.parent.inode_id, -1)
            else:
                await drop_link(txn, dst.inode, now_ns)
        remove_dir_entry(txn, src.parent.inode_id, src.name)
        moved = self._relocated(src.inode, dst.parent)
        store_inode(txn, moved)
        store_dir_entry(txn, dst.parent.inode_id, DirEntry(dst.name, moved.inode_id, moved.inode_type))
        if moved.is_directory:
            count_subdirectories(txn, src.parent.inode_id, -1)
            count_subdirectories(txn, dst.parent.inode_id, +1)
        self._touch_parents(txn, src, dst)
        return moved

    def _exchange(self, txn: Transaction, src: _Side, dst: _Side) -> Inode:
        assert src.inode is not None
        assert dst.inode is not None
        to_dst = self._relocated(src.inode, dst.parent)
        to_src = self._relocated(dst.inode, src.parent)
        store_inode(txn, to_dst)
        store_inode(txn, to_src)
        store_dir_entry(txn, dst.parent.inode_id, DirEntry(dst.name, to_dst.inode_id, to_dst.inode_type))
        store_dir_entry(txn, src.parent.inode_id, DirEntry(src.name, to_src.inode_id, to_src.inode_type))
        if to_dst.is_directory != to_src.is_directory:
            # a directory changes parent one way and a non-directory the other
            moved_dir_from, moved_dir_to = (src, dst) if to_dst.is_directory else (dst, src)
            count_subdirectories(txn, moved_dir_from.parent.inode_id, -1)
            count_subdirectories(txn, moved_dir_to.parent.inode_id, +1)
        self._touch_parents(txn, src, dst)
        return to_dst

    def _relocated(self, inode: Inode, new_parent: Inode) -> Inode:
        parent_id = new_parent.inode_id if inode.is_directory else inode.parent
        return dataclasses.replace(inode, parent=parent_id, ctime_ns=self._ctx.now_ns)

    def _touch_parents(self, txn: Transaction, src: _Side, dst: _Side) -> None:
        touch_directory(txn, src.parent, self._ctx.now_ns)
        if dst.parent.inode_id != src.parent.inode_id:
            touch_directory(txn, dst.parent, self._ctx.now_ns)
