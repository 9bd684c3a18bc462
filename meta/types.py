"""The metadata service's value types, one dataclass per wire message.

Each dataclass maps field for field onto its message in
`proto/fs3/_proto/meta.proto` / `common.proto`; a service codec converts
between them. Nothing here imports protobuf: cores take and return these.
Encoding for the KV store lives in `meta/store/` (inode.py, dir_entry.py).
"""

from __future__ import annotations

import dataclasses
import enum

__all__ = [
    "ROOT_INODE_ID",
    "StoredLength",
    "InodeType",
    "Layout",
    "Inode",
    "DirEntry",
    "UserInfo",
    "PathAt",
    "OpenResult",
    "ReaddirResult",
    "SetAttributes",
    "ChunkTrim",
    "SetattrResult",
    "Capacity",
    "StatfsResult",
]

# The root directory's inode id; PathAt.parent 0 also means the root.
ROOT_INODE_ID = 1


class InodeType(enum.IntEnum):
    """Values equal the proto enum InodeType (0 is unspecified on the wire)."""

    FILE = 1
    DIRECTORY = 2
    SYMLINK = 3
    FIFO = 4
    CHAR_DEVICE = 5
    BLOCK_DEVICE = 6
    SOCKET = 7


@dataclasses.dataclass(frozen=True, slots=True)
class Layout:
    """Where a file's chunks live: a chain table and how chunks map onto it.

    Chunk `i` of a file goes to chain `(first_chain_index + shuffled(i)) %
    chains` of table `chain_table_id`; `shuffle_seed` seeds that shuffle.
    """

    chain_table_id: int
    chain_table_version: int
    chunk_size: int
    stripe_size: int
    first_chain_index: int = 0
    shuffle_seed: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class Inode:
    """A file, directory, symlink, FIFO, device or socket node.

    `mode` holds only permission bits (incl. setuid/setgid/sticky: 0o7777);
    the type is `inode_type`. Directories report `nlink` 2 + their
    subdirectories (counted apart, see store/inode.py), others their
    hard-link count (0: unlinked but still open for writing). `parent` is set
    for directories only (0 for others); the root is its own parent. `rdev`
    is a device node's device number (stored only: mounts are nodev).
    """

    inode_id: int
    inode_type: InodeType
    mode: int
    uid: int
    gid: int
    nlink: int
    length: int = 0
    atime_ns: int = 0
    mtime_ns: int = 0
    ctime_ns: int = 0
    layout: Layout | None = None
    symlink_target: bytes = b""
    parent: int = 0
    rdev: int = 0

    @property
    def is_directory(self) -> bool:
        return self.inode_type == InodeType.DIRECTORY

    @property
    def is_symlink(self) -> bool:
        return self.inode_type == InodeType.SYMLINK


@dataclasses.dataclass(frozen=True, slots=True)
class DirEntry:
    """One name in a directory."""

    name: bytes
    inode_id: int
    inode_type: InodeType


@dataclasses.dataclass(frozen=True, slots=True)
class UserInfo:
    """The identity a request acts as. uid 0 is root."""

    uid: int
    gid: int
    groups: tuple[int, ...] = ()
    token: str = ""

    def in_group(self, gid: int) -> bool:
        return gid == self.gid or gid in self.groups


@dataclasses.dataclass(frozen=True, slots=True)
class PathAt:
    """A path relative to directory `parent`; an absolute path ignores it.

    parent 0 means the root directory.
    """

    parent: int
    path: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class TrashResult:
    """Reply of remove_tree_to_trash: the moved inode, where it went, when it expires."""

    inode: "Inode"
    trash_path: bytes
    expire_at_ns: int


@dataclasses.dataclass(frozen=True, slots=True)
class OpenResult:
    """Reply of open and create: the inode (with layout) and the write
    session id (0 when not opened for writing)."""

    inode: Inode
    session_id: int


@dataclasses.dataclass(frozen=True, slots=True)
class ReaddirResult:
    """One page of a listing. `inodes` is empty unless asked for, else
    parallel to `entries`. `more` says a next page exists: ask again with
    after_name = entries[-1].name."""

    entries: tuple[DirEntry, ...]
    inodes: tuple[Inode, ...]
    more: bool


@dataclasses.dataclass(frozen=True, slots=True)
class SetAttributes:
    """What a setattr changes; None leaves a field alone.

    Times follow utimensat: `*_ns` sets an explicit time, `*_now` the
    operation's time (UTIME_NOW); neither is UTIME_OMIT. `length` truncates
    or extends a regular file.
    """

    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    length: int | None = None
    atime_ns: int | None = None
    mtime_ns: int | None = None
    atime_now: bool = False
    mtime_now: bool = False

    @property
    def changes_times(self) -> bool:
        return self.atime_ns is not None or self.mtime_ns is not None or self.atime_now or self.mtime_now


@dataclasses.dataclass(frozen=True, slots=True)
class StoredLength:
    """The length a file's chunks on storage imply, and the inode's ctime when that was looked up
    (storage is read outside the metadata transaction that applies it)."""

    length: int
    observed_ctime_ns: int


@dataclasses.dataclass(frozen=True, slots=True)
class ChunkTrim:
    """Storage work a shrinking truncate leaves: remove chunks with index >=
    `first_removed_chunk`, and cut chunk `first_removed_chunk - 1` to
    `boundary_length` bytes when `boundary_length` > 0."""

    inode_id: int
    layout: Layout
    first_removed_chunk: int
    boundary_length: int


@dataclasses.dataclass(frozen=True, slots=True)
class SetattrResult:
    inode: Inode
    trim: ChunkTrim | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Capacity:
    """Bytes of the storage behind a namespace (from routing: the targets' sums)."""

    total_bytes: int
    free_bytes: int


@dataclasses.dataclass(frozen=True, slots=True)
class StatfsResult:
    total_bytes: int
    free_bytes: int
    total_files: int
    free_files: int
    name_bytes_max: int
