"""The bounds of one FUSE session, fixed when it starts."""

from __future__ import annotations

import dataclasses
import mmap

__all__ = ["SessionLimits", "PAGE_BYTES", "REQUEST_HEADROOM_BYTES"]

MiB = 1 << 20
PAGE_BYTES = mmap.PAGESIZE
# A receive buffer holds max_write bytes of payload plus the headers in front of it
# (fuse_in_header and fuse_write_in: 80 bytes); one page leaves room for any other request.
REQUEST_HEADROOM_BYTES = 4096


@dataclasses.dataclass(frozen=True, slots=True)
class SessionLimits:
    """Every limit a `Session` enforces.

    Attributes:
        max_write_bytes: largest WRITE payload (negotiated as max_write; max_pages
            follows from it), also the mount's max_read.
        requests_max: requests dispatched and not yet answered at once; the session
            stops reading /dev/fuse at this bound (`main(max_tasks=...)` sets it).
        lock_waits_max: SETLKW requests waiting for a lock at once (beyond: ENOLCK).
            They do not count toward requests_max, so an unlock or an INTERRUPT is
            always read even while many processes wait for locks.
        lent_buffers_max: receive buffers a write's payload may be kept in (as a view)
            after its reply; beyond, payloads are handed over as copies.
        reads_per_wakeup_max: requests read per readiness callback (fairness to the loop).
        drain_timeout_s: at the end of the session, how long requests in flight may
            still run before they are cancelled.
        max_background / congestion_threshold: the kernel's asynchronous request
            limits (0: the kernel's defaults, 12 and 9, as libfuse left them).
    """

    max_write_bytes: int = 1 * MiB
    requests_max: int = 64
    lock_waits_max: int = 1024
    lent_buffers_max: int = 64
    reads_per_wakeup_max: int = 32
    drain_timeout_s: float = 10.0
    max_background: int = 0
    congestion_threshold: int = 0

    @property
    def receive_buffer_bytes(self) -> int:
        return self.max_write_bytes + REQUEST_HEADROOM_BYTES

    @property
    def max_pages(self) -> int:
        return (self.max_write_bytes + PAGE_BYTES - 1) // PAGE_BYTES

    def check(self) -> None:
        assert self.max_write_bytes >= 4096, "the kernel's max_write floor is 4096"
        assert self.max_write_bytes % PAGE_BYTES == 0
        assert self.max_pages <= 0xFFFF, "max_pages is 16 bits in fuse_init_out"
        assert self.requests_max > 0
        assert self.lock_waits_max > 0
        assert self.lent_buffers_max >= 0
        assert self.reads_per_wakeup_max > 0
        assert self.drain_timeout_s >= 0
        assert 0 <= self.max_background <= 0xFFFF
        assert 0 <= self.congestion_threshold <= 0xFFFF
