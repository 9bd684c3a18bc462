"""Open: an existing inode with its layout, permission-checked by flags."""

from __future__ import annotations

import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.flags import O_DIRECTORY, O_NOFOLLOW
from fs3.meta.ops._common import OpContext, open_existing
from fs3.meta.store.path_resolve import PathResolver
from fs3.meta.types import OpenResult, PathAt

__all__ = ["OpenOp"]


class OpenOp:
    """Args:
        flags: Linux open flags (access mode, O_TRUNC, O_NOFOLLOW, O_DIRECTORY);
            O_CREAT is the create op's business and ignored here.
        session_id: recorded if the file is opened for writing.
    """

    def __init__(self, ctx: OpContext, path_at: PathAt, flags: int, client_id: int, session_id: int) -> None:
        self._ctx = ctx
        self._path_at = path_at
        self._flags = flags
        self._client_id = client_id
        self._session_id = session_id

    async def run(self, txn: Transaction) -> OpenResult:
        """Raises: Fs3Error ENOENT, EISDIR (write on a directory), EACCES,
        ELOOP (O_NOFOLLOW on a symlink), ENOTDIR (O_DIRECTORY on a non-directory)."""
        resolver = PathResolver(txn, self._ctx.user, self._ctx.config)
        located = await resolver.resolve_parent(self._path_at)
        follow = not self._flags & O_NOFOLLOW
        inode = await resolver.resolve_last(located, follow_last_symlink=follow)
        if self._flags & O_DIRECTORY and not inode.is_directory:
            raise fs_error(errno.ENOTDIR, f"inode {inode.inode_id} is not a directory")
        return open_existing(txn, self._ctx, inode, self._flags, self._client_id, self._session_id)
