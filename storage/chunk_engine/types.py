"""Value types the chunk engine takes and returns: ids, metadata, space, config.

These are plain frozen dataclasses so the storage service can pass them
between threads and encode them for RPCs without touching engine internals.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from fs3.errors import Fs3Error, StatusCode

__all__ = ["ChunkId", "ChunkMeta", "TargetSpace", "ChunkEngineConfig", "INODE_ID_MAX", "CHUNK_INDEX_MAX"]

INODE_ID_MAX = (1 << 64) - 1
CHUNK_INDEX_MAX = (1 << 32) - 1
DIRECT_IO_ALIGNMENT_BYTES = 4096
MIB = 1 << 20
SLOT_SIZE_MIN_BYTES = 64 * 1024
SLOT_FILE_BYTES_MIN = 1 * MIB
SLOT_FILE_BYTES_MAX = 4096 * MIB

_CHUNK_ID_STRUCT = struct.Struct(">QI")


@dataclass(frozen=True, order=True, slots=True)
class ChunkId:
    """One chunk of one file: `(inode_id, chunk_index)`.

    Encoded big-endian so that byte order equals numeric order: the chunks of
    one inode sit next to each other in the metadata store, sorted by index,
    which makes `last_chunk` and `remove_chunks_from` range scans.
    """

    inode_id: int
    chunk_index: int

    def __post_init__(self) -> None:
        if not 0 <= self.inode_id <= INODE_ID_MAX:
            raise Fs3Error(StatusCode.BAD_REQUEST, f"inode id {self.inode_id} is not a u64")
        if not 0 <= self.chunk_index <= CHUNK_INDEX_MAX:
            raise Fs3Error(StatusCode.BAD_REQUEST, f"chunk index {self.chunk_index} is not a u32")

    def to_bytes(self) -> bytes:
        return _CHUNK_ID_STRUCT.pack(self.inode_id, self.chunk_index)

    @classmethod
    def from_bytes(cls, data: bytes) -> ChunkId:
        if len(data) != _CHUNK_ID_STRUCT.size:
            raise Fs3Error(StatusCode.BAD_REQUEST, f"a chunk id is 12 bytes, got {len(data)}")
        inode_id, chunk_index = _CHUNK_ID_STRUCT.unpack(data)
        return cls(inode_id, chunk_index)

    def __str__(self) -> str:
        return f"{self.inode_id:016x}:{self.chunk_index:08x}"


@dataclass(frozen=True, slots=True)
class ChunkMeta:
    """What the engine knows about one chunk.

    `committed_version` 0 means no committed content yet (only a pending
    version exists); `pending_version` 0 means no pending version.
    `chain_version` is the chain version of the last write applied.
    """

    chunk_id: ChunkId
    committed_version: int
    pending_version: int
    chain_version: int
    length: int
    crc32c: int
    pending_length: int
    pending_crc32c: int


@dataclass(frozen=True, slots=True)
class TargetSpace:
    """Space of one target, for heartbeats and placement."""

    used_bytes: int
    capacity_bytes: int
    free_bytes: int
    chunk_count: int


_SYNCHRONOUS_MODES = ("NORMAL", "FULL")


@dataclass(frozen=True, slots=True)
class ChunkEngineConfig:
    """Limits and knobs of one chunk engine, checked when constructed.

    Args:
        chunk_size_bytes_max: largest chunk a request may name.
        direct_io: use O_DIRECT for aligned I/O when the file system allows it.
        metadata_synchronous: SQLite `synchronous` pragma. NORMAL survives a
            process kill; FULL also survives power loss (with `data_fsync`).
        data_fsync: fdatasync each new version's slot file before its metadata
            commits, so a power loss cannot leave metadata pointing at
            unwritten data (new slot files and their folder are fsync'ed too).
        capacity_bytes: space limit of the target; 0 = the file system's.
        buffer_size_bytes: size of each pooled aligned buffer; chunks larger
            than this are streamed through it in pieces.
        buffer_count: pooled buffers, i.e. how many partial reads/writes run
            at once; more callers wait.
        buffer_wait_seconds_max: how long a caller waits for a buffer.
        slot_file_bytes: size of each preallocated slot file (a class of
            slot size S holds max(1, slot_file_bytes // S) slots per file).
            Fixed when a target is created: an existing target keeps its own.
        open_slot_files_max: idle slot files kept open (two descriptors each).
        cached_records_max: chunk metadata rows kept in memory (about 300
            bytes each), so most reads and writes look their chunk up without SQL.
        free_slot_bytes_kept: free slots of one size class beyond this many
            bytes give their disk blocks back to the file system (a hole is
            punched, the highest free slots first); the slots kept are the
            cheapest to write again (25% faster than a hole here). 0 punches
            every freed slot. When the disk is full, a class that needs a new
            slot file first has every free slot of every class punched.
    """

    chunk_size_bytes_max: int = 64 * MIB
    direct_io: bool = True
    metadata_synchronous: str = "NORMAL"
    data_fsync: bool = False
    capacity_bytes: int = 0
    buffer_size_bytes: int = 1 * MIB
    buffer_count: int = 8
    buffer_wait_seconds_max: float = 30.0
    slot_file_bytes: int = 256 * MIB
    open_slot_files_max: int = 256
    cached_records_max: int = 65536
    free_slot_bytes_kept: int = 1024 * MIB

    def __post_init__(self) -> None:
        if not DIRECT_IO_ALIGNMENT_BYTES <= self.chunk_size_bytes_max <= 1024 * MIB:
            raise ValueError(f"chunk_size_bytes_max {self.chunk_size_bytes_max} not in [4 KiB, 1 GiB]")
        if self.metadata_synchronous not in _SYNCHRONOUS_MODES:
            raise ValueError(f"metadata_synchronous must be one of {_SYNCHRONOUS_MODES}")
        if self.capacity_bytes < 0:
            raise ValueError("capacity_bytes must be >= 0 (0 = the file system's)")
        if not DIRECT_IO_ALIGNMENT_BYTES <= self.buffer_size_bytes <= 64 * MIB:
            raise ValueError(f"buffer_size_bytes {self.buffer_size_bytes} not in [4 KiB, 64 MiB]")
        if self.buffer_size_bytes % DIRECT_IO_ALIGNMENT_BYTES != 0:
            raise ValueError("buffer_size_bytes must be a multiple of 4096 (direct I/O)")
        if not 1 <= self.buffer_count <= 1024:
            raise ValueError(f"buffer_count {self.buffer_count} not in [1, 1024]")
        if not 0 < self.buffer_wait_seconds_max <= 3600:
            raise ValueError("buffer_wait_seconds_max must be in (0, 3600]")
        if not SLOT_FILE_BYTES_MIN <= self.slot_file_bytes <= SLOT_FILE_BYTES_MAX:
            raise ValueError(f"slot_file_bytes {self.slot_file_bytes} not in [1 MiB, 4 GiB]")
        if self.slot_file_bytes % SLOT_SIZE_MIN_BYTES != 0:
            raise ValueError("slot_file_bytes must be a multiple of 64 KiB (the smallest slot)")
        if not 0 <= self.cached_records_max <= 1 << 24:
            raise ValueError(f"cached_records_max {self.cached_records_max} not in [0, 16 Mi]")
        if not 0 <= self.free_slot_bytes_kept <= 1 << 40:
            raise ValueError(f"free_slot_bytes_kept {self.free_slot_bytes_kept} not in [0, 1 TiB]")
        if not 1 <= self.open_slot_files_max <= 65536:
            raise ValueError(f"open_slot_files_max {self.open_slot_files_max} not in [1, 65536]")
