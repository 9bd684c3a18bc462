"""pyfuse3's module-level entry points over one process-wide session.

    init(operations, mountpoint, options)   # open /dev/fuse and mount
    await main(max_tasks=64)                # serve until unmounted or terminate()
    close(unmount=True)                     # close the connection, detach the mount

A process serves one mount this way (as with pyfuse3); tests and tools that
need several build `Session`s from `mount.mount` themselves.
"""

from __future__ import annotations

import os
from typing import Iterable

from fs3.client.fuse.kernel import mount as mount_module
from fs3.client.fuse.kernel.limits import SessionLimits
from fs3.client.fuse.kernel.protocol import (
    NOTIFY_DELETE_OUT, NOTIFY_INVAL_ENTRY_OUT, NOTIFY_INVAL_INODE_OUT, NotifyCode,
)
from fs3.client.fuse.kernel.session import Session

__all__ = ["default_options", "init", "main", "terminate", "close", "invalidate_inode", "invalidate_entry",
           "current_session"]

default_options = frozenset({"default_permissions"})

_session: Session | None = None
_mount: mount_module.Mount | None = None


def current_session() -> Session:
    if _session is None:
        raise RuntimeError("init() was not called")
    return _session


def init(operations, mountpoint: str, options: Iterable[str] = default_options, *,
         limits: SessionLimits = SessionLimits(), use_fusermount: bool | None = None) -> None:
    """Mount `mountpoint` and prepare to serve it with `operations`.

    Args:
        options: libfuse-style mount options (see `mount.parse_options`); max_read
            defaults to limits.max_write_bytes.
        use_fusermount: None: the mount(2) system call as root, fusermount3 otherwise.

    Raises:
        RuntimeError: already initialized.
        OSError: the mount failed.
        ValueError: an unknown option.
    """
    global _session, _mount
    if _session is not None:
        raise RuntimeError("init() was already called; close() first")
    limits.check()
    spec = mount_module.parse_options(options, max_read=limits.max_write_bytes)
    mounted = mount_module.mount(mountpoint, spec, use_fusermount=use_fusermount)
    _mount = mounted
    _session = Session(operations, mounted.fd, limits=limits, debug=spec.debug)


async def main(min_tasks: int = 1, max_tasks: int | None = None) -> None:
    """Serve requests until the file system is unmounted or `terminate()` is called.

    Args:
        min_tasks: accepted for pyfuse3 compatibility; tasks are made per request.
        max_tasks: requests in flight at once (default: limits.requests_max).
    """
    await current_session().run(requests_max=max_tasks)


def terminate() -> None:
    """Make `main()` return (call it from the event loop's thread, e.g. a signal handler)."""
    current_session().terminate()


def close(unmount: bool = True) -> None:
    """Close the connection and, if `unmount`, detach the mount if it is still there."""
    global _session, _mount
    mounted = _mount
    _session = None
    _mount = None
    if mounted is None:
        return
    if unmount:
        mount_module.unmount(mounted)
    else:
        os.close(mounted.fd)


def invalidate_inode(inode: int, attr_only: bool = False) -> None:
    """Make the kernel drop its cached attributes (and data, unless `attr_only`) of `inode`.

    Raises:
        OSError: ENOENT if the kernel does not know the inode.
    """
    current_session().notify(NotifyCode.INVAL_INODE, NOTIFY_INVAL_INODE_OUT.pack(inode, -1 if attr_only else 0, 0))


def invalidate_entry(inode_p: int, name: bytes, deleted: int = 0) -> None:
    """Make the kernel forget the name `name` in directory `inode_p` (and tell inotify
    watchers it was deleted, if `deleted` is the inode it named).

    May block until a request on that directory in flight finishes: as in pyfuse3,
    do not call it from a handler of such a request.
    """
    if deleted:
        current_session().notify(NotifyCode.DELETE, NOTIFY_DELETE_OUT.pack(inode_p, deleted, len(name), 0),
                                 name + b"\0")
    else:
        current_session().notify(NotifyCode.INVAL_ENTRY, NOTIFY_INVAL_ENTRY_OUT.pack(inode_p, len(name), 0),
                                 name + b"\0")
