"""Stateful property test: the engine behaves like a dict of byte strings.

Goal: every sequence of writes, commits, truncates, removes, reads and
reopens gives the same results as a trivial reference model. Method:
hypothesis drives both; small pool buffers (8 KiB) and a 20000-byte chunk
size make every chunk span several unaligned segments.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass

import crc32c
import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from fs3.errors import Fs3Error, StatusCode
from fs3.storage.chunk_engine import ChunkEngine, ChunkEngineConfig, ChunkId

from .helpers import aligned_buffer, live_versions, pattern, used_slots

CHUNK_SIZE = 20000
CHUNK_IDS = [ChunkId(1, 0), ChunkId(1, 1), ChunkId(1, 7), ChunkId(2, 0)]

chunk_ids = st.sampled_from(CHUNK_IDS)
offsets = st.one_of(st.integers(0, CHUNK_SIZE), st.sampled_from([0, 4096, 8192, 8191, 16384]))
lengths = st.one_of(st.integers(0, 12000), st.sampled_from([0, 1, 4096, 8192, CHUNK_SIZE]))


@dataclass
class ModelChunk:
    committed: bytes | None = None
    committed_version: int = 0
    pending: bytes | None = None
    pending_version: int = 0
    chain_version: int = 0


class ChunkEngineModel(RuleBasedStateMachine):
    direct_io = True

    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.mkdtemp(prefix="chunk-engine-model-")
        self.config = ChunkEngineConfig(chunk_size_bytes_max=65536, buffer_size_bytes=8192, buffer_count=2,
                                        direct_io=self.direct_io, slot_file_bytes=1 << 20,
                                        free_slot_bytes_kept=0)  # every freed slot is punched
        self.engine = ChunkEngine(self.directory, config=self.config)
        self.model: dict[ChunkId, ModelChunk] = {}
        self.chain_version = 1

    def teardown(self) -> None:
        self.engine.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def expect_error(self, code, function, *args, **kwargs) -> None:
        try:
            function(*args, **kwargs)
        except Fs3Error as error:
            assert error.code == code, error
        else:
            raise AssertionError(f"expected {code!r}")

    def new_content(self, chunk: ModelChunk | None, offset: int, data: bytes, full_chunk_replace: bool) -> bytes:
        if full_chunk_replace:
            return data
        content = bytearray(chunk.committed if chunk and chunk.committed is not None else b"")
        content.extend(b"\x00" * max(0, offset + len(data) - len(content)))
        content[offset:offset + len(data)] = data
        return bytes(content)

    def write(self, commit: bool, chunk_id, offset, length, seed, full_chunk_replace, aligned) -> None:
        data = pattern(length, seed)
        source = data
        if aligned:
            source = aligned_buffer(length)
            source[:] = data
        method = self.engine.write_committed if commit else self.engine.write_pending
        chunk = self.model.get(chunk_id)
        if full_chunk_replace and offset != 0:
            return self.expect_error(StatusCode.BAD_REQUEST, method, chunk_id, offset, source,
                                     chunk_size=CHUNK_SIZE, chain_version=self.chain_version,
                                     full_chunk_replace=True)
        content = self.new_content(chunk, offset, data, full_chunk_replace)
        if offset + length > CHUNK_SIZE or len(content) > CHUNK_SIZE:
            return self.expect_error(StatusCode.OFFSET_OUT_OF_RANGE, method, chunk_id, offset, source,
                                     chunk_size=CHUNK_SIZE, chain_version=self.chain_version,
                                     full_chunk_replace=full_chunk_replace)
        meta = method(chunk_id, offset, source, chunk_size=CHUNK_SIZE, chain_version=self.chain_version,
                      full_chunk_replace=full_chunk_replace)
        chunk = self.model.setdefault(chunk_id, ModelChunk())
        chunk.chain_version = self.chain_version
        if commit:
            chunk.committed, chunk.committed_version = content, chunk.committed_version + 1
            chunk.pending, chunk.pending_version = None, 0
        else:
            chunk.pending, chunk.pending_version = content, chunk.committed_version + 1
        assert meta == self.engine.get_meta(chunk_id)

    @rule(chunk_id=chunk_ids, offset=offsets, length=lengths, seed=st.integers(0, 255),
          full_chunk_replace=st.booleans(), aligned=st.booleans())
    def write_pending(self, chunk_id, offset, length, seed, full_chunk_replace, aligned):
        self.write(False, chunk_id, offset, length, seed, full_chunk_replace, aligned)

    @rule(chunk_id=chunk_ids, offset=offsets, length=lengths, seed=st.integers(0, 255),
          full_chunk_replace=st.booleans(), aligned=st.booleans())
    def write_committed(self, chunk_id, offset, length, seed, full_chunk_replace, aligned):
        self.write(True, chunk_id, offset, length, seed, full_chunk_replace, aligned)

    @rule(chunk_id=chunk_ids, gap=st.sampled_from([0, 0, 1, 100, 4096, 9000]), length=st.integers(1, 9000),
          seed=st.integers(0, 255), commit=st.booleans(), aligned=st.booleans())
    def append(self, chunk_id, gap, length, seed, commit, aligned):
        """A write at or after the committed end: appended in place while it fits the slot."""
        chunk = self.model.get(chunk_id)
        end = len(chunk.committed) if chunk is not None and chunk.committed is not None else 0
        self.write(commit, chunk_id, end + gap, length, seed, False, aligned)

    @rule(chunk_id=chunk_ids, wrong=st.booleans())
    def commit(self, chunk_id, wrong):
        chunk = self.model.get(chunk_id)
        if chunk is None:
            return self.expect_error(StatusCode.CHUNK_NOT_FOUND, self.engine.commit, chunk_id, 1)
        if wrong:
            return self.expect_error(StatusCode.BAD_REQUEST, self.engine.commit, chunk_id,
                                     chunk.committed_version + 2)
        if chunk.pending is None:
            before = self.engine.get_meta(chunk_id)
            assert self.engine.commit(chunk_id, chunk.committed_version) == before
            return
        self.engine.commit(chunk_id, chunk.pending_version)
        chunk.committed, chunk.committed_version = chunk.pending, chunk.pending_version
        chunk.pending, chunk.pending_version = None, 0

    @rule(chunk_id=chunk_ids, length=st.integers(0, 30000))
    def truncate(self, chunk_id, length):
        self.engine.truncate(chunk_id, length, chain_version=self.chain_version)
        chunk = self.model.setdefault(chunk_id, ModelChunk())
        base = chunk.committed or b""
        chunk.committed = base[:length] + b"\x00" * max(0, length - len(base))
        chunk.committed_version += 1
        chunk.pending, chunk.pending_version = None, 0
        chunk.chain_version = self.chain_version

    @rule(chunk_id=chunk_ids)
    def remove(self, chunk_id):
        assert self.engine.remove(chunk_id) == (self.model.pop(chunk_id, None) is not None)

    @rule(inode_id=st.sampled_from([1, 2, 3]), first_chunk_index=st.sampled_from([0, 1, 2, 8]))
    def remove_chunks_from(self, inode_id, first_chunk_index):
        doomed = [chunk_id for chunk_id in self.model
                  if chunk_id.inode_id == inode_id and chunk_id.chunk_index >= first_chunk_index]
        assert self.engine.remove_chunks_from(inode_id, first_chunk_index) == len(doomed)
        for chunk_id in doomed:
            del self.model[chunk_id]

    @rule(chunk_id=chunk_ids, offset=st.integers(0, 25000), length=st.integers(0, 25000),
          relaxed=st.booleans(), aligned=st.booleans())
    def read(self, chunk_id, offset, length, relaxed, aligned):
        into = aligned_buffer(length) if aligned else memoryview(bytearray(length + 1))[1:]
        chunk = self.model.get(chunk_id)
        if chunk is not None and chunk.pending is not None and not relaxed:
            return self.expect_error(StatusCode.CHUNK_PENDING, self.engine.read, chunk_id, offset, length, into)
        count = self.engine.read(chunk_id, offset, length, into, relaxed=relaxed)
        if chunk is None:
            assert count == 0
            return
        content = chunk.pending if chunk.pending is not None else chunk.committed
        expected = content[offset:offset + length]
        assert count == len(expected)
        assert bytes(into[:count]) == expected

    @rule()
    def bump_chain_version(self):
        self.chain_version += 1

    @rule()
    def reopen(self):
        self.engine.close()
        self.engine = ChunkEngine(self.directory, config=self.config)

    @invariant()
    def metadata_matches_model(self):
        metas = self.engine.list_chunks()
        assert [meta.chunk_id for meta in metas] == sorted(self.model)
        for meta in metas:
            chunk = self.model[meta.chunk_id]
            assert meta.committed_version == chunk.committed_version
            assert meta.pending_version == chunk.pending_version
            assert meta.chain_version == chunk.chain_version
            committed = chunk.committed or b""
            assert (meta.length, meta.crc32c) == (len(committed), crc32c.crc32c(committed) if committed else 0)
            pending = chunk.pending or b""
            assert (meta.pending_length, meta.pending_crc32c) == (len(pending), crc32c.crc32c(pending))
        assert self.engine.space().chunk_count == len(self.model)
        # Exactly the live versions hold slots: no slot leaks, none freed early.
        assert used_slots(self.engine) == live_versions(self.engine)


class BufferedChunkEngineModel(ChunkEngineModel):
    direct_io = False


TestChunkEngineModel = ChunkEngineModel.TestCase
TestChunkEngineModel.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
TestBufferedChunkEngineModel = BufferedChunkEngineModel.TestCase
TestBufferedChunkEngineModel.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
