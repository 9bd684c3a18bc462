"""Fixtures for chunk engine tests."""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

REPOSITORY_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _ensure_storage_package() -> None:
    """Map `fs3.storage` to `storage/` when the editable install does not
    (pyproject's package discovery only finds directories named fs3*)."""
    try:
        import fs3.storage  # noqa: F401
    except ModuleNotFoundError:
        import fs3

        path = os.path.join(REPOSITORY_ROOT, "storage", "__init__.py")
        spec = importlib.util.spec_from_file_location(
            "fs3.storage", path, submodule_search_locations=[os.path.dirname(path)])
        module = importlib.util.module_from_spec(spec)
        sys.modules["fs3.storage"] = module
        fs3.storage = module
        spec.loader.exec_module(module)


_ensure_storage_package()

from fs3.storage.chunk_engine import ChunkEngine, ChunkEngineConfig  # noqa: E402

SMALL_CONFIG = ChunkEngineConfig(chunk_size_bytes_max=1 << 20, buffer_size_bytes=1 << 20, buffer_count=4)


@pytest.fixture
def engine(tmp_path):
    with ChunkEngine(str(tmp_path / "target"), config=SMALL_CONFIG) as chunk_engine:
        yield chunk_engine
