"""Goal: create makes files (O_EXCL, O_TRUNC, sessions), is idempotent by
request id, and every error leaves the store unchanged."""

import errno

from fs3.meta.flags import O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY
from fs3.meta.store.session import list_sessions
from fs3.kv.interface import run_transaction

from tests.meta.helpers import (
    ALICE, BOB, ROOT, async_test, expect_errno_unchanged, new_operator, path,
)


async def sessions_of(operator, inode_id):
    return await run_transaction(operator.test_engine, lambda txn: list_sessions(txn, inode_id))


@async_test
async def test_create_new_file_fields_and_session() -> None:
    operator = await new_operator()
    opened = await operator.create(ROOT, path("/f"), 0o640, O_CREAT | O_RDWR, client_id=42)
    inode = opened.inode
    assert inode.mode == 0o640 and inode.nlink == 1 and inode.length == 0
    assert inode.atime_ns == inode.mtime_ns == inode.ctime_ns == operator.test_clock.now_ns()
    sessions = await sessions_of(operator, inode.inode_id)
    assert [(s.session_id, s.client_id) for s in sessions] == [(opened.session_id, 42)]
    read_only = await operator.create(ROOT, path("/g"), 0o644, O_CREAT | O_RDONLY)
    assert read_only.session_id == 0
    assert await sessions_of(operator, read_only.inode.inode_id) == []


@async_test
async def test_create_existing_opens_or_fails_with_excl() -> None:
    operator = await new_operator()
    first = await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    await operator.close(ROOT, first.inode.inode_id, 0, first.session_id, wrote=True, length_hint=10)
    again = await operator.create(ROOT, path("/f"), 0o600, O_CREAT | O_WRONLY)
    assert again.inode.inode_id == first.inode.inode_id and again.inode.length == 10
    assert again.inode.mode == 0o644, "mode of an existing file is untouched"
    truncated = await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY | O_TRUNC)
    assert truncated.inode.length == 0
    await expect_errno_unchanged(operator, errno.EEXIST, operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_EXCL | O_WRONLY))


@async_test
async def test_create_errors_change_nothing() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/d"), 0o755)
    flags = O_CREAT | O_WRONLY
    for bad, code in [
        ("/d", errno.EISDIR), ("/d/", errno.EISDIR), ("/new/", errno.EISDIR), (".", errno.EISDIR),
        ("/d/..", errno.EISDIR), ("/", errno.EISDIR), ("/missing/f", errno.ENOENT),
        (b"", errno.ENOENT), (b"/f\x00", errno.EINVAL), (b"/" + b"x" * 256, errno.ENAMETOOLONG),
    ]:
        await expect_errno_unchanged(operator, code, operator.create(ROOT, path(bad), 0o644, flags))
    await expect_errno_unchanged(operator, errno.EEXIST, operator.create(ROOT, path("/d"), 0o644, flags | O_EXCL))
    await expect_errno_unchanged(operator, errno.ENOENT, operator.create(ROOT, path("f", parent=77777), 0o644, flags))


@async_test
async def test_create_permissions() -> None:
    operator = await new_operator(root_mode=0o755)
    flags = O_CREAT | O_WRONLY
    await expect_errno_unchanged(operator, errno.EACCES, operator.create(ALICE, path("/f"), 0o644, flags))
    await operator.mkdir(ROOT, path("/pub"), 0o777)
    mine = await operator.create(ALICE, path("/pub/f"), 0o400, flags)
    assert (mine.inode.uid, mine.inode.gid) == (1000, 1000)
    # Opening the existing read-only file for write is denied, even to its owner.
    await expect_errno_unchanged(operator, errno.EACCES, operator.create(ALICE, path("/pub/f"), 0o644, flags))
    await expect_errno_unchanged(operator, errno.EACCES, operator.create(BOB, path("/pub/f"), 0o644, O_CREAT | O_RDONLY))


@async_test
async def test_create_is_idempotent_by_request_id() -> None:
    operator = await new_operator()
    flags = O_CREAT | O_EXCL | O_WRONLY
    first = await operator.create(ROOT, path("/f"), 0o644, flags, client_id=5, request_id=b"req-1")
    retried = await operator.create(ROOT, path("/f"), 0o644, flags, client_id=5, request_id=b"req-1")
    assert retried == first
    # Another request or another client is a new create: EEXIST.
    await expect_errno_unchanged(operator, errno.EEXIST, operator.create(ROOT, path("/f"), 0o644, flags, client_id=5, request_id=b"req-2"))
    await expect_errno_unchanged(operator, errno.EEXIST, operator.create(ROOT, path("/f"), 0o644, flags, client_id=6, request_id=b"req-1"))


@async_test
async def test_create_follows_existing_symlink() -> None:
    operator = await new_operator()
    target = await operator.create(ROOT, path("/t"), 0o644, O_CREAT | O_WRONLY)
    await operator.symlink(ROOT, path("/l"), b"/t")
    opened = await operator.create(ROOT, path("/l"), 0o644, O_CREAT | O_WRONLY)
    assert opened.inode.inode_id == target.inode.inode_id
    await expect_errno_unchanged(operator, errno.EEXIST, operator.create(ROOT, path("/l"), 0o644, O_CREAT | O_EXCL | O_WRONLY))
