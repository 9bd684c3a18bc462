"""Goal: unlink removes names, drops link counts, deletes inodes at zero
links with a GC record (keeping files open for writing as orphans until the
GC), and errs like Linux (incl. sticky directories)."""

import errno

from fs3.kv.interface import run_transaction
from fs3.meta.flags import O_CREAT, O_WRONLY
from fs3.meta.store.gc_queue import list_gc_records

from tests.meta.helpers import ALICE, BOB, ROOT, async_test, expect_errno, expect_errno_unchanged, names, new_operator, path


async def gc_records(operator):
    return await run_transaction(operator.test_engine, lambda txn: list_gc_records(txn))


@async_test
async def test_unlink_last_link_queues_gc() -> None:
    operator = await new_operator()
    opened = await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    await operator.close(ROOT, opened.inode.inode_id, 0, opened.session_id, wrote=True, length_hint=777)
    operator.test_clock.advance(3)
    await operator.unlink(ROOT, path("/f"))
    await expect_errno(errno.ENOENT, operator.stat(ROOT, path("/f")))
    await expect_errno(errno.ENOENT, operator.stat_inode(ROOT, opened.inode.inode_id))
    records = await gc_records(operator)
    assert [(r.inode_id, r.length, r.layout) for r in records] == [(opened.inode.inode_id, 777, opened.inode.layout)]
    root = await operator.stat(ROOT, path("/"))
    assert root.mtime_ns == operator.test_clock.now_ns()
    assert await names(operator, "/") == []


@async_test
async def test_unlink_hard_link_keeps_inode() -> None:
    operator = await new_operator()
    opened = await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    await operator.link(ROOT, path("/f"), path("/g"))
    await operator.unlink(ROOT, path("/f"))
    survivor = await operator.stat(ROOT, path("/g"))
    assert survivor.inode_id == opened.inode.inode_id and survivor.nlink == 1
    assert await gc_records(operator) == []


@async_test
async def test_unlink_symlink_removes_link_only() -> None:
    operator = await new_operator()
    await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    await operator.symlink(ROOT, path("/l"), b"/f")
    await operator.unlink(ROOT, path("/l"))
    assert await names(operator, "/") == [b"f"]
    assert await gc_records(operator) == []


@async_test
async def test_unlink_errors_change_nothing() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/d"), 0o755)
    await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    for bad, code in [
        ("/d", errno.EISDIR), ("/d/", errno.EISDIR), ("/f/", errno.ENOTDIR), ("/", errno.EISDIR),
        (".", errno.EISDIR), ("/d/..", errno.EISDIR), ("/none", errno.ENOENT), ("/f/x", errno.ENOTDIR),
        (b"", errno.ENOENT), (b"/\x00", errno.EINVAL), (b"/" + b"z" * 256, errno.ENAMETOOLONG),
    ]:
        await expect_errno_unchanged(operator, code, operator.unlink(ROOT, path(bad)))
    await expect_errno_unchanged(operator, errno.ENOENT, operator.unlink(ROOT, path("f", parent=99999)))


@async_test
async def test_unlink_permissions_and_sticky() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/ro"), 0o755)
    await operator.create(ROOT, path("/ro/f"), 0o666, O_CREAT | O_WRONLY)
    await expect_errno_unchanged(operator, errno.EACCES, operator.unlink(ALICE, path("/ro/f")))
    await operator.mkdir(ROOT, path("/tmp"), 0o1777)
    await operator.create(ALICE, path("/tmp/a"), 0o666, O_CREAT | O_WRONLY)
    await expect_errno_unchanged(operator, errno.EPERM, operator.unlink(BOB, path("/tmp/a")))
    await operator.unlink(ALICE, path("/tmp/a"))
    await operator.create(ALICE, path("/tmp/b"), 0o666, O_CREAT | O_WRONLY)
    await operator.unlink(ROOT, path("/tmp/b"))
    # ENOENT before EACCES, as the lookup comes first.
    await expect_errno_unchanged(operator, errno.ENOENT, operator.unlink(ALICE, path("/ro/none")))


@async_test
async def test_unlinked_file_open_for_writing_lives_on_by_id_until_gc() -> None:
    """POSIX: an unlinked file stays usable through its open descriptors. A file with a write
    session keeps its inode (nlink 0, no name) for stat, writes and close; the GC deletes it
    with its chunks once the last session is gone. rename over an open file does the same."""
    from fs3.meta.components.gc import ChunkGarbageCollector
    from tests.meta.components.test_gc import FakeRemover

    operator = await new_operator()
    opened = await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    inode_id = opened.inode.inode_id
    operator.test_clock.advance(3)
    await operator.unlink(ROOT, path("/f"))
    orphan = await operator.stat_inode(ROOT, inode_id)
    assert orphan.nlink == 0 and orphan.ctime_ns == operator.test_clock.now_ns()
    await expect_errno(errno.ENOENT, operator.stat(ROOT, path("/f")))
    assert (await operator.set_length(ROOT, inode_id, 100, only_grow=True)).length == 100
    assert [record.inode_id for record in await gc_records(operator)] == [inode_id]
    remover = FakeRemover()
    collector = ChunkGarbageCollector(operator.test_engine, remover, operator._config, owner_id=1,
                                      clock=operator.test_clock)
    assert await collector.run_once() == 0, "still open for writing"
    closed = await operator.close(ROOT, inode_id, 0, opened.session_id, wrote=True, length_hint=200)
    assert closed is not None and closed.nlink == 0 and closed.length == 200
    assert await collector.run_once() == 1 and remover.removed == [inode_id]
    await expect_errno(errno.ENOENT, operator.stat_inode(ROOT, inode_id))
    assert await gc_records(operator) == []

    replaced = await operator.create(ROOT, path("/old"), 0o644, O_CREAT | O_WRONLY)
    await operator.create(ROOT, path("/new"), 0o644, O_CREAT | O_WRONLY)
    await operator.rename(ROOT, path("/new"), path("/old"))
    assert (await operator.stat_inode(ROOT, replaced.inode.inode_id)).nlink == 0
    # without a write session the inode goes at once
    unopened = await operator.create(ROOT, path("/g"), 0o644, O_CREAT | O_WRONLY)
    await operator.close(ROOT, unopened.inode.inode_id, 0, unopened.session_id)
    await operator.unlink(ROOT, path("/g"))
    await expect_errno(errno.ENOENT, operator.stat_inode(ROOT, unopened.inode.inode_id))
