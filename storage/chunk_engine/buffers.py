"""A bounded pool of page-aligned, pre-touched I/O buffers.

Direct I/O needs 4096-aligned memory, and first-touching fresh memory costs
more than copying into touched memory (see limits.md), so the chunk engine
allocates its staging buffers once at start-up from anonymous `mmap`s (which
are page-aligned) and reuses them. The pool is bounded: when every buffer is
lent out, callers wait, which is the engine's backpressure.
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import threading
from collections.abc import Iterator

from fs3.errors import Fs3Error, StatusCode

__all__ = ["AlignedBufferPool", "buffer_address", "PAGE_SIZE_BYTES"]

PAGE_SIZE_BYTES = mmap.PAGESIZE


def buffer_address(view: memoryview) -> int | None:
    """The address of a writable buffer's first byte, or None if read-only.

    Read-only buffers (for example `bytes`) are never used for direct I/O, so
    not knowing their address costs nothing.
    """
    if view.readonly or not view.contiguous:
        return None
    if view.nbytes == 0:
        return None
    return ctypes.addressof(ctypes.c_char.from_buffer(view))


class AlignedBufferPool:
    """`count` page-aligned buffers of `buffer_size` bytes each.

    Args:
        buffer_size: bytes per buffer, a multiple of the page size.
        count: number of buffers; `acquire` blocks while all are lent out.

    Example:
        pool = AlignedBufferPool(1 << 20, 8)
        with pool.borrow() as buffer:
            n = os.preadv(fd, [buffer], 0)
    """

    def __init__(self, buffer_size: int, count: int) -> None:
        assert buffer_size > 0 and buffer_size % PAGE_SIZE_BYTES == 0, f"bad buffer size {buffer_size}"
        assert 1 <= count <= 4096, f"bad buffer count {count}"
        self.buffer_size = buffer_size
        self.count = count
        self._maps = [mmap.mmap(-1, buffer_size) for _ in range(count)]
        self._views = [memoryview(m) for m in self._maps]
        for view in self._views:
            # Pre-touch every page now so no request pays for page faults.
            for page_offset in range(0, buffer_size, PAGE_SIZE_BYTES):
                view[page_offset] = 0
            assert buffer_address(view) % PAGE_SIZE_BYTES == 0
        self._owned_ids = {id(view) for view in self._views}
        self._free = list(self._views)
        self._condition = threading.Condition(threading.Lock())
        self._closed = False

    def acquire(self, timeout_seconds: float | None = None) -> memoryview:
        """Take a buffer, waiting up to `timeout_seconds` (None = forever).

        Raises:
            Fs3Error(TIMEOUT): no buffer became free in time.
        """
        with self._condition:
            assert not self._closed, "buffer pool is closed"
            if not self._condition.wait_for(lambda: self._free, timeout_seconds):
                raise Fs3Error(StatusCode.TIMEOUT, f"no I/O buffer free after {timeout_seconds} s")
            return self._free.pop()

    def release(self, buffer: memoryview) -> None:
        """Give a buffer back; it must have come from this pool."""
        with self._condition:
            assert id(buffer) in self._owned_ids, "released a buffer the pool does not own"
            assert all(free is not buffer for free in self._free), "buffer released twice"
            self._free.append(buffer)
            self._condition.notify()

    @contextlib.contextmanager
    def borrow(self, timeout_seconds: float | None = None) -> Iterator[memoryview]:
        buffer = self.acquire(timeout_seconds)
        try:
            yield buffer
        finally:
            self.release(buffer)

    @property
    def free_count(self) -> int:
        with self._condition:
            return len(self._free)

    def close(self) -> None:
        """Unmap all buffers; every buffer must have been released."""
        with self._condition:
            if self._closed:
                return
            assert len(self._free) == self.count, f"{self.count - len(self._free)} buffers still lent out"
            self._closed = True
            self._free.clear()
            for view in self._views:
                view.release()
            for mapping in self._maps:
                try:
                    mapping.close()
                except BufferError:
                    # A slice is still referenced (say by a traceback's frame);
                    # the mapping is freed when that reference goes.
                    pass
