"""The chunk metadata store's in-memory rows agree with its database through puts, deletes,
evictions and a reopen, against a dict as the reference."""

from __future__ import annotations

import random

from hypothesis import given, settings, strategies as st

from fs3.storage.chunk_engine.metadata_store import ChunkRecord, MetadataStore
from fs3.storage.chunk_engine.types import ChunkId


def _record(index: int, version: int) -> ChunkRecord:
    return ChunkRecord(ChunkId(7, index), 1, version, (index + 1) * 4096, 100 + version, version * 17, 0, 0, 0, 0)


_operation = st.tuples(st.sampled_from(["put", "delete", "get"]), st.integers(0, 9), st.integers(1, 5))


@settings(max_examples=60, deadline=None)
@given(st.lists(_operation, max_size=60), st.integers(0, 4))
def test_cached_rows_match_the_database(tmp_path_factory, operations, cached_records_max):
    path = str(tmp_path_factory.mktemp("store") / "metadata.sqlite3")
    store = MetadataStore(path, "NORMAL", cached_records_max)
    model: dict[ChunkId, ChunkRecord] = {}
    for verb, index, version in operations:
        chunk_id = ChunkId(7, index)
        if verb == "put":
            store.put(_record(index, version))
            model[chunk_id] = _record(index, version)
        elif verb == "delete":
            store.delete(chunk_id)
            model.pop(chunk_id, None)
        else:
            assert store.get(chunk_id) == model.get(chunk_id)
    for index in random.sample(range(10), 10):
        assert store.get(ChunkId(7, index)) == model.get(ChunkId(7, index))
    store.close()
    reopened = MetadataStore(path, "NORMAL", 0)  # the database alone says the same
    assert {record.chunk_id: record for record in reopened.scan()} == model
    reopened.close()
