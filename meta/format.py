"""Formatting a namespace: create the root directory once."""

from __future__ import annotations

from fs3.kv.interface import KvEngine, Transaction, run_transaction
from fs3.meta.clock import Clock, WallClock
from fs3.meta.store.inode import load_inode, store_inode
from fs3.meta.types import ROOT_INODE_ID, Inode, InodeType, Layout

__all__ = ["format_namespace"]


async def format_namespace(
    engine: KvEngine, default_layout: Layout, *, root_mode: int = 0o755, clock: Clock | None = None
) -> Inode:
    """Create the root directory (owned by root, its own parent) unless it exists.

    Idempotent: a second call returns the existing root unchanged.

    Args:
        default_layout: the root's layout, inherited by everything created later.
        root_mode: the root's permission bits.
        clock: time source of the root's timestamps.
    """
    now_ns = (clock or WallClock()).now_ns()
    root = Inode(
        inode_id=ROOT_INODE_ID,
        inode_type=InodeType.DIRECTORY,
        mode=root_mode & 0o7777,
        uid=0,
        gid=0,
        nlink=2,  # '.' and its own '..': the root has no entry in a parent
        atime_ns=now_ns,
        mtime_ns=now_ns,
        ctime_ns=now_ns,
        layout=default_layout,
        parent=ROOT_INODE_ID,
    )

    async def body(txn: Transaction) -> Inode:
        existing = await load_inode(txn, ROOT_INODE_ID)
        if existing is not None:
            assert existing.is_directory, "inode 1 is not a directory"
            return existing
        store_inode(txn, root)
        return root

    return await run_transaction(engine, body)
