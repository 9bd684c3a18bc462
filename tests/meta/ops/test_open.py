"""Goal: open returns the inode with layout, checks permissions by flags,
refuses writes on directories, truncates with O_TRUNC, records write sessions."""

import errno

from fs3.meta.flags import O_CREAT, O_DIRECTORY, O_NOFOLLOW, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY

from tests.meta.helpers import ALICE, BOB, EVE, ROOT, async_test, expect_errno_unchanged, new_operator, path


@async_test
async def test_open_modes_and_truncate() -> None:
    operator = await new_operator()
    created = await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    await operator.close(ROOT, created.inode.inode_id, 0, created.session_id, wrote=True, length_hint=4096)
    read = await operator.open(ROOT, path("/f"), O_RDONLY)
    assert read.session_id == 0 and read.inode.length == 4096 and read.inode.layout is not None
    write = await operator.open(ROOT, path("/f"), O_RDWR, client_id=3)
    assert write.session_id != 0 and write.inode.length == 4096
    operator.test_clock.advance(10)
    truncated = await operator.open(ROOT, path("/f"), O_WRONLY | O_TRUNC)
    assert truncated.inode.length == 0
    assert truncated.inode.mtime_ns == operator.test_clock.now_ns()
    assert (await operator.stat(ROOT, path("/f"))).length == 0


@async_test
async def test_open_errors_change_nothing() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/d"), 0o755)
    await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    await operator.symlink(ROOT, path("/l"), b"/f")
    assert (await operator.open(ROOT, path("/d"), O_RDONLY)).inode.is_directory
    for bad, flags, code in [
        ("/d", O_WRONLY, errno.EISDIR), ("/d", O_RDWR, errno.EISDIR), ("/d", O_RDONLY | O_TRUNC, errno.EISDIR),
        ("/missing", O_RDONLY, errno.ENOENT), ("/l", O_RDONLY | O_NOFOLLOW, errno.ELOOP),
        ("/f", O_RDONLY | O_DIRECTORY, errno.ENOTDIR), ("/f", 3, errno.EINVAL),
    ]:
        await expect_errno_unchanged(operator, code, operator.open(ROOT, path(bad), flags))


@async_test
async def test_open_permissions_by_flags() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/pub"), 0o777)
    await operator.create(ALICE, path("/pub/f"), 0o640, O_CREAT | O_WRONLY)
    # BOB is in group 1000: read only; EVE: nothing.
    assert (await operator.open(BOB, path("/pub/f"), O_RDONLY)).session_id == 0
    await expect_errno_unchanged(operator, errno.EACCES, operator.open(BOB, path("/pub/f"), O_WRONLY))
    await expect_errno_unchanged(operator, errno.EACCES, operator.open(BOB, path("/pub/f"), O_RDONLY | O_TRUNC))
    await expect_errno_unchanged(operator, errno.EACCES, operator.open(EVE, path("/pub/f"), O_RDONLY))
    assert (await operator.open(ALICE, path("/pub/f"), O_RDWR)).session_id != 0
    assert (await operator.open(ROOT, path("/pub/f"), O_RDWR)).session_id != 0
