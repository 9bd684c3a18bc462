"""In-memory KV engine with real optimistic concurrency control, for tests.

It behaves like FoundationDB where behaviour is observable: every
transaction reads a multi-version snapshot at its read version, sees its own
writes, and fails at commit with TransactionConflict when a write committed
after its read version intersects one of its read-conflict ranges. History is
bounded (by age and by commit count); older transactions get
TransactionTooOld.

The buffered-write machinery (`WriteBuffer`, `BufferedTransaction`, range
helpers) is shared with the SQLite engine, which differs only in where the
snapshot lives and how a commit is applied.
"""

from __future__ import annotations

import abc
import bisect
import collections
import dataclasses
import enum
import time
from typing import Iterable, Iterator

from fs3.kv.interface import (
    KeyValue,
    KvEngine,
    KvError,
    Transaction,
    TransactionConflict,
    TransactionTooOld,
    key_after,
)

__all__ = [
    "MemoryKvEngine",
    "BufferedTransaction",
    "WriteBuffer",
    "WriteKind",
    "KeyRange",
    "merge_ranges",
    "ranges_intersect",
    "add_to_value",
]

KeyRange = tuple[bytes, bytes]

_INT64_MODULUS = 1 << 64


def add_to_value(existing: bytes | None, delta: int) -> bytes:
    """FoundationDB's ADD mutation with an 8-byte operand: the existing value
    is read as little-endian (zero-padded or truncated to 8 bytes), the sum
    wraps modulo 2**64."""
    base = int.from_bytes((existing or b"")[:8].ljust(8, b"\x00"), "little")
    return ((base + delta) % _INT64_MODULUS).to_bytes(8, "little")


def merge_ranges(ranges: Iterable[KeyRange]) -> list[KeyRange]:
    """Sorted, disjoint, non-adjacent ranges covering the same keys; empties dropped."""
    merged: list[KeyRange] = []
    for begin, end in sorted(r for r in ranges if r[0] < r[1]):
        if merged and begin <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((begin, end))
    return merged


def ranges_intersect(first: list[KeyRange], second: list[KeyRange]) -> bool:
    """Whether two merged (sorted, disjoint) range lists share a key."""
    i = j = 0
    while i < len(first) and j < len(second):
        a_begin, a_end = first[i]
        b_begin, b_end = second[j]
        if a_begin < b_end and b_begin < a_end:
            return True
        if a_end <= b_end:
            i += 1
        else:
            j += 1
    return False


def _range_begin(key_range: KeyRange) -> bytes:
    return key_range[0]


class WriteKind(enum.Enum):
    SET = 1
    CLEAR = 2
    ADD = 3


@dataclasses.dataclass(slots=True)
class PointWrite:
    kind: WriteKind
    value: bytes | None = None  # for SET
    delta: int = 0  # for ADD


class WriteBuffer:
    """A transaction's uncommitted writes, kept as an overlay on its snapshot.

    Cleared ranges apply first, point writes on top: a point write made after
    a clear_range survives it, a clear_range drops earlier point writes inside
    it. An ADD point write only exists for keys outside every cleared range
    (inside one it becomes a SET of the delta), so at commit it applies to the
    latest committed value.
    """

    def __init__(self) -> None:
        self.cleared: list[KeyRange] = []  # merged
        self.points: dict[bytes, PointWrite] = {}
        self.point_keys: list[bytes] = []  # sorted keys of `points`
        self.write_conflicts: list[KeyRange] = []

    def is_empty(self) -> bool:
        return not (self.cleared or self.points or self.write_conflicts)

    def _put(self, key: bytes, write: PointWrite) -> None:
        if key not in self.points:
            bisect.insort(self.point_keys, key)
        self.points[key] = write
        self.write_conflicts.append((key, key_after(key)))

    def set(self, key: bytes, value: bytes) -> None:
        self._put(key, PointWrite(WriteKind.SET, value=value))

    def clear(self, key: bytes) -> None:
        self._put(key, PointWrite(WriteKind.CLEAR))

    def clear_range(self, begin: bytes, end: bytes) -> None:
        if begin >= end:
            return
        low = bisect.bisect_left(self.point_keys, begin)
        high = bisect.bisect_left(self.point_keys, end)
        for key in self.point_keys[low:high]:
            del self.points[key]
        del self.point_keys[low:high]
        self.cleared = merge_ranges([*self.cleared, (begin, end)])
        self.write_conflicts.append((begin, end))

    def add(self, key: bytes, delta: int) -> None:
        existing = self.points.get(key)
        if existing is None:
            if self.is_cleared(key):
                write = PointWrite(WriteKind.SET, value=add_to_value(None, delta))
            else:
                write = PointWrite(WriteKind.ADD, delta=delta)
        elif existing.kind is WriteKind.SET:
            write = PointWrite(WriteKind.SET, value=add_to_value(existing.value, delta))
        elif existing.kind is WriteKind.CLEAR:
            write = PointWrite(WriteKind.SET, value=add_to_value(None, delta))
        else:
            write = PointWrite(WriteKind.ADD, delta=(existing.delta + delta) % _INT64_MODULUS)
        self._put(key, write)

    def is_cleared(self, key: bytes) -> bool:
        # Ranges are merged, so only the last range starting at or before key can hold it.
        index = bisect.bisect_right(self.cleared, key, key=_range_begin) - 1
        return index >= 0 and key < self.cleared[index][1]

    def needs_snapshot(self, key: bytes) -> bool:
        """Whether the transaction's view of `key` depends on the snapshot."""
        write = self.points.get(key)
        if write is not None:
            return write.kind is WriteKind.ADD
        return not self.is_cleared(key)

    def view(self, key: bytes, base: bytes | None) -> bytes | None:
        """This transaction's value of `key` given the snapshot value `base`."""
        write = self.points.get(key)
        if write is not None:
            if write.kind is WriteKind.SET:
                return write.value
            if write.kind is WriteKind.CLEAR:
                return None
            return add_to_value(base, write.delta)
        if self.is_cleared(key):
            return None
        return base

    def merge_range(
        self,
        snapshot: Iterator[tuple[bytes, bytes]],
        begin: bytes,
        end: bytes,
        reverse: bool,
    ) -> Iterator[tuple[bytes, bytes]]:
        """The transaction's view of `[begin, end)`, lazily, in scan order.

        `snapshot` yields the committed key-values of the range in the same order.
        """
        low = bisect.bisect_left(self.point_keys, begin)
        high = bisect.bisect_left(self.point_keys, end)
        local_keys = self.point_keys[low:high]
        if reverse:
            local_keys.reverse()
        local_index = 0
        pending = next(snapshot, None)
        while pending is not None or local_index < len(local_keys):
            local_key = local_keys[local_index] if local_index < len(local_keys) else None
            if pending is None:
                take_local, take_snapshot = True, False
            elif local_key is None:
                take_local, take_snapshot = False, True
            elif local_key == pending[0]:
                take_local = take_snapshot = True
            else:
                take_local = (local_key > pending[0]) if reverse else (local_key < pending[0])
                take_snapshot = not take_local
            if take_local:
                assert local_key is not None
                base = pending[1] if take_snapshot else None
                value = self.view(local_key, base)
                key = local_key
                local_index += 1
                if take_snapshot:
                    pending = next(snapshot, None)
            else:
                assert pending is not None
                key, base = pending
                value = None if self.is_cleared(key) else base
                pending = next(snapshot, None)
            if value is not None:
                yield key, value


class BufferedTransaction(Transaction):
    """A transaction whose writes are buffered locally until commit.

    Subclasses provide the snapshot (`_open_snapshot`, `_snapshot_get`,
    `_snapshot_range`), the commit of the buffer, and resource release.
    """

    def __init__(self) -> None:
        self._buffer = WriteBuffer()
        self._read_conflicts: list[KeyRange] = []
        self._read_version: int | None = None
        self._finished: str | None = None  # "committed", "cancelled", "failed"

    # -- hooks ---------------------------------------------------------
    @abc.abstractmethod
    def _open_snapshot(self) -> int:
        """Pin the snapshot and return its read version."""

    @abc.abstractmethod
    def _snapshot_get(self, key: bytes) -> bytes | None:
        """Committed value of `key` at the read version."""

    @abc.abstractmethod
    def _snapshot_range(self, begin: bytes, end: bytes, reverse: bool) -> Iterator[tuple[bytes, bytes]]:
        """Committed key-values of `[begin, end)` at the read version, in scan order."""

    @abc.abstractmethod
    async def _commit_buffer(self) -> None:
        """Check conflicts against `_read_conflicts` and apply `_buffer` atomically."""

    @abc.abstractmethod
    def _release(self) -> None:
        """Release the snapshot and any resource; called exactly once."""

    # -- state ----------------------------------------------------------
    def _check_usable(self) -> None:
        if self._finished is not None:
            raise KvError(f"transaction already {self._finished}")

    def _ensure_read_version(self) -> int:
        if self._read_version is None:
            self._read_version = self._open_snapshot()
        return self._read_version

    def _finish(self, state: str) -> None:
        if self._finished is None:
            self._finished = state
            self._release()

    # -- reads ----------------------------------------------------------
    async def get(self, key: bytes, *, snapshot: bool = False) -> bytes | None:
        self._check_usable()
        self._ensure_read_version()
        if not snapshot:
            self._read_conflicts.append((key, key_after(key)))
        base = self._snapshot_get(key) if self._buffer.needs_snapshot(key) else None
        return self._buffer.view(key, base)

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
        self._ensure_read_version()
        if begin >= end:
            return []
        result: list[KeyValue] = []
        for key, value in self._buffer.merge_range(
            self._snapshot_range(begin, end, reverse), begin, end, reverse
        ):
            result.append(KeyValue(key, value))
            if limit and len(result) >= limit:
                break
        if not snapshot:
            if limit and len(result) >= limit:
                last = result[-1].key
                covered = (last, end) if reverse else (begin, key_after(last))
            else:
                covered = (begin, end)
            self._read_conflicts.append(covered)
        return result

    async def get_read_version(self) -> int:
        self._check_usable()
        return self._ensure_read_version()

    # -- writes ---------------------------------------------------------
    def set(self, key: bytes, value: bytes) -> None:
        self._check_usable()
        self._buffer.set(bytes(key), bytes(value))

    def clear(self, key: bytes) -> None:
        self._check_usable()
        self._buffer.clear(bytes(key))

    def clear_range(self, begin: bytes, end: bytes) -> None:
        self._check_usable()
        self._buffer.clear_range(bytes(begin), bytes(end))

    def atomic_add(self, key: bytes, delta: int) -> None:
        self._check_usable()
        self._buffer.add(bytes(key), int(delta))

    def add_read_conflict_range(self, begin: bytes, end: bytes) -> None:
        self._check_usable()
        if begin < end:
            self._read_conflicts.append((bytes(begin), bytes(end)))

    def add_write_conflict_range(self, begin: bytes, end: bytes) -> None:
        self._check_usable()
        if begin < end:
            self._buffer.write_conflicts.append((bytes(begin), bytes(end)))

    # -- end ------------------------------------------------------------
    async def commit(self) -> None:
        self._check_usable()
        if self._buffer.is_empty():
            self._finish("committed")
            return
        try:
            await self._commit_buffer()
        except BaseException:
            self._finish("failed")
            raise
        self._finish("committed")

    def cancel(self) -> None:
        self._finish("cancelled")


@dataclasses.dataclass(slots=True)
class _CommitRecord:
    version: int
    committed_at_s: float
    write_ranges: list[KeyRange]


class MemoryKvEngine(KvEngine):
    """All data in one process's memory; MVCC per key, bounded conflict history.

    Single event loop only: reads and commits run synchronously on the loop,
    which is what makes each commit atomic.
    """

    def __init__(self, *, history_window_s: float = 5.0, history_commits_max: int = 100_000) -> None:
        assert history_window_s > 0 and history_commits_max > 0
        self.history_window_s = history_window_s
        self.history_commits_max = history_commits_max
        self._version = 0
        # Reads below this version can no longer be served or conflict-checked.
        self._oldest_read_version = 0
        self._keys: list[bytes] = []  # sorted keys that have a version entry
        self._entries: dict[bytes, list[tuple[int, bytes | None]]] = {}  # ascending versions
        self._commits: collections.deque[_CommitRecord] = collections.deque()
        self._keys_to_prune: set[bytes] = set()
        self._commits_since_prune = 0
        self._closed = False

    def create_transaction(self) -> MemoryTransaction:
        if self._closed:
            raise KvError("engine is closed")
        return MemoryTransaction(self)

    async def close(self) -> None:
        self._closed = True

    # -- reads ----------------------------------------------------------
    def _check_read_version(self, read_version: int) -> None:
        if self._closed:
            raise KvError("engine is closed")
        if read_version < self._oldest_read_version:
            raise TransactionTooOld(
                f"read version {read_version} is older than kept history "
                f"(oldest {self._oldest_read_version})"
            )

    def _value_at(self, key: bytes, read_version: int) -> bytes | None:
        entries = self._entries.get(key)
        if not entries:
            return None
        index = bisect.bisect_right(entries, read_version, key=lambda entry: entry[0]) - 1
        return entries[index][1] if index >= 0 else None

    def _iterate(self, begin: bytes, end: bytes, reverse: bool, read_version: int) -> Iterator[tuple[bytes, bytes]]:
        low = bisect.bisect_left(self._keys, begin)
        high = bisect.bisect_left(self._keys, end)
        indexes = range(high - 1, low - 1, -1) if reverse else range(low, high)
        # Materialise the key slice: the generator must not see concurrent inserts.
        keys = [self._keys[i] for i in indexes]
        for key in keys:
            value = self._value_at(key, read_version)
            if value is not None:
                yield key, value

    # -- commit ---------------------------------------------------------
    def _commit(self, read_version: int | None, read_conflicts: list[KeyRange], buffer: WriteBuffer) -> int:
        """Conflict-check and apply in one synchronous step (atomic on the loop)."""
        if self._closed:
            raise KvError("engine is closed")
        read_ranges = merge_ranges(read_conflicts)
        if read_version is not None and read_ranges:
            self._check_read_version(read_version)
            for record in reversed(self._commits):
                if record.version <= read_version:
                    break
                if ranges_intersect(record.write_ranges, read_ranges):
                    raise TransactionConflict(
                        f"a write committed at version {record.version} intersects "
                        f"this transaction's reads (read version {read_version})"
                    )
        version = self._version + 1
        for begin, end in buffer.cleared:
            low = bisect.bisect_left(self._keys, begin)
            high = bisect.bisect_left(self._keys, end)
            for key in self._keys[low:high]:
                if self._entries[key][-1][1] is not None:
                    self._write(key, None, version)
        for key, write in buffer.points.items():
            if write.kind is WriteKind.SET:
                self._write(key, write.value, version)
            elif write.kind is WriteKind.CLEAR:
                self._write(key, None, version)
            else:
                latest = self._entries.get(key)
                self._write(key, add_to_value(latest[-1][1] if latest else None, write.delta), version)
        self._version = version
        self._commits.append(_CommitRecord(version, time.monotonic(), merge_ranges(buffer.write_conflicts)))
        self._prune_history()
        return version

    def _write(self, key: bytes, value: bytes | None, version: int) -> None:
        entries = self._entries.get(key)
        if entries is None:
            if value is None:
                return
            self._entries[key] = [(version, value)]
            bisect.insort(self._keys, key)
            return
        if entries[-1][0] == version:
            entries[-1] = (version, value)
        else:
            entries.append((version, value))
            self._keys_to_prune.add(key)
        if value is None:
            self._keys_to_prune.add(key)

    def _prune_history(self) -> None:
        now_s = time.monotonic()
        while self._commits and (
            len(self._commits) > self.history_commits_max
            or now_s - self._commits[0].committed_at_s > self.history_window_s
        ):
            self._oldest_read_version = self._commits.popleft().version
        self._commits_since_prune += 1
        if self._commits_since_prune >= 256 or len(self._keys_to_prune) > 4096:
            self._prune_versions()

    def _prune_versions(self) -> None:
        """Drop value versions no allowed read version can see."""
        self._commits_since_prune = 0
        oldest = self._oldest_read_version
        still_pending: set[bytes] = set()
        for key in self._keys_to_prune:
            entries = self._entries.get(key)
            if entries is None:
                continue
            index = bisect.bisect_right(entries, oldest, key=lambda entry: entry[0]) - 1
            if index > 0:
                del entries[:index]
            if len(entries) == 1 and entries[0][1] is None and entries[0][0] <= oldest:
                del self._entries[key]
                del self._keys[bisect.bisect_left(self._keys, key)]
            elif len(entries) > 1 or entries[0][1] is None:
                still_pending.add(key)
        self._keys_to_prune = still_pending


class MemoryTransaction(BufferedTransaction):
    def __init__(self, engine: MemoryKvEngine) -> None:
        super().__init__()
        self._engine = engine

    def _open_snapshot(self) -> int:
        self._engine._check_read_version(self._engine._version)
        return self._engine._version

    def _snapshot_get(self, key: bytes) -> bytes | None:
        assert self._read_version is not None
        self._engine._check_read_version(self._read_version)
        return self._engine._value_at(key, self._read_version)

    def _snapshot_range(self, begin: bytes, end: bytes, reverse: bool) -> Iterator[tuple[bytes, bytes]]:
        assert self._read_version is not None
        self._engine._check_read_version(self._read_version)
        return self._engine._iterate(begin, end, reverse, self._read_version)

    async def _commit_buffer(self) -> None:
        self._engine._commit(self._read_version, self._read_conflicts, self._buffer)

    def _release(self) -> None:
        pass
