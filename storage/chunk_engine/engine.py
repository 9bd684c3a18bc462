"""The chunk engine of one storage target: versioned chunks on a local disk.

Owns the target's folder: preallocated slot files whose fixed-size slots
hold chunk versions, and a SQLite database saying which slots hold the
committed and pending versions of each chunk. The storage service
(replication, RPC) calls it from a bounded thread pool; it never talks to the
network.

A write builds the new version's whole content in a free slot (copy-on-write
from the committed version), then makes it visible with one metadata
statement, then frees the slot it replaced. A slot's referenced content is
never written, and a freed slot that a reader still reads is reused only
after that read. The one exception to copy-on-write keeps that rule: a write
at or past the end of the committed content that still fits the committed
version's slot is appended in place, after the committed bytes (which stay
as they are), and the new version names the same slot with a longer length.
See README.md for the crash-safety argument.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import logging
import mmap
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import crc32c as _crc32c_module

from fs3.errors import Fs3Error, StatusCode

from .buffers import AlignedBufferPool, buffer_address
from .data_files import disk_error, probe_direct_io, punch_hole, read_full, round_down, round_up, write_full
from .metadata_store import ChunkRecord, MetadataStore
from .slots import (
    FREE_WHEN_UNREAD,
    SLOTS_DIRECTORY,
    Slot,
    SlotClass,
    SlotFile,
    SlotFileCache,
    class_bits_for,
    class_directory_name,
    parse_class_directory_name,
    parse_slot_file_name,
    slot_file_name,
)
from .types import CHUNK_INDEX_MAX, DIRECT_IO_ALIGNMENT_BYTES, ChunkEngineConfig, ChunkId, ChunkMeta, TargetSpace

__all__ = ["ChunkEngine", "METADATA_FILE"]

logger = logging.getLogger(__name__)

METADATA_FILE = "metadata.sqlite3"
_OLD_CHUNKS_DIRECTORY = "chunks"  # the file-per-version layout (metadata format 1)
_SLOT_FILE_BYTES_SETTING = "slot_file_bytes"
_TEMPORARY_SUFFIX = ".tmp"
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


def _overlay_patch(buffer: memoryview, start: int, end: int, plan: _WritePlan) -> None:
    """Copy the part of the plan's patch within content bytes [start, end) onto a segment buffer
    that holds those bytes."""
    patch_end = plan.patch_offset + len(plan.patch)
    overlap_start, overlap_end = max(start, plan.patch_offset), min(end, patch_end)
    if overlap_start < overlap_end:
        buffer[overlap_start - start:overlap_end - start] = (
            plan.patch[overlap_start - plan.patch_offset:overlap_end - plan.patch_offset])


def _appends_in_place(record: ChunkRecord | None, plan: _WritePlan, readers_past_end: int) -> bool:
    """Whether `plan` only adds bytes after the committed content, within the committed slot.

    Not when a pending version already shares that slot, nor while `readers_past_end` reads of an
    earlier pending version in that slot are in flight: bytes past the committed end would be
    overwritten while a row names them or a reader checksums them."""
    if record is None or not record.committed_version or not plan.patch or readers_past_end:
        return False
    if plan.base_length != record.committed_length or plan.patch_offset < plan.base_length:
        return False
    if record.pending_version and record.pending_slot == record.committed_slot:
        return False
    return plan.new_length <= Slot.decode(record.committed_slot).class_size


def _count_down(counts: dict[int, int], key: int) -> int:
    """Decrement a count kept in a dict (dropping it at 0); returns what is left."""
    left = counts[key] - 1
    if left:
        counts[key] = left
    else:
        del counts[key]
    return left


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


def _check_payload_crc32c(actual: int, expected: int) -> None:
    if actual != expected:
        raise Fs3Error(StatusCode.CHECKSUM_MISMATCH,
                       f"payload checksum {actual:08x} does not match {expected:08x}; nothing written")


def _is_aligned(view: memoryview) -> bool:
    address = buffer_address(view)
    return address is not None and address % DIRECT_IO_ALIGNMENT_BYTES == 0


def _file_bytes(record: ChunkRecord | None) -> int:
    """Space a row's versions take, counted as their content in 4 KiB blocks
    (not the slot size: see README, "Limits and costs")."""
    if record is None:
        return 0
    return sum(round_up(length) for _, length in record.live_slots())


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


def _then_reclaims_space(method):
    """Run an engine method that may free slots; if it freed slots beyond a class's margin, give
    their blocks back once its locks are released (calls that freed nothing never wait for it)."""
    @functools.wraps(method)
    def run_then_reclaim(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        finally:
            if getattr(self._this_thread, "freed_beyond_margin", False):
                self._this_thread.freed_beyond_margin = False
                self._punch_free_slots_beyond_margin()
    return run_then_reclaim


class ChunkEngine:
    """Versioned chunk storage of one target folder.

    Args:
        target_path: the target's folder; created if missing. Opening recovers
            from any crash: free lists are rebuilt from the metadata (every
            slot no version references is free), half-created slot files are
            deleted and trailing slot files without a live slot are removed.
        config: limits and knobs.

    Every method is thread-safe. Writes to one chunk are serialised; reads run
    concurrently with anything and always see one whole version.
    """

    def __init__(self, target_path: str, *, config: ChunkEngineConfig = ChunkEngineConfig()) -> None:
        self.target_path = os.path.abspath(target_path)
        self.config = config
        self._slots_path = os.path.join(self.target_path, SLOTS_DIRECTORY)
        try:
            os.makedirs(self._slots_path, exist_ok=True)
            self.direct_io = config.direct_io and probe_direct_io(self.target_path)
        except OSError as error:
            raise disk_error(error, f"creating target folder {self.target_path}") from error
        self._store = MetadataStore(os.path.join(self.target_path, METADATA_FILE), config.metadata_synchronous,
                                    config.cached_records_max)
        self._lock = threading.Lock()
        self._chunk_locks = _ChunkLocks()
        self._used_bytes = 0
        self._reserved_bytes = 0
        self._chunk_count = 0
        self._classes: dict[int, SlotClass] = {}
        self._readers: dict[int, int] = {}  # encoded slot -> reads in flight
        # encoded slot -> reads in flight of a pending version appended in place (past the committed end)
        self._readers_past_end: dict[int, int] = {}
        self._files = SlotFileCache(config.open_slot_files_max, self.direct_io)
        self._classes_to_reclaim: set[int] = set()  # class bits: free slots beyond the margin, to punch
        self._this_thread = threading.local()  # freed_beyond_margin: this thread's call owes punching
        try:
            # The layout is fixed when the target is created; a changed config applies to new targets.
            self.slot_file_bytes = self._store.setting(_SLOT_FILE_BYTES_SETTING, config.slot_file_bytes)
            if self.slot_file_bytes != config.slot_file_bytes:
                logger.info("%s: keeps its slot file size %d (config says %d)", self.target_path,
                            self.slot_file_bytes, config.slot_file_bytes)
            self._punch_holes = True
            self._recover()
            # which free slots still hold blocks is not known after a restart: give all of them back
            # (run by run, a few calls per slot file), so restarts never strand space
            self._punch_every_free_slot()
        except BaseException:
            self._files.close()
            self._store.close()
            raise
        self._pool = AlignedBufferPool(config.buffer_size_bytes, config.buffer_count)
        self._zeros_map = mmap.mmap(-1, config.buffer_size_bytes)
        self._zeros = memoryview(self._zeros_map)  # never written: a source of zero bytes
        self._closed = False

    # ------------------------------------------------------------------ open

    def _slots_per_file(self, class_bits: int) -> int:
        return max(1, self.slot_file_bytes >> class_bits)

    def _slot_file_path(self, class_bits: int, file_index: int) -> str:
        return os.path.join(self._slots_path, class_directory_name(class_bits), slot_file_name(file_index))

    def _recover(self) -> None:
        """Rebuild the free lists from the metadata, and tidy the slot files:
        delete temporary files (slot files cut short while being created) and
        trailing files without a referenced slot; recreate missing ones."""
        used: dict[int, list[tuple[int, int]]] = {}
        for record in self._store.scan():
            self._chunk_count += 1
            self._used_bytes += _file_bytes(record)
            for encoded, length in record.live_slots():
                slot = Slot.decode(encoded)
                assert length <= slot.class_size, f"{record}: {length} bytes in slot {slot}"
                assert slot.slot_index < self._slots_per_file(slot.class_bits), f"{record}: bad slot {slot}"
                used.setdefault(slot.class_bits, []).append((slot.file_index, slot.slot_index))
        removed = missing = 0
        existing: dict[int, dict[int, int]] = {}  # class bits -> file index -> size
        try:
            if os.path.isdir(os.path.join(self.target_path, _OLD_CHUNKS_DIRECTORY)):
                logger.warning("%s: ignoring %s/ of the old file-per-version layout", self.target_path,
                               _OLD_CHUNKS_DIRECTORY)
            for directory in os.scandir(self._slots_path):
                class_bits = parse_class_directory_name(directory.name)
                if class_bits is None or not directory.is_dir(follow_symlinks=False):
                    logger.warning("%s: removing unexpected %s", self.target_path, directory.path)
                    if directory.is_dir(follow_symlinks=False):
                        shutil.rmtree(directory.path)
                    else:
                        os.unlink(directory.path)
                    removed += 1
                    continue
                files = existing.setdefault(class_bits, {})
                for entry in os.scandir(directory.path):
                    file_index = parse_slot_file_name(entry.name)
                    if file_index is None or not entry.is_file(follow_symlinks=False):
                        if not entry.name.endswith(_TEMPORARY_SUFFIX):
                            logger.warning("%s: removing unexpected %s", self.target_path, entry.path)
                        os.unlink(entry.path)
                        removed += 1
                        continue
                    files[file_index] = entry.stat(follow_symlinks=False).st_size
            for class_bits in sorted(set(used) | set(existing)):
                slot_class = SlotClass(class_bits, self._slots_per_file(class_bits))
                class_used = used.get(class_bits, [])
                file_count = 1 + max((file_index for file_index, _ in class_used), default=-1)
                referenced_files = {file_index for file_index, _ in class_used}
                for file_index, size in sorted(existing.get(class_bits, {}).items()):
                    if file_index >= file_count:
                        os.unlink(self._slot_file_path(class_bits, file_index))  # shrink: no live slot
                        removed += 1
                    elif size < slot_class.file_bytes:
                        self._preallocate(self._slot_file_path(class_bits, file_index), slot_class.file_bytes,
                                          create=False)
                for file_index in range(file_count):
                    if file_index not in existing.get(class_bits, {}):
                        # Only after a power loss or outside interference; reads of its
                        # slots fail their CRC (CHUNK_CORRUPTED), the free ones are usable.
                        missing += file_index in referenced_files
                        self._create_slot_file(class_bits, file_index, slot_class.file_bytes)
                slot_class.rebuild(file_count, class_used)
                self._classes[class_bits] = slot_class
        except OSError as error:
            raise disk_error(error, f"recovering target {self.target_path}") from error
        if missing:
            logger.error("%s: %d slot files referenced by metadata are missing", self.target_path, missing)
        logger.info("%s: opened with %d chunks in %d slot classes, removed %d unneeded files", self.target_path,
                    self._chunk_count, len(self._classes), removed)

    def _create_slot_file(self, class_bits: int, file_index: int, size: int) -> None:
        """Create a preallocated slot file (under a temporary name, renamed when
        complete, so a slot file never exists short). Raises OSError."""
        path = self._slot_file_path(class_bits, file_index)
        directory = os.path.dirname(path)
        new_directory = not os.path.isdir(directory)
        if new_directory:
            os.makedirs(directory, exist_ok=True)
        temporary = path + _TEMPORARY_SUFFIX
        try:
            self._preallocate(temporary, size, create=True)
            os.rename(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        if self.config.data_fsync:
            self._fsync_directory(directory)
            if new_directory:
                self._fsync_directory(self._slots_path)

    def _preallocate(self, path: str, size: int, *, create: bool) -> None:
        flags = os.O_RDWR | os.O_CLOEXEC | ((os.O_CREAT | os.O_TRUNC) if create else 0)
        fd = os.open(path, flags, 0o644)
        try:
            os.posix_fallocate(fd, 0, size)
            if self.config.data_fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    # ----------------------------------------------------------------- slots
    # Called under self._lock.

    def _allocate(self, length: int) -> tuple[Slot, bool]:
        """(the lowest free slot of the class that holds `length` bytes, now
        owned by the caller; whether it may be a hole: then the caller gives it
        its blocks with `_give_blocks` before writing). Grows the class by one
        slot file if it is full; on a full disk, every free slot of every class
        gives its blocks back first, and the file creation is tried once more."""
        class_bits = class_bits_for(length)
        slot_class = self._classes.get(class_bits)
        if slot_class is None:
            slot_class = self._classes[class_bits] = SlotClass(class_bits, self._slots_per_file(class_bits))
        taken = slot_class.take_slot()
        if taken is None:
            file_index = slot_class.file_count
            try:
                self._on_full_disk_retry(lambda: self._create_slot_file(class_bits, file_index, slot_class.file_bytes))
            except OSError as error:
                raise disk_error(error, f"creating slot file {class_bits}/{file_index}") from error
            slot_class.add_file()
            taken = slot_class.take_slot()
            assert taken is not None and not taken[1]
        return taken

    def _give_blocks(self, slot_file: SlotFile, slot: Slot) -> None:
        """Allocate the disk blocks of a slot that may be a hole (taken PUNCHED), before it is written, so a
        full disk shows here and not halfway into the data. Runs outside the engine lock; on a full disk,
        every free slot gives its blocks back (under the lock) and this is tried once more.
        Raises Fs3Error (ENOSPC, EIO...)."""
        try:
            self._on_full_disk_retry(lambda: os.posix_fallocate(slot_file.buffered_fd, slot.offset, slot.class_size),
                                     lock_held=False)
        except OSError as error:
            raise disk_error(error, f"allocating the blocks of slot {slot}") from error

    def _on_full_disk_retry(self, action: Callable[[], None], *, lock_held: bool = True) -> None:
        """Run `action`; if the disk is full, give back the blocks of every free slot (under the engine
        lock, taken here unless `lock_held`) and run it once more (free slots kept in one class must
        not starve another). Raises OSError."""
        try:
            action()
        except OSError as error:
            if error.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            if lock_held:
                punched_any = self._punch_every_free_slot()
            else:
                with self._lock:
                    punched_any = self._punch_every_free_slot()
            if not punched_any:
                raise
            action()

    @contextlib.contextmanager
    def _held_slot_file(self, slot: Slot) -> Iterator[SlotFile]:
        """A slot's file, held while in use. Raises OSError (not `_open_slot_file`'s typed errors:
        the block operations below map them themselves)."""
        slot_file = self._files.acquire(self._slot_file_path(slot.class_bits, slot.file_index))
        try:
            yield slot_file
        finally:
            self._files.release(slot_file)

    def _free(self, encoded: int) -> None:
        """A slot no committed metadata references any more: free it, or mark
        it to be freed when its last reader is done."""
        slot = Slot.decode(encoded)
        slot_class = self._classes[slot.class_bits]
        if self._readers.get(encoded):
            slot_class.set_state(slot, FREE_WHEN_UNREAD)
        else:
            slot_class.release(slot)
            self._reclaim_space(slot_class)

    def _punch_every_free_slot(self) -> bool:
        """Give back the blocks of every free slot of every class, run by run (the disk is full,
        or a free slot's blocks are not known since open); True if any punch succeeded."""
        if not self._punch_holes:
            return False
        punched_any = False
        for slot_class in self._classes.values():
            for file_index, first_slot, count in slot_class.free_runs():
                first = Slot(slot_class.class_bits, file_index, first_slot)
                if self._punch(first, count * first.class_size):
                    slot_class.mark_run_punched(file_index, first_slot, count)
                    punched_any = True
                elif not self._punch_holes:
                    return punched_any
        return punched_any

    def _punch(self, slot: Slot, length: int) -> bool:
        """Punch `length` bytes from the start of `slot`; False (logged) if that failed. Never raises."""
        try:
            with self._held_slot_file(slot) as slot_file:
                return self._punch_in(slot_file, slot, length)
        except OSError as error:  # the slot file cannot be opened
            logger.warning("%s: punching a hole at slot %s failed: %s", self.target_path, slot, error)
            return False

    def _punch_in(self, slot_file: SlotFile, slot: Slot, length: int) -> bool:
        """`_punch` in a held slot file (may run outside the engine lock). Never raises."""
        try:
            punch_hole(slot_file.buffered_fd, slot.offset, length)
        except OSError as error:
            if error.errno in (errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS):
                logger.warning("%s: the file system cannot punch holes (%s): freed slots keep their disk "
                               "blocks", self.target_path, error)
                self._punch_holes = False
            else:
                logger.warning("%s: punching a hole at slot %s failed: %s", self.target_path, slot, error)
            return False
        return True

    def _reclaim_space(self, slot_class: SlotClass) -> None:
        """Note a class whose FREE slots may hold more than `free_slot_bytes_kept` (under the lock):
        once the call's locks are released, its highest FREE slots give their blocks back
        (`_punch_free_slots_beyond_margin`), so space freed in one class serves every class."""
        if self._punch_holes and slot_class.unpunched_free << slot_class.class_bits > self.config.free_slot_bytes_kept:
            self._classes_to_reclaim.add(slot_class.class_bits)
            self._this_thread.freed_beyond_margin = True

    def _punch_free_slots_beyond_margin(self) -> None:
        """Punch holes into the highest FREE slots of the noted classes until each keeps only its
        margin (run by the calls that freed slots beyond it; concurrent ones share the work), one
        slot at a time: the slot is taken out of reach (PUNCHING) under the lock and
        punched outside it (a punch waits for the direct I/O in flight on its slot file, which
        must not stall the target's other calls), then freed again as PUNCHED. Only free slots
        (referenced by no metadata, read by nobody, owned by no writer) are taken, so no slot in
        use ever loses a block. Never raises: it runs after metadata statements that already
        took effect; a failure only leaves space (a failed punch is not tried again now)."""
        while True:
            with self._lock:
                slot, slot_file = self._take_slot_to_punch()
            if slot is None:
                return
            punched = False
            try:
                punched = self._punch_holes and self._punch_in(slot_file, slot, slot.class_size)
            finally:
                with self._lock:
                    self._files.release(slot_file)
                    # PUNCHED whenever a punch may have been tried (a failed one may have punched part)
                    self._classes[slot.class_bits].finish_punch(slot, punched=True)
                    if not punched:
                        self._classes_to_reclaim.discard(slot.class_bits)

    def _take_slot_to_punch(self) -> tuple[Slot | None, SlotFile | None]:
        """(under the lock) The highest FREE slot of a noted class beyond its margin, now PUNCHING,
        and its slot file, held; (None, None) when there is none."""
        while self._classes_to_reclaim and not self._closed:
            class_bits = next(iter(self._classes_to_reclaim))
            slot_class = self._classes[class_bits]
            if not self._punch_holes or slot_class.unpunched_free << class_bits <= self.config.free_slot_bytes_kept:
                self._classes_to_reclaim.discard(class_bits)
                continue
            slot = slot_class.highest_unpunched_free()
            assert slot is not None, "free slots counted that do not exist"
            try:
                slot_file = self._files.acquire(self._slot_file_path(class_bits, slot.file_index))
            except OSError as error:
                logger.warning("%s: punching a hole at slot %s failed: %s", self.target_path, slot, error)
                self._classes_to_reclaim.discard(class_bits)
                continue
            slot_class.start_punch(slot)
            return slot, slot_file
        return None, None

    def _free_obsolete(self, old: ChunkRecord | None, new: ChunkRecord | None) -> None:
        """Free the slots `old` referenced and `new` does not (after the
        metadata statement that dropped them)."""
        if old is None:
            return
        keep = {encoded for encoded, _ in new.live_slots()} if new else set()
        for encoded, _ in old.live_slots():
            if encoded not in keep:
                self._free(encoded)

    def _hold_for_read(self, encoded: int, past_end: bool) -> None:
        self._readers[encoded] = self._readers.get(encoded, 0) + 1
        if past_end:
            self._readers_past_end[encoded] = self._readers_past_end.get(encoded, 0) + 1

    def _end_read(self, encoded: int, past_end: bool) -> None:
        if past_end:
            _count_down(self._readers_past_end, encoded)
        if _count_down(self._readers, encoded):
            return
        slot = Slot.decode(encoded)
        slot_class = self._classes[slot.class_bits]
        if slot_class.get_state(slot) == FREE_WHEN_UNREAD:
            slot_class.release(slot)
            self._reclaim_space(slot_class)

    def _open_slot_file(self, slot: Slot) -> SlotFile:
        path = self._slot_file_path(slot.class_bits, slot.file_index)
        try:
            return self._files.acquire(path)
        except FileNotFoundError as error:
            raise Fs3Error(StatusCode.CHUNK_CORRUPTED, f"slot file of slot {slot} missing: {path}") from error
        except OSError as error:
            raise disk_error(error, f"opening {path}") from error

    def _slot_usage(self) -> dict[int, tuple[int, int]]:
        """class size -> (slot files, slots in use) (for tests and dumps)."""
        with self._lock:
            return {1 << bits: (slot_class.file_count, slot_class.used_count())
                    for bits, slot_class in sorted(self._classes.items())}

    # ----------------------------------------------------------- metadata

    def get_meta(self, chunk_id: ChunkId) -> ChunkMeta | None:
        with self._lock:
            self._check_open()
            record = self._store.get(chunk_id)
        return None if record is None else record.to_meta()

    def list_chunks(self, after: ChunkId | None = None, limit: int = -1) -> list[ChunkMeta]:
        """Metadata of the chunks after `after` (all if None), in chunk id order, at most `limit`
        (-1: no bound), for resync and dumps; pages keep one call's memory and lock time bounded."""
        assert limit == -1 or limit > 0
        with self._lock:
            self._check_open()
            records = self._store.scan(after, limit=-1 if limit == -1 or after is None else limit + 1)
            metas = [record.to_meta() for record in records if record.chunk_id != after]
        return metas if limit == -1 else metas[:limit]

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
                      chain_version: int, full_chunk_replace: bool = False,
                      payload_crc32c: int | None = None) -> ChunkMeta:
        """Store the committed content with `data` applied at `offset` (or
        exactly `data` if `full_chunk_replace`) as pending version
        committed + 1, replacing any older pending version.

        Raises:
            Fs3Error(BAD_REQUEST / OFFSET_OUT_OF_RANGE): bad arguments; nothing written.
            Fs3Error(ENOSPC): disk or capacity full; nothing changed.
            Fs3Error(CHUNK_CORRUPTED): the committed content fails its checksum while it is
                copied. An append in place does not read the committed bytes: a chunk whose
                committed content went bad takes the append, and its new checksum continues the
                stored one, so its reads keep failing as before (other replicas serve them).
            Fs3Error(CHECKSUM_MISMATCH): `data` does not match `payload_crc32c` (when
                given; checked in the pass that checksums the new content); nothing written.
        """
        patch = _byte_view(data)
        self._check_write(offset, len(patch), chunk_size, chain_version, full_chunk_replace)
        return self._write_version(chunk_id, chunk_size, chain_version, commit=False,
                                   plan_for=lambda record: _plan_write(record, offset, patch, full_chunk_replace),
                                   payload_crc32c=payload_crc32c)

    def write_committed(self, chunk_id: ChunkId, offset: int, data: memoryview | bytes, *, chunk_size: int,
                        chain_version: int, full_chunk_replace: bool = False,
                        committed_version: int = 0, payload_crc32c: int | None = None) -> ChunkMeta:
        """`write_pending` and `commit` in one metadata statement (the tail's
        path, and replication factor 1). Drops any pending version.

        `committed_version` > 0 (only with `full_chunk_replace`) sets the new
        version number instead of committed + 1: recovery copies a chunk with
        the version its source holds, so replicas agree on versions too."""
        patch = _byte_view(data)
        self._check_write(offset, len(patch), chunk_size, chain_version, full_chunk_replace)
        if committed_version < 0 or (committed_version and not full_chunk_replace):
            raise Fs3Error(StatusCode.BAD_REQUEST, f"committed version {committed_version} needs a full chunk replace")
        return self._write_version(chunk_id, chunk_size, chain_version, commit=True,
                                   plan_for=lambda record: _plan_write(record, offset, patch, full_chunk_replace),
                                   version=committed_version, payload_crc32c=payload_crc32c)

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

    @_then_reclaims_space
    def commit(self, chunk_id: ChunkId, version: int) -> ChunkMeta:
        """Make pending `version` the committed one (one metadata statement),
        then free the old committed slot. Idempotent if `version` is
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
                    committed_slot=record.pending_slot,
                    committed_length=record.pending_length,
                    committed_crc32c=record.pending_crc32c,
                    pending_version=0, pending_slot=0, pending_length=0, pending_crc32c=0,
                )
                assert committed.committed_version == record.committed_version + 1
                self._store.put(committed)
                self._account(committed, record, reserved_bytes=0)
                self._free_obsolete(record, committed)
        return committed.to_meta()

    @_then_reclaims_space
    def remove(self, chunk_id: ChunkId) -> bool:
        """Delete a chunk and free its slots; False if it did not exist."""
        with self._chunk_locks.hold(chunk_id):
            with self._lock:
                self._check_open()
                record = self._store.get(chunk_id)
                if record is None:
                    return False
                self._store.delete(chunk_id)
                self._account(None, record, reserved_bytes=0)
                self._free_obsolete(record, None)
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

    @_then_reclaims_space
    def _write_version(self, chunk_id: ChunkId, chunk_size: int, chain_version: int, *, commit: bool,
                       plan_for: Callable[[ChunkRecord | None], _WritePlan], version: int = 0,
                       payload_crc32c: int | None = None) -> ChunkMeta:
        """Write a new version into a free slot (or append it in place, see the module doc),
        publish it in one metadata statement, then free the slots it replaced."""
        with self._chunk_locks.hold(chunk_id):
            with self._lock:
                self._check_open()
                record = self._store.get(chunk_id)
                plan = plan_for(record)
                if plan.new_length > chunk_size:
                    raise Fs3Error(StatusCode.OFFSET_OUT_OF_RANGE,
                                   f"chunk {chunk_id} would grow to {plan.new_length} > chunk size {chunk_size}")
                in_place = _appends_in_place(record, plan,
                                             self._readers_past_end.get(record.committed_slot, 0) if record else 0)
                # in place, the committed blocks are shared: only the growth takes new space
                reserved_bytes = self._reserve(plan.new_length - (round_up(plan.base_length) if in_place else 0),
                                               chunk_id)
                if not version:
                    version = (record.committed_version if record else 0) + 1
                assert commit or version == (record.committed_version if record else 0) + 1
                new_slot = None  # a slot this write owns until it is published
                maybe_hole = False  # new_slot may lack disk blocks (until `_give_blocks`)
                files: list[SlotFile] = []
                try:
                    if in_place:
                        slot = Slot.decode(record.committed_slot)
                    else:
                        slot, maybe_hole = self._allocate(plan.new_length)
                        new_slot = slot
                    files.append(self._open_slot_file(slot))
                    base_slot = None
                    if plan.base_length and not in_place:
                        assert record is not None and record.committed_version > 0
                        base_slot = Slot.decode(record.committed_slot)
                        # No hold needed: only writers of this chunk (serialised by
                        # its lock, which we hold) free its committed slot.
                        files.append(self._open_slot_file(base_slot))
                except BaseException:
                    self._abandon(new_slot, files, reserved_bytes, maybe_hole)
                    raise
            published = False
            try:
                if maybe_hole:
                    self._give_blocks(files[0], slot)
                    maybe_hole = False
                crc32c = self._write_slot(files[0], slot, plan, files[1] if base_slot is not None else None,
                                          base_slot, payload_crc32c, in_place=in_place)
                new_record = self._next_record(chunk_id, record, commit, chain_version, version, slot.encode(),
                                               plan.new_length, crc32c)
                with self._lock:
                    # `record` is still current: every change of this chunk holds its lock.
                    self._store.put(new_record)
                    published = True
                    self._account(new_record, record, reserved_bytes)
                    self._free_obsolete(record, new_record)
                    for slot_file in files:
                        self._files.release(slot_file)
            finally:
                if not published:
                    with self._lock:
                        self._abandon(new_slot, files, reserved_bytes, maybe_hole)
        return new_record.to_meta()

    def _abandon(self, slot: Slot | None, files: list[SlotFile], reserved_bytes: int, maybe_hole: bool) -> None:
        """Undo a write that was not published (under the lock): its slot was
        never referenced, so it is free at once (still maybe a hole if it was one)."""
        self._reserved_bytes -= reserved_bytes
        if slot is not None:
            if maybe_hole:
                self._classes[slot.class_bits].release(slot, punched=True)
            else:
                self._free(slot.encode())
        for slot_file in files:
            self._files.release(slot_file)

    @staticmethod
    def _next_record(chunk_id: ChunkId, record: ChunkRecord | None, commit: bool, chain_version: int,
                     version: int, slot: int, length: int, crc32c: int) -> ChunkRecord:
        if commit:
            return ChunkRecord(chunk_id, chain_version, version, slot, length, crc32c, 0, 0, 0, 0)
        if record is None:
            return ChunkRecord(chunk_id, chain_version, 0, 0, 0, 0, version, slot, length, crc32c)
        return dataclasses.replace(record, chain_version=chain_version, pending_version=version,
                                   pending_slot=slot, pending_length=length, pending_crc32c=crc32c)

    def _write_slot(self, slot_file: SlotFile, slot: Slot, plan: _WritePlan, base_file: SlotFile | None,
                    base_slot: Slot | None, payload_crc32c: int | None, *, in_place: bool) -> int:
        """Write the new version's whole content into its slot (`in_place`: only the bytes it adds
        after the committed content, in the committed slot); returns its CRC32C.

        The payload's checksum (when given) is checked before a byte is written;
        when the payload is the whole new content that is the same pass."""
        zero_copy = (not in_place and plan.base_length == 0 and plan.patch_offset == 0
                     and len(plan.patch) == plan.new_length)
        if zero_copy and self.direct_io and not _is_aligned(plan.patch):
            zero_copy = False  # copy into an aligned pooled buffer so the write can still be direct
        try:
            if zero_copy:
                crc32c = self._write_patch(slot_file, slot.offset, plan.patch, payload_crc32c)
            else:
                if payload_crc32c is not None:
                    _check_payload_crc32c(_crc32c(plan.patch), payload_crc32c)
                if in_place:
                    crc32c = self._write_in_place(slot_file, slot.offset, plan)
                else:
                    crc32c = self._write_streamed(slot_file, slot.offset, plan, base_file,
                                                  base_slot.offset if base_slot else 0)
            if self.config.data_fsync:
                os.fdatasync(slot_file.buffered_fd)
        except OSError as error:
            raise disk_error(error, f"writing slot {slot}") from error
        return crc32c

    def _write_in_place(self, slot_file: SlotFile, base: int, plan: _WritePlan) -> int:
        """Write the bytes a version adds after the committed content (zeros for any gap, then
        the patch) into the committed slot; returns the new content's CRC32C, which continues
        the committed one (the plan's base CRC). A direct write starts at the block holding the
        committed end: that block is read back first, so its committed bytes are written again
        unchanged."""
        committed_length = plan.base_length
        gap = plan.patch_offset - committed_length
        crc32c = plan.base_crc32c
        for start in range(0, gap, len(self._zeros)):
            crc32c = _crc32c(self._zeros[:min(len(self._zeros), gap - start)], crc32c)
        crc32c = _crc32c(plan.patch, crc32c)
        if (not gap and committed_length % DIRECT_IO_ALIGNMENT_BYTES == 0
                and (slot_file.direct_fd < 0 or _is_aligned(plan.patch))):
            self._write_span(slot_file, base + committed_length, plan.patch)
        else:
            self._write_after_end(slot_file, base, plan)
        return crc32c

    def _write_after_end(self, slot_file: SlotFile, base: int, plan: _WritePlan) -> None:
        """`_write_in_place` through one pooled buffer, segment by segment, from the block that
        holds the committed end (direct writes are whole 4 KiB blocks)."""
        segment_bytes = self.config.buffer_size_bytes
        committed_length = plan.base_length
        direct = slot_file.direct_fd >= 0
        first = round_down(committed_length) if direct else committed_length
        with self._pool.borrow(self.config.buffer_wait_seconds_max) as buffer:
            for start in range(first, plan.new_length, segment_bytes):
                end = min(start + segment_bytes, plan.new_length)
                length = end - start
                kept = max(0, min(end, committed_length) - start)  # committed bytes in this segment
                if kept:
                    got = read_full(slot_file.direct_fd, slot_file.buffered_fd,
                                    buffer[:round_up(kept) if direct else kept], base + start)
                    if got < kept:
                        raise Fs3Error(StatusCode.CHUNK_CORRUPTED, f"committed slot shorter than {committed_length}")
                buffer[kept:length] = self._zeros[:length - kept]
                _overlay_patch(buffer, start, end, plan)
                self._write_segment(slot_file, buffer, length, base + start)

    def _write_segment(self, slot_file: SlotFile, buffer: memoryview, length: int, position: int) -> None:
        """Write the first `length` bytes of a pooled buffer at `position` (aligned if direct): a
        direct write is padded with zeros to 4 KiB (the padding stays inside the slot)."""
        if slot_file.direct_fd >= 0:
            padded = round_up(length)
            buffer[length:padded] = self._zeros[:padded - length]
            write_full(slot_file.direct_fd, slot_file.buffered_fd, buffer[:padded], position)
        else:
            write_full(-1, slot_file.buffered_fd, buffer[:length], position)

    def _write_patch(self, slot_file: SlotFile, base: int, patch: memoryview, payload_crc32c: int | None) -> int:
        """The new content is exactly the caller's buffer: write it without
        copying (an unaligned tail through the page cache)."""
        crc32c = _crc32c(patch)
        if payload_crc32c is not None:
            _check_payload_crc32c(crc32c, payload_crc32c)
        self._write_span(slot_file, base, patch)
        return crc32c

    @staticmethod
    def _write_span(slot_file: SlotFile, position: int, data: memoryview) -> None:
        """Write `data` (aligned if the file is direct) at a 4 KiB-aligned `position`: its aligned
        part direct, an unaligned tail through the page cache."""
        aligned_length = round_down(len(data)) if slot_file.direct_fd >= 0 else 0
        if aligned_length:
            write_full(slot_file.direct_fd, slot_file.buffered_fd, data[:aligned_length], position)
        if aligned_length < len(data):
            write_full(-1, slot_file.buffered_fd, data[aligned_length:], position + aligned_length)

    def _write_streamed(self, slot_file: SlotFile, base: int, plan: _WritePlan, base_file: SlotFile | None,
                        old_base: int) -> int:
        """Build the new content segment by segment in one pooled buffer: old
        content, zeros for any gap, the patch on top. Also checks the old
        content's CRC so a corrupted chunk is never copied forward. Direct
        writes are padded to 4 KiB: the padding stays inside the slot."""
        segment_bytes = self.config.buffer_size_bytes
        span = max(plan.new_length, plan.base_length)
        base_crc32c = new_crc32c = 0
        with self._pool.borrow(self.config.buffer_wait_seconds_max) as buffer:
            for start in range(0, span, segment_bytes):
                end = min(start + segment_bytes, span)
                base_end = max(start, min(end, plan.base_length))
                if base_end > start:
                    assert base_file is not None
                    wanted = base_end - start
                    got = read_full(base_file.direct_fd, base_file.buffered_fd,
                                    buffer[:round_up(wanted) if base_file.direct_fd >= 0 else wanted],
                                    old_base + start)
                    if got < wanted:
                        raise Fs3Error(StatusCode.CHUNK_CORRUPTED, f"committed slot shorter than {base_end}")
                    base_crc32c = _crc32c(buffer[:wanted], base_crc32c)
                write_end = min(end, plan.new_length)
                if write_end <= start:
                    continue  # shrinking truncate: this segment is only read, to check the CRC
                length = write_end - start
                if base_end - start < length:
                    buffer[base_end - start:length] = self._zeros[:length - (base_end - start)]
                _overlay_patch(buffer, start, write_end, plan)
                new_crc32c = _crc32c(buffer[:length], new_crc32c)
                self._write_segment(slot_file, buffer, length, base + start)
        if plan.base_length and base_crc32c != plan.base_crc32c:
            raise Fs3Error(StatusCode.CHUNK_CORRUPTED,
                           f"committed content CRC {base_crc32c:08x} != stored {plan.base_crc32c:08x}")
        return new_crc32c

    # --------------------------------------------------------------- reads

    def read(self, chunk_id: ChunkId, offset: int, length: int, into: memoryview, *, relaxed: bool = False,
             committed: bool = False) -> int:
        """Bytes read into `into` (see `read_with_meta`)."""
        return self.read_with_meta(chunk_id, offset, length, into, relaxed=relaxed, committed=committed)[1]

    @_then_reclaims_space
    def read_with_meta(self, chunk_id: ChunkId, offset: int, length: int, into: memoryview, *,
                       relaxed: bool = False, committed: bool = False) -> tuple[ChunkMeta | None, int]:
        """Read up to `length` bytes at `offset` of the committed content (the
        pending one if `relaxed` and there is one) into `into`. `committed`
        reads the committed content even when a pending version exists
        (recovery copies what was acknowledged).

        Returns:
            the chunk's metadata as of this read (None if absent: one lookup serves both), and
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
                return None, 0
            meta = record.to_meta()
            if record.pending_version and not relaxed and not committed:
                raise Fs3Error(StatusCode.CHUNK_PENDING,
                               f"chunk {chunk_id} has pending version {record.pending_version}")
            if record.pending_version and not committed:
                version, encoded = record.pending_version, record.pending_slot
                content_length, expected_crc32c = record.pending_length, record.pending_crc32c
            else:
                version, encoded = record.committed_version, record.committed_slot
                content_length, expected_crc32c = record.committed_length, record.committed_crc32c
            count = max(0, min(length, content_length - offset))
            if count == 0:
                return meta, 0
            slot = Slot.decode(encoded)
            slot_file = self._open_slot_file(slot)
            # Held from the version lookup to the end of the read: a commit
            # may free the slot meanwhile, but it is reused only after this read;
            # a pending version appended in place is not appended to again meanwhile.
            past_end = encoded == record.committed_slot and content_length > record.committed_length
            self._hold_for_read(encoded, past_end)
        try:
            if offset == 0 and count == content_length:
                self._read_whole(slot_file, slot.offset, out, content_length)
                actual_crc32c = _crc32c(out[:content_length])
            else:
                actual_crc32c = self._read_range(slot_file, slot.offset, out, offset, count, content_length)
        except OSError as error:
            raise disk_error(error, f"reading chunk {chunk_id} version {version}") from error
        finally:
            with self._lock:
                self._end_read(encoded, past_end)
                self._files.release(slot_file)
        if actual_crc32c != expected_crc32c:
            raise Fs3Error(StatusCode.CHUNK_CORRUPTED, f"chunk {chunk_id} version {version}: CRC32C "
                           f"{actual_crc32c:08x} != stored {expected_crc32c:08x}")
        return meta, count

    def _read_whole(self, slot_file: SlotFile, base: int, out: memoryview, content_length: int) -> None:
        """Read a whole version straight into the caller's buffer."""
        direct_fd, buffered_fd = slot_file.direct_fd, slot_file.buffered_fd
        padded = round_up(content_length)
        if direct_fd < 0 or not _is_aligned(out):
            got = read_full(-1, buffered_fd, out[:content_length], base)
        elif padded <= len(out):
            got = min(read_full(direct_fd, buffered_fd, out[:padded], base), content_length)
            out[content_length:padded] = self._zeros[:padded - content_length]  # not the slot's stale bytes
        else:
            aligned_length = round_down(content_length)
            got = read_full(direct_fd, buffered_fd, out[:aligned_length], base) if aligned_length else 0
            if got == aligned_length:  # the unaligned tail goes through the page cache
                got += read_full(-1, buffered_fd, out[aligned_length:content_length], base + aligned_length)
        if got < content_length:
            raise Fs3Error(StatusCode.CHUNK_CORRUPTED, f"slot file has {got} of {content_length} bytes")

    def _read_range(self, slot_file: SlotFile, base: int, out: memoryview, offset: int, count: int,
                    content_length: int) -> int:
        """Stream the whole version through a pooled buffer to check its CRC,
        copying the wanted range into `out`; returns the CRC."""
        segment_bytes = self.config.buffer_size_bytes
        direct = slot_file.direct_fd >= 0
        wanted_end = offset + count
        crc32c = 0
        with self._pool.borrow(self.config.buffer_wait_seconds_max) as buffer:
            for start in range(0, content_length, segment_bytes):
                end = min(start + segment_bytes, content_length)
                wanted = end - start
                got = read_full(slot_file.direct_fd, slot_file.buffered_fd,
                                buffer[:round_up(wanted) if direct else wanted], base + start)
                if got < wanted:
                    raise Fs3Error(StatusCode.CHUNK_CORRUPTED, f"slot file shorter than {end} bytes of content")
                crc32c = _crc32c(buffer[:wanted], crc32c)
                low, high = max(start, offset), min(end, wanted_end)
                if low < high:
                    out[low - offset:high - offset] = buffer[low - start:high - start]
        return crc32c

    # ------------------------------------------------------------- helpers

    def _reserve(self, length: int, chunk_id: ChunkId) -> int:
        """Claim space for a new version against the configured capacity."""
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
            self._files.close()
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
