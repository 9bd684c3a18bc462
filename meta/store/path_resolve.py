"""Path resolution: PathAt -> (directory, last name) or -> inode.

Walks component by component from the start directory (the root for an
absolute path, else `PathAt.parent`, 0 meaning the root), checking search
(x) permission on each directory it looks into, following symlinks in
intermediate components (and in the last one when asked), and counting
followed symlinks against `symlink_follow_max` (ELOOP). A regular file used
as a directory gives ENOTDIR.

Dir entries and inode keys are read with conflicts, so a transaction that
resolved a path fails to commit if a component was renamed or removed
meanwhile. One resolver serves one path: its symlink count is per instance.
"""

from __future__ import annotations

import dataclasses
import errno

from fs3.errors import Fs3Error, StatusCode, fs_error
from fs3.kv.interface import Transaction
from fs3.meta.config import MetaConfig
from fs3.meta.store.dir_entry import load_dir_entry
from fs3.meta.store.inode import add_directory_times_and_nlink, load_inode
from fs3.meta.store.names import check_path, split_path
from fs3.meta.store.permission import MAY_EXEC, check_access
from fs3.meta.types import ROOT_INODE_ID, DirEntry, Inode, PathAt, UserInfo

__all__ = ["ParentAndName", "PathResolver"]


@dataclasses.dataclass(frozen=True, slots=True)
class ParentAndName:
    """Where the last component of a path lives.

    Attributes:
        parent: the directory that holds (or would hold) the last component.
        name: the last component: a plain name, b"." or b"..", or b"" when
            the path names `parent` itself (the path "/").
        trailing_slash: the path ended with '/': the target must be a directory.
    """

    parent: Inode
    name: bytes
    trailing_slash: bool

    @property
    def is_plain_name(self) -> bool:
        return self.name not in (b"", b".", b"..")


class PathResolver:
    """Resolves paths inside one transaction on behalf of one user.

    Args:
        txn: the transaction every read goes through.
        user: whose permissions are checked.
        config: symlink and length limits.
    """

    def __init__(self, txn: Transaction, user: UserInfo, config: MetaConfig) -> None:
        self._txn = txn
        self._user = user
        self._config = config
        self._symlinks_followed = 0
        # Each step consumes one component; a symlink adds at most
        # path_bytes_max/2 + 1 of them, and at most symlink_follow_max happen.
        self._steps_max = (config.symlink_follow_max + 1) * (config.path_bytes_max // 2 + 2)

    async def resolve_parent(self, path_at: PathAt) -> ParentAndName:
        """The directory holding the last component of `path_at`, and that component.

        Raises:
            Fs3Error: ENOENT, ENOTDIR, EACCES, ELOOP, EINVAL, ENAMETOOLONG.
        """
        check_path(path_at.path, self._config)
        start = await self.start_directory(path_at)
        components = split_path(path_at.path)
        trailing_slash = path_at.path.endswith(b"/") and bool(components)
        parent, name = await self._walk(start, components)
        return ParentAndName(parent=parent, name=name, trailing_slash=trailing_slash)

    async def resolve(self, path_at: PathAt, *, follow_last_symlink: bool) -> Inode:
        """The inode `path_at` names.

        Raises:
            Fs3Error: ENOENT if it does not exist, plus resolve_parent's errors.
        """
        located = await self.resolve_parent(path_at)
        return await self.resolve_last(located, follow_last_symlink=follow_last_symlink)

    async def resolve_last(self, located: ParentAndName, *, follow_last_symlink: bool) -> Inode:
        """The inode the last component names (following symlinks if asked or if a '/' trails)."""
        parent, name = located.parent, located.name
        must_be_directory = located.trailing_slash
        follow = follow_last_symlink or located.trailing_slash
        for _hop in range(self._config.symlink_follow_max + 1):
            inode = await self.lookup_component(parent, name)
            if inode is None:
                raise fs_error(errno.ENOENT, f"no entry {name!r} in directory {parent.inode_id}")
            if inode.is_symlink and follow:
                target = self._follow(inode)
                start = await self._symlink_start(parent, target)
                parent, name = await self._walk(start, split_path(target))
                must_be_directory = must_be_directory or target.endswith(b"/")
                continue
            if must_be_directory and not inode.is_directory:
                raise fs_error(errno.ENOTDIR, f"inode {inode.inode_id} is not a directory")
            if name in (b"", b".") and inode.is_directory:
                # the walked directory itself, loaded without its times
                inode = await add_directory_times_and_nlink(self._txn, inode)
            return inode
        raise AssertionError("symlink hop count exceeds symlink_follow_max without ELOOP")

    async def lookup_component(self, directory: Inode, name: bytes, *, with_times: bool = True) -> Inode | None:
        """The inode `name` refers to in `directory` without following it, or None.

        Handles b"" (the directory itself), b"." and b"..". Needs search
        permission on `directory` for everything but b"".
        """
        if name == b"":
            return directory
        check_access(self._user, directory, MAY_EXEC, "(search)")
        if name == b".":
            return directory
        if name == b"..":
            return await self.parent_of(directory)
        entry = await self.lookup_entry(directory, name)
        if entry is None:
            return None
        return await load_inode(self._txn, entry.inode_id, with_times=with_times)

    async def lookup_entry(self, directory: Inode, name: bytes) -> DirEntry | None:
        """The dir entry `name` in `directory` (plain names only; no permission check)."""
        assert name not in (b"", b".", b".."), "dot names have no dir entry"
        assert directory.is_directory
        return await load_dir_entry(self._txn, directory.inode_id, name)

    async def parent_of(self, directory: Inode) -> Inode:
        """The parent directory ('..'); the root is its own parent."""
        assert directory.is_directory
        if directory.inode_id == ROOT_INODE_ID:
            return directory
        parent = await load_inode(self._txn, directory.parent)
        if parent is None:
            raise fs_error(errno.ENOENT, f"parent {directory.parent} of directory {directory.inode_id} is gone")
        return parent

    async def start_directory(self, path_at: PathAt) -> Inode:
        """The root for absolute paths, else the `parent` directory (0 = root)."""
        if path_at.path.startswith(b"/") or path_at.parent == 0:
            start_id = ROOT_INODE_ID
        else:
            start_id = path_at.parent
        start = await load_inode(self._txn, start_id, with_times=False)
        if start is None:
            raise fs_error(errno.ENOENT, f"no inode {start_id}")
        if not start.is_directory:
            raise fs_error(errno.ENOTDIR, f"inode {start_id} is not a directory")
        return start

    async def _walk(self, start: Inode, components: list[bytes]) -> tuple[Inode, bytes]:
        """Walk all components but the last; return (directory, last component)."""
        pending = list(reversed(components))
        current = start
        for _step in range(self._steps_max):
            if not pending:
                return current, b""
            name = pending.pop()
            if not pending:
                return current, name
            current = await self._step(current, name, pending)
        raise Fs3Error(StatusCode.INTERNAL, "path walk exceeded its step ceiling")

    async def _step(self, current: Inode, name: bytes, pending: list[bytes]) -> Inode:
        """One intermediate component: returns the next directory (pushes symlink targets)."""
        inode = await self.lookup_component(current, name, with_times=False)
        if inode is None:
            raise fs_error(errno.ENOENT, f"no entry {name!r} in directory {current.inode_id}")
        if inode.is_directory:
            return inode
        if inode.is_symlink:
            target = self._follow(inode)
            pending.extend(reversed(split_path(target)))
            return await self._symlink_start(current, target)
        raise fs_error(errno.ENOTDIR, f"{name!r} (inode {inode.inode_id}) is not a directory")

    def _follow(self, symlink: Inode) -> bytes:
        self._symlinks_followed += 1
        if self._symlinks_followed > self._config.symlink_follow_max:
            raise fs_error(errno.ELOOP, f"more than {self._config.symlink_follow_max} symlinks in one path")
        target = symlink.symlink_target
        assert target, "stored symlinks have a target"
        if any(len(component) > self._config.name_bytes_max for component in split_path(target)):
            # stored as given (Linux allows it); walking it is what fails
            raise fs_error(errno.ENAMETOOLONG, f"symlink {symlink.inode_id} holds a component longer than NAME_MAX")
        return target

    async def _symlink_start(self, directory: Inode, target: bytes) -> Inode:
        if not target.startswith(b"/"):
            return directory
        root = await load_inode(self._txn, ROOT_INODE_ID)
        assert root is not None, "namespace not formatted"
        return root
