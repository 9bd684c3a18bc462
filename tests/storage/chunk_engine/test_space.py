"""A full disk or full target fails writes with ENOSPC and corrupts nothing.

Goal: when the configured capacity, the file system, or the metadata store
runs out of space, the write fails with Fs3Error(ENOSPC), committed data
stays readable, the slot of a cut-short write is free again (no partial
slot file is left when growing fails), and space accounting stays
exact so writes work again once space is freed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import sqlite3
import threading

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


# ------------------------------------------------------------ space given back

def allocated_bytes(target_path: str) -> int:
    """Disk blocks the target's slot files hold (st_blocks), not their apparent size."""
    return sum(os.stat(path).st_blocks * 512 for path in slot_files(target_path))


def test_freed_slots_beyond_the_kept_bytes_give_their_blocks_back(tmp_path):
    """Chunks removed from one size class free disk space another class (or anything else) can use:
    free slots beyond `free_slot_bytes_kept` per class are punched, the highest first; the kept
    ones are written again first."""
    target = str(tmp_path / "target")
    config = ChunkEngineConfig(chunk_size_bytes_max=MIB, slot_file_bytes=4 * MIB, free_slot_bytes_kept=MIB)
    with ChunkEngine(target, config=config) as engine:
        for index in range(32):  # 32 chunks of 200 KiB: 256 KiB slots, two 4 MiB slot files
            engine.write_committed(ChunkId(3, index), 0, pattern(200 * 1024, index), chunk_size=MIB,
                                   chain_version=1)
        full = allocated_bytes(target)
        assert full >= 8 * MIB - 64 * 1024
        assert engine.remove_chunks_from(3, 0) == 32
        # 1 MiB kept free (4 slots of 256 KiB) with their blocks; the other 28 slots are holes
        assert allocated_bytes(target) <= MIB + 64 * 1024
        assert used_slots(engine) == 0
        # The space serves again, holes or not, and the content is exact.
        for index in range(32):
            engine.write_committed(ChunkId(4, index), 0, pattern(200 * 1024, 100 + index), chunk_size=MIB,
                                   chain_version=1)
        for index in range(32):
            assert read_all(engine, ChunkId(4, index)) == pattern(200 * 1024, 100 + index)
    with ChunkEngine(target, config=config) as engine:
        assert read_all(engine, ChunkId(4, 31)) == pattern(200 * 1024, 131)
        for index in range(31):  # chunk 31 keeps the last slot file
            engine.remove(ChunkId(4, index))
        assert allocated_bytes(target) <= 2 * MIB + 64 * 1024
    # After a restart a free slot's blocks are not known: all are given back at open, and taking
    # one allocates the whole slot first.
    with ChunkEngine(target, config=config) as engine:
        assert allocated_bytes(target) <= 256 * 1024 + 4096  # only the live chunk's slot
        before = allocated_bytes(target)
        engine.write_committed(ChunkId(5, 1), 0, pattern(200 * 1024, 7), chunk_size=MIB, chain_version=1)
        assert allocated_bytes(target) - before == 256 * 1024  # 200 KiB written, the slot's 256 allocated
        assert read_all(engine, ChunkId(5, 1)) == pattern(200 * 1024, 7)
        assert read_all(engine, ChunkId(4, 31)) == pattern(200 * 1024, 131)


def test_a_punched_slot_gets_its_blocks_before_it_is_written(tmp_path, monkeypatch):
    """Writes never find a hole where they need blocks: a punched slot is preallocated when taken;
    if the disk is full then, the free slots of every class give their blocks back and the
    preallocation is tried once more."""
    target = str(tmp_path / "target")
    config = ChunkEngineConfig(chunk_size_bytes_max=MIB, slot_file_bytes=MIB, free_slot_bytes_kept=64 * MIB)
    with ChunkEngine(target, config=config) as engine:
        for index in range(8):  # a full 128 KiB-class file
            engine.write_committed(ChunkId(9, index), 0, pattern(BLOCK + 1, index), chunk_size=MIB,
                                   chain_version=1)
        for index in range(1, 8):
            engine.remove(ChunkId(9, index))
    with ChunkEngine(target, config=config) as engine:  # opening punched the 7 free 128 KiB slots
        for index in range(16):  # a full 64 KiB-class file, then 15 free slots kept with their blocks
            engine.write_committed(ChunkId(7, index), 0, pattern(BLOCK, index), chunk_size=MIB, chain_version=1)
        for index in range(1, 16):
            engine.remove(ChunkId(7, index))
        full = allocated_bytes(target)
        assert full >= MIB + 2 * BLOCK - 4096
        real_fallocate = os.posix_fallocate
        calls = []

        def fallocate_full_until_punched(fd, offset, length):
            calls.append(length)
            if allocated_bytes(target) >= full:  # "full" while the free 64 KiB slots hold their blocks
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_fallocate(fd, offset, length)

        monkeypatch.setattr(os, "posix_fallocate", fallocate_full_until_punched)
        engine.write_committed(ChunkId(9, 1), 0, pattern(BLOCK + 1, 42), chunk_size=MIB, chain_version=1)
        monkeypatch.setattr(os, "posix_fallocate", real_fallocate)
        assert calls == [2 * BLOCK, 2 * BLOCK]  # the slot's preallocation: refused, then done after punching
        assert allocated_bytes(target) <= 6 * BLOCK  # the slots of the three live chunks: 64 + 128 + 128 KiB
        assert read_all(engine, ChunkId(9, 1)) == pattern(BLOCK + 1, 42)
        assert read_all(engine, ChunkId(7, 0)) == pattern(BLOCK, 0)
        assert read_all(engine, ChunkId(9, 0)) == pattern(BLOCK + 1, 0)
        assert used_slots(engine) == 3


def test_a_slot_being_read_is_punched_only_after_its_read(tmp_path, monkeypatch):
    target = str(tmp_path / "target")
    config = ChunkEngineConfig(chunk_size_bytes_max=MIB, slot_file_bytes=MIB, free_slot_bytes_kept=0)
    with ChunkEngine(target, config=config) as engine:
        engine.write_committed(ChunkId(6, 0), 0, pattern(100000, 1), chunk_size=MIB, chain_version=1)
        read_whole = engine._read_whole
        seen = {}

        def read_whole_after_a_rewrite(*args, **kwargs):
            monkeypatch.setattr(engine, "_read_whole", read_whole)
            # the chunk is rewritten (its slot freed) while this read holds the old slot
            engine.write_committed(ChunkId(6, 0), 0, pattern(100000, 2), chunk_size=MIB, chain_version=1)
            return read_whole(*args, **kwargs)

        monkeypatch.setattr(engine, "_read_whole", read_whole_after_a_rewrite)
        seen["old"] = read_all(engine, ChunkId(6, 0))
        assert seen["old"] == pattern(100000, 1)
        assert read_all(engine, ChunkId(6, 0)) == pattern(100000, 2)
        # the old slot was punched once its reader was done: only the live version's blocks remain
        assert allocated_bytes(target) <= 128 * 1024


def test_a_full_disk_takes_back_the_free_slots_of_other_classes(tmp_path, monkeypatch):
    """Free slots kept in one size class must not make another class fail with ENOSPC: a slot file
    creation that finds the disk full punches every free slot and tries again."""
    target = str(tmp_path / "target")
    config = ChunkEngineConfig(chunk_size_bytes_max=MIB, slot_file_bytes=MIB, free_slot_bytes_kept=64 * MIB)
    with ChunkEngine(target, config=config) as engine:
        for index in range(16):  # one 64 KiB-class file, then all of it free (kept: below the margin)
            engine.write_committed(ChunkId(7, index), 0, pattern(BLOCK, index), chunk_size=MIB, chain_version=1)
        engine.remove_chunks_from(7, 0)
        assert allocated_bytes(target) >= MIB - BLOCK
        real_fallocate = os.posix_fallocate
        calls = []

        def fallocate_full_until_punched(fd, offset, length):
            calls.append(allocated_bytes(target))
            if allocated_bytes(target) > BLOCK:  # "full" while the free 64 KiB slots hold their blocks
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_fallocate(fd, offset, length)

        monkeypatch.setattr(os, "posix_fallocate", fallocate_full_until_punched)
        engine.write_committed(ChunkId(8, 0), 0, pattern(BLOCK + 1, 9), chunk_size=MIB, chain_version=1)
        assert len(calls) == 2  # refused, then created after the punching
        monkeypatch.setattr(os, "posix_fallocate", real_fallocate)
        assert read_all(engine, ChunkId(8, 0)) == pattern(BLOCK + 1, 9)
        assert used_slots(engine) == 1


def test_a_slot_whose_preallocation_fails_is_free_again(tmp_path, monkeypatch):
    target = str(tmp_path / "target")
    config = ChunkEngineConfig(chunk_size_bytes_max=MIB, slot_file_bytes=MIB)
    with ChunkEngine(target, config=config) as engine:
        engine.write_committed(ChunkId(1, 0), 0, b"a" * 100, chunk_size=MIB, chain_version=1)
    with ChunkEngine(target, config=config) as engine:  # reopened: its free slots may be holes
        real_acquire = engine._files.acquire

        def acquire_fails(path):
            raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

        monkeypatch.setattr(engine._files, "acquire", acquire_fails)
        with pytest.raises(Fs3Error) as caught:
            engine.write_committed(ChunkId(1, 1), 0, b"b" * 100, chunk_size=MIB, chain_version=1)
        assert caught.value.code == errno.EIO
        monkeypatch.setattr(engine._files, "acquire", real_acquire)
        assert used_slots(engine) == 1  # the slot taken for the failed write is free again
        engine.write_committed(ChunkId(1, 1), 0, b"b" * 100, chunk_size=MIB, chain_version=1)
        assert read_all(engine, ChunkId(1, 1)) == b"b" * 100 and used_slots(engine) == 2


def _blocking(monkeypatch, owner, name: str):
    """Replace `owner.name` by a version whose first call blocks until released: (entered, release)."""
    real = getattr(owner, name)
    entered, release = threading.Event(), threading.Event()

    def blocking(*args, **kwargs):
        if not entered.is_set():
            entered.set()
            assert release.wait(30), "never released"
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, blocking)
    return entered, release


@contextlib.contextmanager
def _call_blocked_in(call, entered: threading.Event, release: threading.Event, what: str):
    """Run `call` in a thread named "blocked" until it enters the blocking step; the body runs
    meanwhile; then the step is released and the call must finish."""
    thread = threading.Thread(target=call, name="blocked")
    thread.start()
    try:
        assert entered.wait(10), f"no {what}"
        yield
    finally:
        release.set()
        thread.join(10)
    assert not thread.is_alive()


def _finishes_while_blocked(calls) -> None:
    """Run `calls` in a thread; it must be done within 10 s (not stuck behind the engine lock)."""
    failures = []

    def run() -> None:
        try:
            calls()
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the call waited behind the blocked one"
    assert not failures, failures


def test_a_hole_is_punched_outside_the_engine_lock(tmp_path, monkeypatch):
    """A punch waits for the direct I/O in flight on its slot file: the target's other calls must
    not wait behind it, and the slot being punched is handed to no writer meanwhile."""
    from fs3.storage.chunk_engine import engine as engine_module

    target = str(tmp_path / "target")
    config = ChunkEngineConfig(chunk_size_bytes_max=MIB, slot_file_bytes=MIB, free_slot_bytes_kept=0)
    with ChunkEngine(target, config=config) as engine:
        for index in range(2):
            engine.write_committed(ChunkId(1, index), 0, pattern(BLOCK, index), chunk_size=MIB, chain_version=1)
        removed_slot = engine._store.get(ChunkId(1, 0)).committed_slot
        entered, release = _blocking(monkeypatch, engine_module, "punch_hole")
        with _call_blocked_in(lambda: engine.remove(ChunkId(1, 0)), entered, release, "punch"):
            # meanwhile: reads and writes of other chunks of the target go on
            _finishes_while_blocked(lambda: (
                read_all(engine, ChunkId(1, 1)),
                engine.write_committed(ChunkId(1, 2), 0, pattern(BLOCK, 2), chunk_size=MIB, chain_version=1)))
            assert read_all(engine, ChunkId(1, 1)) == pattern(BLOCK, 1)
            # the highest free slot is being punched; the new chunk took the lowest (the removed one's)
            assert engine._store.get(ChunkId(1, 2)).committed_slot == removed_slot
            assert used_slots(engine) == 3  # two live chunks and the slot being punched
        assert used_slots(engine) == 2
        assert read_all(engine, ChunkId(1, 2)) == pattern(BLOCK, 2)
        assert allocated_bytes(target) <= 2 * BLOCK  # every free slot is a hole


def test_only_the_calls_that_freed_slots_punch_them(tmp_path, monkeypatch):
    """Reads (and writes that free nothing) never wait for punches a remove owes."""
    from fs3.storage.chunk_engine import engine as engine_module

    target = str(tmp_path / "target")
    config = ChunkEngineConfig(chunk_size_bytes_max=MIB, slot_file_bytes=MIB, free_slot_bytes_kept=0)
    with ChunkEngine(target, config=config) as engine:
        for index in range(2):
            engine.write_committed(ChunkId(1, index), 0, pattern(BLOCK, index), chunk_size=MIB, chain_version=1)
        entered, release = _blocking(monkeypatch, engine_module, "punch_hole")
        punchers = []
        blocking_punch = engine_module.punch_hole

        def recording_punch(*args):
            punchers.append(threading.current_thread().name)
            return blocking_punch(*args)

        monkeypatch.setattr(engine_module, "punch_hole", recording_punch)
        with _call_blocked_in(lambda: engine.remove(ChunkId(1, 0)), entered, release, "punch"):
            for _ in range(20):
                _finishes_while_blocked(lambda: read_all(engine, ChunkId(1, 1)))
        assert punchers == ["blocked"] * 15  # the 14 never used slots and the removed chunk's


def test_a_slot_being_punched_is_given_to_no_writer(tmp_path, monkeypatch):
    from fs3.storage.chunk_engine import engine as engine_module

    target = str(tmp_path / "target")
    config = ChunkEngineConfig(chunk_size_bytes_max=MIB, slot_file_bytes=MIB, free_slot_bytes_kept=0)
    with ChunkEngine(target, config=config) as engine:
        for index in range(16):  # a full file of 64 KiB slots
            engine.write_committed(ChunkId(1, index), 0, pattern(BLOCK, index), chunk_size=MIB, chain_version=1)
        assert len(slot_files(target)) == 1
        entered, release = _blocking(monkeypatch, engine_module, "punch_hole")
        # the file's only free slot is being punched
        with _call_blocked_in(lambda: engine.remove(ChunkId(1, 3)), entered, release, "punch"):
            _finishes_while_blocked(lambda: engine.write_committed(ChunkId(2, 0), 0, pattern(BLOCK, 99),
                                                                   chunk_size=MIB, chain_version=1))
            assert len(slot_files(target)) == 2  # the write took a slot of a new file
        assert used_slots(engine) == 16
        assert read_all(engine, ChunkId(2, 0)) == pattern(BLOCK, 99)
        engine.write_committed(ChunkId(2, 1), 0, pattern(BLOCK, 98), chunk_size=MIB, chain_version=1)
        assert read_all(engine, ChunkId(2, 1)) == pattern(BLOCK, 98)


@contextlib.contextmanager
def _reopened_with_free_holes(tmp_path):
    """A target holding chunk 1/0 (pattern(BLOCK, 0)), reopened: its free slots are holes."""
    target = str(tmp_path / "target")
    config = ChunkEngineConfig(chunk_size_bytes_max=MIB, slot_file_bytes=MIB)
    with ChunkEngine(target, config=config) as engine:
        engine.write_committed(ChunkId(1, 0), 0, pattern(BLOCK, 0), chunk_size=MIB, chain_version=1)
    with ChunkEngine(target, config=config) as engine:
        yield engine


def test_a_failed_preallocation_leaves_the_slot_a_free_hole(tmp_path, monkeypatch):
    with _reopened_with_free_holes(tmp_path) as engine:
        real_fallocate = os.posix_fallocate
        calls = []

        def fallocate_fails(fd, offset, length):
            calls.append(offset)
            raise OSError(errno.EIO, os.strerror(errno.EIO))

        monkeypatch.setattr(os, "posix_fallocate", fallocate_fails)
        with pytest.raises(Fs3Error) as caught:
            engine.write_committed(ChunkId(1, 1), 0, pattern(BLOCK, 1), chunk_size=MIB, chain_version=1)
        assert caught.value.code == errno.EIO and len(calls) == 1
        assert engine.get_meta(ChunkId(1, 1)) is None and used_slots(engine) == 1
        monkeypatch.setattr(os, "posix_fallocate", lambda *args: (calls.append(args[1]), real_fallocate(*args))[1])
        engine.write_committed(ChunkId(1, 1), 0, pattern(BLOCK, 1), chunk_size=MIB, chain_version=1)
        assert calls[1] == calls[0]  # the same slot, still known as a possible hole, preallocated again
        assert read_all(engine, ChunkId(1, 1)) == pattern(BLOCK, 1) and used_slots(engine) == 2


def test_a_punched_slot_gets_its_blocks_outside_the_engine_lock(tmp_path, monkeypatch):
    with _reopened_with_free_holes(tmp_path) as engine:
        entered, release = _blocking(monkeypatch, os, "posix_fallocate")
        write = lambda: engine.write_committed(ChunkId(1, 1), 0, pattern(BLOCK, 1), chunk_size=MIB,  # noqa: E731
                                               chain_version=1)
        with _call_blocked_in(write, entered, release, "preallocation"):
            _finishes_while_blocked(lambda: read_all(engine, ChunkId(1, 0)))
            assert read_all(engine, ChunkId(1, 0)) == pattern(BLOCK, 0)
            assert engine.get_meta(ChunkId(1, 1)) is None  # not published before its data is written
        assert read_all(engine, ChunkId(1, 1)) == pattern(BLOCK, 1)
