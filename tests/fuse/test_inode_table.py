"""The inode table's bookkeeping, without a mount."""

from __future__ import annotations

from fs3.client.fuse import kernel
from fs3.client.fuse.inode_table import InodeTable, fs3_inode_id, fuse_inode


def test_root_maps_to_fuse_root_and_survives_forget():
    table = InodeTable()
    assert fuse_inode(1) == kernel.ROOT_INODE and fs3_inode_id(kernel.ROOT_INODE) == 1
    table.forget(1, 5)
    assert table.lookup_count(1) >= 1


def test_lookup_counts_and_forget():
    table = InodeTable()
    table.remember(10, 1, b"a")
    table.remember(10, 1, b"a")
    assert table.lookup_count(10) == 2
    table.forget(10, 1)
    assert table.location(10).name == b"a"
    table.forget(10, 1)
    assert table.lookup_count(10) == 0 and table.location(10) is None


def test_rename_moves_the_location_and_replaces_the_target():
    table = InodeTable()
    table.remember(10, 1, b"a")
    table.remember(11, 2, b"b")
    table.moved(1, b"a", 2, b"b")
    assert (table.location(10).parent_id, table.location(10).name) == (2, b"b")
    assert table.location(11) is None  # the replaced inode no longer has that name


def test_unlink_clears_only_that_name():
    table = InodeTable()
    table.remember(10, 1, b"a")
    table.remember(11, 1, b"b")
    table.unlinked(1, b"a")
    assert table.location(10) is None and table.location(11).name == b"b"
