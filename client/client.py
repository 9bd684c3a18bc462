"""The native fs3 client: files striped over chains, chunks moved in parallel.

    client = await Fs3Client.connect(["127.0.0.1:8000"])
    async with await client.open("/data/x.bin", "wb") as file:
        await file.write(memoryview(buffer))
    info = await client.stat("/data/x.bin")

Metadata calls go to any metadata service; chunk reads and writes go straight
to the storage services (the metadata service is not on the data path). Data
moves between the caller's buffers and sockets without intermediate copies.

The client authenticates with a token (`token=`, else FS3_TOKEN, FS3_TOKEN_FILE
or the local cluster's token file: `fs3.tokens.resolve_token`). Requests act
as the token's user (uid, gid, groups); a token with the root flag acts as
this process's uid and gid unless `uid`/`gid`/`groups` say otherwise.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import fcntl
import itertools
import logging
import os
import random
from typing import Sequence

from fs3._proto import common_pb2, meta_pb2
from fs3.client.file_locks import FLOCK, OFFSET_MAX, POSIX, FileLocks, LockHolder, LockRetry
from fs3.client.layout import FileLayout, split_range
from fs3.client.meta_client import MetaClient
from fs3.client.storage_client import StorageClient, StorageClientConfig
from fs3.errors import Fs3Error
from fs3.identity import Identity
from fs3.mgmtd.client import MgmtdClient, RoutingWatcher
from fs3.net.client import ClientConfig as RpcClientConfig
from fs3.net.client import RpcClientPool
from fs3.net.methods import MetaMethod
from fs3.tokens import resolve_token
from fs3.tuning import tune_malloc
from fs3.tasks import stop_tasks

logger = logging.getLogger(__name__)

__all__ = ["Fs3Client", "Fs3File", "FileStat", "DirEntry", "ClientConfig", "StatFs"]

O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND = (
    os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_EXCL, os.O_TRUNC, os.O_APPEND,
)

_TYPE_NAMES = {1: "file", 2: "directory", 3: "symlink", 4: "fifo", 5: "char_device", 6: "block_device", 7: "socket"}
_lock_owners = itertools.count(1)


@dataclasses.dataclass(frozen=True, slots=True)
class ClientConfig:
    inflight_chunks_max: int = 16
    routing_refresh_interval_s: float = 1.0
    meta_timeout_s: float = 10.0
    # Tells the metadata services this client lives (its write sessions are
    # pruned after their client_session_timeout_s of silence, 300 s by default).
    heartbeat_interval_s: float = 30.0
    lock_retry: LockRetry = LockRetry()  # pauses of a blocking file lock
    storage: StorageClientConfig = StorageClientConfig()
    rpc: RpcClientConfig = RpcClientConfig()


@dataclasses.dataclass(frozen=True, slots=True)
class FileStat:
    inode_id: int
    type: str
    mode: int
    uid: int
    gid: int
    nlink: int
    length: int
    atime_ns: int
    mtime_ns: int
    ctime_ns: int
    layout: FileLayout | None
    symlink_target: bytes = b""

    @property
    def is_dir(self) -> bool:
        return self.type == "directory"


@dataclasses.dataclass(frozen=True, slots=True)
class DirEntry:
    name: str
    inode_id: int
    type: str


@dataclasses.dataclass(frozen=True, slots=True)
class StatFs:
    total_bytes: int
    free_bytes: int
    total_files: int
    free_files: int
    name_bytes_max: int


def _name_bytes(name: str | bytes) -> bytes:
    return name if isinstance(name, bytes) else name.encode()


def _path_bytes(path: str | bytes) -> bytes:
    return path if isinstance(path, bytes) else os.fsencode(path)


def _stat_from_inode(inode: meta_pb2.Inode) -> FileStat:
    layout = None
    if inode.HasField("layout") and inode.layout.chunk_size:
        message = inode.layout
        layout = FileLayout(
            message.chain_table_id, message.chain_table_version, message.chunk_size, message.stripe_size,
            message.first_chain_index, message.shuffle_seed,
        )
    return FileStat(
        inode_id=inode.inode_id, type=_TYPE_NAMES.get(inode.inode_type, "unknown"), mode=inode.mode,
        uid=inode.uid, gid=inode.gid, nlink=inode.nlink, length=inode.length, atime_ns=inode.atime_ns,
        mtime_ns=inode.mtime_ns, ctime_ns=inode.ctime_ns, layout=layout, symlink_target=inode.symlink_target,
    )


def _parse_mode(mode: str) -> tuple[int, bool, bool]:
    """Python open() mode -> (flags, readable, writable)."""
    base = mode.replace("b", "")
    table = {
        "r": (os.O_RDONLY, True, False),
        "r+": (O_RDWR, True, True),
        "w": (O_WRONLY | O_CREAT | O_TRUNC, False, True),
        "w+": (O_RDWR | O_CREAT | O_TRUNC, True, True),
        "x": (O_WRONLY | O_CREAT | O_EXCL, False, True),
        "x+": (O_RDWR | O_CREAT | O_EXCL, True, True),
        "a": (O_WRONLY | O_CREAT | O_APPEND, False, True),
        "a+": (O_RDWR | O_CREAT | O_APPEND, True, True),
    }
    if base not in table:
        raise ValueError(f"unsupported open mode {mode!r}")
    return table[base]


class Fs3Client:
    """A connection to one fs3 cluster. Create with `await Fs3Client.connect(...)`."""

    def __init__(self, mgmtd_addresses: Sequence[str], *, config: ClientConfig = ClientConfig(),
                 token: str | None = None, uid: int | None = None, gid: int | None = None,
                 groups: Sequence[int] | None = None) -> None:
        self.config = config
        token = resolve_token(token)
        self.mgmtd = MgmtdClient(list(mgmtd_addresses), token=token)
        self.routing = RoutingWatcher(self.mgmtd, config.routing_refresh_interval_s)
        self.rpc = RpcClientPool(config.rpc, token=token)
        self.client_id = random.SystemRandom().getrandbits(63) or 1
        self._requested_user = (uid, gid, groups)
        self.user = common_pb2.UserInfo(
            uid=os.getuid() if uid is None else uid, gid=os.getgid() if gid is None else gid, groups=list(groups or ())
        )
        self.identity: Identity | None = None  # the token's user, known once connected
        self.meta = MetaClient(self.rpc, lambda: self.routing.routing, self.routing.refresh,
                               timeout_s=config.meta_timeout_s, client_id=self.client_id)
        self.storage = StorageClient(self.rpc, lambda: self.routing.routing, self.routing.refresh,
                                     client_id=self.client_id, config=config.storage, token=token)
        self.locks = FileLocks(self.meta, self.client_id, config.lock_retry)
        self.inflight_chunks = asyncio.Semaphore(config.inflight_chunks_max)
        self._heartbeat_task: asyncio.Task | None = None

    @classmethod
    async def connect(cls, mgmtd_addresses: Sequence[str], **kwargs) -> "Fs3Client":
        tune_malloc()
        client = cls(mgmtd_addresses, **kwargs)
        try:
            client.identity, _created_ms = await client.mgmtd.who_am_i()
            client._act_as_token_user()
            await client.routing.start()
        except BaseException:
            await client.close()
            raise
        client._heartbeat_task = asyncio.get_running_loop().create_task(client._heartbeat_loop())
        return client

    def _act_as_token_user(self) -> None:
        """Without the root flag, act as the token's user where uid/gid/groups were not given."""
        assert self.identity is not None
        if self.identity.root:
            return
        uid, gid, groups = self._requested_user
        self.user = common_pb2.UserInfo(
            uid=self.identity.uid if uid is None else uid, gid=self.identity.gid if gid is None else gid,
            groups=list(self.identity.groups if groups is None else groups),
        )

    async def heartbeat(self) -> None:
        """Tell the metadata services this client (and so its write sessions) is alive."""
        await self.meta.call(MetaMethod.CLIENT_HEARTBEAT,
                             meta_pb2.ClientHeartbeatRequest(user=self.user, client_id=self.client_id))

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_interval_s)
            try:
                await self.heartbeat()
            except Exception as error:  # the next beat retries; sessions survive a few misses
                logger.debug("client heartbeat failed: %s", error)

    async def close(self) -> None:
        await stop_tasks(self._heartbeat_task)
        self._heartbeat_task = None
        await self.routing.stop()
        await self.rpc.close()
        self.storage.close()
        await self.mgmtd.close()

    async def __aenter__(self) -> "Fs3Client":
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    def _path(self, path: str | bytes) -> meta_pb2.PathAt:
        return meta_pb2.PathAt(parent=0, path=_path_bytes(path))

    # ---- namespace ------------------------------------------------------------
    async def stat(self, path: str | bytes, *, follow_symlinks: bool = True) -> FileStat:
        response = await self.meta.call(
            MetaMethod.STAT,
            meta_pb2.StatRequest(user=self.user, path=self._path(path), follow_last_symlink=follow_symlinks),
        )
        return _stat_from_inode(response.inode)

    async def exists(self, path: str | bytes) -> bool:
        try:
            await self.stat(path)
            return True
        except Fs3Error as error:
            if error.code == errno.ENOENT:
                return False
            raise

    async def mkdir(self, path: str | bytes, mode: int = 0o755, *, parents: bool = False) -> FileStat:
        response = await self.meta.call(
            MetaMethod.MKDIR, meta_pb2.MkdirRequest(user=self.user, path=self._path(path), mode=mode, recursive=parents)
        )
        return _stat_from_inode(response.inode)

    async def listdir(self, path: str | bytes, *, page_size: int = 1024) -> list[DirEntry]:
        entries: list[DirEntry] = []
        after = b""
        for _page in range(1 << 30):
            response = await self.meta.call(
                MetaMethod.READDIR,
                meta_pb2.ReaddirRequest(user=self.user, path=self._path(path), after_name=after, limit=page_size),
            )
            for entry in response.entries:
                entries.append(DirEntry(os.fsdecode(entry.name), entry.inode_id, _TYPE_NAMES.get(entry.inode_type, "unknown")))
            if not response.more or not response.entries:
                break
            after = response.entries[-1].name
        return entries

    async def unlink(self, path: str | bytes) -> None:
        await self.meta.call(MetaMethod.UNLINK, meta_pb2.UnlinkRequest(user=self.user, path=self._path(path)))

    async def rmdir(self, path: str | bytes) -> None:
        await self.meta.call(MetaMethod.RMDIR, meta_pb2.RmdirRequest(user=self.user, path=self._path(path)))

    async def rename(self, source: str | bytes, destination: str | bytes, flags: int = 0) -> None:
        await self.meta.call(
            MetaMethod.RENAME,
            meta_pb2.RenameRequest(user=self.user, src=self._path(source), dst=self._path(destination), flags=flags),
        )

    async def rmtree_to_trash(self, path: str | bytes, expire_s: float) -> tuple[str, FileStat, int]:
        """Move the tree at `path` to /trash/<uid>/<name>-<time>; the services delete
        it after `expire_s` seconds unless it is renamed away first. Returns
        (its path in the trash, its stat, expiry in ns since the epoch)."""
        response = await self.meta.call(
            MetaMethod.REMOVE_TREE_TO_TRASH,
            meta_pb2.RemoveTreeToTrashRequest(user=self.user, path=self._path(path), expire_s=expire_s),
        )
        return os.fsdecode(response.trash_path), _stat_from_inode(response.inode), response.expire_at_ns

    async def stat_inode(self, inode_id: int) -> FileStat:
        response = await self.meta.call(MetaMethod.STAT_INODE,
                                        meta_pb2.StatInodeRequest(user=self.user, inode_id=inode_id))
        return _stat_from_inode(response.inode)

    async def lookup(self, parent_inode: int, name: str | bytes) -> FileStat:
        """The entry `name` of directory `parent_inode` (symlinks not followed), like FUSE's lookup."""
        name = _path_bytes(name)
        if not name or b"/" in name:
            raise Fs3Error(errno.EINVAL, f"lookup needs a single name, not {name!r}")
        response = await self.meta.call(
            MetaMethod.STAT,
            meta_pb2.StatRequest(user=self.user, path=meta_pb2.PathAt(parent=parent_inode, path=name),
                                 follow_last_symlink=False),
        )
        return _stat_from_inode(response.inode)

    async def symlink(self, target: str | bytes, path: str | bytes) -> FileStat:
        """Make `path` a symlink pointing at `target` (argument order of os.symlink)."""
        response = await self.meta.call(
            MetaMethod.SYMLINK,
            meta_pb2.SymlinkRequest(user=self.user, path=self._path(path), target=_path_bytes(target)),
        )
        return _stat_from_inode(response.inode)

    async def readlink(self, path: str | bytes) -> bytes:
        response = await self.meta.call(MetaMethod.READLINK,
                                        meta_pb2.ReadlinkRequest(user=self.user, path=self._path(path)))
        return response.target

    async def link(self, existing: str | bytes, new_path: str | bytes) -> FileStat:
        response = await self.meta.call(
            MetaMethod.LINK,
            meta_pb2.LinkRequest(user=self.user, old_path=self._path(existing), new_path=self._path(new_path)),
        )
        return _stat_from_inode(response.inode)

    def _target(self, message, target: str | bytes | int, follow_symlinks: bool):
        if isinstance(target, int):
            message.inode_id = target
        else:
            message.path.CopyFrom(self._path(target))
        if "follow_last_symlink" in message.DESCRIPTOR.fields_by_name:
            message.follow_last_symlink = follow_symlinks
        message.user.CopyFrom(self.user)
        return message

    async def setattr(self, target: str | bytes | int, *, mode: int | None = None, uid: int | None = None,
                      gid: int | None = None, length: int | None = None, atime_ns: int | None = None,
                      mtime_ns: int | None = None, atime_now: bool = False, mtime_now: bool = False,
                      follow_symlinks: bool = True) -> FileStat:
        """Change attributes of a path or an inode id; None leaves a field alone (UTIME_OMIT for times)."""
        request = self._target(meta_pb2.SetattrRequest(atime_now=atime_now, mtime_now=mtime_now), target,
                               follow_symlinks)
        for field, value in (("mode", mode), ("uid", uid), ("gid", gid), ("length", length),
                             ("atime_ns", atime_ns), ("mtime_ns", mtime_ns)):
            if value is not None:
                setattr(request, field, value)
        response = await self.meta.call(MetaMethod.SETATTR, request)
        return _stat_from_inode(response.inode)

    async def chmod(self, target: str | bytes | int, mode: int) -> FileStat:
        return await self.setattr(target, mode=mode)

    async def chown(self, target: str | bytes | int, uid: int | None = None, gid: int | None = None) -> FileStat:
        return await self.setattr(target, uid=uid, gid=gid)

    async def utime(self, target: str | bytes | int, atime_ns: int | None = None,
                    mtime_ns: int | None = None) -> FileStat:
        """Both None: set both to now (like os.utime(path))."""
        if atime_ns is None and mtime_ns is None:
            return await self.setattr(target, atime_now=True, mtime_now=True)
        return await self.setattr(target, atime_ns=atime_ns, mtime_ns=mtime_ns)

    async def truncate(self, target: str | bytes | int, length: int) -> FileStat:
        """Set a file's length; a shrink also drops the chunks past the new end before returning."""
        return await self.setattr(target, length=length)

    async def mknod(self, path: str | bytes, mode: int = 0o644 | 0o010000, rdev: int = 0) -> FileStat:
        """A FIFO (default) or, with S_IFREG in `mode`, an empty regular file."""
        response = await self.meta.call(
            MetaMethod.MKNOD, meta_pb2.MknodRequest(user=self.user, path=self._path(path), mode=mode, rdev=rdev))
        return _stat_from_inode(response.inode)

    async def setxattr(self, target: str | bytes | int, name: str | bytes, value: bytes, flags: int = 0, *,
                       follow_symlinks: bool = True) -> None:
        request = self._target(meta_pb2.SetxattrRequest(name=_name_bytes(name), value=value, flags=flags), target,
                               follow_symlinks)
        await self.meta.call(MetaMethod.SETXATTR, request)

    async def getxattr(self, target: str | bytes | int, name: str | bytes, *, follow_symlinks: bool = True) -> bytes:
        request = self._target(meta_pb2.GetxattrRequest(name=_name_bytes(name)), target, follow_symlinks)
        return (await self.meta.call(MetaMethod.GETXATTR, request)).value

    async def listxattr(self, target: str | bytes | int, *, follow_symlinks: bool = True) -> list[bytes]:
        request = self._target(meta_pb2.ListxattrRequest(), target, follow_symlinks)
        return list((await self.meta.call(MetaMethod.LISTXATTR, request)).names)

    async def removexattr(self, target: str | bytes | int, name: str | bytes, *, follow_symlinks: bool = True) -> None:
        request = self._target(meta_pb2.RemovexattrRequest(name=_name_bytes(name)), target, follow_symlinks)
        await self.meta.call(MetaMethod.REMOVEXATTR, request)

    async def statfs(self) -> StatFs:
        response = await self.meta.call(MetaMethod.STATFS, meta_pb2.StatfsRequest(user=self.user))
        return StatFs(response.total_bytes, response.free_bytes, response.total_files, response.free_files,
                      response.name_bytes_max)

    async def set_layout(self, directory: str | bytes | int, *, chain_table_id: int, chunk_size: int,
                         stripe_size: int) -> FileStat:
        """Layout for new children of `directory` (root only)."""
        request = self._target(meta_pb2.SetLayoutRequest(chain_table_id=chain_table_id, chunk_size=chunk_size,
                                                         stripe_size=stripe_size), directory, True)
        return _stat_from_inode((await self.meta.call(MetaMethod.SET_LAYOUT, request)).inode)

    # ---- files ----------------------------------------------------------------
    async def open(self, path: str | bytes, mode: str = "rb", *, create_mode: int = 0o644) -> "Fs3File":
        flags, readable, writable = _parse_mode(mode)
        if flags & O_CREAT:
            response = await self.meta.call(
                MetaMethod.CREATE,
                meta_pb2.CreateRequest(
                    user=self.user, path=self._path(path), mode=create_mode, flags=flags,
                    client_id=self.client_id, request_id=os.urandom(16),
                ),
            )
        else:
            response = await self.meta.call(
                MetaMethod.OPEN,
                meta_pb2.OpenRequest(user=self.user, path=self._path(path), flags=flags, client_id=self.client_id),
            )
        stat = _stat_from_inode(response.inode)
        if stat.is_dir:
            raise Fs3Error(errno.EISDIR, f"{os.fsdecode(_path_bytes(path))} is a directory")
        file = Fs3File(self, stat, response.session_id, readable=readable, writable=writable)
        if flags & O_APPEND:
            file.position = stat.length
        return file

    async def _each_chunk(self, stat: FileStat, offset: int, buffer: memoryview, transfer) -> None:
        """Run `transfer(chain_id, span, piece)` for every chunk `[offset, offset+len(buffer))`
        touches, in parallel (bounded by inflight_chunks_max); `piece` is the span's slice of buffer."""
        layout = stat.layout
        assert layout is not None, "file without layout"
        chains = layout.chains(self.routing.routing)  # once per call, not once per chunk

        async def one(span) -> None:
            async with self.inflight_chunks:
                piece = buffer[span.offset_in_range : span.offset_in_range + span.length]
                await transfer(chains[span.chunk_index % len(chains)], span, piece)

        spans = list(split_range(offset, len(buffer), layout.chunk_size))
        if len(spans) == 1:
            await one(spans[0])
        else:
            await asyncio.gather(*(one(span) for span in spans))

    async def write_chunks(self, stat: FileStat, offset: int, data: memoryview) -> None:
        """Write `data` at `offset` of a file, all its chunks in parallel (bounded)."""

        async def write(chain_id: int, span, piece: memoryview) -> None:
            await self.storage.write_chunk(chain_id, stat.inode_id, span.chunk_index, span.offset_in_chunk, piece,
                                           stat.layout.chunk_size)

        await self._each_chunk(stat, offset, data, write)

    async def read_chunks(self, stat: FileStat, offset: int, into: memoryview) -> None:
        """Fill `into` from `offset`; holes and bytes past a chunk's end read as zeros."""

        async def read(chain_id: int, span, piece: memoryview) -> None:
            count = await self.storage.read_chunk(chain_id, stat.inode_id, span.chunk_index, span.offset_in_chunk,
                                                  span.length, piece)
            if count < span.length:
                piece[count:] = bytes(span.length - count)

        await self._each_chunk(stat, offset, into, read)

    async def read_lease(self, stat: FileStat, offset: int, length: int):
        """`[offset, offset+length)` of a file that lies within one chunk, holes as zeros, in a lease
        (`release` it when done): left in a shared-memory slot when possible, saving a copy."""
        layout = stat.layout
        assert layout is not None, "file without layout"
        chunk_index, offset_in_chunk = divmod(offset, layout.chunk_size)
        assert 0 < length <= layout.chunk_size - offset_in_chunk, "a lease covers one chunk"
        chains = layout.chains(self.routing.routing)
        async with self.inflight_chunks:
            return await self.storage.read_chunk_lease(chains[chunk_index % len(chains)], stat.inode_id, chunk_index,
                                                       offset_in_chunk, length)

    # ---- whole-file helpers ---------------------------------------------------
    async def put(self, local_path: str, remote_path: str | bytes, *, block_bytes: int = 1 << 20, depth: int = 16) -> int:
        """Copy a local file into fs3 with `depth` blocks in flight; returns bytes copied."""
        loop = asyncio.get_running_loop()
        fd = os.open(local_path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            async with await self.open(remote_path, "wb") as file:
                buffers = [memoryview(bytearray(block_bytes)) for _ in range(min(depth, max(1, -(-size // block_bytes))))]
                free = asyncio.Queue(maxsize=len(buffers))
                for buffer in buffers:
                    free.put_nowait(buffer)
                tasks: set[asyncio.Task] = set()

                async def send(buffer: memoryview, count: int, offset: int) -> None:
                    try:
                        await file.pwrite(buffer[:count], offset)
                    finally:
                        free.put_nowait(buffer)

                offset = 0
                while offset < size:
                    buffer = await free.get()
                    count = await loop.run_in_executor(None, os.preadv, fd, [buffer], offset)
                    if count == 0:
                        free.put_nowait(buffer)
                        break
                    task = loop.create_task(send(buffer, count, offset))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    offset += count
                    for done in [task for task in tasks if task.done()]:
                        done.result()
                if tasks:
                    await asyncio.gather(*tasks)
            return offset
        finally:
            os.close(fd)

    async def get(self, remote_path: str | bytes, local_path: str, *, block_bytes: int = 1 << 20, depth: int = 16) -> int:
        """Copy an fs3 file to a local file; returns bytes copied."""
        loop = asyncio.get_running_loop()
        async with await self.open(remote_path, "rb") as file:
            size = file.stat.length
            fd = os.open(local_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                window = block_bytes * depth
                buffer = memoryview(bytearray(min(window, max(size, 1))))
                offset = 0
                while offset < size:
                    count = min(len(buffer), size - offset)
                    await file.preadinto(buffer[:count], offset)
                    await loop.run_in_executor(None, os.pwritev, fd, [buffer[:count]], offset)
                    offset += count
                os.ftruncate(fd, size)
            finally:
                os.close(fd)
        return size


class Fs3File:
    """An open fs3 file. Positioned (`read`/`write`) and positional (`preadinto`/`pwrite`) I/O."""

    def __init__(self, client: Fs3Client, stat: FileStat, session_id: int, *, readable: bool, writable: bool) -> None:
        self.client = client
        self.stat = stat
        self.session_id = session_id
        self.readable = readable
        self.writable = writable
        self.position = 0
        self.written_end = 0
        self.wrote = False
        self.closed = False
        self.lock_owner = next(_lock_owners)  # this open file holds its locks, cluster-wide
        self._locked = False

    @property
    def length(self) -> int:
        return max(self.stat.length, self.written_end)

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on a closed fs3 file")

    async def pwrite(self, data, offset: int) -> int:
        self._check_open()
        if not self.writable:
            raise Fs3Error(errno.EBADF, "file not open for writing")
        if offset < 0:
            raise Fs3Error(errno.EINVAL, f"negative offset {offset}")
        view = data if isinstance(data, memoryview) else memoryview(data)
        view = view.cast("B") if view.format != "B" or view.ndim != 1 else view
        if len(view) == 0:
            return 0
        await self.client.write_chunks(self.stat, offset, view)
        self.wrote = True
        self.written_end = max(self.written_end, offset + len(view))
        return len(view)

    async def write(self, data) -> int:
        count = await self.pwrite(data, self.position)
        self.position += count
        return count

    async def preadinto(self, into, offset: int) -> int:
        """Read up to len(into) bytes at `offset` into `into`; returns bytes read (0 at EOF)."""
        self._check_open()
        if not self.readable:
            raise Fs3Error(errno.EBADF, "file not open for reading")
        if offset < 0:
            raise Fs3Error(errno.EINVAL, f"negative offset {offset}")
        view = into if isinstance(into, memoryview) else memoryview(into)
        view = view.cast("B") if view.format != "B" or view.ndim != 1 else view
        count = max(0, min(len(view), self.length - offset))
        if count:
            await self.client.read_chunks(self.stat, offset, view[:count])
        return count

    async def readinto(self, into) -> int:
        count = await self.preadinto(into, self.position)
        self.position += count
        return count

    async def read(self, size: int = -1) -> bytes:
        remaining = max(0, self.length - self.position)
        size = remaining if size < 0 else min(size, remaining)
        buffer = bytearray(size)
        count = await self.readinto(buffer)
        del buffer[count:]
        return bytes(buffer)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.position, os.SEEK_END: self.length}[whence]
        if base + offset < 0:
            raise Fs3Error(errno.EINVAL, "seek before start of file")
        self.position = base + offset
        return self.position

    async def fsync(self) -> FileStat:
        """Writes are acknowledged by every replica before pwrite returns; fsync makes the length
        durable, settled by the metadata service from what storage holds (so it counts other
        clients' writes too), and refreshes this file's view of it."""
        self._check_open()
        if not self.writable:
            raise Fs3Error(errno.EBADF, "file not open for writing")
        client = self.client
        response = await client.meta.call(
            MetaMethod.SET_LENGTH,
            meta_pb2.SetLengthRequest(user=client.user, inode_id=self.stat.inode_id, length=self.written_end,
                                      only_grow=True, settle=True),
        )
        self.stat = _stat_from_inode(response.inode)
        return self.stat

    # ---- cluster-wide locks (held by this open file; released at close) ---------------
    async def flock(self, operation: int) -> None:
        """Like fcntl.flock: LOCK_SH / LOCK_EX (| LOCK_NB: EAGAIN instead of waiting) / LOCK_UN."""
        self._check_open()
        if operation & fcntl.LOCK_UN:
            lock_type = fcntl.F_UNLCK
        elif operation & fcntl.LOCK_EX:
            lock_type = fcntl.F_WRLCK
        elif operation & fcntl.LOCK_SH:
            lock_type = fcntl.F_RDLCK
        else:
            raise Fs3Error(errno.EINVAL, f"flock operation {operation:#x}")
        await self.client.locks.set(self.client.user, self.stat.inode_id, FLOCK, self.lock_owner, lock_type,
                                    wait=not operation & fcntl.LOCK_NB)
        self._locked = True

    async def lock_range(self, lock_type: int, start: int = 0, length: int = 0, *, wait: bool = True) -> None:
        """A POSIX record lock (F_RDLCK / F_WRLCK / F_UNLCK) on [start, start+length); length 0: to the end."""
        self._check_open()
        if start < 0 or length < 0:
            raise Fs3Error(errno.EINVAL, f"lock range {start}+{length}")
        end = OFFSET_MAX if length == 0 else start + length - 1
        await self.client.locks.set(self.client.user, self.stat.inode_id, POSIX, self.lock_owner, lock_type,
                                    start, end, wait=wait, pid=os.getpid())
        self._locked = True

    async def test_lock(self, lock_type: int, start: int = 0, length: int = 0) -> LockHolder | None:
        """F_GETLK: who would block this POSIX lock (None: it would be granted)."""
        self._check_open()
        end = OFFSET_MAX if length == 0 else start + length - 1
        return await self.client.locks.test(self.client.user, self.stat.inode_id, POSIX, self.lock_owner,
                                            lock_type, start, end)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        client = self.client
        if self._locked:
            for kind in (POSIX, FLOCK):
                await client.locks.release(client.user, self.stat.inode_id, kind, self.lock_owner)
        response = await client.meta.call(
            MetaMethod.CLOSE,
            meta_pb2.CloseRequest(
                user=client.user, inode_id=self.stat.inode_id, client_id=client.client_id,
                session_id=self.session_id, wrote=self.wrote, length_hint=self.written_end,
            ),
        )
        self.stat = _stat_from_inode(response.inode)

    async def __aenter__(self) -> "Fs3File":
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()
