"""Setattr: chmod, chown/chgrp, utimensat and truncate, with Linux's permission rules.

Checks run in the order of Linux's setattr_prepare: truncate needs write
permission (EACCES); only root changes the owner (the owner may "change"
it to itself); the owner may change the group to one of its groups; only
the owner or root chmods, and a chmod by a non-root user outside the
file's group drops the setgid bit; explicit times need the owner or root
(EPERM), setting both times to now needs the owner, root or write
permission (EACCES). Changing the owner or group of a non-directory drops
setuid (and setgid if group-executable), as does a truncate by non-root.
A mode change by a non-owner is allowed only when it just clears setuid
and/or setgid and the caller may write the file: Linux's
file_remove_privs on write/truncate, which a FUSE kernel sends as a chmod.
Any change sets ctime; a truncate also sets mtime.

A shrinking truncate returns a `ChunkTrim`: the chunks past the new end
that storage must drop (the service does it before replying).
"""

from __future__ import annotations

import dataclasses
import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.ops._common import OpContext, is_owner_or_root, load_target
from fs3.meta.store.inode import store_inode
from fs3.meta.store.permission import MAY_WRITE, SETGID_BIT, check_access, has_access
from fs3.meta.types import ChunkTrim, Inode, InodeType, PathAt, SetAttributes, SetattrResult

__all__ = ["SetattrOp", "SETUID_BIT"]

SETUID_BIT = 0o4000
_GROUP_EXEC = 0o010


def _drop_setid_bits(mode: int) -> int:
    """Linux's ATTR_KILL_SUID | ATTR_KILL_SGID: setgid only goes when group-executable
    (without group x it marks mandatory locking, not privilege)."""
    mode &= ~SETUID_BIT
    if mode & (SETGID_BIT | _GROUP_EXEC) == SETGID_BIT | _GROUP_EXEC:
        mode &= ~SETGID_BIT
    return mode


def _only_clears_setid_bits(mode: int, wanted_mode: int) -> bool:
    """`wanted_mode` is `mode` with setuid and/or setgid cleared, and nothing else changed."""
    cleared = mode & ~wanted_mode
    return wanted_mode != mode and wanted_mode & ~mode == 0 and cleared & ~(SETUID_BIT | SETGID_BIT) == 0


class SetattrOp:
    """Args:
        target: an inode id or a path (followed unless not follow_last_symlink).
        attributes: what to change.
    """

    def __init__(self, ctx: OpContext, target: PathAt | int, attributes: SetAttributes,
                 follow_last_symlink: bool = True) -> None:
        self._ctx = ctx
        self._target = target
        self._attributes = attributes
        self._follow_last_symlink = follow_last_symlink

    async def run(self, txn: Transaction) -> SetattrResult:
        """Raises: Fs3Error ENOENT, EACCES, EPERM, EISDIR/EINVAL (truncate of a non-file)."""
        inode = await load_target(txn, self._ctx, self._target, self._follow_last_symlink)
        self._check(inode)
        updated = self._apply(inode)
        if updated == inode and not self._changes_anything():
            return SetattrResult(inode=inode)
        store_inode(txn, updated)
        return SetattrResult(inode=updated, trim=self._trim(inode, updated))

    def _changes_anything(self) -> bool:
        wanted = self._attributes
        return (wanted.mode is not None or wanted.uid is not None or wanted.gid is not None
                or wanted.length is not None or wanted.changes_times)

    def _check(self, inode: Inode) -> None:
        user, wanted = self._ctx.user, self._attributes
        if wanted.length is not None:
            if inode.is_directory:
                raise fs_error(errno.EISDIR, f"inode {inode.inode_id} is a directory")
            if inode.inode_type != InodeType.FILE:
                raise fs_error(errno.EINVAL, f"inode {inode.inode_id} is not a regular file")
            check_access(user, inode, MAY_WRITE, "(truncate)")
        if wanted.uid is not None and user.uid != 0:
            if not (user.uid == inode.uid and wanted.uid == inode.uid):
                raise fs_error(errno.EPERM, f"uid {user.uid} may not give inode {inode.inode_id} to {wanted.uid}")
        if wanted.gid is not None and user.uid != 0:
            if not (user.uid == inode.uid and (user.in_group(wanted.gid) or wanted.gid == inode.gid)):
                raise fs_error(errno.EPERM, f"uid {user.uid} may not set group {wanted.gid} on {inode.inode_id}")
        if wanted.mode is not None and not is_owner_or_root(user, inode):
            if not (_only_clears_setid_bits(inode.mode, wanted.mode) and has_access(user, inode, MAY_WRITE)):
                raise fs_error(errno.EPERM, f"uid {user.uid} does not own inode {inode.inode_id} (chmod)")
        if wanted.changes_times:
            if wanted.atime_now and wanted.mtime_now:
                if not is_owner_or_root(user, inode) and not has_access(user, inode, MAY_WRITE):
                    raise fs_error(errno.EACCES, f"uid {user.uid} may not touch inode {inode.inode_id}")
            elif not is_owner_or_root(user, inode):
                raise fs_error(errno.EPERM, f"uid {user.uid} may not set times of inode {inode.inode_id}")

    def _apply(self, inode: Inode) -> Inode:
        user, wanted, now_ns = self._ctx.user, self._attributes, self._ctx.now_ns
        mode, uid, gid = inode.mode, inode.uid, inode.gid
        if wanted.uid is not None or wanted.gid is not None:
            uid = inode.uid if wanted.uid is None else wanted.uid
            gid = inode.gid if wanted.gid is None else wanted.gid
            if not inode.is_directory:
                mode = _drop_setid_bits(mode)
        if wanted.mode is not None:
            mode = wanted.mode
            if user.uid != 0 and not user.in_group(gid):
                mode &= ~SETGID_BIT
        atime_ns = now_ns if wanted.atime_now else (inode.atime_ns if wanted.atime_ns is None else wanted.atime_ns)
        mtime_ns = now_ns if wanted.mtime_now else (inode.mtime_ns if wanted.mtime_ns is None else wanted.mtime_ns)
        length = inode.length
        if wanted.length is not None:
            length = wanted.length
            mtime_ns = now_ns
            if user.uid != 0:
                mode = _drop_setid_bits(mode)
        if not self._changes_anything():
            return inode
        return dataclasses.replace(inode, mode=mode, uid=uid, gid=gid, length=length, atime_ns=atime_ns,
                                   mtime_ns=mtime_ns, ctime_ns=now_ns)

    @staticmethod
    def _trim(before: Inode, after: Inode) -> ChunkTrim | None:
        if after.length >= before.length or after.layout is None:
            return None
        chunk_size = after.layout.chunk_size
        assert chunk_size > 0
        first_removed_chunk = -(-after.length // chunk_size)
        return ChunkTrim(after.inode_id, after.layout, first_removed_chunk, after.length % chunk_size)
