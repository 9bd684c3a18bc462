"""Small helpers shared by the chunk engine tests."""

from __future__ import annotations

import mmap
import os

from fs3.storage.chunk_engine import ChunkEngine

MIB = 1 << 20


def aligned_buffer(size: int) -> memoryview:
    """A page-aligned writable buffer (like the service's pooled buffers)."""
    return memoryview(mmap.mmap(-1, max(size, 1)))[:size]


def pattern(length: int, seed: int) -> bytes:
    """Deterministic content that differs per seed and per position."""
    block = bytes((seed * 31 + index * 7) & 0xFF for index in range(251))
    return (block * (length // 251 + 1))[:length]


def read_all(engine: ChunkEngine, chunk_id, *, relaxed: bool = False, size: int = MIB) -> bytes:
    buffer = aligned_buffer(size)
    count = engine.read(chunk_id, 0, size, buffer, relaxed=relaxed)
    return bytes(buffer[:count])


def data_files(target_path: str) -> list[str]:
    found = []
    for directory, _, names in os.walk(os.path.join(target_path, "chunks")):
        found.extend(os.path.join(directory, name) for name in names)
    return sorted(found)
