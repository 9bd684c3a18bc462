"""A bounded pool of page-aligned, pre-touched buffers for payloads.

First touch of fresh memory costs 7-10 us per 4 KiB page here (limits.md), so
the data path reuses buffers allocated and touched at start-up. `mmap`
buffers are page-aligned, which also makes them usable for O_DIRECT I/O.
"""

from __future__ import annotations

import mmap
import threading

__all__ = ["BufferPool", "PooledBuffer"]

_PAGE_BYTES = mmap.PAGESIZE


class PooledBuffer:
    """One buffer on loan from a pool; `release()` exactly once when done."""

    __slots__ = ("_pool", "_mmap", "view", "_released")

    def __init__(self, pool: "BufferPool | None", backing: mmap.mmap) -> None:
        self._pool = pool
        self._mmap = backing
        self.view = memoryview(backing)
        self._released = False

    @property
    def capacity(self) -> int:
        return len(self.view)

    def release(self) -> None:
        assert not self._released, "buffer released twice"
        self._released = True
        if self._pool is not None:
            self._pool._give_back(self)
        # A one-off buffer is freed when the last view of it goes away: views
        # handed to the transport may outlive this call by a moment.

    def _reuse(self) -> None:
        self._released = False


class BufferPool:
    """`count` buffers of `buffer_bytes` each; beyond that, one-off buffers.

    A one-off buffer is allocated when the pool is empty rather than blocking
    the caller (the caller's own in-flight bound limits how many exist).
    """

    def __init__(self, buffer_bytes: int, count: int) -> None:
        assert buffer_bytes > 0 and count >= 0
        self.buffer_bytes = -(-buffer_bytes // _PAGE_BYTES) * _PAGE_BYTES
        self._lock = threading.Lock()
        self._free: list[PooledBuffer] = []
        self.one_off_allocations = 0
        for _ in range(count):
            backing = mmap.mmap(-1, self.buffer_bytes)
            for offset in range(0, self.buffer_bytes, _PAGE_BYTES):
                backing[offset] = 0
            self._free.append(PooledBuffer(self, backing))

    def acquire(self, size: int) -> PooledBuffer:
        """A buffer of at least `size` bytes (pooled if it fits and one is free)."""
        if size <= self.buffer_bytes:
            with self._lock:
                if self._free:
                    buffer = self._free.pop()
                    buffer._reuse()
                    return buffer
        self.one_off_allocations += 1
        rounded = max(_PAGE_BYTES, -(-size // _PAGE_BYTES) * _PAGE_BYTES)
        return PooledBuffer(None, mmap.mmap(-1, rounded))

    def _give_back(self, buffer: PooledBuffer) -> None:
        with self._lock:
            self._free.append(buffer)

    @property
    def free_count(self) -> int:
        return len(self._free)
