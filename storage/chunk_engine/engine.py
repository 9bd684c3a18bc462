"""The chunk engine of one storage target: versioned chunks on a local disk.

Owns the target's folder: one immutable data file per chunk version and a
SQLite database saying which files are the committed and pending versions of
each chunk. The storage service (replication, RPC) calls it from a bounded
thread pool; it never talks to the network.

A write builds the new version's whole content in a new file (copy-on-write
from the committed version), then makes it visible with one metadata
statement, then unlinks the file it replaced. See README.md for the
crash-safety argument.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import mmap
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import crc32c as _crc32c_module

from fs3.errors import Fs3Error, StatusCode

from .buffers import AlignedBufferPool, buffer_address
from .data_files import (
    CHUNKS_DIRECTORY,
    O_DIRECT,
    data_file_relative_path,
    disk_error,
    parse_data_file_name,
    probe_direct_io,
    read_full,
    round_down,
    round_up,
    set_direct,
    write_full,
)
from .metadata_store import ChunkRecord, MetadataStore
from .types import CHUNK_INDEX_MAX, DIRECT_IO_ALIGNMENT_BYTES, ChunkEngineConfig, ChunkId, ChunkMeta, TargetSpace

__all__ = ["ChunkEngine", "METADATA_FILE"]

logger = logging.getLogger(__name__)

METADATA_FILE = "metadata.sqlite3"
_DIRECTORY_COUNT = 256
_EMPTY = memoryview(b"")
_crc32c = _crc32c_module.crc32c


@dataclass(frozen=True, slots=True)
class _WritePlan:
    """The new version's content: `new_length` bytes of the committed content
    (first `base_length` bytes, zero-extended) with `patch` laid over at
    `patch_offset`. `base_length` 0 means the old content is not needed."""

    new_length: int
    patch_offset: int
    patch: memoryview
    base_length: int
    base_crc32c: int


def _plan_write(record: ChunkRecord | None, offset: int, patch: memoryview, full_chunk_replace: bool) -> _WritePlan:
    committed_length = record.committed_length if record else 0
    if full_chunk_replace:
        return _WritePlan(len(patch), 0, patch, 0, 0)
    new_length = max(committed_length, offset + len(patch))
    # A write from offset 0 covering all old content does not need the old content.
    covers_base = offset == 0 and len(patch) >= committed_length
    base_length = 0 if covers_base else committed_length
    base_crc32c = record.committed_crc32c if (record and base_length) else 0
    return _WritePlan(new_length, offset, patch, base_length, base_crc32c)


def _plan_truncate(record: ChunkRecord | None, length: int) -> _WritePlan:
    base_length = record.committed_length if (record and length > 0) else 0
    base_crc32c = record.committed_crc32c if (record and base_length) else 0
    return _WritePlan(length, length, _EMPTY, base_length, base_crc32c)


def _byte_view(data: memoryview | bytes | bytearray) -> memoryview:
    view = data if isinstance(data, memoryview) else memoryview(data)
    if not view.c_contiguous:
        raise Fs3Error(StatusCode.BAD_REQUEST, "chunk I/O needs a contiguous buffer")
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def _is_aligned(view: memoryview) -> bool:
    address = buffer_address(view)
    return address is not None and address % DIRECT_IO_ALIGNMENT_BYTES == 0


def _file_bytes(record: ChunkRecord | None) -> int:
    """Disk space a row's data files take, counted in 4 KiB blocks."""
    if record is None:
        return 0
    return sum(round_up(length) for _, _, length in record.live_files())


class _ChunkLocks:
    """One lock per chunk being changed, created on demand and dropped when idle.

    The storage service already serialises writes per chunk; this makes the
    engine safe on its own (for example a remove racing a write).
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._locks: dict[ChunkId, list] = {}

    @contextlib.contextmanager
    def hold(self, chunk_id: ChunkId) -> Iterator[None]:
        with self._mutex:
            entry = self._locks.setdefault(chunk_id, [threading.Lock(), 0])
            entry[1] += 1
        entry[0].acquire()
        try:
            yield
        finally:
            entry[0].release()
            with self._mutex:
                entry[1] -= 1
                assert entry[1] >= 0
                if entry[1] == 0:
                    del self._locks[chunk_id]


class ChunkEngine:
    """Versioned chunk storage of one target folder.

    Args:
        target_path: the target's folder; created if missing. Opening recovers
            from any crash: data files that no metadata references are deleted.
        config: limits and knobs.

    Every method is thread-safe. Writes to one chunk are serialised; reads run
    concurrently with anything and always see one whole version.
    """

    def __init__(self, target_path: str, *, config: ChunkEngineConfig = ChunkEngineConfig()) -> None:
        self.target_path = os.path.abspath(target_path)
        self.config = config
        self._chunks_path = os.path.join(self.target_path, CHUNKS_DIRECTORY)
        try:
            for index in range(_DIRECTORY_COUNT):
                os.makedirs(os.path.join(self._chunks_path, f"{index:02x}"), exist_ok=True)
            self.direct_io = config.direct_io and probe_direct_io(self.target_path)
        except OSError as error:
            raise disk_error(error, f"creating target folder {self.target_path}") from error
        self._store = MetadataStore(os.path.join(self.target_path, METADATA_FILE), config.metadata_synchronous)
        self._lock = threading.Lock()
        self._chunk_locks = _ChunkLocks()
        self._used_bytes = 0
        self._reserved_bytes = 0
        self._chunk_count = 0
        try:
            self._next_file_generation = self._recover()
        except BaseException:
            self._store.close()
            raise
        self._pool = AlignedBufferPool(config.buffer_size_bytes, config.buffer_count)
        self._zeros_map = mmap.mmap(-1, config.buffer_size_bytes)
        self._zeros = memoryview(self._zeros_map)  # never written: a source of zero bytes
        self._closed = False

    # ------------------------------------------------------------------ open

    def _recover(self) -> int:
        """Delete data files no metadata references (writes cut short by a
        crash, replaced versions not yet unlinked); returns the next file
        generation."""
        referenced: set[str] = set()
        generation_max = 0
        for record in self._store.scan():
            self._chunk_count += 1
            self._used_bytes += _file_bytes(record)
            for version, generation, _ in record.live_files():
                referenced.add(data_file_relative_path(record.chunk_id, version, generation))
                generation_max = max(generation_max, generation)
        found = removed = 0
        try:
            for directory in os.scandir(self._chunks_path):
                if not directory.is_dir(follow_symlinks=False):
                    os.unlink(directory.path)
                    removed += 1
                    continue
                for entry in os.scandir(directory.path):
                    relative = os.path.join(CHUNKS_DIRECTORY, directory.name, entry.name)
                    if relative in referenced and entry.is_file(follow_symlinks=False):
                        found += 1
                        continue
                    if parse_data_file_name(entry.name) is None:
                        logger.warning("%s: removing unexpected file %s", self.target_path, relative)
                    os.unlink(entry.path)
                    removed += 1
        except OSError as error:
            raise disk_error(error, f"recovering target {self.target_path}") from error
        if found != len(referenced):
            # Only possible after a power loss without data_fsync, or outside
            # interference; reads of those chunks raise CHUNK_CORRUPTED.
            logger.error("%s: %d data files referenced by metadata are missing",
                         self.target_path, len(referenced) - found)
        logger.info("%s: opened with %d chunks, removed %d unreferenced files",
                    self.target_path, self._chunk_count, removed)
        return generation_max + 1

    # ----------------------------------------------------------- metadata

    def get_meta(self, chunk_id: ChunkId) -> ChunkMeta | None:
        with self._lock:
            self._check_open()
            record = self._store.get(chunk_id)
        return None if record is None else record.to_meta()

    def list_chunks(self) -> list[ChunkMeta]:
        """Metadata of every chunk, in chunk id order (for resync and dumps)."""
        with self._lock:
            self._check_open()
            return [record.to_meta() for record in self._store.scan()]

    def last_chunk(self, inode_id: int) -> ChunkMeta | None:
        """The chunk of `inode_id` with the highest index (to find a file's length)."""
        first, last = ChunkId(inode_id, 0), ChunkId(inode_id, CHUNK_INDEX_MAX)
        with self._lock:
            self._check_open()
            records = list(self._store.scan(first, last, descending=True, limit=1))
        return records[0].to_meta() if records else None

    def space(self) -> TargetSpace:
        with self._lock:
            self._check_open()
            used_bytes, reserved_bytes, chunk_count = self._used_bytes, self._reserved_bytes, self._chunk_count
        try:
            stat = os.statvfs(self.target_path)
        except OSError as error:
            raise disk_error(error, f"statvfs {self.target_path}") from error
        file_system_free_bytes = stat.f_bavail * stat.f_frsize
        if self.config.capacity_bytes:
            capacity_bytes = self.config.capacity_bytes
            free_bytes = min(file_system_free_bytes, max(0, capacity_bytes - used_bytes - reserved_bytes))
        else:
            capacity_bytes = stat.f_blocks * stat.f_frsize
            free_bytes = file_system_free_bytes
        return TargetSpace(used_bytes, capacity_bytes, free_bytes, chunk_count)

    # -------------------------------------------------------------- writes

    def write_pending(self, chunk_id: ChunkId, offset: int, data: memoryview | bytes, *, chunk_size: int,
                      chain_version: int, full_chunk_replace: bool = False) -> ChunkMeta:
        """Store the committed content with `data` applied at `offset` (or
        exactly `data` if `full_chunk_replace`) as pending version
        committed + 1, replacing any older pending version.

        Raises:
            Fs3Error(BAD_REQUEST / OFFSET_OUT_OF_RANGE): bad arguments; nothing written.
            Fs3Error(ENOSPC): disk or capacity full; nothing changed.
            Fs3Error(CHUNK_CORRUPTED): the committed content fails its checksum.
        """
        patch = _byte_view(data)
        self._check_write(offset, len(patch), chunk_size, chain_version, full_chunk_replace)
        return self._write_version(chunk_id, chunk_size, chain_version, commit=False,
                                   plan_for=lambda record: _plan_write(record, offset, patch, full_chunk_replace))

    def write_committed(self, chunk_id: ChunkId, offset: int, data: memoryview | bytes, *, chunk_size: int,
                        chain_version: int, full_chunk_replace: bool = False) -> ChunkMeta:
        """`write_pending` and `commit` in one metadata statement (the tail's
        path, and replication factor 1). Drops any pending version."""
        patch = _byte_view(data)
        self._check_write(offset, len(patch), chunk_size, chain_version, full_chunk_replace)
        return self._write_version(chunk_id, chunk_size, chain_version, commit=True,
                                   plan_for=lambda record: _plan_write(record, offset, patch, full_chunk_replace))

    def truncate(self, chunk_id: ChunkId, length: int, *, chain_version: int) -> ChunkMeta:
        """Commit a new version holding the first `length` bytes of the
        committed content, zero-extended; creates the chunk if absent."""
        if length < 0 or chain_version < 0:
            raise Fs3Error(StatusCode.BAD_REQUEST, f"truncate to {length} at chain version {chain_version}")
        if length > self.config.chunk_size_bytes_max:
            raise Fs3Error(StatusCode.OFFSET_OUT_OF_RANGE,
                           f"truncate to {length} beyond chunk size max {self.config.chunk_size_bytes_max}")
        return self._write_version(chunk_id, self.config.chunk_size_bytes_max, chain_version, commit=True,
                                   plan_for=lambda record: _plan_truncate(record, length))

    def commit(self, chunk_id: ChunkId, version: int) -> ChunkMeta:
        """Make pending `version` the committed one (one metadata statement),
        then unlink the old committed file. Idempotent if `version` is
        already committed.

        Raises:
            Fs3Error(CHUNK_NOT_FOUND): no such chunk.
            Fs3Error(BAD_REQUEST): neither pending nor committed is `version`.
        """
        if version <= 0:
            raise Fs3Error(StatusCode.BAD_REQUEST, f"commit of version {version}")
        with self._chunk_locks.hold(chunk_id):
            with self._lock:
                self._check_open()
                record = self._store.get(chunk_id)
                if record is None:
                    raise Fs3Error(StatusCode.CHUNK_NOT_FOUND, f"commit of absent chunk {chunk_id}")
                if record.pending_version != version:
                    if record.committed_version == version:
                        return record.to_meta()
                    raise Fs3Error(StatusCode.BAD_REQUEST,
                                   f"chunk {chunk_id} has no pending version {version} (committed "
                                   f"{record.committed_version}, pending {record.pending_version})")
                committed = dataclasses.replace(
                    record,
                    committed_version=record.pending_version,
                    committed_file=record.pending_file,
                    committed_length=record.pending_length,
                    committed_crc32c=record.pending_crc32c,
                    pending_version=0, pending_file=0, pending_length=0, pending_crc32c=0,
                )
                assert committed.committed_version == record.committed_version + 1
                self._store.put(committed)
                self._account(committed, record, reserved_bytes=0)
            self._unlink_obsolete(record, committed)
        return committed.to_meta()

    def remove(self, chunk_id: ChunkId) -> bool:
        """Delete a chunk and its data files; False if it did not exist."""
        with self._chunk_locks.hold(chunk_id):
            with self._lock:
                self._check_open()
                record = self._store.get(chunk_id)
                if record is None:
                    return False
                self._store.delete(chunk_id)
                self._account(None, record, reserved_bytes=0)
            self._unlink_obsolete(record, None)
        return True

    def remove_chunks_from(self, inode_id: int, first_chunk_index: int) -> int:
        """Remove every chunk of `inode_id` with index >= `first_chunk_index`
        (file truncation and deletion); returns how many were removed. Each
        chunk goes in its own transaction: after a crash, call again."""
        first, last = ChunkId(inode_id, first_chunk_index), ChunkId(inode_id, CHUNK_INDEX_MAX)
        with self._lock:
            self._check_open()
            chunk_ids = [record.chunk_id for record in self._store.scan(first, last)]
        return sum(1 for chunk_id in chunk_ids if self.remove(chunk_id))

    def _check_write(self, offset: int, length: int, chunk_size: int, chain_version: int,
                     full_chunk_replace: bool) -> None:
        if not 0 < chunk_size <= self.config.chunk_size_bytes_max:
            raise Fs3Error(StatusCode.BAD_REQUEST,
                           f"chunk size {chunk_size} not in (0, {self.config.chunk_size_bytes_max}]")
        if offset < 0 or chain_version < 0:
            raise Fs3Error(StatusCode.BAD_REQUEST, f"offset {offset}, chain version {chain_version}")
        if full_chunk_replace and offset != 0:
            raise Fs3Error(StatusCode.BAD_REQUEST, f"full chunk replace at offset {offset}")
        if offset + length > chunk_size:
            raise Fs3Error(StatusCode.OFFSET_OUT_OF_RANGE,
                           f"write of {length} bytes at {offset} beyond chunk size {chunk_size}")

    def _write_version(self, chunk_id: ChunkId, chunk_size: int, chain_version: int, *, commit: bool,
                       plan_for: Callable[[ChunkRecord | None], _WritePlan]) -> ChunkMeta:
        """Write a new version's file, then publish it in one metadata statement."""
        with self._chunk_locks.hold(chunk_id):
            with self._lock:
                self._check_open()
                record = self._store.get(chunk_id)
                plan = plan_for(record)
                if plan.new_length > chunk_size:
                    raise Fs3Error(StatusCode.OFFSET_OUT_OF_RANGE,
                                   f"chunk {chunk_id} would grow to {plan.new_length} > chunk size {chunk_size}")
                reserved_bytes = self._reserve(plan.new_length, chunk_id)
                version = (record.committed_version if record else 0) + 1
                generation = self._next_file_generation
                self._next_file_generation += 1
            path = os.path.join(self.target_path, data_file_relative_path(chunk_id, version, generation))
            published = False
            try:
                crc32c = self._write_data_file(path, plan, record)
                new_record = self._next_record(chunk_id, record, commit, chain_version, version, generation,
                                               plan.new_length, crc32c)
                with self._lock:
                    assert self._store.get(chunk_id) == record, f"chunk {chunk_id} changed under its lock"
                    self._store.put(new_record)
                    published = True
                    self._account(new_record, record, reserved_bytes)
            finally:
                if not published:
                    self._unlink(path)
                    with self._lock:
                        self._reserved_bytes -= reserved_bytes
            self._unlink_obsolete(record, new_record)
        return new_record.to_meta()

    @staticmethod
    def _next_record(chunk_id: ChunkId, record: ChunkRecord | None, commit: bool, chain_version: int,
                     version: int, generation: int, length: int, crc32c: int) -> ChunkRecord:
        if commit:
            return ChunkRecord(chunk_id, chain_version, version, generation, length, crc32c, 0, 0, 0, 0)
        if record is None:
            return ChunkRecord(chunk_id, chain_version, 0, 0, 0, 0, version, generation, length, crc32c)
        return dataclasses.replace(record, chain_version=chain_version, pending_version=version,
                                   pending_file=generation, pending_length=length, pending_crc32c=crc32c)

    def _write_data_file(self, path: str, plan: _WritePlan, record: ChunkRecord | None) -> int:
        """Create the new version's file with its whole content; returns its CRC32C."""
        zero_copy = plan.base_length == 0 and plan.patch_offset == 0 and len(plan.patch) == plan.new_length
        if zero_copy and self.direct_io and not _is_aligned(plan.patch):
            zero_copy = False  # copy into an aligned pooled buffer so the write can still be direct
        base_fd = None
        try:
            if plan.base_length:
                assert record is not None and record.committed_version > 0
                base_fd = self._open_data(record.chunk_id, record.committed_version, record.committed_file,
                                          self.direct_io)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | (O_DIRECT if self.direct_io else 0)
            fd = os.open(path, flags, 0o644)
            try:
                if zero_copy:
                    crc32c = self._write_patch(fd, plan.patch)
                else:
                    crc32c = self._write_streamed(fd, plan, base_fd)
                if self.config.data_fsync:
                    os.fdatasync(fd)
            finally:
                os.close(fd)
            if self.config.data_fsync:
                self._fsync_directory(os.path.dirname(path))
        except OSError as error:
            raise disk_error(error, f"writing {path}") from error
        finally:
            if base_fd is not None:
                os.close(base_fd)
        return crc32c

    def _write_patch(self, fd: int, patch: memoryview) -> int:
        """The new content is exactly the caller's buffer: write it without copying."""
        crc32c = _crc32c(patch)
        if self.direct_io:
            aligned_length = round_down(len(patch))
            if aligned_length:
                write_full(fd, patch[:aligned_length], 0)
            if aligned_length < len(patch):
                set_direct(fd, False)
                write_full(fd, patch[aligned_length:], aligned_length)
        else:
            write_full(fd, patch, 0)
        return crc32c

    def _write_streamed(self, fd: int, plan: _WritePlan, base_fd: int | None) -> int:
        """Build the new content segment by segment in one pooled buffer: old
        content, zeros for any gap, the patch on top. Also checks the old
        content's CRC so a corrupted chunk is never copied forward."""
        segment_bytes = self.config.buffer_size_bytes
        span = max(plan.new_length, plan.base_length)
        patch_end = plan.patch_offset + len(plan.patch)
        base_crc32c = new_crc32c = 0
        with self._pool.borrow(self.config.buffer_wait_seconds_max) as buffer:
            for start in range(0, span, segment_bytes):
                end = min(start + segment_bytes, span)
                base_end = max(start, min(end, plan.base_length))
                if base_end > start:
                    assert base_fd is not None
                    wanted = base_end - start
                    got = read_full(base_fd, buffer[:round_up(wanted) if self.direct_io else wanted], start)
                    if got < wanted:
                        raise Fs3Error(StatusCode.CHUNK_CORRUPTED, f"committed data file shorter than {base_end}")
                    base_crc32c = _crc32c(buffer[:wanted], base_crc32c)
                write_end = min(end, plan.new_length)
                if write_end <= start:
                    continue  # shrinking truncate: this segment is only read, to check the CRC
                length = write_end - start
                if base_end - start < length:
                    buffer[base_end - start:length] = self._zeros[:length - (base_end - start)]
                overlap_start, overlap_end = max(start, plan.patch_offset), min(write_end, patch_end)
                if overlap_start < overlap_end:
                    buffer[overlap_start - start:overlap_end - start] = (
                        plan.patch[overlap_start - plan.patch_offset:overlap_end - plan.patch_offset])
                new_crc32c = _crc32c(buffer[:length], new_crc32c)
                if self.direct_io:
                    padded = round_up(length)
                    buffer[length:padded] = self._zeros[:padded - length]
                    write_full(fd, buffer[:padded], start)
                else:
                    write_full(fd, buffer[:length], start)
        if self.direct_io and plan.new_length % DIRECT_IO_ALIGNMENT_BYTES:
            os.ftruncate(fd, plan.new_length)  # drop the zero padding of the last direct write
        if plan.base_length and base_crc32c != plan.base_crc32c:
            raise Fs3Error(StatusCode.CHUNK_CORRUPTED,
                           f"committed content CRC {base_crc32c:08x} != stored {plan.base_crc32c:08x}")
        return new_crc32c

    # --------------------------------------------------------------- reads

    def read(self, chunk_id: ChunkId, offset: int, length: int, into: memoryview, *, relaxed: bool = False) -> int:
        """Read up to `length` bytes at `offset` of the committed content (the
        pending one if `relaxed` and there is one) into `into`.

        Returns:
            bytes read: short at the end of the content, 0 if the chunk is absent.
        Raises:
            Fs3Error(CHUNK_PENDING): a pending version exists and not `relaxed`.
            Fs3Error(CHUNK_CORRUPTED): the content fails its CRC32C.
        """
        out = _byte_view(into)
        if out.readonly or offset < 0 or length < 0 or length > len(out):
            raise Fs3Error(StatusCode.BAD_REQUEST, f"read of {length} bytes at {offset} into {len(out)} bytes")
        if offset + length > self.config.chunk_size_bytes_max:
            raise Fs3Error(StatusCode.OFFSET_OUT_OF_RANGE, f"read of {length} bytes at {offset}")
        with self._lock:
            self._check_open()
            record = self._store.get(chunk_id)
            if record is None:
                return 0
            if record.pending_version and not relaxed:
                raise Fs3Error(StatusCode.CHUNK_PENDING,
                               f"chunk {chunk_id} has pending version {record.pending_version}")
            if record.pending_version:
                version, generation = record.pending_version, record.pending_file
                content_length, expected_crc32c = record.pending_length, record.pending_crc32c
            else:
                version, generation = record.committed_version, record.committed_file
                content_length, expected_crc32c = record.committed_length, record.committed_crc32c
            count = max(0, min(length, content_length - offset))
            if count == 0:
                return 0
            whole = offset == 0 and count == content_length
            direct = self.direct_io and (not whole or _is_aligned(out))
            # Opened under the lock: a commit unlinks the old file only after
            # its metadata statement, and an open descriptor keeps it readable.
            fd = self._open_data(chunk_id, version, generation, direct)
        try:
            if whole:
                self._read_whole(fd, out, content_length, direct)
                actual_crc32c = _crc32c(out[:content_length])
            else:
                actual_crc32c = self._read_range(fd, out, offset, count, content_length, direct)
        except OSError as error:
            raise disk_error(error, f"reading chunk {chunk_id} version {version}") from error
        finally:
            os.close(fd)
        if actual_crc32c != expected_crc32c:
            raise Fs3Error(StatusCode.CHUNK_CORRUPTED, f"chunk {chunk_id} version {version}: CRC32C "
                           f"{actual_crc32c:08x} != stored {expected_crc32c:08x}")
        return count

    def _read_whole(self, fd: int, out: memoryview, content_length: int, direct: bool) -> None:
        """Read a whole version straight into the caller's buffer."""
        if not direct:
            got = read_full(fd, out[:content_length], 0)
        elif round_up(content_length) <= len(out):
            got = read_full(fd, out[:round_up(content_length)], 0)
        else:
            aligned_length = round_down(content_length)
            got = read_full(fd, out[:aligned_length], 0) if aligned_length else 0
            if got == aligned_length:
                set_direct(fd, False)  # the unaligned tail goes through the page cache
                got += read_full(fd, out[aligned_length:content_length], aligned_length)
        if got < content_length:
            raise Fs3Error(StatusCode.CHUNK_CORRUPTED, f"data file has {got} of {content_length} bytes")

    def _read_range(self, fd: int, out: memoryview, offset: int, count: int, content_length: int,
                    direct: bool) -> int:
        """Stream the whole version through a pooled buffer to check its CRC,
        copying the wanted range into `out`; returns the CRC."""
        segment_bytes = self.config.buffer_size_bytes
        wanted_end = offset + count
        crc32c = 0
        with self._pool.borrow(self.config.buffer_wait_seconds_max) as buffer:
            for start in range(0, content_length, segment_bytes):
                end = min(start + segment_bytes, content_length)
                wanted = end - start
                got = read_full(fd, buffer[:round_up(wanted) if direct else wanted], start)
                if got < wanted:
                    raise Fs3Error(StatusCode.CHUNK_CORRUPTED, f"data file shorter than {end} bytes")
                crc32c = _crc32c(buffer[:wanted], crc32c)
                low, high = max(start, offset), min(end, wanted_end)
                if low < high:
                    out[low - offset:high - offset] = buffer[low - start:high - start]
        return crc32c

    # ------------------------------------------------------------- helpers

    def _open_data(self, chunk_id: ChunkId, version: int, generation: int, direct: bool) -> int:
        path = os.path.join(self.target_path, data_file_relative_path(chunk_id, version, generation))
        try:
            return os.open(path, os.O_RDONLY | os.O_CLOEXEC | (O_DIRECT if direct else 0))
        except FileNotFoundError as error:
            raise Fs3Error(StatusCode.CHUNK_CORRUPTED, f"data file of chunk {chunk_id} missing: {path}") from error
        except OSError as error:
            raise disk_error(error, f"opening {path}") from error

    def _reserve(self, length: int, chunk_id: ChunkId) -> int:
        """Claim space for a new data file against the configured capacity."""
        size = round_up(length)
        capacity_bytes = self.config.capacity_bytes
        if capacity_bytes and self._used_bytes + self._reserved_bytes + size > capacity_bytes:
            raise Fs3Error(errno.ENOSPC, f"target {self.target_path} full: writing {size} bytes of chunk "
                           f"{chunk_id} would exceed capacity {capacity_bytes}")
        self._reserved_bytes += size
        return size

    def _account(self, new: ChunkRecord | None, old: ChunkRecord | None, reserved_bytes: int) -> None:
        """Update space counters after a metadata change (under the lock)."""
        self._used_bytes += _file_bytes(new) - _file_bytes(old)
        self._reserved_bytes -= reserved_bytes
        self._chunk_count += (new is not None) - (old is not None)
        assert self._used_bytes >= 0 and self._reserved_bytes >= 0 and self._chunk_count >= 0

    def _unlink_obsolete(self, old: ChunkRecord | None, new: ChunkRecord | None) -> None:
        """Unlink the files `old` referenced and `new` does not (after the
        metadata change, so a crash in between only leaves garbage)."""
        if old is None:
            return
        keep = {(version, generation) for version, generation, _ in (new.live_files() if new else [])}
        for version, generation, _ in old.live_files():
            if (version, generation) not in keep:
                self._unlink(os.path.join(self.target_path,
                                          data_file_relative_path(old.chunk_id, version, generation)))

    def _unlink(self, path: str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as error:
            logger.warning("could not unlink %s (removed at next open): %s", path, error)

    @staticmethod
    def _fsync_directory(path: str) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _check_open(self) -> None:
        if self._closed:
            raise Fs3Error(StatusCode.TARGET_NOT_SERVING, f"chunk engine of {self.target_path} is closed")

    def close(self) -> None:
        """Close the metadata store and free the buffers; calls in flight must have returned."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._store.close()
        self._pool.close()
        self._zeros.release()
        with contextlib.suppress(BufferError):  # a traceback may still hold a slice
            self._zeros_map.close()

    def __enter__(self) -> ChunkEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ChunkEngine({self.target_path!r}, direct_io={self.direct_io})"
