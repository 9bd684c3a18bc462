"""Unix permission checks as Linux's generic_permission does them."""

from __future__ import annotations

import errno

from fs3.errors import fs_error
from fs3.meta.types import Inode, UserInfo

__all__ = ["MAY_READ", "MAY_WRITE", "MAY_EXEC", "STICKY_BIT", "SETGID_BIT", "has_access", "check_access", "check_sticky",
           "is_owner_or_root"]

MAY_EXEC = 1
MAY_WRITE = 2
MAY_READ = 4
STICKY_BIT = 0o1000
SETGID_BIT = 0o2000
_ANY_EXEC = 0o111


def has_access(user: UserInfo, inode: Inode, want: int) -> bool:
    """Whether `user` may read/write/execute (`want` is a MAY_* mask) `inode`.

    Root passes read and write always, and execute on directories or when
    any execute bit is set.
    """
    assert 0 < want <= 7
    if user.uid == 0:
        if not want & MAY_EXEC:
            return True
        return inode.is_directory or bool(inode.mode & _ANY_EXEC)
    if user.uid == inode.uid:
        bits = (inode.mode >> 6) & 7
    elif user.in_group(inode.gid):
        bits = (inode.mode >> 3) & 7
    else:
        bits = inode.mode & 7
    return bits & want == want


def check_access(user: UserInfo, inode: Inode, want: int, what: str = "") -> None:
    """Raises EACCES unless has_access."""
    if not has_access(user, inode, want):
        raise fs_error(errno.EACCES, f"uid {user.uid} lacks {_describe(want)} on inode {inode.inode_id} {what}".rstrip())


def is_owner_or_root(user: UserInfo, inode: Inode) -> bool:
    """Linux's inode_owner_or_capable."""
    return user.uid == 0 or user.uid == inode.uid


def check_sticky(user: UserInfo, directory: Inode, victim: Inode) -> None:
    """In a sticky directory only root, the directory's owner or the victim's owner may remove or rename it.

    Raises:
        Fs3Error: EPERM.
    """
    if not directory.mode & STICKY_BIT:
        return
    if user.uid == 0 or user.uid == directory.uid or user.uid == victim.uid:
        return
    raise fs_error(errno.EPERM, f"uid {user.uid} may not remove inode {victim.inode_id} from sticky directory")


def _describe(want: int) -> str:
    return "".join(letter for bit, letter in ((MAY_READ, "r"), (MAY_WRITE, "w"), (MAY_EXEC, "x")) if want & bit)
