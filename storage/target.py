"""One storage target as the service sees it: a chunk engine, chunk locks, I/O threads.

The chunk engine is synchronous and does disk I/O; every call goes through
the service's bounded thread pool so the event loop never blocks on a disk.
Writes to one chunk are serialised by an asyncio lock held from the local
write until the chain's acknowledgement commits it (CRAQ step 3 to 6).
A target being replaced (`fs3.storage.target_admin`) is retired first: new
calls fail, and its engine closes once the calls in flight have returned.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import AsyncIterator

from fs3.errors import Fs3Error, StatusCode
from fs3.storage.chunk_engine import ChunkEngine, ChunkEngineConfig, ChunkId, ChunkMeta

__all__ = ["StorageTarget"]


class _ChunkLocks:
    """Per-chunk asyncio locks, dropped when nobody holds or waits for them."""

    def __init__(self) -> None:
        self._locks: dict[ChunkId, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, chunk_id: ChunkId) -> AsyncIterator[None]:
        lock, users = self._locks.get(chunk_id, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[chunk_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chunk_id]
            if users == 1:
                del self._locks[chunk_id]
            else:
                self._locks[chunk_id] = (lock, users - 1)


class StorageTarget:
    def __init__(self, target_id: int, path: str, executor: ThreadPoolExecutor, engine_config: ChunkEngineConfig) -> None:
        self.target_id = target_id
        self.path = path
        self.executor = executor
        self.engine = ChunkEngine(path, config=engine_config)
        self.locks = _ChunkLocks()
        self._calls_in_flight = 0
        self._retired = False

    async def _run(self, function, *args, **kwargs):
        if self._retired:
            raise Fs3Error(StatusCode.TARGET_NOT_SERVING, f"target {self.target_id} is being replaced")
        loop = asyncio.get_running_loop()
        self._calls_in_flight += 1
        try:
            return await loop.run_in_executor(self.executor, lambda: function(*args, **kwargs))
        finally:
            self._calls_in_flight -= 1

    async def retire(self, *, timeout_s: float, poll_s: float = 0.01) -> None:
        """Refuse new calls and wait until the calls in flight have returned (then `close` is safe)."""
        self._retired = True
        for _attempt in range(max(1, int(timeout_s / poll_s))):
            if self._calls_in_flight == 0:
                return
            await asyncio.sleep(poll_s)
        raise Fs3Error(StatusCode.TIMEOUT, f"target {self.target_id}: {self._calls_in_flight} calls still in "
                                           f"flight after {timeout_s}s")

    async def write_pending(self, chunk_id: ChunkId, offset: int, data: memoryview, *, chunk_size: int,
                            chain_version: int, full_chunk_replace: bool, payload_crc32c: int) -> ChunkMeta:
        return await self._run(self.engine.write_pending, chunk_id, offset, data, payload_crc32c=payload_crc32c,
                               chunk_size=chunk_size, chain_version=chain_version,
                               full_chunk_replace=full_chunk_replace)

    async def write_committed(self, chunk_id: ChunkId, offset: int, data: memoryview, *, chunk_size: int,
                              chain_version: int, full_chunk_replace: bool, payload_crc32c: int,
                              committed_version: int = 0) -> ChunkMeta:
        return await self._run(self.engine.write_committed, chunk_id, offset, data, payload_crc32c=payload_crc32c,
                               chunk_size=chunk_size, chain_version=chain_version,
                               full_chunk_replace=full_chunk_replace, committed_version=committed_version)

    async def remove_chunk(self, chunk_id: ChunkId) -> bool:
        return await self._run(self.engine.remove, chunk_id)

    async def commit(self, chunk_id: ChunkId, version: int) -> ChunkMeta:
        return await self._run(self.engine.commit, chunk_id, version)

    async def read(self, chunk_id: ChunkId, offset: int, length: int, into: memoryview, *, relaxed: bool,
                   committed: bool = False) -> int:
        return await self._run(self.engine.read, chunk_id, offset, length, into, relaxed=relaxed, committed=committed)

    async def read_with_meta(self, chunk_id: ChunkId, offset: int, length: int, into: memoryview, *,
                             relaxed: bool) -> tuple[ChunkMeta | None, int]:
        """The chunk's metadata and a read of it, in one trip to an I/O thread."""
        return await self._run(self.engine.read_with_meta, chunk_id, offset, length, into, relaxed=relaxed)

    async def get_meta(self, chunk_id: ChunkId) -> ChunkMeta | None:
        return await self._run(self.engine.get_meta, chunk_id)

    async def last_chunk(self, inode_id: int) -> ChunkMeta | None:
        return await self._run(self.engine.last_chunk, inode_id)

    async def remove_chunks_from(self, inode_id: int, first_chunk_index: int) -> int:
        return await self._run(self.engine.remove_chunks_from, inode_id, first_chunk_index)

    async def truncate(self, chunk_id: ChunkId, length: int, *, chain_version: int) -> ChunkMeta:
        return await self._run(self.engine.truncate, chunk_id, length, chain_version=chain_version)

    async def list_chunks(self, after: ChunkId | None = None, limit: int = -1) -> list[ChunkMeta]:
        return await self._run(self.engine.list_chunks, after, limit)

    async def space(self):
        return await self._run(self.engine.space)

    def close(self) -> None:
        self.engine.close()
