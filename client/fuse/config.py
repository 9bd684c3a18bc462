"""Bounds and timeouts of the FUSE daemon, in one place."""

from __future__ import annotations

import dataclasses

__all__ = ["FuseConfig"]

MiB = 1 << 20


@dataclasses.dataclass(frozen=True, slots=True)
class FuseConfig:
    """Every limit the daemon enforces.

    Attributes:
        entry_timeout_s / attribute_timeout_s: how long the kernel may cache
            names and attributes (short: other clients change the namespace).
        write_piece_bytes: writes are coalesced into pieces aligned to this
            size (1 MiB: the storage's transfer unit) and sent when a piece is
            full or on flush/fsync/release.
        write_buffer_bytes: bytes one open file may hold in pieces not yet
            acknowledged by storage (buffered plus in flight); a writer waits
            beyond it.
        readahead_bytes: how far ahead of a sequential reader one open file
            fetches (0 turns readahead off).
        kernel_read_ahead_bytes: the mount's bdi read_ahead_kb (the kernel's own
            readahead ahead of page-cache reads; 0 leaves the default 128 KiB).
        handles_max: open files and directories at once (EMFILE beyond).
        readdir_page_entries: entries fetched per READDIR call.
        worker_tasks_max: FUSE requests in flight at once (the kernel layer stops
            reading /dev/fuse at this bound).
    """

    entry_timeout_s: float = 1.0
    attribute_timeout_s: float = 1.0
    write_piece_bytes: int = 1 * MiB
    write_buffer_bytes: int = 16 * MiB
    readahead_bytes: int = 8 * MiB
    kernel_read_ahead_bytes: int = 1 * MiB
    handles_max: int = 65536
    readdir_page_entries: int = 1024
    worker_tasks_max: int = 64
    block_size: int = 4096

    def check(self) -> None:
        assert self.write_piece_bytes > 0 and self.write_piece_bytes & (self.write_piece_bytes - 1) == 0
        assert self.write_buffer_bytes >= self.write_piece_bytes
        assert self.readahead_bytes >= 0 and self.handles_max > 0 and self.readdir_page_entries > 0
        assert self.worker_tasks_max > 0
