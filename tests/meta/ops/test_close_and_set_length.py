"""Goal: close settles length and times and removes the session; set_length
truncates (with permission) or only grows; unknown ids give ENOENT."""

import errno

from fs3.kv.interface import run_transaction
from fs3.meta.flags import O_CREAT, O_WRONLY
from fs3.meta.store.session import list_sessions

from tests.meta.helpers import ALICE, BOB, ROOT, async_test, expect_errno_unchanged, new_operator, path


@async_test
async def test_close_settles_length_and_removes_session() -> None:
    operator = await new_operator()
    opened = await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY, client_id=9)
    inode_id = opened.inode.inode_id
    operator.test_clock.advance(5)
    closed = await operator.close(ROOT, inode_id, 9, opened.session_id, wrote=True, length_hint=300)
    assert closed.length == 300 and closed.mtime_ns == closed.ctime_ns == operator.test_clock.now_ns()
    assert await run_transaction(operator.test_engine, lambda txn: list_sessions(txn, inode_id)) == []
    second = await operator.open(ROOT, path("/f"), O_WRONLY)
    shorter = await operator.close(ROOT, inode_id, 0, second.session_id, wrote=True, length_hint=100)
    assert shorter.length == 300, "close never shrinks"
    unchanged = await operator.close(ROOT, inode_id, 0, 0, wrote=False)
    assert unchanged.length == 300


@async_test
async def test_close_after_unlink_settles_the_orphan_and_clears_session() -> None:
    operator = await new_operator()
    opened = await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    await operator.unlink(ROOT, path("/f"))
    closed = await operator.close(ROOT, opened.inode.inode_id, 0, opened.session_id, wrote=True, length_hint=5)
    assert closed is not None and closed.nlink == 0 and closed.length == 5
    sessions = await run_transaction(operator.test_engine, lambda txn: list_sessions(txn, opened.inode.inode_id))
    assert sessions == []


@async_test
async def test_close_and_set_length_errors() -> None:
    operator = await new_operator()
    directory = await operator.mkdir(ROOT, path("/d"), 0o755)
    await expect_errno_unchanged(operator, errno.ENOENT, operator.close(ROOT, 424242, 0, 0))
    await expect_errno_unchanged(operator, errno.ENOENT, operator.close(ROOT, 0, 0, 0))
    await expect_errno_unchanged(operator, errno.EINVAL, operator.close(ROOT, directory.inode_id, 0, 0, wrote=True))
    await expect_errno_unchanged(operator, errno.ENOENT, operator.set_length(ROOT, 424242, 1))
    await expect_errno_unchanged(operator, errno.EISDIR, operator.set_length(ROOT, directory.inode_id, 1))
    await expect_errno_unchanged(operator, errno.ENOENT, operator.stat_inode(ROOT, 424242))
    await expect_errno_unchanged(operator, errno.ENOENT, operator.stat_inode(ROOT, 0))
    await expect_errno_unchanged(operator, errno.EINVAL, operator.set_length(ROOT, directory.inode_id, -1))


@async_test
async def test_set_length() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/pub"), 0o777)
    opened = await operator.create(ALICE, path("/pub/f"), 0o644, O_CREAT | O_WRONLY)
    inode_id = opened.inode.inode_id
    assert (await operator.set_length(ALICE, inode_id, 1000)).length == 1000
    assert (await operator.set_length(ALICE, inode_id, 10)).length == 10
    assert (await operator.set_length(BOB, inode_id, 5, only_grow=True)).length == 10
    assert (await operator.set_length(BOB, inode_id, 50, only_grow=True)).length == 50
    await expect_errno_unchanged(operator, errno.EACCES, operator.set_length(BOB, inode_id, 0))
    assert (await operator.stat_inode(BOB, inode_id)).length == 50


@async_test
async def test_a_storage_length_seen_before_a_truncate_is_not_applied_after_it():
    """An asynchronous release's close looks at storage, then a truncate commits, then the close
    commits: the old stored length must not come back (it is applied only at the ctime it was seen)."""
    from fs3.meta import SetAttributes
    from fs3.meta.types import StoredLength

    operator = await new_operator()
    created = await operator.create(ROOT, path("/f"), 0o644)
    inode = await operator.set_length(ROOT, created.inode.inode_id, 5000, only_grow=True)
    seen = StoredLength(5000, inode.ctime_ns)  # what the close observed on storage
    operator.test_clock.advance(1000)
    await operator.setattr(ROOT, path("/f"), SetAttributes(length=0))  # open(O_TRUNC) in between
    operator.test_clock.advance(1000)
    closed = await operator.close(ROOT, inode.inode_id, 0, created.session_id, wrote=True, stored=seen)
    assert closed.length == 0
    # observed at the current ctime, it applies (the writer's data is on storage)
    current = await operator.stat(ROOT, path("/f"))
    grown = await operator.set_length(ROOT, inode.inode_id, 0, only_grow=True,
                                      stored=StoredLength(7000, current.ctime_ns))
    assert grown.length == 7000
