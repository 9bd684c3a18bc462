"""The default durable embedded KV engine, on the standard library's sqlite3.

Several processes on one host may open the same database file at once (e.g.
several metadata services); serializable isolation holds across all of them
because conflict detection lives in the database itself:

- `kv(key, value)` holds the data; `meta` holds the latest commit version
  and the newest pruned one; `commit_log(version, range_begin, range_end)`
  records every committed write-conflict range.
- A transaction's reads come from one WAL read snapshot (a pooled read
  connection in a deferred `BEGIN`, pinned by its first SELECT, which also
  reads the version: the read version) merged with its buffered writes.
- Commit runs on the engine's single write connection: `BEGIN IMMEDIATE`
  takes the cross-process write lock, any
  commit_log range newer than the read version that intersects a read
  conflict range fails the commit, otherwise the writes, their ranges and
  the new version are written and committed together. Waiting for another
  process's write lock happens only in the engine's single commit thread;
  when the lock is free at once and commits do not fsync, the commit runs
  inline on the event loop instead (tens of microseconds, versus a thread
  hop that costs 50-200 us). WAL checkpoints (which fsync) also run in the
  commit thread, every `checkpoint_every_commits` commits, never inline.

Versions are microseconds since the epoch, kept strictly increasing
(`max(latest + 1, now_us)`), so the commit log is pruned by age with one
index range delete. A transaction whose read version predates the pruned
history gets TransactionTooOld.

Durability: WAL with `synchronous=NORMAL` by default — a committed
transaction survives a crash of any process, but the last commits may be
lost on power loss or an OS crash. Pass `synchronous="FULL"` to fsync every
commit. Power-loss durability and replication are FoundationDB's job in
production (`fs3.kv.fdb`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sqlite3
import threading
import time
from typing import Iterator

from fs3.kv.interface import KvEngine, KvError, TransactionConflict, TransactionTooOld
from fs3.kv.memory import BufferedTransaction, KeyRange, WriteBuffer, WriteKind, add_to_value, merge_ranges

__all__ = ["SqliteKvEngine", "WriteLockTimeout"]

_SCHEMA_VERSION = 1
_SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS commit_log ("
    " version INTEGER NOT NULL, range_begin BLOB NOT NULL, range_end BLOB NOT NULL,"
    " PRIMARY KEY (version, range_begin)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
    "INSERT OR IGNORE INTO meta (name, value) VALUES"
    f" ('version', 0), ('pruned_version', 0), ('schema_version', {_SCHEMA_VERSION})",
)

_SELECT_VERSION = "SELECT value FROM meta WHERE name = 'version'"
_SELECT_VALUE = "SELECT value FROM kv WHERE key = ?"
_SELECT_RANGE = "SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key"
_SELECT_RANGE_REVERSE = "SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key DESC"


class WriteLockTimeout(TransactionConflict):
    """The cross-process write lock stayed busy past `busy_timeout_s`; retryable."""


def _is_busy(error: sqlite3.OperationalError) -> bool:
    message = str(error).lower()
    return "locked" in message or "busy" in message


class SqliteKvEngine(KvEngine):
    """A KvEngine on one SQLite database file, shareable across processes.

    Reads run inline on the event loop (point and small range reads take
    microseconds); commits, which may wait for another process's write lock,
    run in a dedicated single thread.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: str = "NORMAL",
        busy_timeout_s: float = 10.0,
        history_window_s: float = 5.0,
        read_connections_max: int = 16,
        inline_commits: bool | None = None,
        checkpoint_every_commits: int = 256,
    ) -> None:
        synchronous = synchronous.upper()
        if synchronous not in _SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {_SYNCHRONOUS_MODES}, got {synchronous!r}")
        if history_window_s <= 0 or busy_timeout_s <= 0 or read_connections_max < 1:
            raise ValueError("history_window_s and busy_timeout_s must be > 0, read_connections_max >= 1")
        self.path = os.fspath(path)
        self.synchronous = synchronous
        self.busy_timeout_s = busy_timeout_s
        self.history_window_s = history_window_s
        self.read_connections_max = read_connections_max
        # Inline commits never wait for the lock, but a FULL commit fsyncs: keep it off the loop.
        self.inline_commits = synchronous in ("OFF", "NORMAL") if inline_commits is None else inline_commits
        self.checkpoint_every_commits = checkpoint_every_commits
        self._commits_since_checkpoint = 0
        self._closed = False
        # The write connection is used by one thread at a time: whoever holds this lock.
        self._write_lock = threading.Lock()
        self._idle_lock = threading.Lock()
        self._idle_connections: list[sqlite3.Connection] = []
        self._write_connection = self._connect()
        self._initialize_schema()
        # The write connection never sleeps in SQLite's busy handler (the commit thread
        # polls for the lock itself) and never checkpoints as a side effect of a commit.
        self._write_connection.execute("PRAGMA busy_timeout = 0")
        self._write_connection.execute("PRAGMA wal_autocheckpoint = 0")
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="fs3-kv-sqlite-commit"
        )

    # -- connections ----------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout_s,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,  # each connection is used by one thread at a time
                cached_statements=64,
            )
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            connection.execute(f"PRAGMA synchronous = {self.synchronous}")
        except sqlite3.Error as error:
            raise KvError(f"cannot open sqlite KV database {self.path!r}: {error}") from error
        return connection

    def _initialize_schema(self) -> None:
        """Create the schema once; safe when several processes race to do it."""
        connection = self._write_connection
        deadline_s = time.monotonic() + self.busy_timeout_s
        while True:
            try:
                mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise KvError(f"sqlite KV database {self.path!r} cannot use WAL (journal_mode={mode})")
                connection.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _SCHEMA:
                        connection.execute(statement)
                    row = connection.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
                    connection.execute("COMMIT")
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                break
            except sqlite3.OperationalError as error:
                if not _is_busy(error) or time.monotonic() > deadline_s:
                    raise KvError(f"cannot initialize sqlite KV database {self.path!r}: {error}") from error
                time.sleep(0.01)
        if row[0] != _SCHEMA_VERSION:
            raise KvError(f"sqlite KV database {self.path!r} has schema {row[0]}, expected {_SCHEMA_VERSION}")

    def _acquire_read_connection(self) -> sqlite3.Connection:
        with self._idle_lock:
            if self._idle_connections:
                return self._idle_connections.pop()
        connection = self._connect()
        connection.execute("PRAGMA query_only = 1")
        return connection

    def _release_read_connection(self, connection: sqlite3.Connection) -> None:
        """Return a connection to the pool; beyond `read_connections_max` idle ones, close it."""
        try:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
        except sqlite3.Error:
            connection.close()
            return
        with self._idle_lock:
            if not self._closed and len(self._idle_connections) < self.read_connections_max:
                self._idle_connections.append(connection)
                return
        connection.close()

    # -- KvEngine -------------------------------------------------------------
    def create_transaction(self) -> SqliteTransaction:
        if self._closed:
            raise KvError("engine is closed")
        return SqliteTransaction(self)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close_write_connection)
        self._executor.shutdown(wait=True)
        with self._idle_lock:
            idle, self._idle_connections = self._idle_connections, []
        for connection in idle:
            connection.close()

    # -- commit ------------------------------------------------------------------
    async def _commit(self, read_version: int | None, read_conflicts: list[KeyRange], buffer: WriteBuffer) -> int:
        """Commit inline if the write lock is free right now, else in the commit thread."""
        if self.inline_commits and self._write_lock.acquire(blocking=False):
            try:
                if self._try_begin():
                    return self._commit_begun(read_version, read_conflicts, buffer)
            finally:
                self._write_lock.release()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, self._commit_waiting, read_version, read_conflicts, buffer
        )

    def _commit_waiting(self, read_version: int | None, read_conflicts: list[KeyRange], buffer: WriteBuffer) -> int:
        """Commit thread: wait (bounded) for the cross-process write lock, then commit."""
        with self._write_lock:
            deadline_s = time.monotonic() + self.busy_timeout_s
            delay_s = 0.0002
            while not self._try_begin():
                if time.monotonic() > deadline_s:
                    raise WriteLockTimeout(f"sqlite write lock of {self.path!r} busy for {self.busy_timeout_s} s")
                time.sleep(delay_s)
                delay_s = min(delay_s * 2, 0.005)
            return self._commit_begun(read_version, read_conflicts, buffer)

    def _try_begin(self) -> bool:
        """Take the cross-process write lock without waiting; needs `_write_lock`."""
        assert self._write_lock.locked()
        if self._closed:
            raise KvError("engine is closed")
        try:
            self._write_connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if _is_busy(error):
                return False
            raise KvError(f"sqlite commit failed: {error}") from error
        return True

    def _commit_begun(self, read_version: int | None, read_conflicts: list[KeyRange], buffer: WriteBuffer) -> int:
        """Conflict-check and apply inside the write transaction; the new version.

        Needs `_write_lock` and a successful `_try_begin`; always ends the write transaction.
        """
        connection = self._write_connection
        read_ranges = merge_ranges(read_conflicts) if read_version is not None else []
        write_ranges = merge_ranges(buffer.write_conflicts)
        try:
            latest, pruned = (
                row[0]
                for row in connection.execute(
                    "SELECT value FROM meta WHERE name IN ('version', 'pruned_version') ORDER BY name DESC"
                )
            )
            if read_ranges and latest > read_version:
                if read_version < pruned:
                    raise TransactionTooOld(
                        f"read version {read_version} is older than the kept commit history ({pruned})"
                    )
                for begin, end in read_ranges:
                    row = connection.execute(
                        "SELECT version FROM commit_log"
                        " WHERE version > ? AND range_begin < ? AND range_end > ? LIMIT 1",
                        (read_version, end, begin),
                    ).fetchone()
                    if row is not None:
                        raise TransactionConflict(
                            f"a write committed at version {row[0]} intersects this "
                            f"transaction's reads (read version {read_version})"
                        )
            now_us = time.time_ns() // 1000
            version = max(latest + 1, now_us)
            self._apply(connection, buffer)
            connection.executemany(
                "INSERT INTO commit_log (version, range_begin, range_end) VALUES (?, ?, ?)",
                [(version, begin, end) for begin, end in write_ranges],
            )
            connection.execute("UPDATE meta SET value = ? WHERE name = 'version'", (version,))
            self._prune(connection, now_us - int(self.history_window_s * 1_000_000), pruned)
            connection.execute("COMMIT")
        except BaseException as error:
            try:
                connection.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            if isinstance(error, sqlite3.OperationalError) and _is_busy(error):
                raise WriteLockTimeout(f"sqlite database busy during commit: {error}") from error
            if isinstance(error, sqlite3.Error):
                raise KvError(f"sqlite commit failed: {error}") from error
            raise
        self._commits_since_checkpoint += 1
        if self._commits_since_checkpoint >= self.checkpoint_every_commits:
            self._commits_since_checkpoint = 0
            try:
                self._executor.submit(self._checkpoint)
            except RuntimeError:  # executor shut down by close()
                pass
        return version

    def _checkpoint(self) -> None:
        """Commit thread: copy the WAL into the database without blocking anyone."""
        with self._write_lock:
            if self._closed:
                return
            try:
                self._write_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                pass  # another connection is checkpointing; the next round catches up

    def _close_write_connection(self) -> None:
        with self._write_lock:
            try:
                self._write_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                pass
            self._write_connection.close()

    @staticmethod
    def _apply(connection: sqlite3.Connection, buffer: WriteBuffer) -> None:
        for begin, end in buffer.cleared:
            connection.execute("DELETE FROM kv WHERE key >= ? AND key < ?", (begin, end))
        sets: list[tuple[bytes, bytes]] = []
        clears: list[tuple[bytes]] = []
        for key, write in buffer.points.items():
            if write.kind is WriteKind.SET:
                assert write.value is not None
                sets.append((key, write.value))
            elif write.kind is WriteKind.CLEAR:
                clears.append((key,))
            else:
                row = connection.execute(_SELECT_VALUE, (key,)).fetchone()
                sets.append((key, add_to_value(row[0] if row else None, write.delta)))
        if clears:
            connection.executemany("DELETE FROM kv WHERE key = ?", clears)
        if sets:
            connection.executemany(
                "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                sets,
            )

    @staticmethod
    def _prune(connection: sqlite3.Connection, cutoff_version: int, pruned: int) -> None:
        """Drop commit-log entries older than the history window (one index seek when none)."""
        row = connection.execute("SELECT max(version) FROM commit_log WHERE version < ?", (cutoff_version,)).fetchone()
        if row[0] is None or row[0] <= pruned:
            return
        connection.execute("DELETE FROM commit_log WHERE version <= ?", (row[0],))
        connection.execute("UPDATE meta SET value = ? WHERE name = 'pruned_version'", (row[0],))


class SqliteTransaction(BufferedTransaction):
    def __init__(self, engine: SqliteKvEngine) -> None:
        super().__init__()
        self._engine = engine
        self._connection: sqlite3.Connection | None = None

    def _check_usable(self) -> None:
        super()._check_usable()
        if self._engine._closed:
            raise KvError("engine is closed")

    def _open_snapshot(self) -> int:
        assert self._connection is None
        connection = self._engine._acquire_read_connection()
        try:
            connection.execute("BEGIN")
            # The first SELECT pins the WAL snapshot; the version read is its read version.
            version = connection.execute(_SELECT_VERSION).fetchone()[0]
        except sqlite3.Error as error:
            self._engine._release_read_connection(connection)
            raise KvError(f"sqlite read snapshot failed: {error}") from error
        self._connection = connection
        return version

    def _snapshot_get(self, key: bytes) -> bytes | None:
        assert self._connection is not None
        try:
            row = self._connection.execute(_SELECT_VALUE, (key,)).fetchone()
        except sqlite3.Error as error:
            raise KvError(f"sqlite read failed: {error}") from error
        return row[0] if row else None

    def _snapshot_range(self, begin: bytes, end: bytes, reverse: bool) -> Iterator[tuple[bytes, bytes]]:
        assert self._connection is not None
        try:
            cursor = self._connection.execute(_SELECT_RANGE_REVERSE if reverse else _SELECT_RANGE, (begin, end))
        except sqlite3.Error as error:
            raise KvError(f"sqlite range read failed: {error}") from error
        return _rows(cursor)

    async def _commit_buffer(self) -> None:
        await self._engine._commit(self._read_version, self._read_conflicts, self._buffer)

    def _release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            self._engine._release_read_connection(connection)


def _rows(cursor: sqlite3.Cursor) -> Iterator[tuple[bytes, bytes]]:
    """Rows of `cursor`, closing it however the iteration ends."""
    try:
        for key, value in cursor:
            yield key, value
    finally:
        cursor.close()
