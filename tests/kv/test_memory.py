"""The memory engine against the conformance suite, plus its history bounds."""

from __future__ import annotations

import time

import pytest

from fs3.kv import open_engine
from fs3.kv.interface import TransactionTooOld
from fs3.kv.memory import MemoryKvEngine
from tests.kv.conformance import KvConformance, read, run, write


class TestMemoryConformance(KvConformance):
    @pytest.fixture
    def engine(self):
        engine = MemoryKvEngine()
        yield engine
        run(engine.close())


def test_too_old_after_commit_history_is_pruned() -> None:
    async def body() -> None:
        engine = MemoryKvEngine(history_commits_max=3)
        await write(engine, {b"a": b"0"})
        old = engine.create_transaction()
        assert await old.get(b"a") == b"0"
        for index in range(5):
            await write(engine, {b"b": b"%d" % index})
        with pytest.raises(TransactionTooOld):
            await old.get(b"b")
        old.set(b"c", b"1")
        with pytest.raises(TransactionTooOld):
            await old.commit()
        assert await read(engine, b"b") == b"4"

    run(body())


def test_too_old_after_history_window() -> None:
    async def body() -> None:
        engine = MemoryKvEngine(history_window_s=0.05)
        await write(engine, {b"a": b"0"})
        old = engine.create_transaction()
        await old.get(b"a")
        old.set(b"a", b"1")
        await write(engine, {b"x": b"1"})
        time.sleep(0.1)
        await write(engine, {b"y": b"1"})  # prunes the window
        with pytest.raises(TransactionTooOld):
            await old.commit()
        # A fresh transaction with no commits since its read version is fine.
        idle = engine.create_transaction()
        await idle.get(b"a")
        idle.set(b"a", b"2")
        time.sleep(0.1)
        await idle.commit()
        assert await read(engine, b"a") == b"2"

    run(body())


def test_old_versions_are_pruned() -> None:
    async def body() -> None:
        engine = MemoryKvEngine(history_commits_max=10)
        for index in range(1000):
            txn = engine.create_transaction()
            txn.set(b"hot", b"%d" % index)
            txn.set(b"temp%d" % index, b"x")
            txn.clear(b"temp%d" % (index - 1))
            await txn.commit()
        assert len(engine._entries[b"hot"]) < 300
        assert len(engine._keys) < 300
        assert await read(engine, b"hot") == b"999"
        assert await read(engine, b"temp999") == b"x"
        assert await read(engine, b"temp998") is None

    run(body())


def test_open_engine_urls() -> None:
    assert isinstance(open_engine("memory://"), MemoryKvEngine)
    with pytest.raises(ValueError, match="unknown KV engine scheme"):
        open_engine("redis://localhost")
    with pytest.raises(ValueError, match="no scheme"):
        open_engine("/tmp/kv.db")
