"""Goal: format_namespace creates the root once; fs3.meta exports a deliberate surface."""

import fs3.meta
from fs3.kv.memory import MemoryKvEngine
from fs3.meta import DEFAULT_LAYOUT, ROOT_INODE_ID, FixedClock, format_namespace

from tests.meta.helpers import async_test


@async_test
async def test_format_is_idempotent() -> None:
    engine = MemoryKvEngine()
    clock = FixedClock()
    root = await format_namespace(engine, DEFAULT_LAYOUT, clock=clock)
    assert root.inode_id == ROOT_INODE_ID and root.parent == ROOT_INODE_ID and root.is_directory
    assert root.layout == DEFAULT_LAYOUT and root.mode == 0o755
    clock.advance(10)
    again = await format_namespace(engine, DEFAULT_LAYOUT, root_mode=0o777, clock=clock)
    assert again == root


def test_exports() -> None:
    assert sorted(fs3.meta.__all__) == sorted([
        "Clock", "FixedClock", "WallClock", "DEFAULT_LAYOUT", "MetaConfig", "format_namespace",
        "MetaOperator", "ROOT_INODE_ID", "DirEntry", "Inode", "InodeType", "Layout", "OpenResult",
        "PathAt", "ReaddirResult", "UserInfo", "SetAttributes", "SetattrResult", "ChunkTrim", "Capacity",
        "StatfsResult",
    ])
    for name in fs3.meta.__all__:
        assert hasattr(fs3.meta, name)
