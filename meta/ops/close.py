"""Close: end a write session and settle the file's length."""

from __future__ import annotations

import dataclasses
import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.ops._common import OpContext, stored_length_if_current
from fs3.meta.store.inode import load_inode, store_inode
from fs3.meta.store.session import remove_session
from fs3.meta.types import Inode, InodeType, StoredLength

__all__ = ["CloseOp"]


class CloseOp:
    """Args:
        session_id: the session open/create returned (0: opened read-only).
        wrote: the client wrote; length becomes max(length, length_hint, stored
            length if the inode's ctime is still the one it was seen at) and
            mtime/ctime move to now.
    """

    def __init__(
        self, ctx: OpContext, inode_id: int, client_id: int, session_id: int, wrote: bool, length_hint: int,
        stored: StoredLength | None = None,
    ) -> None:
        self._stored = stored
        self._ctx = ctx
        self._inode_id = inode_id
        self._client_id = client_id
        self._session_id = session_id
        self._wrote = wrote
        self._length_hint = length_hint

    async def run(self, txn: Transaction) -> Inode | None:
        """Returns the settled inode (nlink 0 if it was unlinked while open: it lives on
        until the GC), or None if it is gone altogether (its session was pruned and the GC
        ran; the session record is still cleared).

        Raises:
            Fs3Error: ENOENT for an unknown inode without a session; EINVAL if
                `wrote` on a non-file.
        """
        if self._session_id:
            remove_session(txn, self._inode_id, self._session_id)
        inode = await load_inode(txn, self._inode_id)
        if inode is None:
            if self._session_id:
                return None
            raise fs_error(errno.ENOENT, f"no inode {self._inode_id}")
        if not self._wrote:
            return inode
        if inode.inode_type != InodeType.FILE:
            raise fs_error(errno.EINVAL, f"inode {self._inode_id} is not a regular file")
        now_ns = self._ctx.now_ns
        settled = dataclasses.replace(
            inode, length=max(inode.length, self._length_hint, stored_length_if_current(self._stored, inode)),
            mtime_ns=now_ns, ctime_ns=now_ns
        )
        store_inode(txn, settled)
        return settled
