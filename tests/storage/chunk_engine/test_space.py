"""A full disk or full target fails writes with ENOSPC and corrupts nothing.

Goal: when the configured capacity, the file system, or the metadata store
runs out of space, the write fails with Fs3Error(ENOSPC), committed data
stays readable, the slot of a cut-short write is free again (no partial
slot file is left when growing fails), and space accounting stays
exact so writes work again once space is freed.
"""

from __future__ import annotations

import errno
import os
import sqlite3

import pytest

from fs3.errors import Fs3Error
from fs3.storage.chunk_engine import ChunkEngine, ChunkEngineConfig, ChunkId

from .helpers import MIB, pattern, read_all, slot_files, used_slots

BLOCK = 64 * 1024


def full_engine(tmp_path, blocks: int) -> ChunkEngine:
    config = ChunkEngineConfig(chunk_size_bytes_max=MIB, buffer_size_bytes=BLOCK, buffer_count=2,
                               capacity_bytes=blocks * BLOCK)
    return ChunkEngine(str(tmp_path / "target"), config=config)


def expect_enospc(function, *args, **kwargs) -> None:
    with pytest.raises(Fs3Error) as caught:
        function(*args, **kwargs)
    assert caught.value.code == errno.ENOSPC, caught.value


def test_capacity_limit_fails_new_writes_and_keeps_old_ones(tmp_path):
    with full_engine(tmp_path, blocks=4) as engine:
        for index in range(4):
            engine.write_committed(ChunkId(1, index), 0, pattern(BLOCK, index), chunk_size=MIB, chain_version=1)
        space = engine.space()
        assert (space.used_bytes, space.capacity_bytes, space.free_bytes) == (4 * BLOCK, 4 * BLOCK, 0)
        expect_enospc(engine.write_committed, ChunkId(1, 9), 0, b"x", chunk_size=MIB, chain_version=1)
        # Overwriting needs room for the new version next to the old one.
        expect_enospc(engine.write_pending, ChunkId(1, 0), 0, b"y", chunk_size=MIB, chain_version=1)
        expect_enospc(engine.truncate, ChunkId(1, 1), 10, chain_version=1)
        assert engine.get_meta(ChunkId(1, 9)) is None
        assert used_slots(engine) == 4
        for index in range(4):
            assert engine.get_meta(ChunkId(1, index)).committed_version == 1
            assert read_all(engine, ChunkId(1, index)) == pattern(BLOCK, index)
        assert engine.space().used_bytes == 4 * BLOCK
        engine.remove(ChunkId(1, 3))
        engine.write_committed(ChunkId(1, 0), 0, b"y", chunk_size=MIB, chain_version=1)
        assert read_all(engine, ChunkId(1, 0))[:2] == b"y" + pattern(BLOCK, 0)[1:2]
        assert engine.space().used_bytes == 3 * BLOCK


@pytest.mark.parametrize("os_errno", [errno.ENOSPC, errno.EDQUOT])
def test_file_system_full_mid_write_frees_its_slot(tmp_path, monkeypatch, os_errno):
    with full_engine(tmp_path, blocks=1000) as engine:
        chunk_id = ChunkId(2, 0)
        engine.write_committed(chunk_id, 0, pattern(3 * BLOCK, 1), chunk_size=MIB, chain_version=1)
        real_pwritev = os.pwritev
        calls = []

        def pwritev_until_full(fd, buffers, offset):
            calls.append(offset)
            if len(calls) > 1:
                raise OSError(os_errno, os.strerror(os_errno))
            return real_pwritev(fd, buffers, offset)

        monkeypatch.setattr(os, "pwritev", pwritev_until_full)
        expect_enospc(engine.write_committed, chunk_id, 100, pattern(2 * BLOCK, 2), chunk_size=MIB,
                      chain_version=1)
        monkeypatch.setattr(os, "pwritev", real_pwritev)
        assert len(calls) == 2, "the failure should hit after part of the file was written"
        assert used_slots(engine) == 1, "the slot of the failed write must be free again"
        assert engine.get_meta(chunk_id).committed_version == 1
        assert read_all(engine, chunk_id) == pattern(3 * BLOCK, 1)
        assert engine.space().used_bytes == 3 * BLOCK
        engine.write_committed(chunk_id, 0, b"ok", chunk_size=MIB, chain_version=1)
        assert engine.get_meta(chunk_id).committed_version == 2


class _FullConnection:
    """A SQLite connection whose writes fail as on a full disk."""

    def __init__(self, connection):
        self._connection = connection

    def execute(self, sql, *args):
        if sql.startswith("INSERT"):
            error = sqlite3.OperationalError("database or disk is full")
            error.sqlite_errorcode = sqlite3.SQLITE_FULL
            raise error
        return self._connection.execute(sql, *args)

    def close(self):
        self._connection.close()


def test_metadata_store_full_fails_write_cleanly(tmp_path):
    with full_engine(tmp_path, blocks=1000) as engine:
        chunk_id = ChunkId(3, 0)
        engine.write_committed(chunk_id, 0, b"keep me", chunk_size=MIB, chain_version=1)
        store = engine._store
        real_connection = store._connection
        store._connection = _FullConnection(real_connection)
        expect_enospc(engine.write_pending, chunk_id, 0, b"lost", chunk_size=MIB, chain_version=1)
        store._connection = real_connection
        assert used_slots(engine) == 1
        assert engine.get_meta(chunk_id).pending_version == 0
        assert read_all(engine, chunk_id) == b"keep me"
        assert engine.space().free_bytes == 1000 * BLOCK - 4096


@pytest.mark.parametrize("os_errno", [errno.ENOSPC, errno.EDQUOT])
def test_file_system_full_when_growing_slot_files(tmp_path, monkeypatch, os_errno):
    config = ChunkEngineConfig(chunk_size_bytes_max=MIB, buffer_size_bytes=BLOCK, buffer_count=2,
                               slot_file_bytes=MIB)
    with ChunkEngine(str(tmp_path / "target"), config=config) as engine:
        for index in range(16):  # fills the first 64 KiB-class file
            engine.write_committed(ChunkId(4, index), 0, pattern(BLOCK, index), chunk_size=MIB, chain_version=1)
        before = slot_files(engine.target_path)
        real_fallocate = os.posix_fallocate

        def fallocate_full(fd, offset, length):
            raise OSError(os_errno, os.strerror(os_errno))

        monkeypatch.setattr(os, "posix_fallocate", fallocate_full)
        expect_enospc(engine.write_committed, ChunkId(4, 16), 0, b"new", chunk_size=MIB, chain_version=1)
        expect_enospc(engine.write_pending, ChunkId(4, 0), 0, b"y", chunk_size=MIB, chain_version=1)
        expect_enospc(engine.write_committed, ChunkId(4, 1), 0, pattern(BLOCK + 1, 1), chunk_size=MIB,
                      chain_version=1)  # a new class (128 KiB)
        monkeypatch.setattr(os, "posix_fallocate", real_fallocate)
        assert slot_files(engine.target_path) == before, "a partial slot file was left"
        assert used_slots(engine) == 16 and engine.space().used_bytes == 16 * BLOCK
        for index in range(16):
            assert read_all(engine, ChunkId(4, index)) == pattern(BLOCK, index)
        engine.write_committed(ChunkId(4, 16), 0, b"new", chunk_size=MIB, chain_version=1)
        assert read_all(engine, ChunkId(4, 16)) == b"new"
        assert len(slot_files(engine.target_path)) == 2
