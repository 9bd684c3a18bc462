"""A small in-memory file system on the kernel layer, mounted for real by the tests.

    python -m tests.fuse.kernel.memory_fs MOUNTPOINT --record FILE [--locks] [--fusermount]

`MemoryFs` implements the common operations (files, directories, symlinks,
xattrs); `LockingMemoryFs` adds getlk/setlk/flock/fallocate over an
in-memory lock table. Both append one JSON line per interesting call to the
record file (init flags, every lock call, interrupted lock waits), so a test
can check what the kernel sent. SIGTERM/SIGINT unmount and exit.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import errno
import json
import logging
import os
import signal
import stat
import sys
import time

from fs3.client.fuse import kernel
from fs3.client.fuse.kernel import F_RDLCK, F_UNLCK, F_WRLCK, EntryAttributes, FileInfo, FileLock, FUSEError


@dataclasses.dataclass
class Node:
    inode: int
    mode: int
    uid: int = 0
    gid: int = 0
    data: bytearray = dataclasses.field(default_factory=bytearray)
    children: dict[bytes, int] = dataclasses.field(default_factory=dict)
    target: bytes = b""
    nlink: int = 1
    xattrs: dict[bytes, bytes] = dataclasses.field(default_factory=dict)
    mtime_ns: int = dataclasses.field(default_factory=time.time_ns)


class MemoryFs(kernel.Operations):
    """Files, directories, symlinks and xattrs in dicts; inode numbers never reused."""

    def __init__(self, record_path: str | None = None) -> None:
        super().__init__()
        self.nodes = {kernel.ROOT_INODE: Node(kernel.ROOT_INODE, stat.S_IFDIR | 0o777, nlink=2)}
        self.handles: dict[int, int] = {}   # fh -> inode
        self.next_inode = kernel.ROOT_INODE + 1
        self.next_fh = 1
        self.record_file = open(record_path, "a") if record_path else None

    def record(self, **fields) -> None:
        if self.record_file is not None:
            self.record_file.write(json.dumps(fields) + "\n")
            self.record_file.flush()

    def init(self) -> None:
        self.record(op="init", flags=kernel.current_session().connection.flags)

    # ---- helpers ----------------------------------------------------------------------
    def _attributes(self, node: Node) -> EntryAttributes:
        size = len(node.target) if stat.S_ISLNK(node.mode) else len(node.data)
        return EntryAttributes(st_ino=node.inode, st_mode=node.mode, st_nlink=node.nlink, st_uid=node.uid,
                               st_gid=node.gid, st_size=size, st_blocks=(size + 511) // 512, entry_timeout=1,
                               attr_timeout=1, st_atime_ns=node.mtime_ns, st_mtime_ns=node.mtime_ns,
                               st_ctime_ns=node.mtime_ns)

    def _node(self, inode: int) -> Node:
        node = self.nodes.get(inode)
        if node is None:
            raise FUSEError(errno.ENOENT)
        return node

    def _child(self, parent: int, name: bytes) -> Node:
        inode = self._node(parent).children.get(name)
        if inode is None:
            raise FUSEError(errno.ENOENT)
        return self.nodes[inode]

    def _add(self, parent: int, name: bytes, mode: int, ctx) -> Node:
        directory = self._node(parent)
        if name in directory.children:
            raise FUSEError(errno.EEXIST)
        node = Node(self.next_inode, mode, uid=ctx.uid, gid=ctx.gid)
        self.next_inode += 1
        self.nodes[node.inode] = node
        directory.children[name] = node.inode
        return node

    def _fh(self, inode: int) -> int:
        fh = self.next_fh
        self.next_fh += 1
        self.handles[fh] = inode
        return fh

    # ---- operations -------------------------------------------------------------------
    async def lookup(self, parent_inode, name, ctx=None):
        if name == b".":
            return self._attributes(self._node(parent_inode))
        return self._attributes(self._child(parent_inode, name))

    async def getattr(self, inode, ctx=None):
        return self._attributes(self._node(inode))

    async def setattr(self, inode, attr, fields, fh, ctx):
        node = self._node(inode)
        if fields.update_size:
            del node.data[attr.st_size:]
            node.data.extend(bytes(attr.st_size - len(node.data)))
        if fields.update_mode:
            node.mode = stat.S_IFMT(node.mode) | (attr.st_mode & 0o7777)
        if fields.update_uid:
            node.uid = attr.st_uid
        if fields.update_gid:
            node.gid = attr.st_gid
        if fields.update_mtime:
            node.mtime_ns = attr.st_mtime_ns
        return self._attributes(node)

    async def mkdir(self, parent_inode, name, mode, ctx):
        node = self._add(parent_inode, name, stat.S_IFDIR | (mode & ~ctx.umask & 0o7777), ctx)
        node.nlink = 2
        return self._attributes(node)

    async def mknod(self, parent_inode, name, mode, rdev, ctx):
        return self._attributes(self._add(parent_inode, name, mode & ~ctx.umask, ctx))

    async def symlink(self, parent_inode, name, target, ctx):
        node = self._add(parent_inode, name, stat.S_IFLNK | 0o777, ctx)
        node.target = target
        return self._attributes(node)

    async def readlink(self, inode, ctx):
        return self._node(inode).target

    async def unlink(self, parent_inode, name, ctx):
        node = self._child(parent_inode, name)
        if stat.S_ISDIR(node.mode):
            raise FUSEError(errno.EISDIR)
        del self._node(parent_inode).children[name]

    async def rmdir(self, parent_inode, name, ctx):
        node = self._child(parent_inode, name)
        if node.children:
            raise FUSEError(errno.ENOTEMPTY)
        del self._node(parent_inode).children[name]

    async def rename(self, parent_inode_old, name_old, parent_inode_new, name_new, flags, ctx):
        node = self._child(parent_inode_old, name_old)
        del self._node(parent_inode_old).children[name_old]
        self._node(parent_inode_new).children[name_new] = node.inode

    async def opendir(self, inode, ctx):
        if not stat.S_ISDIR(self._node(inode).mode):
            raise FUSEError(errno.ENOTDIR)
        return self._fh(inode)

    async def readdir(self, fh, start_id, token):
        entries = sorted(self._node(self.handles[fh]).children.items())
        for index, (name, inode) in enumerate(entries[start_id:], start_id):
            if not kernel.readdir_reply(token, name, self._attributes(self.nodes[inode]), index + 1):
                return

    async def releasedir(self, fh):
        self.handles.pop(fh, None)

    async def fsyncdir(self, fh, datasync):
        return None

    async def open(self, inode, flags, ctx):
        node = self._node(inode)
        if flags & os.O_TRUNC:
            node.data.clear()
        return FileInfo(fh=self._fh(inode), keep_cache=False)

    async def create(self, parent_inode, name, mode, flags, ctx):
        node = self._add(parent_inode, name, stat.S_IFREG | (mode & ~ctx.umask & 0o7777), ctx)
        return FileInfo(fh=self._fh(node.inode), keep_cache=False), self._attributes(node)

    async def read(self, fh, off, size):
        return bytes(self._node(self.handles[fh]).data[off:off + size])

    async def write(self, fh, off, buf):
        data = self._node(self.handles[fh]).data
        if off > len(data):
            data.extend(bytes(off - len(data)))
        data[off:off + len(buf)] = buf
        return len(buf)

    async def flush(self, fh):
        return None

    async def fsync(self, fh, datasync):
        return None

    async def release(self, fh):
        self.handles.pop(fh, None)

    async def statfs(self, ctx):
        return kernel.StatvfsData(f_bsize=4096, f_frsize=4096, f_blocks=1 << 20, f_bfree=1 << 19,
                                  f_bavail=1 << 19, f_files=1 << 20, f_ffree=1 << 19, f_namemax=255)

    async def setxattr(self, inode, name, value, ctx):
        self._node(inode).xattrs[name] = value

    async def getxattr(self, inode, name, ctx):
        try:
            return self._node(inode).xattrs[name]
        except KeyError:
            raise FUSEError(kernel.ENOATTR) from None

    async def listxattr(self, inode, ctx):
        return list(self._node(inode).xattrs)

    async def removexattr(self, inode, name, ctx):
        try:
            del self._node(inode).xattrs[name]
        except KeyError:
            raise FUSEError(kernel.ENOATTR) from None


@dataclasses.dataclass
class HeldLock:
    owner: int
    start: int
    end: int
    type: int
    pid: int


class LockingMemoryFs(MemoryFs):
    """MemoryFs that keeps POSIX and flock locks itself (so the kernel sends them here)."""

    def __init__(self, record_path: str | None = None) -> None:
        super().__init__(record_path)
        self.posix: dict[int, list[HeldLock]] = {}   # inode -> locks
        self.flocks: dict[int, dict[int, int]] = {}  # inode -> owner -> type
        self.changed = asyncio.Event()

    def _wake(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    def _posix_conflict(self, inode: int, owner: int, lock: FileLock) -> HeldLock | None:
        for held in self.posix.get(inode, []):
            if held.owner != owner and held.start <= lock.end and lock.start <= held.end and \
                    F_WRLCK in (held.type, lock.type):
                return held
        return None

    def _posix_unlock(self, inode: int, owner: int, start: int, end: int) -> None:
        kept = []
        for held in self.posix.get(inode, []):
            if held.owner != owner or held.end < start or end < held.start:
                kept.append(held)
                continue
            if held.start < start:
                kept.append(HeldLock(owner, held.start, start - 1, held.type, held.pid))
            if end < held.end:
                kept.append(HeldLock(owner, end + 1, held.end, held.type, held.pid))
        self.posix[inode] = kept

    async def getlk(self, fh, owner, lock, ctx):
        self.record(op="getlk", type=lock.type, start=lock.start, end=lock.end, pid=lock.pid)
        held = self._posix_conflict(self.handles[fh], owner, lock)
        if held is None:
            return FileLock(0, 0, F_UNLCK, 0)
        return FileLock(held.start, held.end, held.type, held.pid)

    async def setlk(self, fh, owner, lock, sleep, ctx):
        inode = self.handles[fh]
        self.record(op="setlk", type=lock.type, start=lock.start, end=lock.end, pid=lock.pid, sleep=sleep)
        try:
            while lock.type != F_UNLCK and self._posix_conflict(inode, owner, lock) is not None:
                if not sleep:
                    raise FUSEError(errno.EAGAIN)
                await self.changed.wait()
        except asyncio.CancelledError:
            self.record(op="setlk-interrupted", pid=lock.pid)
            raise
        self._posix_unlock(inode, owner, lock.start, lock.end)
        if lock.type != F_UNLCK:
            self.posix[inode].append(HeldLock(owner, lock.start, lock.end, lock.type, lock.pid))
        self._wake()

    async def flock(self, fh, owner, lock_type, sleep, ctx):
        inode = self.handles[fh]
        self.record(op="flock", type=lock_type, sleep=sleep)
        holders = self.flocks.setdefault(inode, {})
        holders.pop(owner, None)
        while lock_type != F_UNLCK and any(held == F_WRLCK or lock_type == F_WRLCK for held in holders.values()):
            if not sleep:
                raise FUSEError(errno.EWOULDBLOCK)
            await self.changed.wait()
        if lock_type != F_UNLCK:
            holders[owner] = lock_type
        self._wake()

    async def fallocate(self, fh, offset, length, mode):
        self.record(op="fallocate", offset=offset, length=length, mode=mode)
        data = self._node(self.handles[fh]).data
        if offset + length > len(data):
            data.extend(bytes(offset + length - len(data)))


async def serve(mountpoint: str, operations: MemoryFs, use_fusermount: bool) -> None:
    kernel.init(operations, mountpoint, {"fsname=memoryfs", "subtype=memoryfs", "default_permissions"},
                use_fusermount=use_fusermount)
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, kernel.terminate)
    try:
        await kernel.main(max_tasks=16)
    finally:
        kernel.close(unmount=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mountpoint")
    parser.add_argument("--record")
    parser.add_argument("--locks", action="store_true")
    parser.add_argument("--fusermount", action="store_true")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    operations = LockingMemoryFs(arguments.record) if arguments.locks else MemoryFs(arguments.record)
    asyncio.run(serve(arguments.mountpoint, operations, arguments.fusermount))
    return 0


if __name__ == "__main__":
    sys.exit(main())
