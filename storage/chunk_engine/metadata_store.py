"""Chunk metadata in SQLite: one row per chunk, one atomic statement per change.

The data of every chunk version lives in a slot of a slot file (see
`slots.py`); this store says which slots are live. A version becomes visible
(pending or committed) exactly when the row naming its slot commits, so a
crash before that leaves only an unreferenced slot, which is free again when
the engine rebuilds its free lists on open.

Not thread-safe by itself: the engine serialises calls under its lock (one
connection, `check_same_thread=False`).

The most recently used rows are also kept in memory (`cached_records_max`):
this store is the only writer of its database, so the cache is updated with
every change and never goes stale, and the lookup every chunk read and write
starts with needs no SQL statement (each one hands the GIL away and waits to
get it back, under the engine's lock).
"""

from __future__ import annotations

import collections
import errno
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

from fs3.errors import Fs3Error

from .types import ChunkId, ChunkMeta

__all__ = ["ChunkRecord", "MetadataStore"]

# 1: file per chunk version (committed_file/pending_file generations); not readable any more.
# 2: slot files (committed_slot/pending_slot) and a settings table.
# 3: as 2, and a pending version may share the committed version's slot (appended in place). A format 2
#    store is a valid format 3 store, so it is upgraded on open; an engine reading only format 2 then
#    refuses the target with EIO instead of misreading a shared slot.
_SCHEMA_VERSION = 3
_UPGRADABLE_SCHEMA_VERSIONS = (2,)
_FILE_PER_VERSION_SCHEMA_VERSION = 1

_COLUMNS = (
    "chunk_id, chain_version, committed_version, committed_slot, committed_length, committed_crc32c, "
    "pending_version, pending_slot, pending_length, pending_crc32c"
)


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    """One metadata row: the public ChunkMeta plus the slot of each version
    (`Slot.encode()` of `slots.py`; 0 = no such version)."""

    chunk_id: ChunkId
    chain_version: int
    committed_version: int
    committed_slot: int
    committed_length: int
    committed_crc32c: int
    pending_version: int
    pending_slot: int
    pending_length: int
    pending_crc32c: int

    def check(self) -> None:
        """Assert the invariants of a stored chunk; a failure is an engine bug."""
        assert self.committed_version >= 0, f"{self}: negative committed version"
        assert self.pending_version in (0, self.committed_version + 1), (
            f"{self}: pending version must be 0 or committed + 1"
        )
        assert self.committed_version > 0 or self.pending_version > 0, f"{self}: chunk with no version"
        assert (self.committed_version == 0) == (self.committed_slot == 0), f"{self}: committed slot mismatch"
        assert (self.pending_version == 0) == (self.pending_slot == 0), f"{self}: pending slot mismatch"
        assert self.committed_version > 0 or (self.committed_length == 0 and self.committed_crc32c == 0)
        assert self.pending_version > 0 or (self.pending_length == 0 and self.pending_crc32c == 0)
        assert self.committed_length >= 0 and self.pending_length >= 0, f"{self}: negative length"
        assert self.committed_slot == 0 or self.committed_slot != self.pending_slot or (
            self.pending_length > self.committed_length), f"{self}: shared slot, not an append in place"
        assert self.committed_slot >= 0 and self.pending_slot >= 0, f"{self}: negative slot"
        assert self.chain_version >= 0, f"{self}: negative chain version"

    def to_meta(self) -> ChunkMeta:
        return ChunkMeta(
            chunk_id=self.chunk_id,
            committed_version=self.committed_version,
            pending_version=self.pending_version,
            chain_version=self.chain_version,
            length=self.committed_length,
            crc32c=self.committed_crc32c,
            pending_length=self.pending_length,
            pending_crc32c=self.pending_crc32c,
        )

    def live_slots(self) -> list[tuple[int, int]]:
        """(encoded slot, content length) of each slot this row references: one entry for a
        pending version appended in place, in the committed version's slot (the longer length)."""
        slots = []
        if self.committed_version:
            slots.append((self.committed_slot, self.committed_length))
        if self.pending_version:
            if self.pending_slot == self.committed_slot:
                return [(self.pending_slot, self.pending_length)]
            slots.append((self.pending_slot, self.pending_length))
        return slots


def _record_from_row(row: tuple) -> ChunkRecord:
    record = ChunkRecord(ChunkId.from_bytes(row[0]), *row[1:])
    record.check()
    return record


def _store_error(error: sqlite3.Error, what: str) -> Fs3Error:
    """Map SQLite failures to the errors a disk causes: full -> ENOSPC, else EIO."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None and (code & 0xFF) == sqlite3.SQLITE_FULL:
        return Fs3Error(errno.ENOSPC, f"chunk metadata store full while {what}: {error}")
    return Fs3Error(errno.EIO, f"chunk metadata store failed while {what}: {error}")


class MetadataStore:
    """The SQLite database of one target.

    Args:
        path: database file; created if missing.
        synchronous: "NORMAL" (durable across process crashes; WAL fsyncs at
            checkpoints) or "FULL" (fsync per commit, durable across power loss).
        cached_records_max: rows kept in memory (least recently used go first).
    """

    def __init__(self, path: str, synchronous: str, cached_records_max: int = 0) -> None:
        assert synchronous in ("NORMAL", "FULL"), synchronous
        assert cached_records_max >= 0
        self._cached_records_max = cached_records_max
        self._cache: collections.OrderedDict[ChunkId, ChunkRecord | None] = collections.OrderedDict()
        try:
            # isolation_level=None: every statement commits on its own, so each
            # change below is exactly one atomic SQLite transaction.
            self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute(f"PRAGMA synchronous={synchronous}")
            version = self._connection.execute("PRAGMA user_version").fetchone()[0]
            if version == _FILE_PER_VERSION_SCHEMA_VERSION:
                raise Fs3Error(errno.EIO, f"{path}: target written by the old file-per-version chunk engine "
                               f"(metadata format {version}); this engine reads format {_SCHEMA_VERSION} "
                               "(slot files) only and has no migration: empty the target and let it "
                               "recover its chunks from its chain")
            if version not in (0, _SCHEMA_VERSION, *_UPGRADABLE_SCHEMA_VERSIONS):
                raise Fs3Error(errno.EIO, f"{path}: unknown chunk metadata schema version {version}")
            if version in _UPGRADABLE_SCHEMA_VERSIONS:
                self._connection.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            if version == 0:
                tables = self._connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if tables:
                    raise Fs3Error(errno.EIO, f"{path}: not a chunk metadata store (tables without a version)")
                self._connection.execute("BEGIN")
                self._connection.execute(
                    "CREATE TABLE chunks ("
                    " chunk_id BLOB PRIMARY KEY,"
                    " chain_version INTEGER NOT NULL,"
                    " committed_version INTEGER NOT NULL, committed_slot INTEGER NOT NULL,"
                    " committed_length INTEGER NOT NULL, committed_crc32c INTEGER NOT NULL,"
                    " pending_version INTEGER NOT NULL, pending_slot INTEGER NOT NULL,"
                    " pending_length INTEGER NOT NULL, pending_crc32c INTEGER NOT NULL"
                    ") WITHOUT ROWID"
                )
                self._connection.execute(
                    "CREATE TABLE settings (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID")
                self._connection.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
                self._connection.execute("COMMIT")
        except sqlite3.Error as error:
            raise _store_error(error, f"opening {path}") from error

    def setting(self, name: str, default: int) -> int:
        """The stored value of a target-wide setting; stores `default` if it has none."""
        try:
            row = self._connection.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
            if row is not None:
                return row[0]
            self._connection.execute("INSERT INTO settings (name, value) VALUES (?, ?)", (name, default))
        except sqlite3.Error as error:
            raise _store_error(error, f"reading setting {name}") from error
        return default

    def get(self, chunk_id: ChunkId) -> ChunkRecord | None:
        if chunk_id in self._cache:
            self._cache.move_to_end(chunk_id)
            return self._cache[chunk_id]
        try:
            row = self._connection.execute(
                f"SELECT {_COLUMNS} FROM chunks WHERE chunk_id = ?", (chunk_id.to_bytes(),)
            ).fetchone()
        except sqlite3.Error as error:
            raise _store_error(error, f"reading chunk {chunk_id}") from error
        record = None if row is None else _record_from_row(row)
        self._remember(chunk_id, record)
        return record

    def _remember(self, chunk_id: ChunkId, record: ChunkRecord | None) -> None:
        """Cache a row as the database now holds it (None: no such chunk)."""
        if not self._cached_records_max:
            return
        self._cache[chunk_id] = record
        self._cache.move_to_end(chunk_id)
        if len(self._cache) > self._cached_records_max:
            self._cache.popitem(last=False)

    def put(self, record: ChunkRecord) -> None:
        """Insert or replace one chunk's row in one transaction."""
        record.check()
        try:
            self._connection.execute(
                f"INSERT OR REPLACE INTO chunks ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.chunk_id.to_bytes(),
                    record.chain_version,
                    record.committed_version,
                    record.committed_slot,
                    record.committed_length,
                    record.committed_crc32c,
                    record.pending_version,
                    record.pending_slot,
                    record.pending_length,
                    record.pending_crc32c,
                ),
            )
        except sqlite3.Error as error:
            self._cache.pop(record.chunk_id, None)  # the statement may or may not have taken effect
            raise _store_error(error, f"writing chunk {record.chunk_id}") from error
        self._remember(record.chunk_id, record)

    def delete(self, chunk_id: ChunkId) -> None:
        try:
            self._connection.execute("DELETE FROM chunks WHERE chunk_id = ?", (chunk_id.to_bytes(),))
        except sqlite3.Error as error:
            self._cache.pop(chunk_id, None)
            raise _store_error(error, f"removing chunk {chunk_id}") from error
        self._remember(chunk_id, None)

    def scan(self, first: ChunkId | None = None, last: ChunkId | None = None, *, descending: bool = False,
             limit: int = -1) -> Iterator[ChunkRecord]:
        """Rows with first <= chunk_id <= last, in chunk id order.

        Fetches everything first: the caller holds the engine lock meanwhile,
        and a lazy cursor would interleave with other statements.
        """
        low = (first or ChunkId(0, 0)).to_bytes()
        high = (last or ChunkId((1 << 64) - 1, (1 << 32) - 1)).to_bytes()
        order = "DESC" if descending else "ASC"
        try:
            rows = self._connection.execute(
                f"SELECT {_COLUMNS} FROM chunks WHERE chunk_id >= ? AND chunk_id <= ? "
                f"ORDER BY chunk_id {order} LIMIT ?",
                (low, high, limit),
            ).fetchall()
        except sqlite3.Error as error:
            raise _store_error(error, "scanning chunks") from error
        return iter([_record_from_row(row) for row in rows])

    def close(self) -> None:
        try:
            self._connection.close()
        except sqlite3.Error as error:
            raise _store_error(error, "closing") from error
