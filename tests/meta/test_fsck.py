"""fsck against stores: a namespace built by real operations is clean; each kind of damage,
made by writing the KV store directly, is reported by its kind (so the checker can fail)."""

from __future__ import annotations

import dataclasses
import errno
import stat

from fs3.kv.interface import run_transaction
from fs3.meta.fsck import check_namespace
from fs3.meta.store import keys
from fs3.meta.store.dir_entry import encode_dir_entry_value
from fs3.meta.store.gc_queue import GcRecord, store_gc_record
from fs3.meta.store.inode import load_inode, store_inode
from fs3.meta.types import ROOT_INODE_ID, DirEntry, InodeType
from tests.meta.helpers import ALICE, ROOT, async_test, new_operator, path, raises_errno


async def _namespace():
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/a"), 0o755)
    await operator.mkdir(ROOT, path("/a/b"), 0o755)
    created = await operator.create(ROOT, path("/a/f"), 0o644)
    await operator.link(ROOT, path("/a/f"), path("/a/b/g"))
    await operator.symlink(ROOT, path("/s"), b"/a/f")
    await operator.setxattr(ROOT, path("/a/f"), b"user.k", b"v", 0)
    gone = await operator.create(ROOT, path("/gone"), 0o644)  # open for writing (a session)
    await operator.unlink(ROOT, path("/gone"))  # queued for GC, kept while its writer has it open
    operator.test_gone = gone  # type: ignore[attr-defined]
    return operator, created.inode


async def _check(operator, **bounds):
    async def body(txn):
        return await check_namespace(txn, inodes_max=bounds.get("inodes_max", 1000))

    return await run_transaction(operator.test_engine, body)


async def _change(operator, body) -> None:
    await run_transaction(operator.test_engine, body)


@async_test
async def test_a_namespace_made_by_operations_is_clean():
    operator, _file = await _namespace()
    report = await _check(operator)
    assert report.clean, report.problems
    assert (report.inodes, report.directories, report.files, report.symlinks) == (6, 3, 2, 1)
    assert (report.entries, report.gc_queued, report.unlinked_open) == (5, 1, 1)
    gone = operator.test_gone
    await operator.close(ROOT, gone.inode.inode_id, 0, gone.session_id)  # the last writer closes
    assert (await operator.fsck(ROOT)).clean  # the inode waits for the GC, which deletes it with its chunks


@async_test
async def test_each_kind_of_damage_is_reported():
    operator, file = await _namespace()
    directory_b = await operator.stat(ROOT, path("/a/b"))
    directory_a = await operator.stat(ROOT, path("/a"))

    async def damage(txn):
        # a file's link count off by one
        inode = await load_inode(txn, file.inode_id)
        store_inode(txn, dataclasses.replace(inode, nlink=3))
        # an entry pointing nowhere
        txn.set(keys.dir_entry_key(ROOT_INODE_ID, b"dangling"), encode_dir_entry_value(DirEntry(b"dangling", 99999, InodeType.FILE)))
        # a directory loop: a's parent field says b, b's entry is in a
        store_inode(txn, dataclasses.replace(directory_a, parent=directory_b.inode_id))
        # xattrs and a GC record of a live inode
        txn.set(keys.xattr_key(424242, b"user.x"), b"1")
        store_gc_record(txn, GcRecord(file.inode_id, 0, None, 1))

    await _change(operator, damage)
    kinds = {problem.kind for problem in (await _check(operator)).problems}
    assert {"nlink", "dangling-entry", "parent-field", "cycle", "stray-xattrs", "live-and-queued"} <= kinds, kinds


@async_test
async def test_unreachable_inodes_are_reported():
    operator, _file = await _namespace()
    directory_a = await operator.stat(ROOT, path("/a"))

    async def cut(txn):
        txn.clear(keys.dir_entry_key(ROOT_INODE_ID, b"a"))

    await _change(operator, cut)
    report = await _check(operator)
    unreachable = {problem.inode_id for problem in report.problems if problem.kind == "unreachable"}
    assert directory_a.inode_id in unreachable and len(unreachable) == 3  # a, a/b, a/f (+ its link b/g)
    assert any(problem.kind == "directory-links" and problem.inode_id == directory_a.inode_id
               for problem in report.problems)


@async_test
async def test_bounds_and_permission():
    operator, _file = await _namespace()
    with raises_errno(errno.EFBIG):
        await _check(operator, inodes_max=3)
    with raises_errno(errno.EPERM):
        await operator.fsck(ALICE)
    with raises_errno(errno.EPERM):
        await operator.dump_inodes(ALICE, None, 10)


@async_test
async def test_inode_pages_states_and_gc_queue():
    operator, file = await _namespace()
    seen, after = [], None
    while True:
        page = await operator.dump_inodes(ROOT, after, 2)
        seen += [inode.inode_id for inode in page.inodes]
        if not page.more:
            break
        after = page.inodes[-1].inode_id
    assert len(seen) == len(set(seen)) == 6 and ROOT_INODE_ID in seen  # incl. the unlinked open file
    closed = await operator.mknod(ROOT, path("/closed"), stat.S_IFREG | 0o644)  # no write session
    await operator.unlink(ROOT, path("/closed"))
    records, more = await operator.list_gc_queue(ROOT, None, 10)
    assert {record.inode_id for record in records} == {operator.test_gone.inode.inode_id, closed.inode_id}
    states = await operator.check_inodes(ROOT, [file.inode_id, closed.inode_id, operator.test_gone.inode.inode_id,
                                                777777])
    assert [state.name for state in states] == ["LIVE", "GC_QUEUED", "LIVE", "MISSING"]
    with raises_errno(errno.EINVAL):
        await operator.check_inodes(ROOT, list(range(1, operator._config.inspect_page_max + 2)))
