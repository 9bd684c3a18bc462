"""The one behaviour suite every KvEngine must pass.

Subclass `KvConformance` in a test module and override the `engine` fixture
(it must yield a fresh, empty engine and close it afterwards). Tests drive
the async API with `asyncio.run`, so engines must not bind to one event loop.
"""

from __future__ import annotations

import asyncio
import struct

import pytest

from fs3.kv.interface import (
    KeyValue,
    KvEngine,
    KvError,
    RetryPolicy,
    Transaction,
    TransactionConflict,
    TransactionRetryLimit,
    run_transaction,
)

FAST_RETRIES = RetryPolicy(retries_max=5, backoff_initial_s=0.0001, backoff_max_s=0.001, deadline_s=10.0)


def run(coroutine):
    return asyncio.run(coroutine)


def int64(value: int) -> bytes:
    return struct.pack("<q", value)


async def write(engine: KvEngine, items: dict[bytes, bytes]) -> None:
    txn = engine.create_transaction()
    for key, value in items.items():
        txn.set(key, value)
    await txn.commit()


async def read(engine: KvEngine, key: bytes) -> bytes | None:
    txn = engine.create_transaction()
    try:
        return await txn.get(key)
    finally:
        txn.cancel()


async def read_all(engine: KvEngine, begin: bytes = b"", end: bytes = b"\xff") -> dict[bytes, bytes]:
    txn = engine.create_transaction()
    try:
        return {kv.key: kv.value for kv in await txn.get_range(begin, end)}
    finally:
        txn.cancel()


def keys(result: list[KeyValue]) -> list[bytes]:
    return [kv.key for kv in result]


class KvConformance:
    @pytest.fixture
    def engine(self):  # pragma: no cover - overridden
        raise NotImplementedError("override the engine fixture")

    # -- basic operations ---------------------------------------------------
    def test_get_set_clear(self, engine: KvEngine) -> None:
        async def body() -> None:
            assert await read(engine, b"a") is None
            await write(engine, {b"a": b"1", b"b": b"\x00\xff"})
            assert await read(engine, b"a") == b"1"
            assert await read(engine, b"b") == b"\x00\xff"
            txn = engine.create_transaction()
            txn.clear(b"a")
            txn.clear(b"never-existed")
            await txn.commit()
            assert await read(engine, b"a") is None
            assert await read(engine, b"b") == b"\x00\xff"
            await write(engine, {b"b": b"overwritten"})
            assert await read(engine, b"b") == b"overwritten"

        run(body())

    def test_clear_range(self, engine: KvEngine) -> None:
        async def body() -> None:
            await write(engine, {b"k%d" % i: b"v" for i in range(6)})
            txn = engine.create_transaction()
            txn.clear_range(b"k1", b"k4")
            txn.clear_range(b"z", b"a")  # empty: no effect
            await txn.commit()
            assert sorted(await read_all(engine)) == [b"k0", b"k4", b"k5"]

        run(body())

    def test_range_reads(self, engine: KvEngine) -> None:
        async def body() -> None:
            await write(engine, {b"a": b"0", b"b": b"1", b"b\x00": b"2", b"c": b"3", b"d": b"4"})
            txn = engine.create_transaction()
            assert keys(await txn.get_range(b"b", b"d")) == [b"b", b"b\x00", b"c"]
            assert keys(await txn.get_range(b"", b"\xff", limit=2)) == [b"a", b"b"]
            assert keys(await txn.get_range(b"", b"\xff", reverse=True)) == [b"d", b"c", b"b\x00", b"b", b"a"]
            assert keys(await txn.get_range(b"a", b"d", limit=2, reverse=True)) == [b"c", b"b\x00"]
            assert keys(await txn.get_range(b"a\x00", b"b\x00")) == [b"b"]
            assert await txn.get_range(b"d", b"d") == []
            assert await txn.get_range(b"e", b"a") == []
            assert await txn.get_range(b"x", b"z") == []
            assert (await txn.get_range(b"c", b"d"))[0] == KeyValue(b"c", b"3")
            await txn.commit()

        run(body())

    # -- read your writes ---------------------------------------------------
    def test_read_your_writes(self, engine: KvEngine) -> None:
        async def body() -> None:
            await write(engine, {b"k1": b"old1", b"k2": b"old2", b"k3": b"old3", b"k5": b"old5"})
            txn = engine.create_transaction()
            txn.set(b"k1", b"new1")
            txn.set(b"k4", b"new4")
            txn.clear(b"k5")
            assert await txn.get(b"k1") == b"new1"
            assert await txn.get(b"k4") == b"new4"
            assert await txn.get(b"k5") is None
            assert {kv.key: kv.value for kv in await txn.get_range(b"k", b"l")} == {
                b"k1": b"new1",
                b"k2": b"old2",
                b"k3": b"old3",
                b"k4": b"new4",
            }
            txn.clear_range(b"k2", b"k4\x00")
            assert await txn.get(b"k2") is None
            assert await txn.get(b"k4") is None
            assert keys(await txn.get_range(b"k", b"l")) == [b"k1"]
            txn.set(b"k3", b"again3")  # a write after clear_range survives it
            assert keys(await txn.get_range(b"k", b"l")) == [b"k1", b"k3"]
            assert keys(await txn.get_range(b"k", b"l", reverse=True, limit=1)) == [b"k3"]
            await txn.commit()
            assert await read_all(engine) == {b"k1": b"new1", b"k3": b"again3"}

        run(body())

    def test_read_your_atomic_adds(self, engine: KvEngine) -> None:
        async def body() -> None:
            await write(engine, {b"c1": int64(10), b"c2": int64(1), b"c3": int64(7)})
            txn = engine.create_transaction()
            txn.atomic_add(b"c1", 5)
            txn.atomic_add(b"c1", -2)
            txn.atomic_add(b"fresh", 3)
            txn.set(b"c2", int64(100))
            txn.atomic_add(b"c2", 1)
            txn.clear_range(b"c3", b"c4")
            txn.atomic_add(b"c3", 4)
            assert await txn.get(b"c1") == int64(13)
            assert await txn.get(b"fresh") == int64(3)
            assert await txn.get(b"c2") == int64(101)
            assert await txn.get(b"c3") == int64(4)
            assert {kv.key: kv.value for kv in await txn.get_range(b"", b"\xff")} == {
                b"c1": int64(13),
                b"c2": int64(101),
                b"c3": int64(4),
                b"fresh": int64(3),
            }
            await txn.commit()
            assert await read(engine, b"c1") == int64(13)
            assert await read(engine, b"c3") == int64(4)
            txn = engine.create_transaction()
            txn.atomic_add(b"neg", -1)
            await txn.commit()
            assert struct.unpack("<q", await read(engine, b"neg"))[0] == -1

        run(body())

    # -- isolation ------------------------------------------------------------
    def test_snapshot_isolation(self, engine: KvEngine) -> None:
        async def body() -> None:
            await write(engine, {b"a": b"1", b"b": b"1"})
            reader = engine.create_transaction()
            assert await reader.get(b"a") == b"1"  # fixes the read version
            version = await reader.get_read_version()
            await write(engine, {b"b": b"2", b"c": b"2"})
            assert await reader.get(b"b") == b"1"
            assert await reader.get(b"c") is None
            assert keys(await reader.get_range(b"", b"\xff")) == [b"a", b"b"]
            assert await reader.get_read_version() == version
            await reader.commit()  # read-only: commits trivially despite later writes
            later = engine.create_transaction()
            assert await later.get(b"c") == b"2"
            assert await later.get_read_version() > version
            later.cancel()

        run(body())

    # -- conflicts ------------------------------------------------------------
    def test_write_skew_is_detected(self, engine: KvEngine) -> None:
        async def body() -> None:
            await write(engine, {b"x": b"1", b"y": b"1"})
            first = engine.create_transaction()
            second = engine.create_transaction()
            assert await first.get(b"x") == b"1"
            assert await second.get(b"y") == b"1"
            first.set(b"y", b"0")
            second.set(b"x", b"0")
            await first.commit()
            with pytest.raises(TransactionConflict):
                await second.commit()
            assert await read_all(engine) == {b"x": b"1", b"y": b"0"}

        run(body())

    def test_snapshot_reads_do_not_conflict(self, engine: KvEngine) -> None:
        async def body() -> None:
            await write(engine, {b"x": b"1"})
            txn = engine.create_transaction()
            assert await txn.get(b"x", snapshot=True) == b"1"
            assert keys(await txn.get_range(b"", b"\xff", snapshot=True)) == [b"x"]
            await write(engine, {b"x": b"2", b"w": b"2"})
            txn.set(b"y", b"1")
            await txn.commit()
            assert await read(engine, b"y") == b"1"

        run(body())

    def test_blind_writes_do_not_conflict(self, engine: KvEngine) -> None:
        async def body() -> None:
            first = engine.create_transaction()
            second = engine.create_transaction()
            first.set(b"k", b"first")
            second.set(b"k", b"second")
            second.clear_range(b"a", b"z")
            await first.commit()
            await second.commit()
            assert await read_all(engine) == {}
            third = engine.create_transaction()
            await third.get(b"unrelated")
            third.set(b"k", b"third")
            await write(engine, {b"k": b"other"})
            await third.commit()  # wrote k but never read it
            assert await read(engine, b"k") == b"third"

        run(body())

    def test_range_read_phantom_conflicts(self, engine: KvEngine) -> None:
        async def body() -> None:
            await write(engine, {b"dir/a": b"1"})
            txn = engine.create_transaction()
            assert keys(await txn.get_range(b"dir/", b"dir0")) == [b"dir/a"]
            txn.set(b"summary", b"1 entry")
            await write(engine, {b"dir/b": b"new"})  # a phantom inside the read range
            with pytest.raises(TransactionConflict):
                await txn.commit()

        run(body())

    def test_limited_range_read_conflicts_only_on_covered_part(self, engine: KvEngine) -> None:
        async def body() -> None:
            await write(engine, {b"k%d" % i: b"v" for i in range(1, 6)})
            # Forward: limit 2 covers [k0, k2 + \x00).
            txn = engine.create_transaction()
            assert keys(await txn.get_range(b"k0", b"k9", limit=2)) == [b"k1", b"k2"]
            txn.set(b"out", b"1")
            await write(engine, {b"k4": b"changed", b"k3": b"changed"})
            await txn.commit()
            txn = engine.create_transaction()
            assert keys(await txn.get_range(b"k0", b"k9", limit=2)) == [b"k1", b"k2"]
            txn.set(b"out", b"2")
            await write(engine, {b"k2": b"changed"})
            with pytest.raises(TransactionConflict):
                await txn.commit()
            # Reverse: limit 2 covers [k4, k9).
            txn = engine.create_transaction()
            assert keys(await txn.get_range(b"k0", b"k9", limit=2, reverse=True)) == [b"k5", b"k4"]
            txn.set(b"out", b"3")
            await write(engine, {b"k3": b"changed again"})
            await txn.commit()
            txn = engine.create_transaction()
            assert keys(await txn.get_range(b"k0", b"k9", limit=2, reverse=True)) == [b"k5", b"k4"]
            txn.set(b"out", b"4")
            await write(engine, {b"k8": b"phantom"})
            with pytest.raises(TransactionConflict):
                await txn.commit()

        run(body())

    def test_clear_range_conflicts_with_readers(self, engine: KvEngine) -> None:
        async def body() -> None:
            await write(engine, {b"k1": b"1"})
            txn = engine.create_transaction()
            assert await txn.get(b"k1") == b"1"
            txn.set(b"other", b"1")
            clearer = engine.create_transaction()
            clearer.clear_range(b"k", b"l")
            await clearer.commit()
            with pytest.raises(TransactionConflict):
                await txn.commit()

        run(body())

    def test_explicit_conflict_ranges(self, engine: KvEngine) -> None:
        async def body() -> None:
            # Read conflict range without a read.
            txn = engine.create_transaction()
            await txn.get_read_version()
            txn.add_read_conflict_range(b"lock/", b"lock0")
            txn.set(b"x", b"1")
            await write(engine, {b"lock/a": b"1"})
            with pytest.raises(TransactionConflict):
                await txn.commit()
            # Read conflict key.
            txn = engine.create_transaction()
            await txn.get_read_version()
            txn.add_read_conflict_key(b"lock/b")
            txn.set(b"x", b"2")
            await write(engine, {b"lock/c": b"1"})  # outside the key: no conflict
            await txn.commit()
            # Write conflict range without a write.
            reader = engine.create_transaction()
            assert await reader.get(b"guard") is None
            reader.set(b"y", b"1")
            marker = engine.create_transaction()
            marker.add_write_conflict_range(b"g", b"h")
            await marker.commit()
            with pytest.raises(TransactionConflict):
                await reader.commit()
            assert await read(engine, b"y") is None
            # Write conflict key.
            reader = engine.create_transaction()
            assert await reader.get(b"guard") is None
            reader.set(b"y", b"2")
            marker = engine.create_transaction()
            marker.add_write_conflict_key(b"guard")
            await marker.commit()
            with pytest.raises(TransactionConflict):
                await reader.commit()

        run(body())

    def test_atomic_add_without_conflicts(self, engine: KvEngine) -> None:
        async def body() -> None:
            await write(engine, {b"counter": int64(100)})
            adders = [engine.create_transaction() for _ in range(5)]
            for index, txn in enumerate(adders):
                await txn.get(b"unrelated-%d" % index)
                txn.atomic_add(b"counter", index + 1)
            for txn in adders:
                await txn.commit()
            assert await read(engine, b"counter") == int64(115)
            # A reader of the counter does conflict with a concurrent add.
            reader = engine.create_transaction()
            assert await reader.get(b"counter") == int64(115)
            reader.set(b"seen", b"1")
            adder = engine.create_transaction()
            adder.atomic_add(b"counter", 1)
            await adder.commit()
            with pytest.raises(TransactionConflict):
                await reader.commit()

        run(body())

    # -- run_transaction ------------------------------------------------------
    def test_run_transaction_retries_conflicts(self, engine: KvEngine) -> None:
        async def body() -> None:
            await write(engine, {b"n": int64(0)})
            attempts = 0

            async def increment(txn: Transaction) -> int:
                nonlocal attempts
                attempts += 1
                value = struct.unpack("<q", await txn.get(b"n"))[0]
                if attempts == 1:
                    await write(engine, {b"n": int64(41)})  # interferes once
                txn.set(b"n", int64(value + 1))
                return value + 1

            assert await run_transaction(engine, increment, policy=FAST_RETRIES) == 42
            assert attempts == 2
            assert await read(engine, b"n") == int64(42)

        run(body())

    def test_run_transaction_gives_up(self, engine: KvEngine) -> None:
        async def body() -> None:
            attempts = 0

            async def always_conflicts(txn: Transaction) -> None:
                nonlocal attempts
                attempts += 1
                await txn.get(b"hot")
                await write(engine, {b"hot": b"%d" % attempts})
                txn.set(b"mine", b"1")

            with pytest.raises(TransactionRetryLimit):
                await run_transaction(engine, always_conflicts, policy=FAST_RETRIES)
            assert attempts == FAST_RETRIES.retries_max + 1
            assert await read(engine, b"mine") is None

        run(body())

    def test_run_transaction_propagates_other_errors(self, engine: KvEngine) -> None:
        async def body() -> None:
            attempts = 0

            async def fails(txn: Transaction) -> None:
                nonlocal attempts
                attempts += 1
                txn.set(b"partial", b"1")
                raise ValueError("bad input")

            with pytest.raises(ValueError, match="bad input"):
                await run_transaction(engine, fails, policy=FAST_RETRIES)
            assert attempts == 1
            assert await read(engine, b"partial") is None

        run(body())

    # -- lifecycle ------------------------------------------------------------
    def test_cancel(self, engine: KvEngine) -> None:
        async def body() -> None:
            txn = engine.create_transaction()
            await txn.get(b"a")
            txn.set(b"a", b"1")
            txn.cancel()
            txn.cancel()  # idempotent
            with pytest.raises(KvError):
                await txn.commit()
            with pytest.raises(KvError):
                await txn.get(b"a")
            with pytest.raises(KvError):
                txn.set(b"b", b"1")
            assert await read(engine, b"a") is None

        run(body())

    def test_finished_transaction_is_unusable(self, engine: KvEngine) -> None:
        async def body() -> None:
            txn = engine.create_transaction()
            txn.set(b"a", b"1")
            await txn.commit()
            with pytest.raises(KvError):
                await txn.commit()
            with pytest.raises(KvError):
                await txn.get(b"a")
            txn.cancel()  # harmless after commit
            readonly = engine.create_transaction()
            assert await readonly.get(b"a") == b"1"
            await readonly.commit()
            empty = engine.create_transaction()
            await empty.commit()

        run(body())

    def test_many_keys_and_binary_keys(self, engine: KvEngine) -> None:
        async def body() -> None:
            items = {bytes([i, j]): bytes([j]) * (i + 1) for i in (0, 1, 127, 254, 255) for j in range(0, 256, 17)}
            await write(engine, items)
            assert await read_all(engine, b"", b"\xff\xff\xff") == items
            txn = engine.create_transaction()
            result = await txn.get_range(b"\x7f", b"\x80", limit=3, reverse=True)
            assert keys(result) == sorted((k for k in items if k[0] == 127), reverse=True)[:3]
            txn.cancel()

        run(body())
