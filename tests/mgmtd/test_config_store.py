"""Distributed config documents in the cluster manager (fs3/mgmtd/config_store.py, fs3/hot_config.py).

Goal: a document of hot settings is stored per node type with a growing
version, survives a new primary, and anything that is not a valid hot
setting is refused with an error naming it. Method: ConfigStore on the
in-memory KV store; a second store loads what the first wrote.
"""

from __future__ import annotations

import errno
import logging

import pytest

from fs3.config import MgmtdConfig, StorageServiceConfig
from fs3.errors import Fs3Error
from fs3.hot_config import HotConfig, node_type_from_name
from fs3.kv.memory import MemoryKvEngine
from fs3.mgmtd.config_store import ConfigStore
from fs3.routing import NodeType
from tests.conftest import run_async


def test_versions_grow_and_a_new_primary_serves_the_same_documents():
    async def main() -> None:
        engine = MemoryKvEngine()
        store = ConfigStore(engine, document_bytes_max=4096, wall_clock_ms=lambda: 1234)
        await store.load()
        assert store.latest(NodeType.STORAGE).version == 0 and store.latest(NodeType.STORAGE).content == ""
        first = await store.set(NodeType.STORAGE, 'log_level = "DEBUG"\n', "debug a resync")
        second = await store.set(NodeType.STORAGE, "resync_poll_interval_s = 1\n")
        await store.set(NodeType.META, "gc_interval_s = 2.5\n")
        assert (first.version, second.version, first.updated_ms) == (1, 2, 1234)
        assert first.description == "debug a resync"
        successor = ConfigStore(engine, document_bytes_max=4096)
        await successor.load()
        assert successor.latest(NodeType.STORAGE) == second
        assert successor.latest(NodeType.META).version == 1
        third = await successor.set(NodeType.STORAGE, "")
        assert third.version == 3 and {r.node_type for r in successor.versions()} == {
            NodeType.MGMTD, NodeType.META, NodeType.STORAGE}

    run_async(main())


@pytest.mark.parametrize("node_type, content, words", [
    (NodeType.STORAGE, "io_threads = 4", "cannot change while services run"),
    (NodeType.STORAGE, "targets = []", "cannot change while services run"),
    (NodeType.STORAGE, "no_such_thing = 1", "has no setting 'no_such_thing'"),
    (NodeType.STORAGE, "resync_poll_interval_s = \"fast\"", "must be float"),
    (NodeType.STORAGE, "forward_retries_max = 2.5", "must be int"),
    (NodeType.STORAGE, "log_level = \"LOUD\"", "is not one of DEBUG"),
    (NodeType.STORAGE, "resync_poll_interval_s = 0", "break a rule of StorageServiceConfig"),
    (NodeType.META, "gc_batch_size = 0", "break a rule of MetaServiceConfig"),
    (NodeType.MGMTD, "state_update_interval_s = 20.0", "0 < self.state_update_interval_s < self.heartbeat_timeout_s"),
    (NodeType.STORAGE, "this is not toml", "not a TOML document"),
    (NodeType.CLIENT, "", "takes no distributed config"),
])
def test_refuses_what_is_not_a_valid_hot_setting(node_type, content, words):
    async def main() -> None:
        store = ConfigStore(MemoryKvEngine(), document_bytes_max=4096)
        with pytest.raises(Fs3Error) as refused:
            await store.set(node_type, content)
        assert refused.value.code == errno.EINVAL and words in refused.value.message, refused.value.message
        assert store.latest(node_type).version == 0

    run_async(main())


def test_refuses_a_document_over_the_size_bound_and_checks_against_the_given_base():
    async def main() -> None:
        store = ConfigStore(MemoryKvEngine(), document_bytes_max=64)
        with pytest.raises(Fs3Error) as large:
            await store.set(NodeType.STORAGE, "# " + "x" * 100)
        assert "exceeds 64 bytes" in large.value.message
        base = MgmtdConfig(heartbeat_timeout_s=2.0)
        with pytest.raises(Fs3Error):  # fine against the defaults (10 s), not against this primary's 2 s
            await store.set(NodeType.MGMTD, "state_update_interval_s = 3.0", base=base)
        assert (await store.set(NodeType.MGMTD, "state_update_interval_s = 3.0")).version == 1

    run_async(main())


def test_hot_config_lays_documents_over_the_file_and_reverts_removed_keys():
    root = logging.getLogger()
    level = root.level
    try:
        base = StorageServiceConfig(node_id=7, resync_poll_interval_s=0.2)
        hot = HotConfig(base)
        changed = hot.apply(1, 'log_level = "DEBUG"\nresync_poll_interval_s = 1\n')
        assert changed == {"log_level": "DEBUG", "resync_poll_interval_s": 1.0}
        assert hot.current.resync_poll_interval_s == 1.0 and hot.current.node_id == 7 and hot.version == 1
        assert root.level == logging.DEBUG
        assert hot.apply(2, 'log_level = "DEBUG"\n') == {"resync_poll_interval_s": 0.2}  # back to the file's
        with pytest.raises(Fs3Error):
            hot.apply(3, "io_threads = 1")
        assert hot.version == 2 and hot.current.resync_poll_interval_s == 0.2
    finally:
        root.setLevel(level)
    assert node_type_from_name(" Storage ") == NodeType.STORAGE
    with pytest.raises(Fs3Error) as unknown:
        node_type_from_name("client")
    assert "one of: mgmtd, meta, storage" in unknown.value.message
