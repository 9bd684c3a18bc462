"""Mknod: a regular file (without a write session), a FIFO, a device or a socket node.

FIFOs, devices and sockets are names with attributes only: fs3 stores no
data for them (a device's number is kept in `rdev`; the FUSE mount is
nodev, so the kernel never opens one as a device, and a socket or FIFO
lives in the kernel of whoever opens it). A directory type is EPERM as on
Linux (use mkdir).
"""

from __future__ import annotations

import dataclasses
import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.flags import S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFMT, S_IFREG, S_IFSOCK
from fs3.meta.ops._common import OpContext, check_may_create, new_inode
from fs3.meta.store.dir_entry import store_dir_entry
from fs3.meta.store.inode import store_inode, touch_directory
from fs3.meta.store.path_resolve import PathResolver
from fs3.meta.types import DirEntry, Inode, InodeType, PathAt

__all__ = ["MknodOp", "inode_type_of_mode"]

_SPECIAL_TYPES = {S_IFIFO: InodeType.FIFO, S_IFCHR: InodeType.CHAR_DEVICE, S_IFBLK: InodeType.BLOCK_DEVICE,
                  S_IFSOCK: InodeType.SOCKET}


def inode_type_of_mode(mode: int) -> InodeType:
    """The inode type a mknod mode's S_IFMT bits ask for (0 means a regular file)."""
    file_type = mode & S_IFMT
    if file_type in (0, S_IFREG):
        return InodeType.FILE
    if file_type in _SPECIAL_TYPES:
        return _SPECIAL_TYPES[file_type]
    if file_type == S_IFDIR:
        raise fs_error(errno.EPERM, "mknod cannot make a directory")
    raise fs_error(errno.EINVAL, f"unknown file type {file_type:#o}")


class MknodOp:
    """Args: mode: S_IFMT type bits | permission bits (umask applied by the caller)."""

    def __init__(self, ctx: OpContext, path_at: PathAt, mode: int, rdev: int) -> None:
        self._ctx = ctx
        self._path_at = path_at
        self._mode = mode
        self._rdev = rdev

    async def run(self, txn: Transaction) -> Inode:
        """Raises: Fs3Error EEXIST, ENOENT, ENOTDIR, EACCES, EPERM, EINVAL."""
        inode_type = inode_type_of_mode(self._mode)
        resolver = PathResolver(txn, self._ctx.user, self._ctx.config)
        located = await resolver.resolve_parent(self._path_at)
        if not located.is_plain_name:
            raise fs_error(errno.EEXIST, f"{located.name!r} exists")
        parent = located.parent
        if await resolver.lookup_component(parent, located.name) is not None:
            raise fs_error(errno.EEXIST, f"{located.name!r} exists in directory {parent.inode_id}")
        if located.trailing_slash:
            raise fs_error(errno.ENOENT, f"mknod of {self._path_at.path!r} with a trailing '/'")
        check_may_create(self._ctx.user, parent)
        if inode_type in (InodeType.CHAR_DEVICE, InodeType.BLOCK_DEVICE) and self._ctx.user.uid != 0:
            # Linux's vfs_mknod: devices need CAP_MKNOD (here: root), checked after may_create
            raise fs_error(errno.EPERM, f"uid {self._ctx.user.uid} may not make device nodes")
        inode_id = await self._ctx.allocate_inode_id()
        inode = new_inode(self._ctx, inode_id, inode_type, parent, self._mode & 0o7777)
        if self._rdev and inode_type in (InodeType.CHAR_DEVICE, InodeType.BLOCK_DEVICE):
            inode = dataclasses.replace(inode, rdev=self._rdev)
        store_inode(txn, inode)
        store_dir_entry(txn, parent.inode_id, DirEntry(located.name, inode_id, inode_type))
        touch_directory(txn, parent, self._ctx.now_ns)
        return inode
