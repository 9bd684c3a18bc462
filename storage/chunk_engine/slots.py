"""Slot files: preallocated files that hold chunk versions at fixed offsets.

Layout: `slots/<class KiB>KiB/<file index, 6 digits>`. A size class is a
power of two >= 64 KiB; a slot file of a class holds `slots_per_file` slots
of `class` bytes each, and slot `i` of a file starts at `i * class`. A slot
is named by `Slot(class_bits, file_index, slot_index)` and stored in the
metadata as one integer (`Slot.encode()`, never 0).

`SlotClass` is the in-memory allocator of one class (not thread-safe: the
engine calls it under its lock). `SlotFileCache` keeps a bounded number of
slot files open, each with an O_DIRECT and a buffered descriptor.
"""

from __future__ import annotations

import collections
import heapq
import os
import re
from typing import NamedTuple

from .data_files import O_DIRECT
from .types import SLOT_SIZE_MIN_BYTES

__all__ = [
    "PUNCHED",
    "PUNCHING",
    "SLOTS_DIRECTORY",
    "SLOT_CLASS_BITS_MIN",
    "Slot",
    "SlotClass",
    "SlotFile",
    "SlotFileCache",
    "class_bits_for",
    "class_directory_name",
    "parse_class_directory_name",
    "slot_file_name",
    "parse_slot_file_name",
]

SLOTS_DIRECTORY = "slots"
SLOT_CLASS_BITS_MIN = SLOT_SIZE_MIN_BYTES.bit_length() - 1  # 64 KiB
SLOT_CLASS_BITS_MAX = 30  # 1 GiB (chunk_size_bytes_max's bound)
_FILE_SHIFT = 24
_CLASS_SHIFT = 48
_MASK_24 = (1 << 24) - 1

# Slot states in SlotClass.state.
FREE = 0
USED = 1  # referenced by metadata, or being written by a writer that owns it
FREE_WHEN_UNREAD = 2  # no longer referenced, but a reader still reads it
PUNCHED = 3  # free, its disk blocks possibly missing (a hole was punched, or not known since open)
PUNCHING = 4  # free, but out of reach while its hole is punched (outside the engine lock); PUNCHED after
_FREE_RUN = re.compile(b"[" + bytes([FREE, PUNCHED]) + b"]+")  # a run of free state bytes


def class_bits_for(length: int) -> int:
    """log2 of the smallest size class (>= 64 KiB) that holds `length` bytes."""
    return max(SLOT_CLASS_BITS_MIN, (max(length, 1) - 1).bit_length())


class Slot(NamedTuple):
    class_bits: int
    file_index: int
    slot_index: int

    @property
    def class_size(self) -> int:
        return 1 << self.class_bits

    @property
    def offset(self) -> int:
        return self.slot_index << self.class_bits

    def encode(self) -> int:
        return (self.class_bits << _CLASS_SHIFT) | (self.file_index << _FILE_SHIFT) | self.slot_index

    @classmethod
    def decode(cls, value: int) -> Slot:
        slot = cls(value >> _CLASS_SHIFT, (value >> _FILE_SHIFT) & _MASK_24, value & _MASK_24)
        assert SLOT_CLASS_BITS_MIN <= slot.class_bits <= SLOT_CLASS_BITS_MAX, f"bad slot {value:#x}"
        return slot

    def __str__(self) -> str:
        return f"{self.class_size >> 10}KiB/{self.file_index}/{self.slot_index}"


def class_directory_name(class_bits: int) -> str:
    return f"{(1 << class_bits) >> 10}KiB"


def parse_class_directory_name(name: str) -> int | None:
    if not name.endswith("KiB") or not name[:-3].isdigit():
        return None
    size = int(name[:-3]) << 10
    bits = size.bit_length() - 1
    if size != 1 << bits or not SLOT_CLASS_BITS_MIN <= bits <= SLOT_CLASS_BITS_MAX:
        return None
    return bits if class_directory_name(bits) == name else None


def slot_file_name(file_index: int) -> str:
    return f"{file_index:06d}"


def parse_slot_file_name(name: str) -> int | None:
    if len(name) != 6 or not name.isdigit():
        return None
    return int(name)


class SlotClass:
    """Free-slot tracking of one size class: one state byte per slot, a free
    count per file and a heap of the files that have free slots, so that
    allocation takes the lowest free slot of the lowest such file (files fill
    sequentially) in C-speed `bytearray.find`.

    A free slot is FREE (its disk blocks allocated: the cheapest to write) or
    PUNCHED (its blocks may be missing: a hole was punched, or the engine
    reopened and does not know); allocation prefers FREE ones within a file
    and says when it hands out a PUNCHED one (the engine preallocates it)."""

    def __init__(self, class_bits: int, slots_per_file: int) -> None:
        assert slots_per_file >= 1
        self.class_bits = class_bits
        self.slots_per_file = slots_per_file
        self.state = bytearray()
        self.free_counts: list[int] = []   # FREE and PUNCHED slots per file
        self.unpunched_free = 0            # FREE slots in all files
        # files that may have free slots (a heap; `start_punch` can leave a file here with none, so
        # `take_slot` drops such files when it meets them), and a flag per file: in the heap
        self._files_with_free: list[int] = []
        self._listed = bytearray()
        self._free_bound = 0               # no FREE slot at or above this position

    @property
    def file_count(self) -> int:
        return len(self.free_counts)

    @property
    def file_bytes(self) -> int:
        return self.slots_per_file << self.class_bits

    def rebuild(self, file_count: int, used: list[tuple[int, int]]) -> None:
        """Start from `file_count` files where exactly the `used` (file, slot) pairs are taken; the
        free ones count as PUNCHED (whether they still hold blocks is not known)."""
        per_file = self.slots_per_file
        self.state = bytearray([PUNCHED]) * (file_count * per_file)
        self.free_counts = [per_file] * file_count
        for file_index, slot_index in used:
            assert file_index < file_count and slot_index < per_file, (file_index, slot_index)
            position = file_index * per_file + slot_index
            assert self.state[position] == PUNCHED, f"slot {file_index}/{slot_index} referenced twice"
            self.state[position] = USED
            self.free_counts[file_index] -= 1
        self.unpunched_free = 0
        self._free_bound = 0
        self._files_with_free = [index for index, count in enumerate(self.free_counts) if count]
        heapq.heapify(self._files_with_free)
        self._listed = bytearray(1 if count else 0 for count in self.free_counts)

    def add_file(self) -> int:
        """A new, fully preallocated file: its slots are FREE."""
        file_index = self.file_count
        self.state.extend(bytes(self.slots_per_file))
        self.free_counts.append(self.slots_per_file)
        self.unpunched_free += self.slots_per_file
        self._free_bound = len(self.state)
        heapq.heappush(self._files_with_free, file_index)
        self._listed.append(1)
        return file_index

    def take_slot(self) -> tuple[Slot, bool] | None:
        """(the lowest free slot, now USED; whether it was PUNCHED), or None if every file is full."""
        while self._files_with_free and not self.free_counts[self._files_with_free[0]]:
            self._listed[heapq.heappop(self._files_with_free)] = 0
        if not self._files_with_free:
            return None
        file_index = self._files_with_free[0]
        start = file_index * self.slots_per_file
        position = self.state.find(FREE, start, start + self.slots_per_file)
        punched = position < 0
        if punched:
            position = self.state.find(PUNCHED, start, start + self.slots_per_file)
        else:
            self.unpunched_free -= 1
        assert position >= 0, f"file {file_index} counted free slots it does not have"
        self.state[position] = USED
        self.free_counts[file_index] -= 1
        if self.free_counts[file_index] == 0:
            heapq.heappop(self._files_with_free)
            self._listed[file_index] = 0
        return Slot(self.class_bits, file_index, position - start), punched

    def _position(self, slot: Slot) -> int:
        """Index of a slot's state byte."""
        return slot.file_index * self.slots_per_file + slot.slot_index

    def set_state(self, slot: Slot, state: int) -> None:
        assert state not in (FREE, PUNCHED), "use release()"
        self.state[self._position(slot)] = state

    def get_state(self, slot: Slot) -> int:
        return self.state[self._position(slot)]

    def release(self, slot: Slot, *, punched: bool = False) -> None:
        """A slot is free again; `punched`: its blocks may be missing."""
        position = self._position(slot)
        assert self.state[position] in (USED, FREE_WHEN_UNREAD), (
            f"slot {slot} freed twice (or while its hole is punched): state {self.state[position]}")
        self._make_free(slot, position, punched)

    def _make_free(self, slot: Slot, position: int, punched: bool) -> None:
        if punched:
            self.state[position] = PUNCHED
        else:
            self.state[position] = FREE
            self.unpunched_free += 1
            self._free_bound = max(self._free_bound, position + 1)
        self.free_counts[slot.file_index] += 1
        if not self._listed[slot.file_index]:
            heapq.heappush(self._files_with_free, slot.file_index)
            self._listed[slot.file_index] = 1

    def start_punch(self, slot: Slot) -> None:
        """Take a FREE slot out of reach while its blocks are given back (`finish_punch` after)."""
        position = self._position(slot)
        assert self.state[position] == FREE, f"slot {slot} punched while not free"
        self.state[position] = PUNCHING
        self.unpunched_free -= 1
        self.free_counts[slot.file_index] -= 1

    def finish_punch(self, slot: Slot, *, punched: bool) -> None:
        """A slot taken out by `start_punch` is free again: PUNCHED if a hole may have been punched
        (also when the punch failed), FREE if no punch was tried."""
        position = self._position(slot)
        assert self.state[position] == PUNCHING, f"slot {slot} was not being punched"
        self._make_free(slot, position, punched)

    def highest_unpunched_free(self) -> Slot | None:
        """The last FREE slot (allocation takes the lowest ones: the highest are reused last).
        Searches below a bound that only moves down between releases: punching many slots in a
        row scans the state once, not once per slot."""
        position = self.state.rfind(FREE, 0, self._free_bound)
        self._free_bound = position + 1
        if position < 0:
            return None
        return Slot(self.class_bits, position // self.slots_per_file, position % self.slots_per_file)

    def free_runs(self) -> list[tuple[int, int, int]]:
        """(file index, first slot, slot count) of every run of adjacent free slots (FREE or
        PUNCHED) within one file, for giving all their blocks back at once (found in C: this runs
        over every slot at start-up)."""
        runs = []
        per_file = self.slots_per_file
        for file_index, count in enumerate(self.free_counts):
            if count:
                start = file_index * per_file
                runs.extend((file_index, run.start() - start, run.end() - run.start())
                            for run in _FREE_RUN.finditer(self.state, start, start + per_file))
        return runs

    def mark_run_punched(self, file_index: int, first_slot: int, count: int) -> None:
        """The slots of a free run had their blocks given back."""
        start = file_index * self.slots_per_file + first_slot
        end = start + count
        assert self.state.find(USED, start, end) < 0 and self.state.find(FREE_WHEN_UNREAD, start, end) < 0, (
            f"slots {file_index}/{first_slot}+{count} not all free")
        self.unpunched_free -= self.state.count(FREE, start, end)
        self.state[start:end] = bytes([PUNCHED]) * count

    def used_count(self) -> int:
        return self.file_count * self.slots_per_file - sum(self.free_counts)


class SlotFile:
    """Open descriptors of one slot file: `direct_fd` (O_DIRECT, or -1 when
    direct I/O is off) for aligned I/O and `buffered_fd` for the rest.
    Descriptors are positionless (pread/pwrite), so threads share them."""

    __slots__ = ("path", "direct_fd", "buffered_fd", "users", "evicted")

    def __init__(self, path: str, direct: bool) -> None:
        self.path = path
        self.users = 0
        self.evicted = False
        self.buffered_fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        self.direct_fd = -1
        if direct:
            try:
                self.direct_fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | O_DIRECT)
            except BaseException:
                os.close(self.buffered_fd)
                raise

    def close(self) -> None:
        for fd in (self.direct_fd, self.buffered_fd):
            if fd >= 0:
                os.close(fd)
        self.direct_fd = self.buffered_fd = -1


class SlotFileCache:
    """At most `capacity` idle slot files kept open, least recently used
    closed first; a file in use (`users` > 0) is closed only when released.
    Not thread-safe: the engine calls it under its lock."""

    def __init__(self, capacity: int, direct: bool) -> None:
        self._capacity = capacity
        self._direct = direct
        self._files: collections.OrderedDict[str, SlotFile] = collections.OrderedDict()

    def acquire(self, path: str) -> SlotFile:
        """Raises FileNotFoundError if the file does not exist."""
        slot_file = self._files.get(path)
        if slot_file is None:
            slot_file = SlotFile(path, self._direct)
            self._files[path] = slot_file
            self._evict()
        else:
            self._files.move_to_end(path)
        slot_file.users += 1
        return slot_file

    def release(self, slot_file: SlotFile) -> None:
        slot_file.users -= 1
        assert slot_file.users >= 0
        if slot_file.evicted and slot_file.users == 0:
            slot_file.close()

    def forget(self, path: str) -> None:
        """Close a file about to be deleted (it must be idle)."""
        slot_file = self._files.pop(path, None)
        if slot_file is not None:
            assert slot_file.users == 0, f"{path} deleted while in use"
            slot_file.close()

    def _evict(self) -> None:
        if len(self._files) <= self._capacity:
            return
        for path in list(self._files):
            if len(self._files) <= self._capacity:
                break
            slot_file = self._files.pop(path)
            slot_file.evicted = True
            if slot_file.users == 0:
                slot_file.close()

    def close(self) -> None:
        for slot_file in self._files.values():
            slot_file.close()
        self._files.clear()
