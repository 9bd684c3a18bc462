"""Goal: readdir pages entries in name order with an after_name cookie and
a `more` flag, optionally with inodes; errors for non-directories and no read permission."""

import errno

from fs3.meta import InodeType, SetAttributes
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


@async_test
async def test_readdir_by_inode_id_needs_read_permission_only() -> None:
    """An open directory handle lists by inode id: a directory with r but no x lists
    (opendir on Linux needs search permission on the way, not on the directory itself)."""
    operator = await new_operator(root_mode=0o777)
    directory = await operator.mkdir(ALICE, path("/d"), 0o755)
    await operator.create(ALICE, path("/d/f"), 0o644, O_CREAT | O_WRONLY)
    await operator.setattr(ALICE, path("/d"), SetAttributes(mode=0o400))
    listed = await operator.readdir(ALICE, directory.inode_id)
    assert [entry.name for entry in listed.entries] == [b"f"]
    assert [entry.name for entry in (await operator.readdir(ALICE, path("/d"))).entries] == [b"f"]
    # "." inside the directory is a lookup in it: that needs search permission
    await expect_errno_unchanged(operator, errno.EACCES, operator.readdir(ALICE, path(".", parent=directory.inode_id)))
    await operator.setattr(ALICE, path("/d"), SetAttributes(mode=0o300))
    await expect_errno_unchanged(operator, errno.EACCES, operator.readdir(ALICE, directory.inode_id))
    file = await operator.stat(ROOT, path("/d/f"))
    await expect_errno_unchanged(operator, errno.ENOTDIR, operator.readdir(ROOT, file.inode_id))
    await expect_errno_unchanged(operator, errno.ENOENT, operator.readdir(ROOT, 999_999))
