"""Unit tests of every ChunkEngine method and error.

Goal: each public method does what its docstring says for ordinary,
boundary and wrong inputs. Method: small engines in tmp folders; content
checked byte for byte against what was written.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import sqlite3
import threading

import crc32c
import pytest

from fs3.errors import Fs3Error, StatusCode
from fs3.storage.chunk_engine import ChunkEngine, ChunkEngineConfig, ChunkId, ChunkMeta, TargetSpace

from .conftest import SMALL_CONFIG
from .helpers import MIB, aligned_buffer, pattern, read_all, slot_files, slot_location, used_slots

CHUNK = ChunkId(7, 3)
SIZE = MIB


def expect_error(code, function, *args, **kwargs):
    with pytest.raises(Fs3Error) as caught:
        function(*args, **kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


# --------------------------------------------------------------- writes/reads

@pytest.mark.parametrize("length", [0, 1, 4095, 4096, 4097, 65536 + 3, MIB - 1, MIB])
@pytest.mark.parametrize("aligned_source", [True, False])
def test_write_committed_then_read_whole(engine, length, aligned_source):
    content = pattern(length, 1)
    if aligned_source:
        source = aligned_buffer(length)
        source[:] = content
    else:
        source = content
    meta = engine.write_committed(CHUNK, 0, source, chunk_size=SIZE, chain_version=4)
    assert meta.committed_version == 1 and meta.pending_version == 0
    assert meta.length == length and meta.chain_version == 4
    assert read_all(engine, CHUNK) == content
    # An unaligned destination takes the buffered path.
    unaligned = memoryview(bytearray(SIZE + 1))[1:]
    assert engine.read(CHUNK, 0, SIZE, unaligned) == length
    assert bytes(unaligned[:length]) == content
    # A destination exactly as long as the content (no room for padding).
    exact = aligned_buffer(length)
    assert engine.read(CHUNK, 0, length, exact) == length
    assert bytes(exact) == content


@pytest.mark.parametrize("case", ["whole aligned", "whole unaligned", "partial"])
@pytest.mark.parametrize("commit", [True, False])
def test_payload_checksum_mismatch_writes_nothing(engine, case, commit):
    """A payload whose CRC32C differs from the one the sender computed is refused
    before anything is stored; a matching checksum is accepted the same way."""
    engine.write_committed(CHUNK, 0, pattern(SIZE, 1), chunk_size=SIZE, chain_version=1)
    before = engine.get_meta(CHUNK)
    slots_before = used_slots(engine)
    data = pattern(SIZE if case != "partial" else 5000, 2)
    if case == "whole aligned":
        source = aligned_buffer(len(data))
        source[:] = data
    else:
        source = data
    write = engine.write_committed if commit else engine.write_pending
    expect_error(StatusCode.CHECKSUM_MISMATCH, write, CHUNK, 0, source, chunk_size=SIZE, chain_version=1,
                 full_chunk_replace=case != "partial", payload_crc32c=crc32c.crc32c(data) ^ 1)
    assert engine.get_meta(CHUNK) == before
    assert used_slots(engine) == slots_before
    assert read_all(engine, CHUNK) == pattern(SIZE, 1)
    meta = write(CHUNK, 0, source, chunk_size=SIZE, chain_version=1, full_chunk_replace=case != "partial",
                 payload_crc32c=crc32c.crc32c(data))
    assert meta.committed_version == (2 if commit else 1)


def test_partial_write_applies_update_and_zero_fills_gap(engine):
    engine.write_committed(CHUNK, 0, b"a" * 10, chunk_size=SIZE, chain_version=1)
    meta = engine.write_committed(CHUNK, 5, b"BB", chunk_size=SIZE, chain_version=1)
    assert meta.committed_version == 2 and meta.length == 10
    assert read_all(engine, CHUNK) == b"aaaaaBBaaa"
    meta = engine.write_committed(CHUNK, 20, b"CC", chunk_size=SIZE, chain_version=1)
    assert meta.length == 22
    assert read_all(engine, CHUNK) == b"aaaaaBBaaa" + b"\x00" * 10 + b"CC"
    # A write at a non-zero offset into an absent chunk zero-fills the front.
    other = ChunkId(7, 4)
    engine.write_committed(other, 4096 * 3 + 5, b"xyz", chunk_size=SIZE, chain_version=1)
    assert read_all(engine, other) == b"\x00" * (4096 * 3 + 5) + b"xyz"


CONTENT_LENGTH = MIB - 5003


@pytest.mark.parametrize("offset, length", [(0, 1), (1, 10), (4095, 2), (4096, 4096), (5000, 100000),
                                            (CONTENT_LENGTH - 10, 10), (CONTENT_LENGTH - 10, 100),
                                            (CONTENT_LENGTH, 10), (CONTENT_LENGTH + 5, 1)])
def test_partial_reads(engine, offset, length):
    content = pattern(CONTENT_LENGTH, 2)
    engine.write_committed(CHUNK, 0, content, chunk_size=SIZE, chain_version=1)
    into = aligned_buffer(length)
    count = engine.read(CHUNK, offset, length, into)
    expected = content[offset:offset + length]
    assert count == len(expected)
    assert bytes(into[:count]) == expected


def test_read_of_absent_chunk_returns_zero(engine):
    assert engine.read(ChunkId(1, 1), 0, 100, aligned_buffer(100)) == 0
    assert engine.get_meta(ChunkId(1, 1)) is None


def test_multi_segment_chunks_stream_through_small_buffers(tmp_path):
    """Chunks larger than the pool buffers are copied and read in segments."""
    config = ChunkEngineConfig(chunk_size_bytes_max=MIB, buffer_size_bytes=8192, buffer_count=2)
    with ChunkEngine(str(tmp_path), config=config) as engine:
        model = bytearray(pattern(50001, 3))
        engine.write_committed(CHUNK, 0, bytes(model), chunk_size=65536, chain_version=1)
        for offset, update in [(8190, b"X" * 5), (0, b"Y"), (49999, b"Z" * 20), (60000, b"W" * 3)]:
            engine.write_committed(CHUNK, offset, update, chunk_size=65536, chain_version=1)
            model.extend(b"\x00" * max(0, offset + len(update) - len(model)))
            model[offset:offset + len(update)] = update
        assert read_all(engine, CHUNK) == bytes(model)
        into = aligned_buffer(20000)
        assert engine.read(CHUNK, 8000, 20000, into) == 20000
        assert bytes(into) == bytes(model[8000:28000])
        engine.truncate(CHUNK, 9000, chain_version=1)
        assert read_all(engine, CHUNK) == bytes(model[:9000])


def test_buffered_io_when_direct_io_is_off(tmp_path):
    config = ChunkEngineConfig(direct_io=False, buffer_size_bytes=8192, buffer_count=2)
    with ChunkEngine(str(tmp_path), config=config) as engine:
        assert not engine.direct_io
        engine.write_committed(CHUNK, 0, pattern(20000, 4), chunk_size=SIZE, chain_version=1)
        engine.write_pending(CHUNK, 100, b"Q" * 9000, chunk_size=SIZE, chain_version=1)
        engine.commit(CHUNK, 2)
        expected = bytearray(pattern(20000, 4))
        expected[100:9100] = b"Q" * 9000
        assert read_all(engine, CHUNK) == bytes(expected)


# ------------------------------------------------------------ pending/commit

def test_write_pending_leaves_committed_untouched_until_commit(engine):
    engine.write_committed(CHUNK, 0, b"old content", chunk_size=SIZE, chain_version=1)
    meta = engine.write_pending(CHUNK, 0, b"NEW", chunk_size=SIZE, chain_version=2)
    assert (meta.committed_version, meta.pending_version, meta.pending_length) == (1, 2, 11)
    assert meta.length == 11 and meta.chain_version == 2
    expect_error(StatusCode.CHUNK_PENDING, engine.read, CHUNK, 0, 10, aligned_buffer(10))
    assert read_all(engine, CHUNK, relaxed=True) == b"NEW content"
    meta = engine.commit(CHUNK, 2)
    assert (meta.committed_version, meta.pending_version, meta.pending_length) == (2, 0, 0)
    assert read_all(engine, CHUNK) == b"NEW content"


def test_new_pending_replaces_old_pending_and_builds_on_committed(engine):
    engine.write_committed(CHUNK, 0, b"0123456789", chunk_size=SIZE, chain_version=1)
    engine.write_pending(CHUNK, 0, b"AA", chunk_size=SIZE, chain_version=1)
    meta = engine.write_pending(CHUNK, 5, b"BB", chunk_size=SIZE, chain_version=1)
    assert meta.pending_version == 2
    assert read_all(engine, CHUNK, relaxed=True) == b"01234BB789"
    assert used_slots(engine) == 2  # committed + one pending
    engine.commit(CHUNK, 2)
    assert read_all(engine, CHUNK) == b"01234BB789"
    assert used_slots(engine) == 1


def test_pending_on_absent_chunk(engine):
    meta = engine.write_pending(CHUNK, 0, b"first", chunk_size=SIZE, chain_version=1)
    assert (meta.committed_version, meta.pending_version, meta.length) == (0, 1, 0)
    expect_error(StatusCode.CHUNK_PENDING, engine.read, CHUNK, 0, 5, aligned_buffer(5))
    assert read_all(engine, CHUNK, relaxed=True) == b"first"
    engine.commit(CHUNK, 1)
    assert read_all(engine, CHUNK) == b"first"


def test_commit_is_idempotent_and_checks_version(engine):
    expect_error(StatusCode.CHUNK_NOT_FOUND, engine.commit, CHUNK, 1)
    engine.write_pending(CHUNK, 0, b"x", chunk_size=SIZE, chain_version=1)
    expect_error(StatusCode.BAD_REQUEST, engine.commit, CHUNK, 2)
    expect_error(StatusCode.BAD_REQUEST, engine.commit, CHUNK, 0)
    first = engine.commit(CHUNK, 1)
    assert engine.commit(CHUNK, 1) == first
    expect_error(StatusCode.BAD_REQUEST, engine.commit, CHUNK, 2)


def test_write_committed_drops_pending(engine):
    engine.write_committed(CHUNK, 0, b"aaaa", chunk_size=SIZE, chain_version=1)
    engine.write_pending(CHUNK, 0, b"pp", chunk_size=SIZE, chain_version=1)
    meta = engine.write_committed(CHUNK, 2, b"cc", chunk_size=SIZE, chain_version=1)
    assert (meta.committed_version, meta.pending_version) == (2, 0)
    assert read_all(engine, CHUNK) == b"aacc"
    assert used_slots(engine) == 1


def test_full_chunk_replace(engine):
    engine.write_committed(CHUNK, 0, b"long old content", chunk_size=SIZE, chain_version=1)
    meta = engine.write_pending(CHUNK, 0, b"short", chunk_size=SIZE, chain_version=2, full_chunk_replace=True)
    assert meta.pending_length == 5
    assert read_all(engine, CHUNK, relaxed=True) == b"short"
    meta = engine.write_committed(CHUNK, 0, b"xy", chunk_size=SIZE, chain_version=3, full_chunk_replace=True)
    assert (meta.committed_version, meta.pending_version, meta.length) == (2, 0, 2)
    assert read_all(engine, CHUNK) == b"xy"
    expect_error(StatusCode.BAD_REQUEST, engine.write_committed, CHUNK, 1, b"x", chunk_size=SIZE,
                 chain_version=3, full_chunk_replace=True)


# -------------------------------------------------------------- truncate

def test_truncate_shrinks_extends_and_creates(engine):
    engine.write_committed(CHUNK, 0, b"abcdef", chunk_size=SIZE, chain_version=1)
    meta = engine.truncate(CHUNK, 3, chain_version=2)
    assert (meta.committed_version, meta.length, meta.chain_version) == (2, 3, 2)
    assert read_all(engine, CHUNK) == b"abc"
    engine.truncate(CHUNK, 5, chain_version=2)
    assert read_all(engine, CHUNK) == b"abc\x00\x00"
    engine.truncate(CHUNK, 0, chain_version=2)
    assert read_all(engine, CHUNK) == b""
    assert engine.get_meta(CHUNK).committed_version == 4
    absent = ChunkId(9, 9)
    meta = engine.truncate(absent, 4097, chain_version=1)
    assert (meta.committed_version, meta.length) == (1, 4097)
    assert read_all(engine, absent) == b"\x00" * 4097
    expect_error(StatusCode.BAD_REQUEST, engine.truncate, CHUNK, -1, chain_version=1)
    expect_error(StatusCode.OFFSET_OUT_OF_RANGE, engine.truncate, CHUNK, SIZE + 1, chain_version=1)


def test_truncate_drops_pending(engine):
    engine.write_committed(CHUNK, 0, b"abcdef", chunk_size=SIZE, chain_version=1)
    engine.write_pending(CHUNK, 0, b"XX", chunk_size=SIZE, chain_version=1)
    meta = engine.truncate(CHUNK, 2, chain_version=1)
    assert (meta.committed_version, meta.pending_version) == (2, 0)
    assert read_all(engine, CHUNK) == b"ab"


# ------------------------------------------------------------ remove/list

def test_remove_and_remove_chunks_from(engine):
    for inode_id in (1, 2):
        for index in range(5):
            engine.write_committed(ChunkId(inode_id, index), 0, b"x" * (index + 1), chunk_size=SIZE,
                                   chain_version=1)
    assert engine.remove(ChunkId(1, 0)) is True
    assert engine.remove(ChunkId(1, 0)) is False
    assert engine.remove_chunks_from(2, 2) == 3
    assert engine.remove_chunks_from(2, 2) == 0
    remaining = [meta.chunk_id for meta in engine.list_chunks()]
    assert remaining == [ChunkId(1, 1), ChunkId(1, 2), ChunkId(1, 3), ChunkId(1, 4), ChunkId(2, 0), ChunkId(2, 1)]
    assert used_slots(engine) == 6
    assert engine.last_chunk(1).chunk_id == ChunkId(1, 4)
    assert engine.last_chunk(2).chunk_id == ChunkId(2, 1)
    assert engine.last_chunk(3) is None
    engine.write_committed(ChunkId(3, 2**32 - 1), 0, b"z", chunk_size=SIZE, chain_version=1)
    engine.write_committed(ChunkId(4, 0), 0, b"z", chunk_size=SIZE, chain_version=1)
    assert engine.last_chunk(3).chunk_id == ChunkId(3, 2**32 - 1)
    assert engine.remove_chunks_from(3, 0) == 1
    assert engine.get_meta(ChunkId(4, 0)) is not None


def test_list_chunks_reports_full_meta(engine):
    engine.write_committed(CHUNK, 0, b"abc", chunk_size=SIZE, chain_version=5)
    engine.write_pending(CHUNK, 3, b"de", chunk_size=SIZE, chain_version=6)
    [meta] = engine.list_chunks()
    assert isinstance(meta, ChunkMeta)
    assert meta == engine.get_meta(CHUNK)
    assert (meta.committed_version, meta.pending_version, meta.chain_version) == (1, 2, 6)
    assert (meta.length, meta.pending_length) == (3, 5)


# ------------------------------------------------------------ appends in place

@pytest.mark.parametrize("first_length", [4096, 5000])
@pytest.mark.parametrize("aligned_source", [True, False])
def test_appends_stay_in_their_slot_until_it_is_full(engine, first_length, aligned_source):
    """Sequential appends cost the bytes they add, not a copy of the chunk: the slot stays the
    same while the content fits its size class (64 KiB here), then the chunk moves once."""
    expected = bytearray(pattern(first_length, 1))
    engine.write_committed(CHUNK, 0, bytes(expected), chunk_size=SIZE, chain_version=1)
    first_slot = slot_location(engine, CHUNK)
    step = 0
    while len(expected) + 4096 <= 65536:
        step += 1
        piece = pattern(4096, step + 1)
        source = aligned_buffer(4096) if aligned_source else memoryview(bytearray(4097))[1:]
        source[:] = piece
        meta = engine.write_committed(CHUNK, len(expected), source, chunk_size=SIZE, chain_version=1,
                                      payload_crc32c=crc32c.crc32c(piece))
        expected += piece
        assert (meta.committed_version, meta.length, meta.crc32c) == (step + 1, len(expected),
                                                                        crc32c.crc32c(bytes(expected)))
        assert slot_location(engine, CHUNK) == first_slot and used_slots(engine) == 1
        assert read_all(engine, CHUNK) == expected
    engine.write_committed(CHUNK, len(expected), b"z" * 4096, chunk_size=SIZE, chain_version=1)
    expected += b"z" * 4096
    assert slot_location(engine, CHUNK) != first_slot and used_slots(engine) == 1
    assert read_all(engine, CHUNK) == expected
    assert engine.space().used_bytes == len(expected) // 4096 * 4096 + (4096 if len(expected) % 4096 else 0)


def test_pending_append_shares_the_slot_and_leaves_the_committed_content(engine):
    engine.write_committed(CHUNK, 0, b"a" * 5000, chunk_size=SIZE, chain_version=1)
    committed_slot = slot_location(engine, CHUNK)
    meta = engine.write_pending(CHUNK, 6000, b"b" * 3000, chunk_size=SIZE, chain_version=1)  # a gap of zeros
    new_content = b"a" * 5000 + bytes(1000) + b"b" * 3000
    assert (meta.pending_version, meta.pending_length, meta.pending_crc32c) == (2, 9000, crc32c.crc32c(new_content))
    assert slot_location(engine, CHUNK, pending=True) == committed_slot and used_slots(engine) == 1
    assert engine.space().used_bytes == 12288  # the shared blocks count once
    into = aligned_buffer(SIZE)
    assert engine.read(CHUNK, 0, SIZE, into, committed=True) == 5000 and bytes(into[:5000]) == b"a" * 5000
    assert read_all(engine, CHUNK, relaxed=True) == new_content
    # A second pending version must not overwrite the bytes the first one's row still names: it is
    # copied to a slot of its own (replacing the first); the committed content is untouched either way.
    engine.write_pending(CHUNK, 5000, b"c" * 10, chunk_size=SIZE, chain_version=1)
    assert slot_location(engine, CHUNK, pending=True) != committed_slot and used_slots(engine) == 2
    assert read_all(engine, CHUNK, relaxed=True) == b"a" * 5000 + b"c" * 10
    engine.commit(CHUNK, 2)
    assert read_all(engine, CHUNK) == b"a" * 5000 + b"c" * 10 and used_slots(engine) == 1
    # Commit of an append in place keeps the slot; remove frees it once.
    engine.write_pending(CHUNK, 5010, b"d", chunk_size=SIZE, chain_version=1)
    engine.commit(CHUNK, 3)
    assert read_all(engine, CHUNK) == b"a" * 5000 + b"c" * 10 + b"d" and used_slots(engine) == 1
    assert engine.remove(CHUNK) and used_slots(engine) == 0


def test_no_append_in_place_while_a_pending_version_in_that_slot_is_read(engine, monkeypatch):
    """A relaxed reader of a pending version appended in place keeps its bytes: a later write that
    could append in place again (the pending version was replaced meanwhile) copies instead."""
    engine.write_committed(CHUNK, 0, b"a" * 5000, chunk_size=SIZE, chain_version=1)
    engine.write_pending(CHUNK, 5000, b"b" * 3000, chunk_size=SIZE, chain_version=1)  # in place, slot S
    committed_slot = slot_location(engine, CHUNK)
    reading, resume = threading.Event(), threading.Event()
    read_whole = engine._read_whole

    def paused_read_whole(*args, **kwargs):
        reading.set()
        assert resume.wait(10)
        return read_whole(*args, **kwargs)

    monkeypatch.setattr(engine, "_read_whole", paused_read_whole)
    outcome = {}

    def reader():
        into = aligned_buffer(SIZE)
        try:
            outcome["bytes"] = bytes(into[:engine.read(CHUNK, 0, SIZE, into, relaxed=True)])
        except Fs3Error as error:
            outcome["error"] = error

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert reading.wait(10)
        monkeypatch.setattr(engine, "_read_whole", read_whole)
        engine.write_pending(CHUNK, 5000, b"b" * 3000, chunk_size=SIZE, chain_version=1)  # copied: S is shared
        engine.write_pending(CHUNK, 5000, b"c" * 3000, chunk_size=SIZE, chain_version=1)  # S still being read
        assert slot_location(engine, CHUNK, pending=True) != committed_slot
    finally:
        resume.set()
        thread.join(10)
    assert outcome == {"bytes": b"a" * 5000 + b"b" * 3000}
    # Once the read is over, appends go in place again.
    engine.write_pending(CHUNK, 5000, b"d" * 10, chunk_size=SIZE, chain_version=1)
    assert slot_location(engine, CHUNK, pending=True) == committed_slot
    assert read_all(engine, CHUNK, relaxed=True) == b"a" * 5000 + b"d" * 10


def test_append_in_place_survives_reopen_and_checks_payload(tmp_path):
    path = str(tmp_path / "target")
    with ChunkEngine(path, config=SMALL_CONFIG) as engine:
        engine.write_committed(CHUNK, 0, b"x" * 100, chunk_size=SIZE, chain_version=1)
        expect_error(StatusCode.CHECKSUM_MISMATCH, engine.write_committed, CHUNK, 100, b"y" * 10,
                     chunk_size=SIZE, chain_version=1, payload_crc32c=crc32c.crc32c(b"z" * 10))
        assert read_all(engine, CHUNK) == b"x" * 100 and engine.get_meta(CHUNK).committed_version == 1
        engine.write_pending(CHUNK, 100, b"y" * 10, chunk_size=SIZE, chain_version=1)
    with ChunkEngine(path, config=SMALL_CONFIG) as engine:  # a pending version sharing its slot is recovered
        assert used_slots(engine) == 1
        assert read_all(engine, CHUNK, relaxed=True) == b"x" * 100 + b"y" * 10
        engine.commit(CHUNK, 2)
        assert read_all(engine, CHUNK) == b"x" * 100 + b"y" * 10


def test_space_counts_blocks_and_chunks(engine):
    space = engine.space()
    assert isinstance(space, TargetSpace) and space.used_bytes == 0 and space.chunk_count == 0
    engine.write_committed(CHUNK, 0, b"x" * 5000, chunk_size=SIZE, chain_version=1)
    engine.write_pending(CHUNK, 0, b"y", chunk_size=SIZE, chain_version=1)
    space = engine.space()
    assert (space.used_bytes, space.chunk_count) == (2 * 8192, 1)
    assert space.capacity_bytes > 0 and 0 < space.free_bytes <= space.capacity_bytes
    engine.commit(CHUNK, 2)
    assert engine.space().used_bytes == 8192
    engine.remove(CHUNK)
    assert (engine.space().used_bytes, engine.space().chunk_count) == (0, 0)


# ------------------------------------------------------------ bad arguments

@pytest.mark.parametrize("offset, length, chunk_size, chain_version, code", [
    (0, 11, 10, 1, StatusCode.OFFSET_OUT_OF_RANGE),
    (5, 6, 10, 1, StatusCode.OFFSET_OUT_OF_RANGE),
    (-1, 1, 10, 1, StatusCode.BAD_REQUEST),
    (0, 1, 0, 1, StatusCode.BAD_REQUEST),
    (0, 1, SIZE + 1, 1, StatusCode.BAD_REQUEST),
    (0, 1, 10, -1, StatusCode.BAD_REQUEST),
])
@pytest.mark.parametrize("method", ["write_pending", "write_committed"])
def test_bad_write_arguments_write_nothing(engine, method, offset, length, chunk_size, chain_version, code):
    expect_error(code, getattr(engine, method), CHUNK, offset, b"x" * length, chunk_size=chunk_size,
                 chain_version=chain_version)
    assert engine.get_meta(CHUNK) is None
    assert used_slots(engine) == 0 and slot_files(engine.target_path) == []


def test_write_that_would_grow_chunk_beyond_chunk_size(engine):
    engine.write_committed(CHUNK, 0, b"x" * 100, chunk_size=SIZE, chain_version=1)
    expect_error(StatusCode.OFFSET_OUT_OF_RANGE, engine.write_committed, CHUNK, 0, b"y", chunk_size=50,
                 chain_version=1)
    assert engine.get_meta(CHUNK).committed_version == 1
    assert used_slots(engine) == 1


def test_bad_read_arguments(engine):
    engine.write_committed(CHUNK, 0, b"abc", chunk_size=SIZE, chain_version=1)
    expect_error(StatusCode.BAD_REQUEST, engine.read, CHUNK, 0, 10, aligned_buffer(5))
    expect_error(StatusCode.BAD_REQUEST, engine.read, CHUNK, -1, 1, aligned_buffer(5))
    expect_error(StatusCode.BAD_REQUEST, engine.read, CHUNK, 0, -1, aligned_buffer(5))
    expect_error(StatusCode.BAD_REQUEST, engine.read, CHUNK, 0, 3, memoryview(b"xxx"))
    expect_error(StatusCode.OFFSET_OUT_OF_RANGE, engine.read, CHUNK, SIZE, 1, aligned_buffer(5))
    assert engine.read(CHUNK, 0, 0, aligned_buffer(5)) == 0
    assert engine.read(CHUNK, 3, 5, aligned_buffer(5)) == 0


def test_closed_engine_refuses_calls(tmp_path):
    engine = ChunkEngine(str(tmp_path), config=SMALL_CONFIG)
    engine.close()
    engine.close()
    expect_error(StatusCode.TARGET_NOT_SERVING, engine.get_meta, CHUNK)
    expect_error(StatusCode.TARGET_NOT_SERVING, engine.write_committed, CHUNK, 0, b"x", chunk_size=SIZE,
                 chain_version=1)


# ----------------------------------------------------------- corruption

@pytest.mark.parametrize("flip_at", [0, 5000, 99999])
def test_flipped_byte_is_detected_by_every_read_and_by_copy_on_write(engine, flip_at):
    engine.write_committed(CHUNK, 0, pattern(100000, 5), chunk_size=SIZE, chain_version=1)
    path, slot_offset = slot_location(engine, CHUNK)
    with open(path, "r+b") as file:
        file.seek(slot_offset + flip_at)
        byte = file.read(1)
        file.seek(slot_offset + flip_at)
        file.write(bytes([byte[0] ^ 0x40]))
    expect_error(StatusCode.CHUNK_CORRUPTED, engine.read, CHUNK, 0, SIZE, aligned_buffer(SIZE))
    expect_error(StatusCode.CHUNK_CORRUPTED, engine.read, CHUNK, 10, 10, aligned_buffer(10))
    expect_error(StatusCode.CHUNK_CORRUPTED, engine.write_pending, CHUNK, 10, b"x", chunk_size=SIZE,
                 chain_version=1)
    assert used_slots(engine) == 1
    assert engine.get_meta(CHUNK).pending_version == 0
    # An append in place does not read the committed bytes: it is taken, and the chunk stays unreadable
    # here (its checksum continues the stored one), exactly as before the append.
    engine.write_pending(CHUNK, 100000, b"tail", chunk_size=SIZE, chain_version=1)
    expect_error(StatusCode.CHUNK_CORRUPTED, engine.read, CHUNK, 0, SIZE, aligned_buffer(SIZE), relaxed=True)
    # A full replace does not need the old content and repairs the chunk.
    engine.write_committed(CHUNK, 0, b"fresh", chunk_size=SIZE, chain_version=2, full_chunk_replace=True)
    assert read_all(engine, CHUNK) == b"fresh"


def test_short_or_missing_slot_file_is_corruption(engine):
    engine.write_committed(ChunkId(1, 0), 0, b"first", chunk_size=SIZE, chain_version=1)
    engine.write_committed(CHUNK, 0, pattern(10000, 6), chunk_size=SIZE, chain_version=1)
    path, slot_offset = slot_location(engine, CHUNK)
    assert slot_offset > 0
    os.truncate(path, slot_offset + 5000)
    expect_error(StatusCode.CHUNK_CORRUPTED, engine.read, CHUNK, 0, SIZE, aligned_buffer(SIZE))
    expect_error(StatusCode.CHUNK_CORRUPTED, engine.read, CHUNK, 0, 10000, memoryview(bytearray(10000)))
    expect_error(StatusCode.CHUNK_CORRUPTED, engine.read, CHUNK, 1, 10, aligned_buffer(10))
    engine.close()
    os.unlink(path)
    with ChunkEngine(engine.target_path, config=SMALL_CONFIG) as reopened:
        expect_error(StatusCode.CHUNK_CORRUPTED, reopened.read, CHUNK, 0, 10, aligned_buffer(10))
        expect_error(StatusCode.CHUNK_CORRUPTED, reopened.read, ChunkId(1, 0), 0, 10, aligned_buffer(10))
        # The free slots of the recreated file are usable; a full replace repairs the chunk.
        reopened.write_committed(CHUNK, 0, b"fresh", chunk_size=SIZE, chain_version=2, full_chunk_replace=True)
        assert read_all(reopened, CHUNK) == b"fresh"


def test_broken_metadata_invariant_crashes_with_a_message(tmp_path):
    # no cached rows: the broken row must be read from the database
    engine = ChunkEngine(str(tmp_path / "target"), config=dataclasses.replace(SMALL_CONFIG, cached_records_max=0))
    engine.write_committed(CHUNK, 0, b"x", chunk_size=SIZE, chain_version=1)
    database = sqlite3.connect(os.path.join(engine.target_path, "metadata.sqlite3"))
    database.execute("UPDATE chunks SET pending_version = committed_version + 2, pending_slot = 99")
    database.commit()
    database.close()
    with pytest.raises(AssertionError, match="pending version"):
        engine.get_meta(CHUNK)
    engine.close()


# ------------------------------------------------------------- reopening

def test_reopen_keeps_chunks_and_deletes_garbage(tmp_path):
    target = str(tmp_path / "target")
    with ChunkEngine(target, config=SMALL_CONFIG) as engine:
        engine.write_committed(CHUNK, 0, b"committed", chunk_size=SIZE, chain_version=1)
        engine.write_pending(CHUNK, 0, b"PENDING", chunk_size=SIZE, chain_version=1)
        engine.write_committed(ChunkId(1, 1), 0, b"other", chunk_size=SIZE, chain_version=1)
        kept = slot_files(target)
    # Garbage a crash can leave: a slot file cut short while being created, a
    # trailing slot file whose slots are all free, stray files.
    directory = os.path.dirname(kept[0])
    garbage = [os.path.join(directory, "000007.tmp"),
               os.path.join(directory, "000003"),
               os.path.join(directory, "something"),
               os.path.join(target, "slots", "stray")]
    for path in garbage:
        with open(path, "wb") as file:
            file.write(b"junk")
    with ChunkEngine(target, config=SMALL_CONFIG) as engine:
        assert slot_files(target) == kept
        assert used_slots(engine) == 3
        assert engine.get_meta(CHUNK).committed_version == 1
        assert engine.get_meta(CHUNK).length == len(b"committed")
        assert read_all(engine, ChunkId(1, 1)) == b"other"
        assert read_all(engine, CHUNK, relaxed=True) == b"PENDINGed"
        assert engine.space().chunk_count == 2
        assert engine.space().used_bytes == 3 * 4096
        # Slots in use must not be handed out again.
        engine.commit(CHUNK, 2)
        engine.write_committed(CHUNK, 0, b"again", chunk_size=SIZE, chain_version=1)
        assert read_all(engine, CHUNK) == b"againNGed"


# ----------------------------------------------------------- concurrency

def test_concurrent_writers_and_readers_never_see_torn_data(tmp_path):
    """Goal: readers racing writers of the same chunk see one whole version.
    Method: each version is filled with one byte value; a reader must see a
    uniform buffer whose byte belongs to some version, or CHUNK_PENDING."""
    config = ChunkEngineConfig(chunk_size_bytes_max=MIB, buffer_size_bytes=65536, buffer_count=4)
    length = 200 * 1024 + 17
    stop = threading.Event()
    failures: list[str] = []
    with ChunkEngine(str(tmp_path), config=config) as engine:
        chunk_ids = [ChunkId(5, index) for index in range(3)]
        for chunk_id in chunk_ids:
            engine.write_committed(chunk_id, 0, b"\x01" * length, chunk_size=MIB, chain_version=1)

        def writer(chunk_id, use_pending):
            for round_index in range(40):
                fill = bytes([2 + round_index % 200]) * length
                if use_pending:
                    meta = engine.write_pending(chunk_id, 0, fill, chunk_size=MIB, chain_version=1)
                    engine.commit(chunk_id, meta.pending_version)
                else:
                    engine.write_committed(chunk_id, 0, fill, chunk_size=MIB, chain_version=1)

        def reader(chunk_id, partial):
            into = aligned_buffer(length) if not partial else memoryview(bytearray(5000))
            while not stop.is_set():
                try:
                    if partial:
                        count = engine.read(chunk_id, 70000, 5000, into, relaxed=True)
                    else:
                        count = engine.read(chunk_id, 0, length, into)
                except Fs3Error as error:
                    if error.code != StatusCode.CHUNK_PENDING:
                        failures.append(str(error))
                    continue
                if count != len(into) or into[:count].tobytes().count(into[0]) != count:
                    failures.append(f"torn read of {chunk_id}")

        writers = [threading.Thread(target=writer, args=(chunk_id, index % 2 == 0))
                   for index, chunk_id in enumerate(chunk_ids)]
        readers = [threading.Thread(target=reader, args=(chunk_id, partial))
                   for chunk_id in chunk_ids[:2] for partial in (False, True)]
        for thread in readers + writers:
            thread.start()
        for thread in writers:
            thread.join()
        stop.set()
        for thread in readers:
            thread.join()
        assert not failures, failures[:5]
        for chunk_id in chunk_ids:
            meta = engine.get_meta(chunk_id)
            assert (meta.committed_version, meta.pending_version) == (41, 0)
        assert used_slots(engine) == 3


def test_disk_error_maps_to_eio(engine, monkeypatch):
    engine.write_committed(CHUNK, 0, b"abc", chunk_size=SIZE, chain_version=1)

    def failing_preadv(*args):
        raise OSError(errno.EIO, "injected")

    monkeypatch.setattr(os, "preadv", failing_preadv)
    expect_error(errno.EIO, engine.read, CHUNK, 0, 3, aligned_buffer(3))


def test_power_loss_settings_sync_data_and_metadata(tmp_path, monkeypatch):
    """With FULL + data_fsync each version's slot file is fdatasync'ed before
    the metadata that references it commits; a new slot file and its folders
    are fsync'ed when created."""
    config = ChunkEngineConfig(metadata_synchronous="FULL", data_fsync=True, buffer_size_bytes=65536, buffer_count=2,
                               slot_file_bytes=MIB)
    synced = []
    real_fdatasync, real_fsync = os.fdatasync, os.fsync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (synced.append("data"), real_fdatasync(fd))[1])
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append("fsync"), real_fsync(fd))[1])
    with ChunkEngine(str(tmp_path), config=config) as engine:
        real_put = engine._store.put
        monkeypatch.setattr(engine._store, "put", lambda record: (synced.append("meta"), real_put(record))[1])
        engine.write_committed(CHUNK, 0, b"durable", chunk_size=SIZE, chain_version=1)
        # The new slot file, its class folder and slots/ first.
        assert synced == ["fsync", "fsync", "fsync", "data", "meta"]
        synced.clear()
        engine.write_pending(CHUNK, 3, b"X", chunk_size=SIZE, chain_version=1)
        assert synced == ["data", "meta"]
        engine.commit(CHUNK, 2)
    with ChunkEngine(str(tmp_path), config=config) as engine:
        assert read_all(engine, CHUNK) == b"durXble"


def test_list_chunks_pages_in_chunk_id_order(engine):
    chunk_ids = sorted({ChunkId(inode, index) for inode in (2, 3, 9) for index in (0, 1, 7, 2**32 - 1)})
    for chunk_id in reversed(chunk_ids):
        engine.write_committed(chunk_id, 0, b"x", chunk_size=SIZE, chain_version=1)
    assert [meta.chunk_id for meta in engine.list_chunks()] == chunk_ids
    pages, after = [], None
    while True:
        page = engine.list_chunks(after, 5)
        assert len(page) <= 5
        if not page:
            break
        pages.append([meta.chunk_id for meta in page])
        after = page[-1].chunk_id
    assert [chunk_id for page in pages for chunk_id in page] == chunk_ids
    assert [len(page) for page in pages] == [5, 5, 2]
    # `after` need not exist; the page starts at the next chunk id
    assert [meta.chunk_id for meta in engine.list_chunks(ChunkId(3, 3), 2)] == [ChunkId(3, 7), ChunkId(3, 2**32 - 1)]
