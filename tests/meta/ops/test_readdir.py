"""Goal: readdir pages entries in name order with an after_name cookie and
a `more` flag, optionally with inodes; errors for non-directories and no read permission."""

import errno

from fs3.meta import InodeType
from fs3.meta.flags import O_CREAT, O_WRONLY

from tests.meta.helpers import ALICE, ROOT, async_test, expect_errno_unchanged, names, new_operator, path


@async_test
async def test_paging_and_inodes() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/d"), 0o755)
    expected = sorted(f"n{index:03d}".encode() for index in range(25))
    for name in expected[::-1]:
        await operator.create(ROOT, path(b"/d/" + name), 0o644, O_CREAT | O_WRONLY)
    await operator.mkdir(ROOT, path("/d/sub"), 0o755)
    page = await operator.readdir(ROOT, path("/d"), limit=10, with_inodes=True)
    assert [e.name for e in page.entries] == expected[:10] and page.more
    assert [i.inode_id for i in page.inodes] == [e.inode_id for e in page.entries]
    assert all(e.inode_type == InodeType.FILE for e in page.entries)
    page = await operator.readdir(ROOT, path("/d"), after_name=expected[9], limit=16)
    assert [e.name for e in page.entries] == expected[10:] + [b"sub"] and not page.more
    assert page.inodes == ()
    assert await names(operator, "/d") == expected + [b"sub"]
    empty = await operator.readdir(ROOT, path("/d/sub"))
    assert empty.entries == () and not empty.more


@async_test
async def test_readdir_errors() -> None:
    operator = await new_operator()
    await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    await operator.mkdir(ROOT, path("/secret"), 0o711)
    await operator.symlink(ROOT, path("/l"), b"/secret")
    await expect_errno_unchanged(operator, errno.ENOTDIR, operator.readdir(ROOT, path("/f")))
    await expect_errno_unchanged(operator, errno.ENOENT, operator.readdir(ROOT, path("/none")))
    await expect_errno_unchanged(operator, errno.EACCES, operator.readdir(ALICE, path("/secret")))
    await expect_errno_unchanged(operator, errno.EACCES, operator.readdir(ALICE, path("/l")))
    assert (await operator.readdir(ROOT, path("/l"))).entries == ()
