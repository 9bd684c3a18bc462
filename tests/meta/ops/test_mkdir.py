"""Goal: mkdir creates directories with inherited layout and times, mkdir -p
creates the missing chain, and every error leaves the store unchanged."""

import errno

from fs3.meta import ROOT_INODE_ID, InodeType, Layout
from fs3.meta.flags import O_CREAT, O_WRONLY

from tests.meta.helpers import (
    ALICE, ROOT, async_test, expect_errno_unchanged, names, new_operator, path,
)


@async_test
async def test_mkdir_sets_fields_and_touches_parent() -> None:
    operator = await new_operator()
    clock = operator.test_clock
    clock.advance(1000)
    created = await operator.mkdir(ROOT, path("/d"), 0o7750)
    assert created.inode_type == InodeType.DIRECTORY
    assert created.mode == 0o7750
    assert created.parent == ROOT_INODE_ID
    assert created.nlink == 2
    assert created.atime_ns == created.mtime_ns == created.ctime_ns == clock.now_ns()
    assert created.layout == operator._config.default_layout
    root = await operator.stat(ROOT, path("/"))
    assert root.mtime_ns == root.ctime_ns == clock.now_ns()
    assert await names(operator, "/") == [b"d"]


@async_test
async def test_mkdir_errors_change_nothing() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/d"), 0o755)
    await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    for bad, code in [
        ("/d", errno.EEXIST), ("/f", errno.EEXIST), ("/", errno.EEXIST), ("/d/.", errno.EEXIST),
        ("/d/..", errno.EEXIST), ("/missing/x", errno.ENOENT), ("/f/x", errno.ENOTDIR),
        (b"/d/" + b"n" * 256, errno.ENAMETOOLONG), (b"", errno.ENOENT), (b"/a\x00", errno.EINVAL),
    ]:
        await expect_errno_unchanged(operator, code, operator.mkdir(ROOT, path(bad), 0o755))
    await expect_errno_unchanged(operator, errno.EINVAL, operator.mkdir(ROOT, path("/m"), 0o10000))
    await expect_errno_unchanged(operator, errno.ENOENT, operator.mkdir(ROOT, path("x", parent=123456), 0o755))


@async_test
async def test_mkdir_needs_write_and_search_on_parent() -> None:
    operator = await new_operator(root_mode=0o755)
    await expect_errno_unchanged(operator, errno.EACCES, operator.mkdir(ALICE, path("/d"), 0o755))
    await operator.mkdir(ROOT, path("/open"), 0o777)
    made = await operator.mkdir(ALICE, path("/open/d"), 0o755)
    assert (made.uid, made.gid) == (ALICE.uid, ALICE.gid)
    # EEXIST wins over EACCES, as on Linux.
    await expect_errno_unchanged(operator, errno.EEXIST, operator.mkdir(ALICE, path("/open"), 0o755))


@async_test
async def test_setgid_directory_passes_group_and_bit() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/shared"), 0o2777)
    child = await operator.mkdir(ALICE, path("/shared/c"), 0o755)
    assert child.gid == 0
    assert child.mode & 0o2000


@async_test
async def test_recursive_mkdir() -> None:
    operator = await new_operator()
    leaf = await operator.mkdir(ROOT, path("/a/b/c"), 0o755, recursive=True)
    assert (await operator.stat(ROOT, path("/a/b/c"))).inode_id == leaf.inode_id
    again = await operator.mkdir(ROOT, path("/a/b/c/"), 0o755, recursive=True)
    assert again.inode_id == leaf.inode_id
    await operator.symlink(ROOT, path("/link"), b"/a/b")
    deeper = await operator.mkdir(ROOT, path("/link/c/d"), 0o755, recursive=True)
    assert (await operator.stat(ROOT, path("/a/b/c/d"))).inode_id == deeper.inode_id
    await operator.create(ROOT, path("/a/f"), 0o644, O_CREAT | O_WRONLY)
    await expect_errno_unchanged(operator, errno.EEXIST, operator.mkdir(ROOT, path("/a/f"), 0o755, recursive=True))
    await expect_errno_unchanged(operator, errno.ENOTDIR, operator.mkdir(ROOT, path("/a/f/x"), 0o755, recursive=True))
    assert (await operator.mkdir(ROOT, path("/"), 0o755, recursive=True)).inode_id == ROOT_INODE_ID


@async_test
async def test_directories_and_files_inherit_layout() -> None:
    layout = Layout(chain_table_id=3, chain_table_version=2, chunk_size=4 << 20, stripe_size=8)
    from fs3.meta import MetaConfig

    operator = await new_operator(config=MetaConfig(default_layout=layout, chain_table_chains=16))
    directory = await operator.mkdir(ROOT, path("/d"), 0o755)
    assert directory.layout == layout
    first_chains = set()
    for index in range(20):
        opened = await operator.create(ROOT, path(f"/d/f{index}"), 0o644, O_CREAT | O_WRONLY)
        file_layout = opened.inode.layout
        assert (file_layout.chain_table_id, file_layout.chunk_size, file_layout.stripe_size) == (3, 4 << 20, 8)
        assert 0 <= file_layout.first_chain_index < 16
        first_chains.add(file_layout.first_chain_index)
    assert len(first_chains) > 3, "files should start on different chains"


@async_test
async def test_directory_nlink_counts_subdirectories() -> None:
    """A directory's nlink is 2 + its subdirectories, through mkdir, rmdir, rename, exchange and the trash."""
    from fs3.meta.flags import RENAME_EXCHANGE

    operator = await new_operator()

    async def nlink(text: str) -> int:
        return (await operator.stat(ROOT, path(text))).nlink

    assert await nlink("/") == 2
    await operator.mkdir(ROOT, path("/a"), 0o755)
    await operator.mkdir(ROOT, path("/b"), 0o755)
    await operator.mkdir(ROOT, path("/a/x/y"), 0o755, recursive=True)
    await operator.create(ROOT, path("/a/f"), 0o644, O_CREAT | O_WRONLY)  # files do not count
    assert (await nlink("/"), await nlink("/a"), await nlink("/a/x"), await nlink("/a/x/y")) == (4, 3, 3, 2)
    await operator.rename(ROOT, path("/a/x"), path("/b/x"))  # across parents
    assert (await nlink("/a"), await nlink("/b")) == (2, 3)
    await operator.rename(ROOT, path("/b/x"), path("/b/z"))  # within one parent
    assert await nlink("/b") == 3
    await operator.mkdir(ROOT, path("/a/empty"), 0o755)
    await operator.rename(ROOT, path("/b/z"), path("/a/empty"))  # replaces an empty directory
    assert (await nlink("/a"), await nlink("/b")) == (3, 2)
    await operator.rename(ROOT, path("/a/empty"), path("/b/f2"))
    await operator.create(ROOT, path("/a/g"), 0o644, O_CREAT | O_WRONLY)
    await operator.rename(ROOT, path("/b/f2"), path("/a/g"), RENAME_EXCHANGE)  # a directory and a file swap
    assert (await nlink("/a"), await nlink("/b")) == (3, 2)
    listed = await operator.readdir(ROOT, path("/"), with_inodes=True)
    assert {entry.name: inode.nlink for entry, inode in zip(listed.entries, listed.inodes)} == {b"a": 3, b"b": 2}
    await operator.remove_tree_to_trash(ROOT, path("/a/g"), 3600)
    assert await nlink("/a") == 2 and await nlink("/trash/0") == 3 and await nlink("/") == 5
    await operator.unlink(ROOT, path("/b/f2"))
    await operator.rmdir(ROOT, path("/b"))
    assert await nlink("/") == 4
