"""Open files and directories of the FUSE daemon.

An `OpenFile` coalesces the kernel's writes (often 128 KiB from `cp`, 4 KiB
from small writers) into pieces aligned to `write_piece_bytes` (1 MiB), and
sends a piece to storage as soon as it is full, without waiting for it:
pieces are acknowledged in the background, up to `write_buffer_bytes` per
file; `drain` (flush/fsync/release) sends the partial piece and waits for
all, raising the first error any of them met. A full aligned write is sent
as it is, without a copy.

Reads detected as sequential are served from blocks fetched ahead (up to
`readahead_bytes` past the reader); any other read goes straight to storage.
A block that lies in one chunk stays in the shared-memory slot the storage
service read it into (a lease, given back once the reader passed it), so the
reply to the kernel is written straight from the slot.
Writes through the mount drop an inode's fetched blocks, and a read first
drains the inode's pending writes, so a reader sees what this mount wrote.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging

from fs3.client.client import FileStat, Fs3Client
from fs3.client.fuse.config import FuseConfig
from fs3.client.storage_client import ReadLease
from fs3.errors import Fs3Error

__all__ = ["OpenFile", "OpenDirectory", "HandleTable"]

logger = logging.getLogger(__name__)


def _release_lease(task: asyncio.Task) -> None:
    """Give a finished block's lease back (or retrieve its error so asyncio does not warn)."""
    if task.cancelled():
        return
    if task.exception() is None:
        task.result().release()


class _ReadBlock:
    """A block being fetched or fetched: its lease goes back once the block is dropped (the reader
    passed it, a write or truncate made it stale, the file closed) and no read still uses it."""

    __slots__ = ("task", "readers", "dropped", "released")

    def __init__(self, task: asyncio.Task) -> None:
        self.task = task
        self.readers = 0
        self.dropped = False
        self.released = False

    def drop(self) -> None:
        self.dropped = True
        self._release_if_unused()

    def done_reading(self) -> None:
        self.readers -= 1
        assert self.readers >= 0, "a read block's reader count went negative"
        self._release_if_unused()

    def _release_if_unused(self) -> None:
        if self.dropped and self.readers == 0 and not self.released:
            self.released = True
            # a done callback runs on a later turn of the loop, so a reply written from the block
            # right after the last reader returned is already out when the slot is reused
            self.task.add_done_callback(_release_lease)


class OpenFile:
    """One open() of a regular file: its write pieces and readahead blocks."""

    def __init__(self, handle_id: int, client: Fs3Client, config: FuseConfig, stat: FileStat, session_id: int,
                 *, writable: bool) -> None:
        self.handle_id = handle_id
        self.client = client
        self.config = config
        self.stat = stat
        self.inode_id = stat.inode_id
        self.session_id = session_id
        self.writable = writable
        self.length = stat.length          # the file's length as this handle knows it
        self.written_end = 0               # highest offset written through this handle
        self.reported_end = 0              # highest offset already told to the metadata service
        self.wrote = False
        # written since the last explicit mtime (setattr): CLOSE then moves mtime to now
        self.mtime_pending = False
        # write side
        self._piece_bytes = config.write_piece_bytes
        self._piece: bytearray | None = None
        self._piece_start = 0
        self._piece_filled = 0
        self._spare_pieces: list[bytearray] = []
        self._pieces_in_flight = asyncio.Semaphore(max(1, config.write_buffer_bytes // self._piece_bytes))
        self._sending: set[asyncio.Task] = set()
        self._write_error: Fs3Error | None = None
        self._write_lock = asyncio.Lock()
        # read side
        self._block_bytes = self._piece_bytes
        self._blocks: dict[int, _ReadBlock] = {}   # block index -> its fetch (a task returning a lease)
        self._read_next = 0

    # ---- writes ------------------------------------------------------------------
    @property
    def has_pending_writes(self) -> bool:
        return self._piece is not None or bool(self._sending)

    def visible_length(self) -> int:
        return max(self.length, self.written_end)

    async def write(self, offset: int, data: bytes) -> int:
        if not self.writable:
            raise Fs3Error(errno.EBADF, "file not open for writing")
        self._raise_write_error()
        view = memoryview(data)
        async with self._write_lock:
            position = offset
            while view:
                if self._piece is not None and position != self._piece_start + self._piece_filled:
                    await self._send_piece()
                if self._piece is None:
                    boundary = (position // self._piece_bytes + 1) * self._piece_bytes
                    if position + len(view) >= boundary and position % self._piece_bytes == 0:
                        # a whole aligned piece: send the caller's bytes as they are
                        await self._send(position, view[: self._piece_bytes], None)
                        position += self._piece_bytes
                        view = view[self._piece_bytes:]
                        continue
                    self._piece = self._spare_pieces.pop() if self._spare_pieces else bytearray(self._piece_bytes)
                    self._piece_start, self._piece_filled = position, 0
                capacity = self._piece_capacity()
                count = min(capacity - self._piece_filled, len(view))
                self._piece[self._piece_filled : self._piece_filled + count] = view[:count]
                self._piece_filled += count
                position += count
                view = view[count:]
                if self._piece_filled == capacity:
                    await self._send_piece()
            self.wrote = True
            self.written_end = max(self.written_end, offset + len(data))
            self.drop_read_blocks()
        return len(data)

    def _piece_capacity(self) -> int:
        """Bytes from the piece's start to the next aligned boundary."""
        return self._piece_bytes - self._piece_start % self._piece_bytes

    async def _send_piece(self) -> None:
        piece, start, filled = self._piece, self._piece_start, self._piece_filled
        self._piece = None
        if piece is not None and filled:
            await self._send(start, memoryview(piece)[:filled], piece)
        elif piece is not None:
            self._spare_pieces.append(piece)

    async def _send(self, offset: int, view: memoryview, piece: bytearray | None) -> None:
        await self._pieces_in_flight.acquire()
        task = asyncio.get_running_loop().create_task(self._send_one(offset, view, piece))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_one(self, offset: int, view: memoryview, piece: bytearray | None) -> None:
        try:
            await self.client.write_chunks(self.stat, offset, view)
        except Fs3Error as error:
            logger.warning("write of %d bytes at %d of inode %d failed: %s", len(view), offset, self.inode_id, error)
            self._write_error = self._write_error or error
        except Exception as error:  # noqa: BLE001 - reported to the writer as EIO
            logger.exception("write of inode %d failed", self.inode_id)
            self._write_error = self._write_error or Fs3Error(errno.EIO, str(error))
        finally:
            view.release()
            if piece is not None and len(self._spare_pieces) < 2:
                self._spare_pieces.append(piece)
            self._pieces_in_flight.release()

    def _raise_write_error(self) -> None:
        if self._write_error is not None:
            error, self._write_error = self._write_error, None
            raise error

    async def drain(self) -> None:
        """Send the partial piece, wait until storage acknowledged every piece, raise the first error."""
        async with self._write_lock:
            await self._send_piece()
            while self._sending:
                await asyncio.gather(*list(self._sending), return_exceptions=True)
        self._raise_write_error()

    def truncated(self, length: int) -> None:
        """The file's length was set to `length` (after a drain)."""
        self.length = length
        self.written_end = min(self.written_end, length)
        self.reported_end = min(self.reported_end, length)
        self.drop_read_blocks()

    # ---- reads -------------------------------------------------------------------
    def drop_read_blocks(self) -> None:
        """Forget fetched blocks. Never cancels: a concurrent read may be awaiting one
        (the kernel's readahead sends several reads of one file at once)."""
        for block in self._blocks.values():
            block.drop()
        self._blocks.clear()

    async def read(self, offset: int, size: int, file_length: int) -> bytes | memoryview:
        """The bytes to reply with. A memoryview into a leased block is valid only until the caller's
        next await: the FUSE session replies from it at once."""
        size = min(size, file_length - offset)
        if size <= 0:
            return b""
        block_bytes = self._block_bytes
        sequential = offset == self._read_next or offset // block_bytes in self._blocks
        self._read_next = max(self._read_next, offset + size) if sequential else offset + size
        if not sequential or self.config.readahead_bytes == 0:
            self.drop_read_blocks()
            buffer = bytearray(size)
            await self.client.read_chunks(self.stat, offset, memoryview(buffer))
            return buffer
        first = offset // block_bytes
        last = (offset + size - 1) // block_bytes
        ahead_last = min((offset + size + self.config.readahead_bytes - 1) // block_bytes,
                         (file_length - 1) // block_bytes)
        for index in [index for index in self._blocks if index < first]:
            self._blocks.pop(index).drop()
        for index in range(first, max(last, ahead_last) + 1):
            if index not in self._blocks:
                self._blocks[index] = _ReadBlock(
                    asyncio.get_running_loop().create_task(self._fetch_block(index, file_length)))
        # registered before any await: a block this read needs stays leased while others drop it
        blocks = [self._blocks[index] for index in range(first, last + 1)]
        for block in blocks:
            block.readers += 1
        try:
            pieces = []
            for index, block in zip(range(first, last + 1), blocks):
                try:
                    view = (await asyncio.shield(block.task)).view  # a cancelled read must not cancel the fetch
                except Exception:
                    if self._blocks.get(index) is block:  # a failed fetch is not kept: the next read tries again
                        self._blocks.pop(index).drop()
                    raise
                start = max(offset - index * block_bytes, 0)
                end = min(offset + size - index * block_bytes, len(view))
                if len(blocks) == 1:
                    return view[start:end]
                pieces.append(view[start:end])
            return b"".join(pieces)
        finally:
            for block in blocks:
                block.done_reading()

    async def _fetch_block(self, index: int, file_length: int):
        start = index * self._block_bytes
        length = min(self._block_bytes, file_length - start)
        chunk_size = self.stat.layout.chunk_size
        if start // chunk_size == (start + length - 1) // chunk_size:
            return await self.client.read_lease(self.stat, start, length)
        buffer = memoryview(bytearray(length))
        await self.client.read_chunks(self.stat, start, buffer)
        return ReadLease(buffer)

    async def close(self) -> None:
        """Forget background work (after drain; no request of this handle is running)."""
        self.drop_read_blocks()


@dataclasses.dataclass(slots=True)
class OpenDirectory:
    """One opendir(): the entries read so far, in name order; a cookie is an index into them."""

    handle_id: int
    inode_id: int
    names: list[bytes] = dataclasses.field(default_factory=list)
    inodes: list = dataclasses.field(default_factory=list)   # meta_pb2.Inode per name
    more: bool = True


class HandleTable:
    """Every open file and directory, by handle id and by inode."""

    def __init__(self, config: FuseConfig) -> None:
        self.config = config
        self._handles: dict[int, OpenFile | OpenDirectory] = {}
        self._files_of_inode: dict[int, set[int]] = {}
        # inode -> the write session that keeps it (unlinked while open here) alive until its last close
        self._pins: dict[int, int] = {}
        self._next_id = 1

    def __len__(self) -> int:
        return len(self._handles)

    def new_handle_id(self) -> int:
        if len(self._handles) >= self.config.handles_max:
            raise Fs3Error(errno.EMFILE, f"{self.config.handles_max} handles open")
        handle_id = self._next_id
        self._next_id += 1
        return handle_id

    def add(self, handle: OpenFile | OpenDirectory) -> int:
        self._handles[handle.handle_id] = handle
        if isinstance(handle, OpenFile):
            self._files_of_inode.setdefault(handle.inode_id, set()).add(handle.handle_id)
        return handle.handle_id

    def file(self, handle_id: int) -> OpenFile:
        handle = self._handles.get(handle_id)
        if not isinstance(handle, OpenFile):
            raise Fs3Error(errno.EBADF, f"no open file with handle {handle_id}")
        return handle

    def file_or_none(self, handle_id: int) -> OpenFile | None:
        handle = self._handles.get(handle_id)
        return handle if isinstance(handle, OpenFile) else None

    def directory(self, handle_id: int) -> OpenDirectory:
        handle = self._handles.get(handle_id)
        if not isinstance(handle, OpenDirectory):
            raise Fs3Error(errno.EBADF, f"no open directory with handle {handle_id}")
        return handle

    def remove(self, handle_id: int) -> None:
        handle = self._handles.pop(handle_id, None)
        if isinstance(handle, OpenFile):
            handles = self._files_of_inode.get(handle.inode_id)
            if handles is not None:
                handles.discard(handle_id)
                if not handles:
                    del self._files_of_inode[handle.inode_id]

    def is_open(self, inode_id: int) -> bool:
        return inode_id in self._files_of_inode

    def is_pinned(self, inode_id: int) -> bool:
        return inode_id in self._pins

    def pin(self, inode_id: int, session_id: int) -> None:
        """`session_id` keeps `inode_id` from the GC while this mount has it open."""
        assert session_id > 0 and inode_id not in self._pins and self.is_open(inode_id)
        self._pins[inode_id] = session_id

    def unpin_if_closed(self, inode_id: int) -> int | None:
        """The pin session of `inode_id` to close, once no handle of it is left."""
        if inode_id in self._files_of_inode:
            return None
        return self._pins.pop(inode_id, None)

    def files_of(self, inode_id: int) -> list[OpenFile]:
        return [self._handles[handle_id] for handle_id in self._files_of_inode.get(inode_id, ())]  # type: ignore[misc]

    def all_files(self) -> list[OpenFile]:
        return [handle for handle in self._handles.values() if isinstance(handle, OpenFile)]

    def visible_length(self, inode_id: int, meta_length: int) -> int:
        """The length a reader should see: the metadata's, or more if this mount wrote past it."""
        return max([meta_length] + [handle.visible_length() for handle in self.files_of(inode_id)])

    async def drain_inode(self, inode_id: int) -> None:
        """Make everything written to `inode_id` through this mount readable from storage."""
        for handle in self.files_of(inode_id):
            if handle.has_pending_writes:
                await handle.drain()

    def written(self, inode_id: int) -> None:
        """`inode_id` was written: fetched read blocks of its handles are stale."""
        for handle in self.files_of(inode_id):
            handle.drop_read_blocks()

    def truncated(self, inode_id: int, length: int) -> None:
        for handle in self.files_of(inode_id):
            handle.truncated(length)
