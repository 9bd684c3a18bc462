"""Our implementation of the FUSE kernel protocol, in Python, on /dev/fuse directly.

It replaces pyfuse3 (which has no lock operations, no fallocate and cannot
set max_read) with the same surface, so operations written for pyfuse3 run
unchanged: `Operations`, `EntryAttributes`, `FileInfo`, `readdir_reply`,
`init`/`main`/`terminate`/`close`, ...

Layers, bottom up (each imports only those below it):

- `protocol`: opcodes, init flags and the struct layouts of linux/fuse.h.
- `api`: the types a file system implements and returns (pyfuse3's names).
- `encoding`, `directory`: api objects packed into reply bodies; readdir tokens.
- `limits`, `buffers`, `negotiation`: session bounds, receive buffers, INIT.
- `handlers`: one thin function per opcode: unpack, call the operation, pack.
- `session`: the asyncio request loop on one /dev/fuse connection.
- `mount`: open /dev/fuse, mount(2) or fusermount3, unmount.
- `runtime`: pyfuse3's module-level functions over one process-wide session.
"""

from fs3.client.fuse.kernel.api import (
    ENOATTR, F_RDLCK, F_UNLCK, F_WRLCK, EntryAttributes, FileInfo, FileLock, FUSEError, Operations, RequestContext,
    ROOT_INODE, SetattrFields, StatvfsData,
)
from fs3.client.fuse.kernel.directory import ReaddirToken, readdir_reply
from fs3.client.fuse.kernel.limits import SessionLimits
from fs3.client.fuse.kernel.runtime import (
    close, current_session, default_options, init, invalidate_entry, invalidate_inode, main, terminate,
)
from fs3.client.fuse.kernel.session import Session

__all__ = [
    # the pyfuse3-compatible surface
    "ROOT_INODE", "ENOATTR", "FUSEError", "RequestContext", "SetattrFields", "EntryAttributes", "FileInfo",
    "StatvfsData", "Operations", "ReaddirToken", "readdir_reply", "default_options", "init", "main", "terminate",
    "close", "invalidate_inode", "invalidate_entry",
    # beyond pyfuse3
    "FileLock", "F_RDLCK", "F_WRLCK", "F_UNLCK", "Session", "SessionLimits", "current_session",
]
