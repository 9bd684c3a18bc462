"""Chunk ids sort by (inode, index) as bytes; configs reject bad limits."""

from __future__ import annotations

import pytest

from fs3.errors import Fs3Error, StatusCode
from fs3.storage.chunk_engine import ChunkEngineConfig, ChunkId


def test_chunk_id_round_trips_and_sorts_by_inode_then_index():
    ids = [ChunkId(2, 0), ChunkId(1, 5), ChunkId(1, 256), ChunkId(0, 2**32 - 1), ChunkId(2**64 - 1, 1)]
    for chunk_id in ids:
        encoded = chunk_id.to_bytes()
        assert len(encoded) == 12
        assert ChunkId.from_bytes(encoded) == chunk_id
    assert sorted(ids, key=ChunkId.to_bytes) == sorted(ids)


@pytest.mark.parametrize("inode_id, chunk_index", [(-1, 0), (2**64, 0), (0, -1), (0, 2**32)])
def test_chunk_id_out_of_range(inode_id, chunk_index):
    with pytest.raises(Fs3Error) as caught:
        ChunkId(inode_id, chunk_index)
    assert caught.value.code == StatusCode.BAD_REQUEST


def test_chunk_id_from_wrong_length():
    with pytest.raises(Fs3Error):
        ChunkId.from_bytes(b"\x00" * 11)


@pytest.mark.parametrize("field, value", [
    ("chunk_size_bytes_max", 100),
    ("chunk_size_bytes_max", 2 << 30),
    ("metadata_synchronous", "OFF"),
    ("capacity_bytes", -1),
    ("buffer_size_bytes", 5000),
    ("buffer_count", 0),
    ("buffer_wait_seconds_max", 0),
    ("slot_file_bytes", 512 * 1024), ("slot_file_bytes", 8192 << 20), ("slot_file_bytes", (1 << 20) + 4096),
    ("open_slot_files_max", 0),
])
def test_config_bounds(field, value):
    with pytest.raises(ValueError):
        ChunkEngineConfig(**{field: value})
