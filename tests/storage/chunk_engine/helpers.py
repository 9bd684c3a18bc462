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


def slot_files(target_path: str) -> list[str]:
    """Every file under the target's `slots/` folder."""
    found = []
    for directory, _, names in os.walk(os.path.join(target_path, "slots")):
        found.extend(os.path.join(directory, name) for name in names)
    return sorted(found)


def used_slots(engine: ChunkEngine) -> int:
    """Slots the engine does not consider free (referenced, being written or
    still being read): after a call returns, exactly the live versions."""
    return sum(used for _, used in engine._slot_usage().values())


def live_versions(engine: ChunkEngine) -> int:
    """Slots the metadata references: one per committed and per pending version, except that a
    pending version appended in place shares the committed version's slot."""
    count = 0
    for record in engine._store.scan():
        slots = {record.committed_slot} if record.committed_version else set()
        if record.pending_version:
            slots.add(record.pending_slot)
        count += len(slots)
    return count


def slot_location(engine: ChunkEngine, chunk_id, *, pending: bool = False) -> tuple[str, int]:
    """(slot file path, byte offset) of a chunk's committed (or pending) version."""
    from fs3.storage.chunk_engine.slots import Slot

    record = engine._store.get(chunk_id)
    slot = Slot.decode(record.pending_slot if pending else record.committed_slot)
    return engine._slot_file_path(slot.class_bits, slot.file_index), slot.offset
