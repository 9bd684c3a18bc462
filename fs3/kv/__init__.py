"""fs3's transactional key-value store: the interface and its backends.

`open_engine(url)` picks a backend by URL so services take one config string:

- `memory://` — in-process, for tests (`fs3.kv.memory`).
- `sqlite:///abs/path/kv.db` or `sqlite://relative/kv.db` — the default
  durable embedded backend, shareable by several processes on one host
  (`fs3.kv.embedded`).
- `fdb:///path/to/fdb.cluster` or `fdb://` (default cluster file) — the
  production backend on FoundationDB (`fs3.kv.fdb`).
"""

from __future__ import annotations

from fs3.kv.interface import (
    KeyValue,
    KvEngine,
    KvError,
    RetryPolicy,
    Transaction,
    TransactionConflict,
    TransactionRetryLimit,
    TransactionTooOld,
    key_after,
    prefix_range,
    run_transaction,
)

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
    "open_engine",
]

_SUPPORTED = "memory://, sqlite:///abs/path.db, sqlite://relative/path.db, fdb:///path/fdb.cluster, fdb://"


def open_engine(url: str) -> KvEngine:
    """The engine a URL names.

    Raises:
        ValueError: unknown scheme or a malformed URL.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise ValueError(f"KV engine URL {url!r} has no scheme; supported: {_SUPPORTED}")
    if scheme == "memory":
        if rest:
            raise ValueError(f"memory:// takes no path, got {url!r}")
        from fs3.kv.memory import MemoryKvEngine

        return MemoryKvEngine()
    if scheme == "sqlite":
        # sqlite:///abs/path -> rest "/abs/path"; sqlite://rel/path -> rest "rel/path".
        if not rest:
            raise ValueError(f"sqlite URL {url!r} has no database path")
        from fs3.kv.embedded import SqliteKvEngine

        return SqliteKvEngine(rest)
    if scheme == "fdb":
        from fs3.kv.fdb import FdbKvEngine

        return FdbKvEngine(rest or None)
    raise ValueError(f"unknown KV engine scheme {scheme!r} in {url!r}; supported: {_SUPPORTED}")
