"""The transactional key-value interface every metadata backend implements.

Shaped after FoundationDB's: interactive transactions with serializable
isolation, snapshot reads that add no read conflicts, ordered range reads,
atomic add, and optimistic conflict detection at commit. Callers never loop
on conflicts themselves: `run_transaction` owns retries, backoff and the
deadline.

Keys and values are `bytes`. Ranges are half-open `[begin, end)`.
"""

from __future__ import annotations

import abc
import asyncio
import dataclasses
import random
from typing import Awaitable, Callable, TypeVar

__all__ = [
    "KvEngine",
    "Transaction",
    "KeyValue",
    "KvError",
    "TransactionConflict",
    "TransactionTooOld",
    "TransactionRetryLimit",
    "RetryPolicy",
    "run_transaction",
    "prefix_range",
    "key_after",
]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class KeyValue:
    key: bytes
    value: bytes


class KvError(Exception):
    """Base class of key-value errors. `retryable` tells run_transaction to retry."""

    retryable = False


class TransactionConflict(KvError):
    """A key or range this transaction read was written by a transaction that
    committed after our read version."""

    retryable = True


class TransactionTooOld(KvError):
    """The transaction's read version is older than the engine keeps history for."""

    retryable = True


class TransactionRetryLimit(KvError):
    """run_transaction gave up after `RetryPolicy.retries_max` retryable failures."""


def key_after(key: bytes) -> bytes:
    """The smallest key strictly greater than `key`."""
    return key + b"\x00"


def prefix_range(prefix: bytes) -> tuple[bytes, bytes]:
    """The half-open range `[prefix, strinc(prefix))` of keys starting with prefix."""
    assert prefix, "empty prefix has no finite range end"
    stripped = prefix.rstrip(b"\xff")
    assert stripped, "prefix of only 0xff bytes has no range end"
    return prefix, stripped[:-1] + bytes([stripped[-1] + 1])


class Transaction(abc.ABC):
    """One interactive transaction.

    Reads see a consistent snapshot as of the transaction's read version plus
    the transaction's own writes (read-your-writes). Non-snapshot reads add
    read conflicts; `commit` fails with TransactionConflict if any conflicting
    key or range was changed by another transaction committed after the read
    version. A transaction is used by one task at a time.
    """

    @abc.abstractmethod
    async def get(self, key: bytes, *, snapshot: bool = False) -> bytes | None:
        """Value of `key`, or None if absent."""

    @abc.abstractmethod
    async def get_range(
        self,
        begin: bytes,
        end: bytes,
        *,
        limit: int = 0,
        reverse: bool = False,
        snapshot: bool = False,
    ) -> list[KeyValue]:
        """Key-values in `[begin, end)` in key order (descending if reverse).

        `limit` 0 means no limit. A non-snapshot read adds a read conflict on
        the range actually covered (up to the last returned key when limited).
        """

    @abc.abstractmethod
    def set(self, key: bytes, value: bytes) -> None:
        """Write `key`; visible to this transaction's later reads at once."""

    @abc.abstractmethod
    def clear(self, key: bytes) -> None:
        """Delete `key` (no error if absent)."""

    @abc.abstractmethod
    def clear_range(self, begin: bytes, end: bytes) -> None:
        """Delete every key in `[begin, end)`."""

    @abc.abstractmethod
    def atomic_add(self, key: bytes, delta: int) -> None:
        """Add `delta` to the 8-byte little-endian signed integer at `key`
        (absent counts as 0) at commit, without adding a read conflict."""

    @abc.abstractmethod
    def add_read_conflict_range(self, begin: bytes, end: bytes) -> None:
        """Make the commit conflict with writes to `[begin, end)` as if read."""

    @abc.abstractmethod
    def add_write_conflict_range(self, begin: bytes, end: bytes) -> None:
        """Make other transactions that read `[begin, end)` conflict with us."""

    def add_read_conflict_key(self, key: bytes) -> None:
        self.add_read_conflict_range(key, key_after(key))

    def add_write_conflict_key(self, key: bytes) -> None:
        self.add_write_conflict_range(key, key_after(key))

    @abc.abstractmethod
    async def commit(self) -> None:
        """Atomically apply the writes, or raise a KvError (conflicts are retryable).

        A read-only transaction commits trivially.
        """

    @abc.abstractmethod
    async def get_read_version(self) -> int:
        """The version this transaction reads at (fixed at its first read)."""

    @abc.abstractmethod
    def cancel(self) -> None:
        """Abandon the transaction and release its resources; commit is not allowed after."""


class KvEngine(abc.ABC):
    """A key-value store that hands out transactions."""

    @abc.abstractmethod
    def create_transaction(self) -> Transaction:
        """A new transaction. The caller commits or cancels it."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release every resource; no transaction may be used afterwards."""


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds of run_transaction: never `while True`."""

    retries_max: int = 50
    backoff_initial_s: float = 0.001
    backoff_max_s: float = 0.1
    deadline_s: float = 30.0


async def run_transaction(
    engine: KvEngine,
    body: Callable[[Transaction], Awaitable[T]],
    *,
    policy: RetryPolicy = RetryPolicy(),
    rng: random.Random | None = None,
) -> T:
    """Run `body(txn)` and commit, retrying retryable failures with jittered backoff.

    `body` must be safe to re-run: everything it decides must come from what
    it reads in `txn`. Non-KV exceptions from `body` cancel the transaction and
    propagate unchanged.

    Raises:
        TransactionRetryLimit: after `policy.retries_max` retries or past the deadline.
    """
    rng = rng or random.Random()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + policy.deadline_s
    backoff_s = policy.backoff_initial_s
    last_error: KvError | None = None
    for _attempt in range(policy.retries_max + 1):
        txn = engine.create_transaction()
        try:
            result = await body(txn)
            await txn.commit()
            return result
        except KvError as error:
            txn.cancel()
            if not error.retryable:
                raise
            last_error = error
        except BaseException:
            txn.cancel()
            raise
        if loop.time() + backoff_s > deadline:
            break
        await asyncio.sleep(backoff_s * (0.5 + rng.random()))
        backoff_s = min(backoff_s * 2, policy.backoff_max_s)
    raise TransactionRetryLimit(f"transaction gave up after retries: {last_error!r}")
