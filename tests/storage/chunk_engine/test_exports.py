"""The package exports exactly its public surface."""

import fs3.storage.chunk_engine as chunk_engine


def test_exported_names_are_deliberate():
    assert sorted(chunk_engine.__all__) == [
        "AlignedBufferPool", "ChunkEngine", "ChunkEngineConfig", "ChunkId", "ChunkMeta", "TargetSpace"]
    for name in chunk_engine.__all__:
        assert getattr(chunk_engine, name).__module__.startswith("fs3.storage.chunk_engine.")
