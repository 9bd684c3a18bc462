"""Receive buffers for /dev/fuse reads, bounded, and lent out with write payloads.

Every request is read into one buffer (max_write plus a page: the kernel
refuses smaller reads). Most requests are decoded at once (their arguments
and names are small copies) and the buffer is free again immediately. A
WRITE's payload goes to the file system as a memoryview of the buffer, no
copy; the file system may keep a slice of it beyond its reply (fs3 sends an
aligned 1 MiB write to storage in the background). So when a write is done
the buffer is checked: if a view still points into it, it is *lent* and
only reused once no view is left. The check is a resize by one byte, which
CPython refuses (BufferError) while any buffer export exists; the buffers
are one byte larger than needed so that resize never moves the memory.

Buffers are allocated on first use, up to the session's bounds (allocating
them all at start-up would touch every page: bytearray zero-fills), and
then reused.
"""

from __future__ import annotations

__all__ = ["ReceiveBufferPool", "is_exported"]


def is_exported(buffer: bytearray) -> bool:
    """Whether a memoryview (or other buffer export) of `buffer` is still alive."""
    try:
        del buffer[-1]
    except BufferError:
        return True
    buffer.append(0)
    return False


class ReceiveBufferPool:
    """Buffers of `buffer_bytes` each: free, busy (a request is being read or served), or lent.

    Args:
        buffer_bytes: the largest request.
        busy_max: buffers busy at once (requests that hold one, plus the read in progress).
        lent_max: buffers that may be lent at once; `may_lend` says no beyond.
    """

    def __init__(self, buffer_bytes: int, busy_max: int, lent_max: int) -> None:
        assert buffer_bytes > 0 and busy_max > 0 and lent_max >= 0
        self.buffer_bytes = buffer_bytes
        self.busy_max = busy_max
        self.lent_max = lent_max
        self._free: list[bytearray] = []
        self._lent: list[bytearray] = []
        self._busy = 0
        self._lending = 0  # busy buffers whose payload view was handed out
        self.allocated = 0

    @property
    def busy(self) -> int:
        return self._busy

    @property
    def lent(self) -> int:
        return len(self._lent)

    def acquire(self) -> bytearray:
        """A buffer to read the next request into (the caller respects busy_max)."""
        assert self._busy < self.busy_max, f"{self._busy} receive buffers busy"
        if not self._free:
            self.reclaim()
        if self._free:
            buffer = self._free.pop()
        else:
            buffer = bytearray(self.buffer_bytes + 1)  # one spare byte for is_exported
            self.allocated += 1
            assert self.allocated <= self.busy_max + self.lent_max, "receive buffers beyond their bound"
        self._busy += 1
        return buffer

    def view(self, buffer: bytearray, start: int, end: int) -> memoryview | bytes:
        """The payload buffer[start:end] for a file system: a view if a lend is allowed, else a copy."""
        if self.lent + self._lending >= self.lent_max:
            self.reclaim()
        if self.lent + self._lending >= self.lent_max:
            return bytes(memoryview(buffer)[start:end])
        self._lending += 1
        return memoryview(buffer)[start:end]

    def release(self, buffer: bytearray, *, lending: bool = False) -> None:
        """The request read into `buffer` is done (its reply sent, the session's own views dropped).

        Args:
            lending: `view` handed out a view of this buffer.
        """
        assert self._busy > 0
        self._busy -= 1
        if lending:
            assert self._lending > 0
            self._lending -= 1
            if is_exported(buffer):
                self._lent.append(buffer)
                return
        self._free.append(buffer)

    def reclaim(self) -> int:
        """Move lent buffers nobody references any more back to the free list; how many moved."""
        still_lent: list[bytearray] = []
        freed: list[bytearray] = []
        for buffer in self._lent:
            (still_lent if is_exported(buffer) else freed).append(buffer)
        self._lent = still_lent
        self._free.extend(freed)
        return len(freed)
