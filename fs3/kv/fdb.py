"""The production KV engine on FoundationDB, through the official `fdb` binding.

FoundationDB already provides exactly the interface's semantics (serializable
optimistic transactions, read-your-writes, snapshot reads, conflict ranges,
atomic ADD), so this module is a thin async adapter:

- Point reads, read versions and commits return FDB futures; we wait for
  them without blocking the event loop via `Future.on_ready`, whose callback
  (on FDB's network thread) wakes the loop with `call_soon_threadsafe`.
- Range reads use the binding's `FDBRange`, whose iteration blocks, so they
  run in a thread pool.
- FDB errors map to the interface's typed errors: 1020 not_committed ->
  TransactionConflict, 1007 transaction_too_old -> TransactionTooOld,
  1021 commit_unknown_result -> CommitUnknownResult (not retried: the commit
  may have happened), anything else FDB's `on_error` accepts as retryable ->
  FdbRetryableError, the rest -> KvError.

`fdb` is imported when an engine is created, so importing this module never
needs libfdb_c. Durability and replication are the cluster's: a commit that
returns is on the transaction logs of every replica.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import struct
from typing import Any, Callable, TypeVar

from fs3.kv.interface import (
    KeyValue,
    KvEngine,
    KvError,
    Transaction,
    TransactionConflict,
    TransactionTooOld,
)

__all__ = ["FdbKvEngine", "FdbRetryableError", "CommitUnknownResult", "FDB_API_VERSION"]

FDB_API_VERSION = 710

_NOT_COMMITTED = 1020
_TRANSACTION_TOO_OLD = 1007
_COMMIT_UNKNOWN_RESULT = 1021

T = TypeVar("T")


class FdbRetryableError(KvError):
    """A transient FDB error (e.g. future_version, process_behind); retry the transaction."""

    retryable = True


class CommitUnknownResult(KvError):
    """FDB lost contact during commit: the transaction may or may not have committed.

    Not retried automatically: re-running a non-idempotent body (an atomic_add,
    a create) could apply it twice.
    """


def load_fdb() -> Any:
    """The `fdb` module with our API version selected.

    Raises:
        KvError: the binding or the libfdb_c client library is missing, or the
            process already selected a different API version.
    """
    try:
        import fdb  # noqa: PLC0415 - lazy on purpose: libfdb_c is optional
    except ImportError as error:
        raise KvError(f"the FoundationDB binding is not installed: {error}") from error
    try:
        fdb.api_version(FDB_API_VERSION)
    except Exception as error:  # the binding raises bare Exception when libfdb_c is missing
        raise KvError(f"cannot load the FoundationDB client library: {error}") from error
    return fdb


class FdbKvEngine(KvEngine):
    """A KvEngine on a FoundationDB cluster. `cluster_file` None means the default one."""

    def __init__(
        self,
        cluster_file: str | None = None,
        *,
        transaction_timeout_ms: int = 30_000,
        range_read_threads: int = 16,
    ) -> None:
        self.cluster_file = cluster_file or None
        self._fdb = load_fdb()
        try:
            self._database = self._fdb.open(self.cluster_file)
            # A transaction stuck on an unreachable cluster fails instead of hanging.
            self._database.options.set_transaction_timeout(transaction_timeout_ms)
        except self._fdb.FDBError as error:
            raise KvError(f"cannot open FoundationDB cluster {self.cluster_file or '(default)'}: {error}") from error
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=range_read_threads, thread_name_prefix="fs3-kv-fdb-range"
        )
        self._closed = False

    def create_transaction(self) -> FdbTransaction:
        if self._closed:
            raise KvError("engine is closed")
        return FdbTransaction(self, self._database.create_transaction())

    async def close(self) -> None:
        # The binding keeps one network thread per process and stops it at exit;
        # the database handle is cached by `fdb.open`, so there is nothing else to free.
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)


def _set_ready(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


class FdbTransaction(Transaction):
    def __init__(self, engine: FdbKvEngine, transaction: Any) -> None:
        self._engine = engine
        self._fdb = engine._fdb
        self._transaction = transaction
        self._finished: str | None = None

    # -- plumbing -------------------------------------------------------------
    def _check_usable(self) -> None:
        if self._finished is not None:
            raise KvError(f"transaction already {self._finished}")
        if self._engine._closed:
            raise KvError("engine is closed")

    async def _resolve(self, future: Any, extract: Callable[[Any], T]) -> T:
        """Await an FDB future without blocking the loop; FDB errors become KvErrors."""
        if not future.is_ready():
            loop = asyncio.get_running_loop()
            ready: asyncio.Future[None] = loop.create_future()
            future.on_ready(lambda _: loop.call_soon_threadsafe(_set_ready, ready))
            try:
                await ready
            except asyncio.CancelledError:
                future.cancel()
                raise
        try:
            return extract(future)  # ready now: never blocks
        except self._fdb.FDBError as error:
            raise await self._map_error(error) from error

    async def _map_error(self, error: Any) -> KvError:
        """The typed error for an FDB error; the transaction is unusable afterwards."""
        self._finished = "failed"
        code = error.code
        if code == _NOT_COMMITTED:
            return TransactionConflict(f"FoundationDB: {error}")
        if code == _TRANSACTION_TOO_OLD:
            return TransactionTooOld(f"FoundationDB: {error}")
        if code == _COMMIT_UNKNOWN_RESULT:
            return CommitUnknownResult(f"FoundationDB: {error}")
        # Let FDB classify the rest: on_error resolves for retryable errors
        # (after FDB's own backoff) and fails with the error otherwise.
        on_error = self._transaction.on_error(error)
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        on_error.on_ready(lambda _: loop.call_soon_threadsafe(_set_ready, ready))
        await ready
        try:
            on_error.wait()
        except self._fdb.FDBError:
            return KvError(f"FoundationDB: {error}")
        return FdbRetryableError(f"FoundationDB: {error}")

    # -- reads ----------------------------------------------------------------
    async def get(self, key: bytes, *, snapshot: bool = False) -> bytes | None:
        self._check_usable()
        reader = self._transaction.snapshot if snapshot else self._transaction
        return await self._resolve(reader.get(bytes(key)), lambda value: value.value)

    async def get_range(
        self,
        begin: bytes,
        end: bytes,
        *,
        limit: int = 0,
        reverse: bool = False,
        snapshot: bool = False,
    ) -> list[KeyValue]:
        self._check_usable()
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        if begin >= end:
            return []
        reader = self._transaction.snapshot if snapshot else self._transaction
        mode = self._fdb.StreamingMode.exact if limit else self._fdb.StreamingMode.want_all
        fdb_range = reader.get_range(bytes(begin), bytes(end), limit=limit, reverse=reverse, streaming_mode=mode)
        loop = asyncio.get_running_loop()
        try:
            pairs = await loop.run_in_executor(self._engine._executor, fdb_range.to_list)
        except self._fdb.FDBError as error:
            raise await self._map_error(error) from error
        return [KeyValue(pair.key, pair.value) for pair in pairs]

    async def get_read_version(self) -> int:
        self._check_usable()
        return await self._resolve(self._transaction.get_read_version(), lambda version: version.wait())

    # -- writes ---------------------------------------------------------------
    def set(self, key: bytes, value: bytes) -> None:
        self._check_usable()
        self._transaction.set(bytes(key), bytes(value))

    def clear(self, key: bytes) -> None:
        self._check_usable()
        self._transaction.clear(bytes(key))

    def clear_range(self, begin: bytes, end: bytes) -> None:
        self._check_usable()
        if begin < end:
            self._transaction.clear_range(bytes(begin), bytes(end))

    def atomic_add(self, key: bytes, delta: int) -> None:
        self._check_usable()
        # Two's complement wraps like FDB's ADD, so negative deltas subtract.
        self._transaction.add(bytes(key), struct.pack("<Q", delta % (1 << 64)))

    def add_read_conflict_range(self, begin: bytes, end: bytes) -> None:
        self._check_usable()
        if begin < end:
            self._transaction.add_read_conflict_range(bytes(begin), bytes(end))

    def add_write_conflict_range(self, begin: bytes, end: bytes) -> None:
        self._check_usable()
        if begin < end:
            self._transaction.add_write_conflict_range(bytes(begin), bytes(end))

    # -- end ------------------------------------------------------------------
    async def commit(self) -> None:
        self._check_usable()
        try:
            await self._resolve(self._transaction.commit(), lambda done: done.wait())
        except BaseException:
            self._finished = "failed"
            raise
        self._finished = "committed"

    def cancel(self) -> None:
        if self._finished is None:
            self._finished = "cancelled"
            self._transaction.cancel()
