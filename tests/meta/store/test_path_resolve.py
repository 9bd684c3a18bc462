"""Goal: path resolution follows symlinks, honours '.'/'..', limits symlink
depth (ELOOP), reports ENOTDIR/ENOENT/EACCES, and resolves relative to a parent inode.

Method: build small trees through the operator and stat paths.
"""

import errno

from fs3.meta import ROOT_INODE_ID, MetaConfig
from fs3.meta.flags import O_CREAT, O_WRONLY

from tests.meta.helpers import ALICE, ROOT, async_test, expect_errno, new_operator, path


@async_test
async def test_dots_and_absolute_paths() -> None:
    operator = await new_operator()
    a = await operator.mkdir(ROOT, path("/a"), 0o755)
    b = await operator.mkdir(ROOT, path("/a/b"), 0o755)
    assert (await operator.stat(ROOT, path("/a/./b/.."))).inode_id == a.inode_id
    assert (await operator.stat(ROOT, path("/.."))).inode_id == ROOT_INODE_ID
    assert (await operator.stat(ROOT, path("/"))).inode_id == ROOT_INODE_ID
    assert (await operator.stat(ROOT, path("//a//b//"))).inode_id == b.inode_id
    assert (await operator.stat(ROOT, path("b", parent=a.inode_id))).inode_id == b.inode_id
    assert (await operator.stat(ROOT, path("/a", parent=b.inode_id))).inode_id == a.inode_id
    assert (await operator.stat(ROOT, path("..", parent=b.inode_id))).inode_id == a.inode_id
    assert (await operator.stat(ROOT, path(".", parent=0))).inode_id == ROOT_INODE_ID


@async_test
async def test_symlinks_in_the_middle_and_at_the_end() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/a/b"), 0o755, recursive=True)
    file = await operator.create(ROOT, path("/a/b/f"), 0o644, O_CREAT | O_WRONLY)
    await operator.symlink(ROOT, path("/abs"), b"/a/b")
    await operator.symlink(ROOT, path("/a/rel"), b"b/f")
    await operator.symlink(ROOT, path("/a/b/up"), b"..")
    assert (await operator.stat(ROOT, path("/abs/f"))).inode_id == file.inode.inode_id
    assert (await operator.stat(ROOT, path("/a/rel"))).inode_id == file.inode.inode_id
    link = await operator.stat(ROOT, path("/a/rel"), follow_last_symlink=False)
    assert link.is_symlink
    assert (await operator.stat(ROOT, path("/abs/up/b/up/rel"))).inode_id == file.inode.inode_id
    # A trailing slash forces following and demands a directory.
    await expect_errno(errno.ENOTDIR, operator.stat(ROOT, path("/a/rel/"), follow_last_symlink=False))
    assert (await operator.stat(ROOT, path("/abs/"), follow_last_symlink=False)).is_directory


@async_test
async def test_symlink_loops_give_eloop() -> None:
    operator = await new_operator(config=MetaConfig(symlink_follow_max=8))
    await operator.symlink(ROOT, path("/x"), b"y")
    await operator.symlink(ROOT, path("/y"), b"x")
    await expect_errno(errno.ELOOP, operator.stat(ROOT, path("/x")))
    await expect_errno(errno.ELOOP, operator.stat(ROOT, path("/x/z")))
    assert (await operator.stat(ROOT, path("/x"), follow_last_symlink=False)).is_symlink
    # A chain exactly at the limit still resolves.
    await operator.mkdir(ROOT, path("/d"), 0o755)
    previous = b"/d"
    for index in range(8):
        name = f"/c{index}".encode()
        await operator.symlink(ROOT, path(name), previous)
        previous = name
    assert (await operator.stat(ROOT, path("/c7"))).is_directory
    await operator.symlink(ROOT, path("/c8"), b"/c7")
    await expect_errno(errno.ELOOP, operator.stat(ROOT, path("/c8")))


@async_test
async def test_file_as_directory_and_missing_components() -> None:
    operator = await new_operator()
    opened = await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    await expect_errno(errno.ENOTDIR, operator.stat(ROOT, path("/f/x")))
    await expect_errno(errno.ENOTDIR, operator.stat(ROOT, path("/f/")))
    await expect_errno(errno.ENOTDIR, operator.stat(ROOT, path("x", parent=opened.inode.inode_id)))
    await expect_errno(errno.ENOENT, operator.stat(ROOT, path("/missing/x")))
    await expect_errno(errno.ENOENT, operator.stat(ROOT, path("x", parent=999_999)))
    await operator.symlink(ROOT, path("/dangling"), b"/nowhere")
    await expect_errno(errno.ENOENT, operator.stat(ROOT, path("/dangling")))


@async_test
async def test_search_permission_on_each_directory() -> None:
    operator = await new_operator(root_mode=0o755)
    await operator.mkdir(ROOT, path("/closed"), 0o700)
    await operator.mkdir(ROOT, path("/closed/inner"), 0o777)
    await operator.mkdir(ROOT, path("/readonly"), 0o744)
    await operator.mkdir(ROOT, path("/readonly/x"), 0o755)
    await expect_errno(errno.EACCES, operator.stat(ALICE, path("/closed/inner")))
    await expect_errno(errno.EACCES, operator.stat(ALICE, path("/readonly/x")))
    # The directory itself can be stat'ed: only its parent is searched.
    assert (await operator.stat(ALICE, path("/closed"))).is_directory
    # Root passes.
    assert (await operator.stat(ROOT, path("/closed/inner"))).is_directory


@async_test
async def test_path_limits() -> None:
    operator = await new_operator()
    await expect_errno(errno.ENAMETOOLONG, operator.stat(ROOT, path(b"/" + b"a" * 256)))
    await expect_errno(errno.ENAMETOOLONG, operator.stat(ROOT, path(b"/" + b"a/" * 2100)))
    await expect_errno(errno.EINVAL, operator.stat(ROOT, path(b"/a\x00b")))
    await expect_errno(errno.ENOENT, operator.stat(ROOT, path(b"")))
    await expect_errno(errno.ENOENT, operator.stat(ROOT, path(b"/" + b"a" * 255)))
