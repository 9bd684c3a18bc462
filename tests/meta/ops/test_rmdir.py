"""Goal: rmdir removes empty directories and errs like Linux."""

import errno

from fs3.meta.flags import O_CREAT, O_WRONLY

from tests.meta.helpers import ALICE, BOB, ROOT, async_test, expect_errno, expect_errno_unchanged, names, new_operator, path


@async_test
async def test_rmdir_removes_empty_directory() -> None:
    operator = await new_operator()
    directory = await operator.mkdir(ROOT, path("/d"), 0o755)
    operator.test_clock.advance(9)
    await operator.rmdir(ROOT, path("/d/"))
    await expect_errno(errno.ENOENT, operator.stat_inode(ROOT, directory.inode_id))
    assert await names(operator, "/") == []
    assert (await operator.stat(ROOT, path("/"))).mtime_ns == operator.test_clock.now_ns()


@async_test
async def test_rmdir_errors_change_nothing() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/d/e"), 0o755, recursive=True)
    await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    for bad, code in [
        ("/d", errno.ENOTEMPTY), ("/f", errno.ENOTDIR), ("/f/", errno.ENOTDIR), ("/", errno.EBUSY),
        ("/d/e/.", errno.EINVAL), ("/d/e/..", errno.ENOTEMPTY), (".", errno.EINVAL), ("/none", errno.ENOENT),
        (b"", errno.ENOENT), (b"/e\x00", errno.EINVAL), (b"/" + b"q" * 300, errno.ENAMETOOLONG),
    ]:
        await expect_errno_unchanged(operator, code, operator.rmdir(ROOT, path(bad)))
    await expect_errno_unchanged(operator, errno.ENOENT, operator.rmdir(ROOT, path("e", parent=31337)))


@async_test
async def test_rmdir_permissions_and_sticky() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/ro"), 0o755)
    await operator.mkdir(ROOT, path("/ro/x"), 0o777)
    await expect_errno_unchanged(operator, errno.EACCES, operator.rmdir(ALICE, path("/ro/x")))
    await operator.mkdir(ROOT, path("/tmp"), 0o1777)
    await operator.mkdir(ALICE, path("/tmp/a"), 0o777)
    await expect_errno_unchanged(operator, errno.EPERM, operator.rmdir(BOB, path("/tmp/a")))
    await operator.rmdir(ALICE, path("/tmp/a"))
