"""Decoded storage requests and results: what the storage core works with."""

from __future__ import annotations

import dataclasses

from fs3.storage.chunk_engine import ChunkId

__all__ = ["WriteRequest", "WriteResult", "ReadRequest", "ReadResult", "RemoveChunksRequest", "TruncateChunkRequest"]


@dataclasses.dataclass(frozen=True, slots=True)
class WriteRequest:
    chain_id: int
    chain_version: int
    chunk_id: ChunkId
    offset: int
    length: int
    chunk_size: int
    payload_crc32c: int
    full_chunk_replace: bool
    target_id: int  # 0: the chain's head
    client_id: int = 0
    request_seq: int = 0
    from_predecessor: bool = False
    update_version: int = 0  # full-chunk replace to a syncing target: the version to commit


@dataclasses.dataclass(frozen=True, slots=True)
class WriteResult:
    committed_version: int
    chunk_length: int
    chunk_crc32c: int


@dataclasses.dataclass(frozen=True, slots=True)
class ReadRequest:
    chain_id: int
    chain_version: int
    chunk_id: ChunkId
    offset: int
    length: int
    target_id: int
    relaxed: bool


@dataclasses.dataclass(frozen=True, slots=True)
class ReadResult:
    length: int
    committed_version: int
    chunk_length: int
    chunk_exists: bool


@dataclasses.dataclass(frozen=True, slots=True)
class RemoveChunksRequest:
    """Remove chunks of `inode_id` with index >= first_chunk_index (file removal, truncation)."""

    chain_id: int
    chain_version: int
    inode_id: int
    first_chunk_index: int
    target_id: int  # 0: the chain's head
    from_predecessor: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class TruncateChunkRequest:
    """Cut one chunk to at most `length` bytes (never extends, never creates)."""

    chain_id: int
    chain_version: int
    chunk_id: ChunkId
    length: int
    target_id: int  # 0: the chain's head
    from_predecessor: bool = False
