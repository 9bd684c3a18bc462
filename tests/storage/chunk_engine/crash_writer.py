"""Child process of the crash test: writes chunks until it is killed.

Usage: crash_writer.py TARGET_PATH SEED

Prints one line per step, flushed, so the parent knows what was promised:
  READY                       engine opened (recovery done)
  W <index> <version> <crc>   about to write; if it lands, chunk <index> is
                              committed at <version> with content CRC <crc>
  P <index> <version> <crc>   the pending version is written (not committed)
  A <index> <version> <crc>   acknowledged: committed at <version>
"""

from __future__ import annotations

import mmap
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bootstrap import ensure_storage_package  # noqa: E402

ensure_storage_package()

import crc32c  # noqa: E402

from fs3.storage.chunk_engine import ChunkEngine, ChunkEngineConfig, ChunkId  # noqa: E402

CHUNK_SIZE = 512 * 1024
CHUNK_COUNT = 8
# Small slot files (8 slots of 512 KiB): kills also land while slot files are created.
# Free slots beyond 1 MiB per class are punched: kills also land while holes are punched.
CONFIG = ChunkEngineConfig(chunk_size_bytes_max=CHUNK_SIZE, buffer_size_bytes=256 * 1024, buffer_count=2,
                           slot_file_bytes=4 * 1024 * 1024, free_slot_bytes_kept=1024 * 1024)


def chunk_id_of(index: int) -> ChunkId:
    return ChunkId(1, index)


def main() -> None:
    target_path, seed = sys.argv[1], int(sys.argv[2])
    rng = random.Random(seed)
    engine = ChunkEngine(target_path, config=CONFIG)
    into = memoryview(mmap.mmap(-1, CHUNK_SIZE))
    aligned = memoryview(mmap.mmap(-1, CHUNK_SIZE))
    contents: dict[int, bytearray] = {}
    for index in range(CHUNK_COUNT):
        meta = engine.get_meta(chunk_id_of(index))
        if meta is None:
            continue
        if meta.pending_version:
            # A write cut short between write_pending and commit: finish it,
            # as the chain would once its successor acknowledges.
            print(f"W {index} {meta.pending_version} {meta.pending_crc32c}", flush=True)
            meta = engine.commit(chunk_id_of(index), meta.pending_version)
            print(f"A {index} {meta.committed_version} {meta.crc32c}", flush=True)
        contents[index] = bytearray(into[:engine.read(chunk_id_of(index), 0, CHUNK_SIZE, into)])
    print("READY", flush=True)
    for step in range(10**9):  # until killed
        index = rng.randrange(CHUNK_COUNT)
        chunk_id = chunk_id_of(index)
        meta = engine.get_meta(chunk_id)
        version = (meta.committed_version if meta else 0) + 1
        content = contents.setdefault(index, bytearray())
        offset = rng.choice([0, rng.randrange(CHUNK_SIZE), len(content)])  # the last: appended in place
        length = rng.choice([CHUNK_SIZE - offset, rng.randrange(CHUNK_SIZE - offset + 1)])
        fill = rng.randrange(256)
        expected = bytearray(content)
        expected.extend(b"\x00" * max(0, offset + length - len(expected)))
        expected[offset:offset + length] = bytes([fill]) * length
        crc = crc32c.crc32c(bytes(expected))
        source: memoryview | bytes = bytes([fill]) * length
        if rng.random() < 0.5:
            aligned[:length] = source
            source = aligned[:length]
        print(f"W {index} {version} {crc}", flush=True)
        if rng.random() < 0.5:
            meta = engine.write_committed(chunk_id, offset, source, chunk_size=CHUNK_SIZE, chain_version=1)
        else:
            meta = engine.write_pending(chunk_id, offset, source, chunk_size=CHUNK_SIZE, chain_version=1)
            assert (meta.pending_version, meta.pending_crc32c) == (version, crc), (meta, version, crc)
            print(f"P {index} {version} {crc}", flush=True)
            meta = engine.commit(chunk_id, version)
        assert (meta.committed_version, meta.crc32c) == (version, crc), (meta, version, crc)
        contents[index] = expected
        print(f"A {index} {version} {crc}", flush=True)


if __name__ == "__main__":
    main()
