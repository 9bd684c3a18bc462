"""The FoundationDB engine against the conformance suite.

Two runs of the same suite:

- `TestFdbConformance` on a real cluster. Opt-in: set FS3_FDB_CLUSTER_FILE to
  the cluster file of a DEDICATED TEST cluster — every test clears the whole
  user keyspace `['', '\\xff')`.
- `TestFdbAdapterConformance` on a stand-in for the `fdb` binding (futures
  completed on another thread, FDBError codes) backed by the memory engine.
  It checks our adapter's plumbing — future bridging, error mapping,
  snapshot/range/add calls — wherever libfdb_c is absent, not FDB itself.
"""

from __future__ import annotations

import os
import struct
import threading
import types

import pytest

from fs3.kv import fdb as fdb_engine_module
from fs3.kv.interface import KvError, TransactionConflict, TransactionTooOld
from fs3.kv.memory import MemoryKvEngine
from tests.kv.conformance import KvConformance, run

CLUSTER_FILE = os.environ.get("FS3_FDB_CLUSTER_FILE", "")


def _skip_reason() -> str | None:
    if not CLUSTER_FILE:
        return "FS3_FDB_CLUSTER_FILE is not set"
    if not os.path.isfile(CLUSTER_FILE):
        return f"FS3_FDB_CLUSTER_FILE {CLUSTER_FILE!r} is not a file"
    try:
        fdb_engine_module.load_fdb()
    except KvError as error:
        return str(error)
    return None


SKIP_REASON = _skip_reason()


@pytest.mark.fdb
@pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")
class TestFdbConformance(KvConformance):
    @pytest.fixture
    def engine(self):
        engine = fdb_engine_module.FdbKvEngine(CLUSTER_FILE)

        async def wipe() -> None:
            txn = engine.create_transaction()
            txn.clear_range(b"", b"\xff")
            await txn.commit()

        run(wipe())
        yield engine
        run(engine.close())


# -- a stand-in for the fdb binding ---------------------------------------------


class _FakeFDBError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _drive(coroutine):
    """Run a memory-engine coroutine that never suspends, synchronously."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("memory engine coroutine suspended")


class _FakeFuture:
    """Completes on another thread, like a future completed by FDB's network thread."""

    def __init__(self, compute) -> None:
        self._lock = threading.Lock()
        self._callbacks: list = []
        self._done = False
        self._result = None
        self._error: BaseException | None = None
        threading.Thread(target=self._complete, args=(compute,)).start()

    def _complete(self, compute) -> None:
        try:
            self._result = compute()
        except _FakeFDBError as error:
            self._error = error
        with self._lock:
            self._done = True
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)

    def is_ready(self) -> bool:
        return self._done

    def on_ready(self, callback) -> None:
        with self._lock:
            if not self._done:
                self._callbacks.append(callback)
                return
        callback(self)

    def cancel(self) -> None:
        pass

    def wait(self):
        assert self._done, "adapter waited on a future that is not ready"
        if self._error is not None:
            raise self._error
        return self._result

    @property
    def value(self):
        return self.wait()


def _translate(function):
    try:
        return function()
    except TransactionConflict as error:
        raise _FakeFDBError(1020) from error
    except TransactionTooOld as error:
        raise _FakeFDBError(1007) from error


class _FakeReader:
    def __init__(self, owner: _FakeTransaction, snapshot: bool) -> None:
        self._owner = owner
        self._snapshot = snapshot

    def get(self, key: bytes) -> _FakeFuture:
        memory = self._owner.memory
        return _FakeFuture(lambda: _translate(lambda: _drive(memory.get(key, snapshot=self._snapshot))))

    def get_range(self, begin, end, limit=0, reverse=False, streaming_mode=None):
        assert streaming_mode is not None
        memory, snapshot = self._owner.memory, self._snapshot

        class _Range:
            def to_list(self):
                with self_owner_lock:
                    result = _translate(
                        lambda: _drive(memory.get_range(begin, end, limit=limit, reverse=reverse, snapshot=snapshot))
                    )
                return [types.SimpleNamespace(key=item.key, value=item.value) for item in result]

        self_owner_lock = self._owner.lock
        return _Range()


class _FakeTransaction(_FakeReader):
    def __init__(self, memory_engine: MemoryKvEngine) -> None:
        self.memory = memory_engine.create_transaction()
        self.lock = threading.Lock()
        super().__init__(self, False)
        self.snapshot = _FakeReader(self, True)

    def get_read_version(self) -> _FakeFuture:
        return _FakeFuture(lambda: _drive(self.memory.get_read_version()))

    def set(self, key, value):
        self.memory.set(key, value)

    def clear(self, key):
        self.memory.clear(key)

    def clear_range(self, begin, end):
        self.memory.clear_range(begin, end)

    def add(self, key, param):
        assert isinstance(param, bytes) and len(param) == 8
        self.memory.atomic_add(key, struct.unpack("<q", param)[0])

    def add_read_conflict_range(self, begin, end):
        self.memory.add_read_conflict_range(begin, end)

    def add_write_conflict_range(self, begin, end):
        self.memory.add_write_conflict_range(begin, end)

    def commit(self) -> _FakeFuture:
        return _FakeFuture(lambda: _translate(lambda: _drive(self.memory.commit())))

    def on_error(self, error) -> _FakeFuture:
        def classify():
            if error.code not in (1009, 1037):  # future_version, process_behind: retryable
                raise error

        return _FakeFuture(classify)

    def cancel(self):
        self.memory.cancel()


class _FakeDatabase:
    def __init__(self) -> None:
        self.memory_engine = MemoryKvEngine()
        self.options = types.SimpleNamespace(set_transaction_timeout=lambda milliseconds: None)

    def create_transaction(self) -> _FakeTransaction:
        return _FakeTransaction(self.memory_engine)


def _fake_fdb_module() -> types.SimpleNamespace:
    return types.SimpleNamespace(
        FDBError=_FakeFDBError,
        StreamingMode=types.SimpleNamespace(exact=0, want_all=-2),
        open=lambda cluster_file=None: _FakeDatabase(),
    )


class TestFdbAdapterConformance(KvConformance):
    @pytest.fixture
    def engine(self, monkeypatch):
        # The stand-in's futures touch the (unsynchronised) memory engine from other
        # threads; safe because the suite awaits one operation at a time.
        monkeypatch.setattr(fdb_engine_module, "load_fdb", _fake_fdb_module)
        engine = fdb_engine_module.FdbKvEngine("/fake/fdb.cluster")
        yield engine
        run(engine.close())


def test_error_mapping(monkeypatch) -> None:
    monkeypatch.setattr(fdb_engine_module, "load_fdb", _fake_fdb_module)
    engine = fdb_engine_module.FdbKvEngine()

    async def mapped(code: int) -> KvError:
        txn = engine.create_transaction()
        return await txn._map_error(_FakeFDBError(code))

    async def body() -> None:
        assert type(await mapped(1020)) is TransactionConflict
        assert type(await mapped(1007)) is TransactionTooOld
        unknown = await mapped(1021)
        assert type(unknown) is fdb_engine_module.CommitUnknownResult and not unknown.retryable
        transient = await mapped(1037)
        assert type(transient) is fdb_engine_module.FdbRetryableError and transient.retryable
        fatal = await mapped(2000)
        assert type(fatal) is KvError and not fatal.retryable
        await engine.close()

    run(body())


def test_module_imports_without_libfdb_c() -> None:
    assert fdb_engine_module.FDB_API_VERSION == 710
