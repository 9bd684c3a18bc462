"""Create: make a regular file (or open the existing one), idempotent by request id."""

from __future__ import annotations

import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.flags import O_ACCMODE, O_EXCL, O_RDONLY
from fs3.meta.ops._common import OpContext, check_may_create, new_inode, open_existing
from fs3.meta.store.dir_entry import store_dir_entry
from fs3.meta.store.idempotence import CreateRecord, load_create_record, store_create_record
from fs3.meta.store.inode import load_inode, store_inode, touch_directory
from fs3.meta.store.path_resolve import PathResolver
from fs3.meta.store.session import WriteSession, store_session
from fs3.meta.types import DirEntry, InodeType, OpenResult, PathAt

__all__ = ["CreateOp"]


class CreateOp:
    """Args:
        mode: permission bits of a new file (umask applied by the caller).
        flags: Linux open flags; O_EXCL fails on an existing name, O_TRUNC
            truncates an existing file; O_WRONLY/O_RDWR open a write session.
        request_id: non-empty makes the create idempotent for `client_id`.
        session_id: the write session id to record (chosen by the operator).
    """

    def __init__(
        self, ctx: OpContext, path_at: PathAt, mode: int, flags: int,
        client_id: int, request_id: bytes, session_id: int,
    ) -> None:
        self._ctx = ctx
        self._path_at = path_at
        self._mode = mode
        self._flags = flags
        self._client_id = client_id
        self._request_id = request_id
        self._session_id = session_id

    async def run(self, txn: Transaction) -> OpenResult:
        """Raises: Fs3Error EEXIST (O_EXCL), EISDIR, ENOENT, ENOTDIR, EACCES, ELOOP."""
        if self._request_id:
            record = await load_create_record(txn, self._client_id, self._request_id)
            if record is not None:
                inode = await load_inode(txn, record.inode_id)
                if inode is not None:
                    return OpenResult(inode=inode, session_id=record.session_id)
        result = await self._create_or_open(txn)
        if self._request_id:
            record = CreateRecord(result.inode.inode_id, result.session_id, self._ctx.now_ns)
            store_create_record(txn, self._client_id, self._request_id, record)
        return result

    async def _create_or_open(self, txn: Transaction) -> OpenResult:
        resolver = PathResolver(txn, self._ctx.user, self._ctx.config)
        located = await resolver.resolve_parent(self._path_at)
        if located.trailing_slash or not located.is_plain_name:
            raise fs_error(errno.EISDIR, f"cannot create a file named {self._path_at.path!r}")
        existing = await resolver.lookup_component(located.parent, located.name)
        if existing is not None:
            if self._flags & O_EXCL:
                raise fs_error(errno.EEXIST, f"{located.name!r} exists in directory {located.parent.inode_id}")
            if existing.is_symlink:
                existing = await resolver.resolve_last(located, follow_last_symlink=True)
            if existing.is_directory:
                raise fs_error(errno.EISDIR, f"inode {existing.inode_id} is a directory")
            return open_existing(txn, self._ctx, existing, self._flags, self._client_id, self._session_id)
        parent = located.parent
        check_may_create(self._ctx.user, parent)
        inode_id = await self._ctx.allocate_inode_id()
        inode = new_inode(self._ctx, inode_id, InodeType.FILE, parent, self._mode)
        store_inode(txn, inode)
        store_dir_entry(txn, parent.inode_id, DirEntry(located.name, inode_id, InodeType.FILE))
        touch_directory(txn, parent, self._ctx.now_ns)
        if self._flags & O_ACCMODE == O_RDONLY:
            return OpenResult(inode=inode, session_id=0)
        store_session(txn, WriteSession(inode_id, self._session_id, self._client_id, self._ctx.now_ns))
        return OpenResult(inode=inode, session_id=self._session_id)
