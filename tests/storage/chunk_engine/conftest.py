"""Fixtures for chunk engine tests."""

from __future__ import annotations

import pytest

from ._bootstrap import ensure_storage_package

ensure_storage_package()

from fs3.storage.chunk_engine import ChunkEngine, ChunkEngineConfig  # noqa: E402

# 4 MiB slot files: several files per class, so growth is exercised too.
SMALL_CONFIG = ChunkEngineConfig(chunk_size_bytes_max=1 << 20, buffer_size_bytes=1 << 20, buffer_count=4,
                                 slot_file_bytes=4 << 20)


@pytest.fixture
def engine(tmp_path):
    with ChunkEngine(str(tmp_path / "target"), config=SMALL_CONFIG) as chunk_engine:
        yield chunk_engine
