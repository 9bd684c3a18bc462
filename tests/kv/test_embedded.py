"""The SQLite engine against the conformance suite, plus what only it has:
persistence across reopen, history pruning, two engines on one file."""

from __future__ import annotations

import time

import pytest

from fs3.kv import open_engine
from fs3.kv.embedded import SqliteKvEngine
from fs3.kv.interface import KvError, TransactionConflict, TransactionTooOld
from tests.kv.conformance import KvConformance, read, read_all, run, write


class TestSqliteConformance(KvConformance):
    @pytest.fixture
    def engine(self, tmp_path):
        engine = SqliteKvEngine(tmp_path / "kv.db")
        yield engine
        run(engine.close())


def test_data_survives_reopen(tmp_path) -> None:
    path = tmp_path / "kv.db"

    async def first() -> None:
        engine = SqliteKvEngine(path)
        await write(engine, {b"a": b"1", b"b": b"2"})
        txn = engine.create_transaction()
        txn.atomic_add(b"n", 7)
        txn.clear(b"b")
        await txn.commit()
        await engine.close()

    async def second() -> None:
        engine = SqliteKvEngine(path, synchronous="FULL")
        assert await read_all(engine) == {b"a": b"1", b"n": (7).to_bytes(8, "little")}
        await engine.close()

    run(first())
    run(second())


def test_two_engines_on_one_file_detect_conflicts(tmp_path) -> None:
    path = tmp_path / "kv.db"

    async def body() -> None:
        left, right = SqliteKvEngine(path), SqliteKvEngine(path)
        await write(left, {b"x": b"1", b"y": b"1"})
        assert await read(right, b"x") == b"1"
        first, second = left.create_transaction(), right.create_transaction()
        assert await first.get(b"x") == b"1"
        assert await second.get(b"y") == b"1"
        first.set(b"y", b"0")
        second.set(b"x", b"0")
        await first.commit()
        with pytest.raises(TransactionConflict):
            await second.commit()
        assert await read_all(right) == {b"x": b"1", b"y": b"0"}
        await left.close()
        await right.close()

    run(body())


def test_too_old_after_history_window(tmp_path) -> None:
    async def body() -> None:
        engine = SqliteKvEngine(tmp_path / "kv.db", history_window_s=0.05)
        await write(engine, {b"a": b"0"})
        old = engine.create_transaction()
        await old.get(b"a")
        old.set(b"a", b"1")
        await write(engine, {b"x": b"1"})
        time.sleep(0.1)
        await write(engine, {b"y": b"1"})  # prunes the commit log
        with pytest.raises(TransactionTooOld):
            await old.commit()
        idle = engine.create_transaction()
        await idle.get(b"a")
        idle.set(b"a", b"2")
        time.sleep(0.1)
        await idle.commit()  # nothing committed since its read version
        assert await read(engine, b"a") == b"2"
        await engine.close()

    run(body())


def test_closed_engine_rejects_use(tmp_path) -> None:
    async def body() -> None:
        engine = SqliteKvEngine(tmp_path / "kv.db")
        txn = engine.create_transaction()
        await engine.close()
        with pytest.raises(KvError):
            await txn.get(b"a")
        with pytest.raises(KvError):
            engine.create_transaction()

    run(body())


def test_read_connection_pool_is_bounded(tmp_path) -> None:
    async def body() -> None:
        engine = SqliteKvEngine(tmp_path / "kv.db", read_connections_max=2)
        transactions = [engine.create_transaction() for _ in range(5)]
        for txn in transactions:
            await txn.get(b"a")
        for txn in transactions:
            txn.cancel()
        assert len(engine._idle_connections) == 2
        await engine.close()

    run(body())


def test_open_engine_sqlite_urls(tmp_path, monkeypatch) -> None:
    absolute = open_engine(f"sqlite://{tmp_path}/abs.db")
    assert isinstance(absolute, SqliteKvEngine) and absolute.path == f"{tmp_path}/abs.db"
    monkeypatch.chdir(tmp_path)
    relative = open_engine("sqlite://rel.db")
    assert relative.path == "rel.db"
    run(absolute.close())
    run(relative.close())
    with pytest.raises(ValueError):
        open_engine("sqlite://")
    with pytest.raises(ValueError):
        SqliteKvEngine(tmp_path / "x.db", synchronous="SOMETIMES")
