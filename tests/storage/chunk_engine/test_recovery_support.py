"""Engine calls recovery relies on: committing with a given version, reading committed under a pending one."""

from __future__ import annotations

import pytest

from fs3.errors import Fs3Error, StatusCode
from fs3.storage.chunk_engine import ChunkEngine, ChunkEngineConfig, ChunkId

CONFIG = ChunkEngineConfig(chunk_size_bytes_max=1 << 20, direct_io=False, slot_file_bytes=1 << 20)


def test_full_replace_commits_the_given_version_and_drops_pending(tmp_path):
    chunk = ChunkId(5, 0)
    with ChunkEngine(str(tmp_path), config=CONFIG) as engine:
        engine.write_committed(chunk, 0, b"a" * 100, chunk_size=4096, chain_version=1)
        engine.write_pending(chunk, 0, b"b" * 10, chunk_size=4096, chain_version=1)
        meta = engine.write_committed(chunk, 0, b"c" * 50, chunk_size=4096, chain_version=2,
                                      full_chunk_replace=True, committed_version=9)
        assert (meta.committed_version, meta.pending_version, meta.length, meta.chain_version) == (9, 0, 50, 2)
        into = bytearray(100)
        assert engine.read(chunk, 0, 100, memoryview(into)) == 50 and into[:50] == b"c" * 50
        assert engine.write_pending(chunk, 0, b"d", chunk_size=4096, chain_version=2).pending_version == 10
        with pytest.raises(Fs3Error) as caught:
            engine.write_committed(chunk, 0, b"x", chunk_size=4096, chain_version=2, committed_version=3)
        assert caught.value.code == StatusCode.BAD_REQUEST


def test_committed_read_ignores_a_pending_version(tmp_path):
    chunk = ChunkId(6, 1)
    with ChunkEngine(str(tmp_path), config=CONFIG) as engine:
        engine.write_committed(chunk, 0, b"old!" * 10, chunk_size=4096, chain_version=1)
        engine.write_pending(chunk, 0, b"new!" * 20, chunk_size=4096, chain_version=1)
        into = memoryview(bytearray(80))
        with pytest.raises(Fs3Error):
            engine.read(chunk, 0, 80, into)
        assert engine.read(chunk, 0, 80, into, committed=True) == 40 and bytes(into[:40]) == b"old!" * 10
        assert engine.read(chunk, 0, 80, into, relaxed=True) == 80 and bytes(into) == b"new!" * 20
