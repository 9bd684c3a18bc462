"""Slot files: reuse, reader safety, recovery of the free lists, format checks.

Goal: versions live in preallocated slot files whose slots are reused
(lowest first) once no version references them, never while a reader still
reads them, and the free lists are rebuilt exactly from the metadata on open.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading

import pytest

from fs3.errors import Fs3Error
from fs3.storage.chunk_engine import ChunkEngine, ChunkEngineConfig, ChunkId
from fs3.storage.chunk_engine.slots import Slot, SlotClass, class_bits_for

from .helpers import MIB, aligned_buffer, live_versions, pattern, read_all, slot_files, slot_location, used_slots

KIB = 1024
CONFIG = ChunkEngineConfig(chunk_size_bytes_max=MIB, buffer_size_bytes=64 * KIB, buffer_count=4,
                           slot_file_bytes=MIB)  # 16 slots of 64 KiB, 1 slot of 1 MiB per file


def test_size_classes_and_slot_encoding():
    assert [class_bits_for(n) for n in (0, 1, 64 * KIB, 64 * KIB + 1, MIB, MIB + 1)] == [16, 16, 16, 17, 20, 21]
    slot = Slot(20, 123456, 255)
    assert Slot.decode(slot.encode()) == slot and slot.encode() != 0
    assert slot.offset == 255 * MIB and str(slot) == "1024KiB/123456/255"


def take(slot_class: SlotClass) -> Slot | None:
    """The slot `take_slot` hands out (None if every file is full), whether punched or not."""
    taken = slot_class.take_slot()
    return None if taken is None else taken[0]


def test_slot_class_allocates_lowest_first():
    slot_class = SlotClass(16, 4)
    slot_class.rebuild(2, [(0, 0), (0, 2), (1, 1)])
    assert [take(slot_class) for _ in range(5)] == [
        Slot(16, 0, 1), Slot(16, 0, 3), Slot(16, 1, 0), Slot(16, 1, 2), Slot(16, 1, 3)]
    assert take(slot_class) is None
    slot_class.release(Slot(16, 1, 0))
    slot_class.release(Slot(16, 0, 3))
    assert take(slot_class) == Slot(16, 0, 3)
    assert slot_class.add_file() == 2
    assert take(slot_class) == Slot(16, 1, 0)
    assert take(slot_class) == Slot(16, 2, 0)
    assert slot_class.used_count() == 9


def test_slot_class_prefers_free_slots_over_holes():
    slot_class = SlotClass(16, 4)
    slot_class.add_file()
    slots = [take(slot_class) for _ in range(4)]
    for slot in slots:
        slot_class.release(slot)
    assert slot_class.unpunched_free == 4
    highest = slot_class.highest_unpunched_free()
    assert highest == slots[3]
    slot_class.start_punch(slots[0])  # a hole at the lowest position
    slot_class.finish_punch(slots[0], punched=True)
    assert slot_class.unpunched_free == 3 and slot_class.used_count() == 0
    assert [take(slot_class) for _ in range(3)] == slots[1:]  # the slots with blocks first
    assert take(slot_class) == slots[0] and slot_class.unpunched_free == 0 and take(slot_class) is None
    with pytest.raises(AssertionError):
        slot_class.start_punch(slots[0])  # only a free slot can be punched


def test_a_slot_being_punched_is_out_of_reach():
    """While its hole is punched (outside the engine lock) a slot is neither free nor taken; a file
    whose free slots are all being punched is passed over, and listed again once one is free."""
    slot_class = SlotClass(16, 2)
    slot_class.add_file()
    slot_class.add_file()
    first_file = [take(slot_class) for _ in range(2)]
    for slot in first_file:
        slot_class.release(slot)
    for slot in first_file:
        slot_class.start_punch(slot)
    assert slot_class.unpunched_free == 2 and slot_class.used_count() == 2  # the second file's two
    assert slot_class.take_slot() == (Slot(16, 1, 0), False)
    assert slot_class.free_runs() == [(1, 1, 1)]  # slots being punched are not free runs
    with pytest.raises(AssertionError):
        slot_class.release(first_file[0])  # only finish_punch ends a punch
    slot_class.finish_punch(first_file[1], punched=True)
    slot_class.finish_punch(first_file[0], punched=False)  # no punch was tried: its blocks are there
    assert slot_class.take_slot() == (first_file[0], False)
    assert slot_class.take_slot() == (first_file[1], True)
    assert slot_class.take_slot() == (Slot(16, 1, 1), False)
    assert slot_class.take_slot() is None and slot_class.used_count() == 4
    with pytest.raises(AssertionError):
        slot_class.finish_punch(first_file[0], punched=True)  # not being punched


@pytest.mark.parametrize("length", [5000, MIB])
def test_rewriting_one_chunk_1000_times_reuses_its_slots(tmp_path, length):
    chunk_id = ChunkId(1, 1)
    source = aligned_buffer(length)
    with ChunkEngine(str(tmp_path), config=CONFIG) as engine:
        for round_index in range(1000):
            source[:1] = bytes([round_index % 256])
            if round_index % 3 == 0:
                meta = engine.write_pending(chunk_id, 0, source, chunk_size=MIB, chain_version=1)
                engine.commit(chunk_id, meta.pending_version)
            elif round_index % 3 == 1:
                engine.write_committed(chunk_id, 0, source, chunk_size=MIB, chain_version=1)
            else:
                engine.write_committed(chunk_id, 1, b"partial", chunk_size=MIB, chain_version=1)
        assert engine.get_meta(chunk_id).committed_version == 1000
        assert used_slots(engine) == 1
        # Committed + the new version: two slots are ever needed at once.
        files = slot_files(engine.target_path)
        assert len(files) == (1 if length < 64 * KIB else 2), files
        assert read_all(engine, chunk_id) == bytes(source)  # round 999 wrote all of `source`


def test_many_chunks_fill_files_sequentially_and_reuse_freed_slots(tmp_path):
    with ChunkEngine(str(tmp_path), config=CONFIG) as engine:
        for index in range(40):
            engine.write_committed(ChunkId(2, index), 0, pattern(1000, index), chunk_size=MIB, chain_version=1)
        assert engine._slot_usage() == {64 * KIB: (3, 40)}
        assert [slot_location(engine, ChunkId(2, index)) for index in (0, 15, 16, 39)] == [
            (engine._slot_file_path(16, 0), 0), (engine._slot_file_path(16, 0), 15 * 64 * KIB),
            (engine._slot_file_path(16, 1), 0), (engine._slot_file_path(16, 2), 7 * 64 * KIB)]
        engine.remove(ChunkId(2, 3))
        engine.remove(ChunkId(2, 20))
        engine.write_committed(ChunkId(3, 0), 0, b"reuse", chunk_size=MIB, chain_version=1)
        assert slot_location(engine, ChunkId(3, 0)) == (engine._slot_file_path(16, 0), 3 * 64 * KIB)
        for index in range(40):
            if index not in (3, 20):
                assert read_all(engine, ChunkId(2, index)) == pattern(1000, index)


def test_reopen_rebuilds_free_lists_and_drops_trailing_empty_files(tmp_path):
    target = str(tmp_path)
    with ChunkEngine(target, config=CONFIG) as engine:
        for index in range(40):
            engine.write_committed(ChunkId(2, index), 0, pattern(3000, index), chunk_size=MIB, chain_version=1)
        for index in list(range(10, 14)) + list(range(30, 40)):
            engine.remove(ChunkId(2, index))
        engine.write_pending(ChunkId(2, 5), 0, b"pending", chunk_size=MIB, chain_version=1)  # takes slot 10
        assert engine._slot_usage() == {64 * KIB: (3, 27)}
    with ChunkEngine(target, config=CONFIG) as engine:
        # Slots 30-39 went with their chunks, and so did the then-empty third file.
        assert engine._slot_usage() == {64 * KIB: (2, 27)}
        assert len(slot_files(target)) == 2
        assert used_slots(engine) == live_versions(engine) == 27
        assert read_all(engine, ChunkId(2, 5), relaxed=True) == b"pending" + pattern(3000, 5)[7:]
        # The lowest free slots come first: 11..13 of file 0, then slot 14 of file 1.
        expected = [(0, 11), (0, 12), (0, 13), (1, 14)]
        for index, (file_index, slot_index) in enumerate(expected):
            engine.write_committed(ChunkId(4, index), 0, b"new", chunk_size=MIB, chain_version=1)
            assert slot_location(engine, ChunkId(4, index)) == (engine._slot_file_path(16, file_index),
                                                                 slot_index * 64 * KIB)
        for index in list(range(10)) + list(range(14, 30)):
            assert read_all(engine, ChunkId(2, index), relaxed=True)[7:] == pattern(3000, index)[7:]


def test_reader_holding_a_slot_blocks_its_reuse(tmp_path, monkeypatch):
    """A read that looked up version 1 keeps reading version 1's slot while
    writers commit 50 newer versions (each of which would otherwise take the
    lowest free slot: the one being read)."""
    length = 300 * KIB + 5
    chunk_id = ChunkId(5, 0)
    engine = ChunkEngine(str(tmp_path), config=CONFIG)
    first = pattern(length, 1)
    engine.write_committed(chunk_id, 0, first, chunk_size=MIB, chain_version=1)
    started, resume = threading.Event(), threading.Event()
    real_read_whole = engine._read_whole

    def slow_read_whole(*args):
        if threading.current_thread().name == "slow reader":
            started.set()
            assert resume.wait(30)
        return real_read_whole(*args)

    monkeypatch.setattr(engine, "_read_whole", slow_read_whole)
    into = aligned_buffer(MIB)
    result = []
    reader = threading.Thread(target=lambda: result.append(engine.read(chunk_id, 0, MIB, into)), name="slow reader")
    reader.start()
    assert started.wait(30)
    held = slot_location(engine, chunk_id)
    for round_index in range(50):
        if round_index % 2:
            meta = engine.write_pending(chunk_id, 0, pattern(length, 2 + round_index), chunk_size=MIB, chain_version=1)
            engine.commit(chunk_id, meta.pending_version)
        else:
            engine.write_committed(chunk_id, 0, pattern(length, 2 + round_index), chunk_size=MIB, chain_version=1)
        assert slot_location(engine, chunk_id) != held
    assert used_slots(engine) == 2  # the current version + the one being read
    resume.set()
    reader.join(30)
    assert result == [length] and bytes(into[:length]) == first
    assert used_slots(engine) == 1  # freed when the read ended
    engine.write_committed(chunk_id, 0, b"reuse", chunk_size=MIB, chain_version=1)
    assert slot_location(engine, chunk_id) == held
    engine.close()


def test_readers_racing_overwrites_always_read_one_whole_version(tmp_path):
    """Many overwrites of one chunk (each freeing the slot just read) against
    whole and partial readers: every read returns one version's uniform fill."""
    config = ChunkEngineConfig(chunk_size_bytes_max=MIB, buffer_size_bytes=64 * KIB, buffer_count=4,
                               slot_file_bytes=MIB)
    length = 200 * KIB + 3
    chunk_id = ChunkId(6, 0)
    failures: list[str] = []
    stop = threading.Event()
    with ChunkEngine(str(tmp_path), config=config) as engine:
        engine.write_committed(chunk_id, 0, b"\x01" * length, chunk_size=MIB, chain_version=1)

        def reader(partial):
            into = memoryview(bytearray(4000)) if partial else aligned_buffer(length)
            reads = 0
            while not stop.is_set() or reads < 10:
                count = engine.read(chunk_id, 100000 if partial else 0, len(into), into)
                reads += 1
                if count != len(into) or into.tobytes().count(into[0]) != count:
                    failures.append("torn read")

        readers = [threading.Thread(target=reader, args=(partial,)) for partial in (False, True, False)]
        for thread in readers:
            thread.start()
        for round_index in range(300):
            engine.write_committed(chunk_id, 0, bytes([2 + round_index % 250]) * length, chunk_size=MIB,
                                   chain_version=1)
        stop.set()
        for thread in readers:
            thread.join()
        assert not failures, failures[:3]
        assert used_slots(engine) == 1 and not engine._readers
        assert len(slot_files(engine.target_path)) <= 2


def test_tiny_open_file_cache_still_works(tmp_path):
    config = ChunkEngineConfig(chunk_size_bytes_max=MIB, buffer_size_bytes=64 * KIB, buffer_count=2,
                               slot_file_bytes=MIB, open_slot_files_max=1)
    with ChunkEngine(str(tmp_path), config=config) as engine:
        for index in range(12):
            size = (index + 1) * 50 * KIB
            engine.write_committed(ChunkId(7, index), 0, pattern(size, index), chunk_size=MIB, chain_version=1)
            engine.write_committed(ChunkId(7, index), 7, b"x", chunk_size=MIB, chain_version=1)
        for index in range(12):
            expected = bytearray(pattern((index + 1) * 50 * KIB, index))
            expected[7:8] = b"x"
            assert read_all(engine, ChunkId(7, index)) == bytes(expected)
        assert len(engine._files._files) <= 1


def test_target_keeps_its_slot_file_size(tmp_path):
    with ChunkEngine(str(tmp_path), config=CONFIG) as engine:
        engine.write_committed(ChunkId(1, 0), 0, b"x", chunk_size=MIB, chain_version=1)
    bigger = ChunkEngineConfig(chunk_size_bytes_max=MIB, slot_file_bytes=4 * MIB)
    with ChunkEngine(str(tmp_path), config=bigger) as engine:
        assert engine.slot_file_bytes == MIB
        engine.write_committed(ChunkId(1, 1), 0, b"y", chunk_size=MIB, chain_version=1)
        assert [os.path.getsize(path) for path in slot_files(str(tmp_path))] == [MIB]
        assert read_all(engine, ChunkId(1, 0)) == b"x"


def set_metadata_format(path: str, version: int, *statements: str) -> None:
    """Run `statements` on a target's metadata database and set its format number."""
    database = sqlite3.connect(path)
    for statement in statements:
        database.execute(statement)
    database.execute(f"PRAGMA user_version={version}")
    database.commit()
    database.close()


def refused_with_eio(target_path: str) -> str:
    with pytest.raises(Fs3Error) as caught:
        ChunkEngine(target_path, config=CONFIG)
    assert caught.value.code == errno.EIO
    return str(caught.value)


def test_old_file_per_version_target_is_refused(tmp_path):
    set_metadata_format(os.path.join(str(tmp_path), "metadata.sqlite3"), 1,
                        "CREATE TABLE chunks (chunk_id BLOB PRIMARY KEY, committed_file INTEGER)")
    assert "file-per-version" in refused_with_eio(str(tmp_path))


def test_format_2_target_is_upgraded_and_an_unknown_format_refused(tmp_path):
    """Format 3 only allows a pending version to share the committed slot: a format 2 store is
    upgraded on open; an engine that reads only format 2 refuses format 3 cleanly (EIO)."""
    path = os.path.join(str(tmp_path), "metadata.sqlite3")
    with ChunkEngine(str(tmp_path), config=CONFIG) as engine:
        engine.write_committed(ChunkId(1, 0), 0, b"kept", chunk_size=MIB, chain_version=1)
    set_metadata_format(path, 2)
    with ChunkEngine(str(tmp_path), config=CONFIG) as engine:
        assert read_all(engine, ChunkId(1, 0)) == b"kept"
    database = sqlite3.connect(path)
    assert database.execute("PRAGMA user_version").fetchone()[0] == 3
    database.close()
    set_metadata_format(path, 4)
    assert "schema version 4" in refused_with_eio(str(tmp_path))


def test_missing_slot_file_with_free_slots_only_is_recreated(tmp_path):
    target = str(tmp_path)
    with ChunkEngine(target, config=CONFIG) as engine:
        for index in range(20):
            engine.write_committed(ChunkId(8, index), 0, b"z" * 10, chunk_size=MIB, chain_version=1)
        for index in range(16):
            engine.remove(ChunkId(8, index))
    os.unlink(os.path.join(target, "slots", "64KiB", "000000"))
    with ChunkEngine(target, config=CONFIG) as engine:
        assert len(slot_files(target)) == 2
        engine.write_committed(ChunkId(8, 0), 0, b"back", chunk_size=MIB, chain_version=1)
        assert read_all(engine, ChunkId(8, 0)) == b"back"
        assert read_all(engine, ChunkId(8, 19)) == b"z" * 10
        assert used_slots(engine) == 5
