"""Namespace consistency check (`fs3 fsck`): the invariants every metadata op keeps.

Reads the whole namespace in one snapshot transaction, so the report is of
one consistent state even while clients keep working (it conflicts with
nothing). Checked:

- every directory entry points at a live inode, inside a live directory;
- every inode is reachable from the root, no directory is reached twice and
  none is its own ancestor (the `parent` fields lead to the root); the one
  exception is a file unlinked while open for writing: no entries, link
  count 0, queued for garbage collection, kept until its last writer closes;
- a directory has exactly one entry, its `parent` field names it, and its
  link count is 2 plus its subdirectories (the DSUB counter);
- a file's or symlink's link count equals its entries;
- no reachable inode is queued for garbage collection;
- directory times and subdirectory counters, xattrs and write sessions
  belong to live inodes (a session may also belong to a removed file still
  queued for GC).

The scan is bounded by `inodes_max`: larger namespaces are refused rather
than read into memory without limit (on FoundationDB a transaction also
lives at most five seconds; check those offline from a backup).
"""

from __future__ import annotations

import dataclasses
import errno
import struct

from fs3.errors import fs_error
from fs3.kv.interface import Transaction, prefix_range
from fs3.meta.store import keys
from fs3.meta.store.dir_entry import decode_dir_entry
from fs3.meta.store.inode import add_directory_times_and_nlink, decode_inode
from fs3.meta.types import ROOT_INODE_ID, Inode, InodeType

__all__ = ["FsckProblem", "FsckReport", "check_namespace"]

_U64 = struct.Struct("<Q")


@dataclasses.dataclass(frozen=True, slots=True)
class FsckProblem:
    kind: str  # a stable word scripts can match: dangling-entry, unreachable, nlink, ...
    inode_id: int
    detail: str


@dataclasses.dataclass
class FsckReport:
    inodes: int = 0
    unlinked_open: int = 0  # files unlinked while open for writing: kept for their writers, then the GC
    directories: int = 0
    files: int = 0
    symlinks: int = 0
    entries: int = 0
    gc_queued: int = 0
    sessions: int = 0
    problems: list[FsckProblem] = dataclasses.field(default_factory=list)
    problems_omitted: int = 0  # beyond problems_max

    @property
    def clean(self) -> bool:
        return not self.problems and not self.problems_omitted


def _inode_id_after(prefix: bytes, key: bytes) -> int:
    return _U64.unpack_from(key, len(prefix))[0]


async def _scan(txn: Transaction, prefix: bytes, rows_max: int, what: str):
    rows = await txn.get_range(*prefix_range(prefix), limit=rows_max + 1, snapshot=True)
    if len(rows) > rows_max:
        raise fs_error(errno.EFBIG, f"fsck: more than {rows_max} {what}; check this namespace offline")
    return rows


async def check_namespace(txn: Transaction, *, inodes_max: int, problems_max: int = 1000) -> FsckReport:
    """Raises: Fs3Error EFBIG if the namespace holds more than `inodes_max` inodes (or 4x as many entries)."""
    report = FsckReport()

    def problem(kind: str, inode_id: int, detail: str) -> None:
        if len(report.problems) < problems_max:
            report.problems.append(FsckProblem(kind, inode_id, detail))
        else:
            report.problems_omitted += 1

    inodes: dict[int, Inode] = {}
    for row in await _scan(txn, keys.INODE_PREFIX, inodes_max, "inodes"):
        inode = decode_inode(row.value)
        if inode.inode_id != _inode_id_after(keys.INODE_PREFIX, row.key):
            problem("misplaced-inode", inode.inode_id, f"stored under key of inode "
                                                       f"{_inode_id_after(keys.INODE_PREFIX, row.key)}")
        if inode.is_directory:
            inode = await add_directory_times_and_nlink(txn, inode)  # nlink from the subdirectory counter
        inodes[inode.inode_id] = inode
    report.inodes = len(inodes)
    report.directories = sum(inode.inode_type == InodeType.DIRECTORY for inode in inodes.values())
    report.files = sum(inode.inode_type == InodeType.FILE for inode in inodes.values())
    report.symlinks = sum(inode.inode_type == InodeType.SYMLINK for inode in inodes.values())
    if ROOT_INODE_ID not in inodes:
        problem("no-root", ROOT_INODE_ID, "the root directory inode is missing")

    places: dict[int, list[tuple[int, bytes]]] = {}  # inode -> [(parent, name)]
    children: dict[int, list[int]] = {}
    for row in await _scan(txn, keys.DIR_ENTRY_PREFIX, 4 * inodes_max, "directory entries"):
        parent_id = _inode_id_after(keys.DIR_ENTRY_PREFIX, row.key)
        entry = decode_dir_entry(keys.dir_entry_name(row.key), row.value)
        report.entries += 1
        parent = inodes.get(parent_id)
        if parent is None or parent.inode_type != InodeType.DIRECTORY:
            problem("entry-in-non-directory", parent_id, f"entry {entry.name!r} -> {entry.inode_id} is in "
                                                         f"{'a missing inode' if parent is None else 'a non-directory'}")
            continue
        if entry.inode_id not in inodes:
            problem("dangling-entry", entry.inode_id, f"entry {entry.name!r} in directory {parent_id} "
                                                      f"points at a missing inode")
            continue
        places.setdefault(entry.inode_id, []).append((parent_id, entry.name))
        children.setdefault(parent_id, []).append(entry.inode_id)

    queued = {_inode_id_after(keys.GC_QUEUE_PREFIX, row.key)
              for row in await _scan(txn, keys.GC_QUEUE_PREFIX, inodes_max, "GC records")}
    report.gc_queued = len(queued)
    # reachability from the root: each directory reached once
    reachable: set[int] = set()
    if ROOT_INODE_ID in inodes:
        reachable.add(ROOT_INODE_ID)
        frontier = [ROOT_INODE_ID]
        while frontier:
            for child in children.get(frontier.pop(), []):
                if inodes[child].inode_type == InodeType.DIRECTORY:
                    if child in reachable:
                        continue  # reported below: a directory with several entries
                    frontier.append(child)
                reachable.add(child)
    for inode_id in sorted(queued & reachable):
        problem("live-and-queued", inode_id, "a reachable inode is also queued for garbage collection")
    for inode_id in sorted(inodes.keys() - reachable):
        inode = inodes[inode_id]
        if inode.inode_type == InodeType.FILE and inode.nlink == 0 and inode_id in queued and not places.get(inode_id):
            report.unlinked_open += 1
            continue
        problem("unreachable", inode_id, f"{inode.inode_type.name.lower()} not reachable from the root")

    for inode_id, inode in inodes.items():
        links = places.get(inode_id, [])
        if inode.inode_type == InodeType.DIRECTORY:
            if inode_id == ROOT_INODE_ID:
                if links:
                    problem("root-has-entry", inode_id, f"the root is linked from {links}")
                continue
            if len(links) != 1:
                problem("directory-links", inode_id, f"directory has {len(links)} entries")
            elif inode.parent != links[0][0]:
                problem("parent-field", inode_id, f"parent field {inode.parent} but its entry is in {links[0][0]}")
            subdirectories = sum(inodes[child].inode_type == InodeType.DIRECTORY
                                 for child in children.get(inode_id, []))
            if inode.nlink != 2 + subdirectories:
                problem("directory-nlink", inode_id, f"link count {inode.nlink} but {subdirectories} subdirectories")
            if _own_ancestor(inodes, inode_id):
                problem("cycle", inode_id, "directory is its own ancestor (parent fields loop)")
        elif inode_id in reachable and inode.nlink != len(links):
            problem("nlink", inode_id, f"link count {inode.nlink} but {len(links)} entries")

    for prefix, what in ((keys.DIR_TIMES_PREFIX, "directory times"), (keys.SUBDIR_COUNT_PREFIX, "subdirectory count")):
        for row in await _scan(txn, prefix, inodes_max, what + "s"):
            inode_id = _inode_id_after(prefix, row.key)
            if inode_id not in inodes or inodes[inode_id].inode_type != InodeType.DIRECTORY:
                problem("stray-" + what.replace(" ", "-"), inode_id, f"{what} of no live directory")
    xattr_owners = {_inode_id_after(keys.XATTR_PREFIX, row.key)
                    for row in await _scan(txn, keys.XATTR_PREFIX, 4 * inodes_max, "xattrs")}
    for inode_id in sorted(xattr_owners - inodes.keys()):
        problem("stray-xattrs", inode_id, "extended attributes of no live inode")
    session_rows = await _scan(txn, keys.SESSION_PREFIX, inodes_max, "write sessions")
    report.sessions = len(session_rows)
    for inode_id in sorted({_inode_id_after(keys.SESSION_PREFIX, row.key) for row in session_rows}):
        if inode_id not in inodes and inode_id not in queued:
            problem("stray-session", inode_id, "write session of an inode neither live nor queued for GC")
    return report


def _own_ancestor(inodes: dict[int, Inode], inode_id: int) -> bool:
    seen: set[int] = set()
    current = inode_id
    while current != ROOT_INODE_ID:
        if current in seen or current not in inodes:
            return current in seen
        seen.add(current)
        current = inodes[current].parent
    return False
