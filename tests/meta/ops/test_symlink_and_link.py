"""Goal: symlink/readlink store and return targets; link adds names with
exact link counts; both err like Linux."""

import errno

from fs3.meta import InodeType
from fs3.meta.flags import O_CREAT, O_WRONLY

from tests.meta.helpers import ALICE, ROOT, async_test, expect_errno_unchanged, new_operator, path


@async_test
async def test_symlink_and_readlink() -> None:
    operator = await new_operator()
    link = await operator.symlink(ROOT, path("/l"), b"some/where")
    assert link.inode_type == InodeType.SYMLINK and link.length == len(b"some/where")
    assert await operator.readlink(ROOT, path("/l")) == b"some/where"
    await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    await expect_errno_unchanged(operator, errno.EINVAL, operator.readlink(ROOT, path("/f")))
    await expect_errno_unchanged(operator, errno.EEXIST, operator.symlink(ROOT, path("/l"), b"x"))
    await expect_errno_unchanged(operator, errno.EEXIST, operator.symlink(ROOT, path("/."), b"x"))
    await expect_errno_unchanged(operator, errno.ENOENT, operator.symlink(ROOT, path("/n"), b""))
    await expect_errno_unchanged(operator, errno.EINVAL, operator.symlink(ROOT, path("/n"), b"a\x00"))
    await expect_errno_unchanged(operator, errno.ENAMETOOLONG, operator.symlink(ROOT, path("/n"), b"a" * 4097))
    # a component longer than NAME_MAX may be stored (Linux does); following it is ENAMETOOLONG
    long_target = b"x/" + b"n" * 256
    assert (await operator.symlink(ROOT, path("/long"), long_target)).symlink_target == long_target
    assert await operator.readlink(ROOT, path("/long")) == long_target
    await expect_errno_unchanged(operator, errno.ENAMETOOLONG, operator.stat(ROOT, path("/long")))
    await expect_errno_unchanged(operator, errno.ENOENT, operator.symlink(ROOT, path("/n/"), b"x"))
    await expect_errno_unchanged(operator, errno.EACCES, operator.symlink(ALICE, path("/n"), b"x"))


@async_test
async def test_link_counts() -> None:
    operator = await new_operator()
    opened = await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    await operator.mkdir(ROOT, path("/d"), 0o755)
    linked = await operator.link(ROOT, path("/f"), path("/d/g"))
    assert linked.nlink == 2 and linked.inode_id == opened.inode.inode_id
    await operator.link(ROOT, path("/d/g"), path("/h"))
    assert (await operator.stat(ROOT, path("/f"))).nlink == 3
    await operator.rename(ROOT, path("/f"), path("/h"))  # same inode: nothing happens
    assert (await operator.stat(ROOT, path("/f"))).nlink == 3
    await operator.unlink(ROOT, path("/h"))
    assert (await operator.stat(ROOT, path("/f"))).nlink == 2


@async_test
async def test_link_errors_change_nothing() -> None:
    operator = await new_operator()
    await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    await operator.mkdir(ROOT, path("/d"), 0o755)
    for old, new, code in [
        ("/d", "/d2", errno.EPERM), ("/none", "/x", errno.ENOENT), ("/f", "/d", errno.EEXIST),
        ("/f", "/d/..", errno.EEXIST), ("/f", "/x/", errno.ENOENT), ("/f", "/none/x", errno.ENOENT),
        ("/f", b"/" + b"y" * 256, errno.ENAMETOOLONG),
    ]:
        await expect_errno_unchanged(operator, code, operator.link(ROOT, path(old), path(new)))
    await expect_errno_unchanged(operator, errno.EACCES, operator.link(ALICE, path("/f"), path("/d/g")))
