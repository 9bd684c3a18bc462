"""The native fs3 client: files striped over chains, chunks moved in parallel.

    client = await Fs3Client.connect(["127.0.0.1:8000"])
    async with await client.open("/data/x.bin", "wb") as file:
        await file.write(memoryview(buffer))
    info = await client.stat("/data/x.bin")

Metadata calls go to any metadata service; chunk reads and writes go straight
to the storage services (the metadata service is not on the data path). Data
moves between the caller's buffers and sockets without intermediate copies.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import os
import random
from typing import Sequence

from fs3._proto import common_pb2, meta_pb2
from fs3.client.layout import FileLayout, split_range
from fs3.client.meta_client import MetaClient
from fs3.client.storage_client import StorageClient, StorageClientConfig
from fs3.errors import Fs3Error
from fs3.mgmtd.client import MgmtdClient, RoutingWatcher
from fs3.net.client import ClientConfig as RpcClientConfig
from fs3.net.client import RpcClientPool
from fs3.net.methods import MetaMethod
from fs3.tuning import tune_malloc

__all__ = ["Fs3Client", "Fs3File", "FileStat", "DirEntry", "ClientConfig"]

O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND = (
    os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_EXCL, os.O_TRUNC, os.O_APPEND,
)

_TYPE_NAMES = {1: "file", 2: "directory", 3: "symlink", 4: "fifo"}


@dataclasses.dataclass(frozen=True, slots=True)
class ClientConfig:
    inflight_chunks_max: int = 16
    routing_refresh_interval_s: float = 1.0
    meta_timeout_s: float = 10.0
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
                 uid: int | None = None, gid: int | None = None, groups: Sequence[int] = ()) -> None:
        self.config = config
        self.mgmtd = MgmtdClient(list(mgmtd_addresses))
        self.routing = RoutingWatcher(self.mgmtd, config.routing_refresh_interval_s)
        self.rpc = RpcClientPool(config.rpc)
        self.client_id = random.SystemRandom().getrandbits(63) or 1
        self.user = common_pb2.UserInfo(
            uid=os.getuid() if uid is None else uid, gid=os.getgid() if gid is None else gid, groups=list(groups)
        )
        self.meta = MetaClient(self.rpc, lambda: self.routing.routing, self.routing.refresh,
                               timeout_s=config.meta_timeout_s)
        self.storage = StorageClient(self.rpc, lambda: self.routing.routing, self.routing.refresh,
                                     client_id=self.client_id, config=config.storage)
        self.inflight_chunks = asyncio.Semaphore(config.inflight_chunks_max)

    @classmethod
    async def connect(cls, mgmtd_addresses: Sequence[str], **kwargs) -> "Fs3Client":
        tune_malloc()
        client = cls(mgmtd_addresses, **kwargs)
        try:
            await client.routing.start()
        except BaseException:
            await client.close()
            raise
        return client

    async def close(self) -> None:
        await self.routing.stop()
        await self.rpc.close()
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

    async def write_chunks(self, stat: FileStat, offset: int, data: memoryview) -> None:
        """Write `data` at `offset` of a file, all its chunks in parallel (bounded)."""
        layout = stat.layout
        assert layout is not None, "file without layout"
        routing = self.routing.routing

        async def write_one(span) -> None:
            async with self.inflight_chunks:
                chain_id = layout.chain_of_chunk(routing, span.chunk_index)
                piece = data[span.offset_in_range : span.offset_in_range + span.length]
                await self.storage.write_chunk(
                    chain_id, stat.inode_id, span.chunk_index, span.offset_in_chunk, piece, layout.chunk_size
                )

        spans = list(split_range(offset, len(data), layout.chunk_size))
        if len(spans) == 1:
            await write_one(spans[0])
        else:
            await asyncio.gather(*(write_one(span) for span in spans))

    async def read_chunks(self, stat: FileStat, offset: int, into: memoryview) -> None:
        """Fill `into` from `offset`; holes and bytes past a chunk's end read as zeros."""
        layout = stat.layout
        assert layout is not None, "file without layout"
        routing = self.routing.routing

        async def read_one(span) -> None:
            async with self.inflight_chunks:
                chain_id = layout.chain_of_chunk(routing, span.chunk_index)
                piece = into[span.offset_in_range : span.offset_in_range + span.length]
                count = await self.storage.read_chunk(
                    chain_id, stat.inode_id, span.chunk_index, span.offset_in_chunk, span.length, piece
                )
                if count < span.length:
                    piece[count:] = bytes(span.length - count)

        spans = list(split_range(offset, len(into), layout.chunk_size))
        if len(spans) == 1:
            await read_one(spans[0])
        else:
            await asyncio.gather(*(read_one(span) for span in spans))

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

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        client = self.client
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
