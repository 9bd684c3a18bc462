"""fs3 inode ids <-> FUSE inodes, lookup counts, and where each inode was last seen.

fs3 inode ids are 64-bit and fs3's root is inode 1, which is also FUSE's
ROOT_INODE, so the mapping is the identity; what this table adds is the
kernel's lookup count per inode (`remember` on every reply that hands an
inode to the kernel, `forget` when the kernel drops it) and the (parent,
name) under which the inode was last seen. The metadata service opens files
by path only, so `open` uses that remembered name (and checks that it still
names the same inode).
"""

from __future__ import annotations

import dataclasses

from fs3.client.fuse import kernel as pyfuse3  # our FUSE protocol layer, pyfuse3's surface

from fs3.meta.types import ROOT_INODE_ID

__all__ = ["InodeTable", "InodeLocation", "fuse_inode", "fs3_inode_id"]

assert ROOT_INODE_ID == pyfuse3.ROOT_INODE, "fs3's root must be FUSE's root for the identity mapping"


def fuse_inode(inode_id: int) -> int:
    """The FUSE inode of an fs3 inode id."""
    return inode_id


def fs3_inode_id(inode: int) -> int:
    """The fs3 inode id of a FUSE inode."""
    return inode


@dataclasses.dataclass(slots=True)
class InodeLocation:
    parent_id: int
    name: bytes


@dataclasses.dataclass(slots=True)
class _Known:
    lookup_count: int = 0
    location: InodeLocation | None = None


class InodeTable:
    """Inodes the kernel knows, with their lookup counts and last-seen names."""

    def __init__(self) -> None:
        self._known: dict[int, _Known] = {ROOT_INODE_ID: _Known(lookup_count=1)}
        self._by_location: dict[tuple[int, bytes], int] = {}

    def __len__(self) -> int:
        return len(self._known)

    def _place(self, inode_id: int, known: _Known, parent_id: int, name: bytes) -> None:
        if inode_id == ROOT_INODE_ID:
            return
        self._clear_location(inode_id, known)
        previous = self._by_location.get((parent_id, name))
        if previous is not None and previous != inode_id:
            self._known[previous].location = None
        known.location = InodeLocation(parent_id, name)
        self._by_location[(parent_id, name)] = inode_id

    def _clear_location(self, inode_id: int, known: _Known) -> None:
        if known.location is not None:
            key = (known.location.parent_id, known.location.name)
            if self._by_location.get(key) == inode_id:
                del self._by_location[key]
            known.location = None

    def remember(self, inode_id: int, parent_id: int, name: bytes) -> None:
        """The kernel was handed `inode_id` as `name` in `parent_id`: one more lookup."""
        known = self._known.setdefault(inode_id, _Known())
        known.lookup_count += 1
        self._place(inode_id, known, parent_id, name)

    def moved(self, parent_id: int, name: bytes, new_parent_id: int, new_name: bytes) -> None:
        """A rename: whatever was `name` in `parent_id` is now `new_name` in `new_parent_id`."""
        self.unlinked(new_parent_id, new_name)
        inode_id = self._by_location.get((parent_id, name))
        if inode_id is not None:
            self._place(inode_id, self._known[inode_id], new_parent_id, new_name)

    def unlinked(self, parent_id: int, name: bytes) -> None:
        """`name` in `parent_id` is gone: it no longer locates any inode."""
        inode_id = self._by_location.get((parent_id, name))
        if inode_id is not None:
            self._clear_location(inode_id, self._known[inode_id])

    def inode_at(self, parent_id: int, name: bytes) -> int | None:
        """The inode last seen as `name` in `parent_id`, if the kernel still knows it."""
        return self._by_location.get((parent_id, name))

    def location(self, inode_id: int) -> InodeLocation | None:
        known = self._known.get(inode_id)
        return None if known is None else known.location

    def lookup_count(self, inode_id: int) -> int:
        known = self._known.get(inode_id)
        return 0 if known is None else known.lookup_count

    def forget(self, inode_id: int, count: int) -> None:
        """The kernel dropped `count` lookups of `inode_id`; at zero the entry goes."""
        known = self._known.get(inode_id)
        if known is None or inode_id == ROOT_INODE_ID:  # the root is never forgotten
            return
        known.lookup_count -= count
        if known.lookup_count <= 0 and inode_id != ROOT_INODE_ID:
            self._clear_location(inode_id, known)
            del self._known[inode_id]
