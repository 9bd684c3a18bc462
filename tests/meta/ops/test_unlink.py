"""Goal: unlink removes names, drops link counts, deletes inodes at zero
links with a GC record, and errs like Linux (incl. sticky directories)."""

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
