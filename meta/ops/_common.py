"""What several operations share: their context, creation of new inodes,
dropping a link, and the may-create / may-delete checks of Linux."""

from __future__ import annotations

import dataclasses
import errno
from typing import Awaitable, Callable

from fs3.errors import Fs3Error, StatusCode, fs_error
from fs3.kv.interface import Transaction
from fs3.meta.config import MetaConfig
from fs3.meta.flags import O_ACCMODE, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY
from fs3.meta.store.gc_queue import enqueue_removed_file
from fs3.meta.store.inode import load_inode, load_inode_or_raise, remove_inode, store_inode
from fs3.meta.store.path_resolve import PathResolver
from fs3.meta.store.permission import (
    MAY_EXEC, MAY_READ, MAY_WRITE, SETGID_BIT, check_access, check_sticky, is_owner_or_root,
)
from fs3.meta.store.session import WriteSession, list_sessions, store_session
from fs3.meta.types import ROOT_INODE_ID, Inode, InodeType, Layout, OpenResult, PathAt, StoredLength, UserInfo

__all__ = [
    "OpContext",
    "check_may_create",
    "check_may_delete",
    "new_inode",
    "drop_link",
    "is_ancestor",
    "open_existing",
    "load_target",
    "is_owner_or_root",
    "stored_length_if_current",
]

PERMISSION_BITS = 0o7777


@dataclasses.dataclass(frozen=True, slots=True)
class OpContext:
    """What every op gets besides its request.

    Attributes:
        user: whose permissions apply.
        config: limits.
        now_ns: the op's time, read once from the operator's clock.
        allocate_inode_id: hands out fresh inode ids (its own transactions).
    """

    user: UserInfo
    config: MetaConfig
    now_ns: int
    allocate_inode_id: Callable[[], Awaitable[int]]


def check_may_create(user: UserInfo, parent: Inode) -> None:
    """Write and search permission on the directory gaining an entry (EACCES)."""
    check_access(user, parent, MAY_WRITE | MAY_EXEC, "(create in directory)")


def check_may_delete(user: UserInfo, parent: Inode, victim: Inode) -> None:
    """Write+search on the parent (EACCES), then the sticky-bit rule (EPERM)."""
    check_access(user, parent, MAY_WRITE | MAY_EXEC, "(remove from directory)")
    check_sticky(user, parent, victim)


def _mix64(value: int) -> int:
    """splitmix64's finaliser: spreads consecutive inode ids over the chains."""
    value = (value + 0x9E3779B97F4A7C15) & 0xFFFF_FFFF_FFFF_FFFF
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFF_FFFF_FFFF_FFFF
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & 0xFFFF_FFFF_FFFF_FFFF
    return value ^ (value >> 31)


def file_layout(parent_layout: Layout | None, inode_id: int, config: MetaConfig) -> Layout:
    """A new file's layout: its directory's, starting on a chain picked from its id."""
    base = parent_layout or config.default_layout
    mixed = _mix64(inode_id)
    modulus = config.chain_table_chains or (1 << 32)
    return dataclasses.replace(base, first_chain_index=mixed % modulus, shuffle_seed=mixed)


def new_inode(
    ctx: OpContext, inode_id: int, inode_type: InodeType, parent: Inode, mode: int, *, symlink_target: bytes = b""
) -> Inode:
    """A fresh inode created by ctx.user in directory `parent` (not stored yet).

    The group comes from the parent if it has the setgid bit (and new
    directories inherit that bit), else from the user, as on Linux.
    """
    assert parent.is_directory
    mode &= PERMISSION_BITS
    gid = ctx.user.gid
    if parent.mode & SETGID_BIT:
        gid = parent.gid
        if inode_type == InodeType.DIRECTORY:
            mode |= SETGID_BIT
    layout = None
    if inode_type == InodeType.DIRECTORY:
        layout = parent.layout
    elif inode_type == InodeType.FILE:
        layout = file_layout(parent.layout, inode_id, ctx.config)
    return Inode(
        inode_id=inode_id,
        inode_type=inode_type,
        mode=mode,
        uid=ctx.user.uid,
        gid=gid,
        nlink=2 if inode_type == InodeType.DIRECTORY else 1,  # a new directory: its entry and its '.'
        length=len(symlink_target),
        atime_ns=ctx.now_ns,
        mtime_ns=ctx.now_ns,
        ctime_ns=ctx.now_ns,
        layout=layout,
        symlink_target=symlink_target,
        parent=parent.inode_id if inode_type == InodeType.DIRECTORY else 0,
    )


def stored_length_if_current(stored: StoredLength | None, inode: Inode) -> int:
    """A storage-settled length, if the inode has not changed since it was observed (0 otherwise):
    a truncate in between would otherwise be undone."""
    if stored is None or stored.observed_ctime_ns != inode.ctime_ns:
        return 0
    return stored.length


async def drop_link(txn: Transaction, inode: Inode, now_ns: int) -> None:
    """Remove one link to a non-directory. At zero links its chunks are queued for GC and the
    inode is deleted, unless the file is open for writing: then it stays as an orphan (nlink
    0, reachable by inode id only, as an unlinked open file on Linux) until the GC, once the
    last write session is gone, deletes it with its chunks."""
    assert not inode.is_directory
    assert inode.nlink >= 1, f"inode {inode.inode_id} has no links to drop"
    if inode.nlink > 1:
        store_inode(txn, dataclasses.replace(inode, nlink=inode.nlink - 1, ctime_ns=now_ns))
        return
    if inode.inode_type != InodeType.FILE:
        remove_inode(txn, inode)
        return
    enqueue_removed_file(txn, inode, now_ns)
    # a conflicting read: a racing CLOSE of the last session makes one of us retry
    if await list_sessions(txn, inode.inode_id, limit=1):
        store_inode(txn, dataclasses.replace(inode, nlink=0, ctime_ns=now_ns))
    else:
        remove_inode(txn, inode)


async def is_ancestor(txn: Transaction, candidate_id: int, directory: Inode, config: MetaConfig) -> bool:
    """Whether `candidate_id` is `directory` or one of its ancestors.

    Walks `parent` fields up to the root with conflicting reads, so a
    concurrent rename that changes the chain makes our commit fail.
    """
    current = directory
    for _depth in range(config.ancestor_walk_max):
        if current.inode_id == candidate_id:
            return True
        if current.inode_id == ROOT_INODE_ID:
            return False
        parent = await load_inode(txn, current.parent)
        if parent is None:
            raise fs_error(errno.ENOENT, f"ancestor {current.parent} of {current.inode_id} is gone")
        current = parent
    raise Fs3Error(StatusCode.INTERNAL, f"directory tree deeper than {config.ancestor_walk_max}")


def open_existing(
    txn: Transaction, ctx: OpContext, inode: Inode, flags: int, client_id: int, session_id: int
) -> OpenResult:
    """Open semantics on an existing inode: EISDIR/EACCES checks, O_TRUNC, write session.

    Args:
        session_id: the id to record if opened for writing (non-zero).
    """
    access_mode = flags & O_ACCMODE
    if access_mode not in (O_RDONLY, O_WRONLY, O_RDWR):
        raise fs_error(errno.EINVAL, f"bad access mode in flags {flags:#o}")
    want = 0
    if access_mode in (O_RDONLY, O_RDWR):
        want |= MAY_READ
    if access_mode in (O_WRONLY, O_RDWR) or flags & O_TRUNC:
        want |= MAY_WRITE
    if inode.inode_type == InodeType.SYMLINK:
        raise fs_error(errno.ELOOP, f"inode {inode.inode_id} is a symlink")
    if inode.is_directory and want & MAY_WRITE:
        raise fs_error(errno.EISDIR, f"inode {inode.inode_id} is a directory")
    check_access(ctx.user, inode, want, "(open)")
    if flags & O_TRUNC and inode.inode_type == InodeType.FILE:
        inode = dataclasses.replace(inode, length=0, mtime_ns=ctx.now_ns, ctime_ns=ctx.now_ns)
        store_inode(txn, inode)
    if access_mode == O_RDONLY or inode.inode_type != InodeType.FILE:
        return OpenResult(inode=inode, session_id=0)
    assert session_id > 0
    store_session(txn, WriteSession(inode.inode_id, session_id, client_id, ctx.now_ns))
    return OpenResult(inode=inode, session_id=session_id)


async def load_target(txn: Transaction, ctx: OpContext, target: PathAt | int, follow_last_symlink: bool) -> Inode:
    """The inode an attribute op works on: by id (a handle: no path walk, as
    FUSE's setattr on an inode) or by path (search permission on the way)."""
    if isinstance(target, int):
        return await load_inode_or_raise(txn, target)
    resolver = PathResolver(txn, ctx.user, ctx.config)
    return await resolver.resolve(target, follow_last_symlink=follow_last_symlink)
