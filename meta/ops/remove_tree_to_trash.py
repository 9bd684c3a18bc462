"""Remove a tree to the trash: rename it to `/trash/<uid>/<name>-<YYYYmmdd_HHMMSS>`
(creating the trash directories as needed) and record its expiry.

The tree stays whole and visible in the trash; an ordinary rename restores
it before it expires; the trash cleaner deletes it afterwards.
"""

from __future__ import annotations

import dataclasses
import errno
import time

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.ops._common import OpContext, check_may_delete, is_ancestor, new_inode
from fs3.meta.store.dir_entry import load_dir_entry, remove_dir_entry, store_dir_entry
from fs3.meta.store.inode import count_subdirectories, load_inode, load_inode_or_raise, store_inode, touch_directory
from fs3.meta.store.path_resolve import PathResolver
from fs3.meta.store.permission import MAY_WRITE, check_access
from fs3.meta.store.trash import TrashRecord, store_trash_record
from fs3.meta.types import ROOT_INODE_ID, DirEntry, Inode, InodeType, PathAt, TrashResult, UserInfo

__all__ = ["RemoveTreeToTrashOp", "TRASH_DIR_NAME"]

TRASH_DIR_NAME = b"trash"
_TRASH_ROOT_MODE = 0o755
_USER_TRASH_MODE = 0o700
_SUFFIX_ROOM = 32  # "-YYYYmmdd_HHMMSS" and a ".N" for collisions


class RemoveTreeToTrashOp:
    def __init__(self, ctx: OpContext, path_at: PathAt, expire_at_ns: int) -> None:
        self._ctx = ctx
        self._path_at = path_at
        self._expire_at_ns = expire_at_ns

    async def run(self, txn: Transaction) -> TrashResult:
        """Raises: Fs3Error ENOENT, EBUSY ('/', '.', '..'), ENOTDIR (trailing '/' on a
        non-directory, or a non-directory in the way of /trash), EACCES, EPERM,
        EINVAL (the tree holds the user's trash directory)."""
        user, config = self._ctx.user, self._ctx.config
        resolver = PathResolver(txn, user, config)
        located = await resolver.resolve_parent(self._path_at)
        if not located.is_plain_name:
            raise fs_error(errno.EBUSY, f"cannot remove {self._path_at.path!r} to the trash")
        parent = located.parent
        victim = await resolver.lookup_component(parent, located.name)
        if victim is None:
            raise fs_error(errno.ENOENT, f"no entry {located.name!r} in directory {parent.inode_id}")
        if located.trailing_slash and not victim.is_directory:
            raise fs_error(errno.ENOTDIR, f"{self._path_at.path!r} is not a directory")
        check_may_delete(user, parent, victim)
        root = await load_inode_or_raise(txn, ROOT_INODE_ID)
        trash_root = await self._ensure_directory(txn, root, TRASH_DIR_NAME, UserInfo(uid=0, gid=0),
                                                  _TRASH_ROOT_MODE)
        user_trash = await self._ensure_directory(txn, trash_root, str(user.uid).encode(), user, _USER_TRASH_MODE)
        if victim.is_directory:
            if await is_ancestor(txn, victim.inode_id, user_trash, config):
                raise fs_error(errno.EINVAL, f"{self._path_at.path!r} holds the trash itself")
            if parent.inode_id != user_trash.inode_id:
                check_access(user, victim, MAY_WRITE, "(move directory)")  # its '..' changes, as for rename
        name = await self._free_name(txn, user_trash.inode_id, located.name)
        now_ns = self._ctx.now_ns
        moved = dataclasses.replace(victim, ctime_ns=now_ns,
                                    parent=user_trash.inode_id if victim.is_directory else victim.parent)
        remove_dir_entry(txn, parent.inode_id, located.name)
        store_inode(txn, moved)
        store_dir_entry(txn, user_trash.inode_id, DirEntry(name, moved.inode_id, moved.inode_type))
        if moved.is_directory:
            count_subdirectories(txn, parent.inode_id, -1)
            count_subdirectories(txn, user_trash.inode_id, +1)
        touch_directory(txn, parent, now_ns)
        touch_directory(txn, user_trash, now_ns)
        store_trash_record(txn, TrashRecord(self._expire_at_ns, moved.inode_id, user_trash.inode_id, name))
        path = b"/" + TRASH_DIR_NAME + b"/" + str(user.uid).encode() + b"/" + name
        return TrashResult(inode=moved, trash_path=path, expire_at_ns=self._expire_at_ns)

    async def _ensure_directory(self, txn: Transaction, parent: Inode, name: bytes, owner: UserInfo,
                                mode: int) -> Inode:
        """`parent/name`, made (owned by `owner`) if missing. No permission
        check: the trash directories are the service's to create."""
        entry = await load_dir_entry(txn, parent.inode_id, name)
        if entry is not None:
            existing = await load_inode(txn, entry.inode_id)
            if existing is None or not existing.is_directory:
                raise fs_error(errno.ENOTDIR, f"{name!r} in directory {parent.inode_id} is not a directory")
            return existing
        inode_id = await self._ctx.allocate_inode_id()
        owner_ctx = dataclasses.replace(self._ctx, user=owner)
        directory = new_inode(owner_ctx, inode_id, InodeType.DIRECTORY, parent, mode)
        directory = dataclasses.replace(directory, uid=owner.uid, gid=owner.gid, mode=mode)
        store_inode(txn, directory)
        store_dir_entry(txn, parent.inode_id, DirEntry(name, inode_id, InodeType.DIRECTORY))
        count_subdirectories(txn, parent.inode_id, +1)
        touch_directory(txn, parent, self._ctx.now_ns)
        return directory

    async def _free_name(self, txn: Transaction, trash_dir_id: int, name: bytes) -> bytes:
        stamp = time.strftime("%Y%m%d_%H%M%S", time.gmtime(self._ctx.now_ns // 1_000_000_000)).encode()
        base = name[: max(1, self._ctx.config.name_bytes_max - _SUFFIX_ROOM)] + b"-" + stamp
        candidate = base
        for counter in range(1, 1 << 20):
            if await load_dir_entry(txn, trash_dir_id, candidate) is None:
                return candidate
            candidate = base + b"." + str(counter).encode()
        raise fs_error(errno.EEXIST, f"no free trash name for {name!r}")
