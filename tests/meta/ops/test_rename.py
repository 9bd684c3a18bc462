"""Goal: rename is atomic and follows Linux: moves across directories,
replaces files and empty directories, refuses loops, honours NOREPLACE and
EXCHANGE, does nothing onto the same inode, and a failure changes nothing."""

import errno

from fs3.kv.interface import run_transaction
from fs3.meta import ROOT_INODE_ID
from fs3.meta.flags import O_CREAT, O_WRONLY, RENAME_EXCHANGE, RENAME_NOREPLACE
from fs3.meta.store.gc_queue import list_gc_records

from tests.meta.helpers import (
    ALICE, BOB, ROOT, async_test, expect_errno, expect_errno_unchanged, names, new_operator, path,
)


async def make_file(operator, name, user=ROOT, mode=0o644):
    return (await operator.create(user, path(name), mode, O_CREAT | O_WRONLY)).inode


@async_test
async def test_rename_file_within_and_across_directories() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/a"), 0o755)
    file = await make_file(operator, "/f")
    operator.test_clock.advance(11)
    moved = await operator.rename(ROOT, path("/f"), path("/g"))
    assert moved.inode_id == file.inode_id and moved.ctime_ns == operator.test_clock.now_ns()
    await operator.rename(ROOT, path("/g"), path("/a/h"))
    assert await names(operator, "/") == [b"a"]
    assert await names(operator, "/a") == [b"h"]
    assert (await operator.stat(ROOT, path("/a"))).mtime_ns == operator.test_clock.now_ns()


@async_test
async def test_rename_directory_updates_parent_and_dotdot() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/a/b"), 0o755, recursive=True)
    c = await operator.mkdir(ROOT, path("/c"), 0o755)
    moved = await operator.rename(ROOT, path("/c"), path("/a/b/c"))
    assert moved.parent == (await operator.stat(ROOT, path("/a/b"))).inode_id
    assert (await operator.stat(ROOT, path("/a/b/c/.."))).inode_id == moved.parent
    assert (await operator.stat_inode(ROOT, c.inode_id)).parent == moved.parent


@async_test
async def test_rename_replaces_file_and_queues_gc() -> None:
    operator = await new_operator()
    src = await make_file(operator, "/src")
    victim = await make_file(operator, "/dst")
    await operator.rename(ROOT, path("/src"), path("/dst"))
    assert (await operator.stat(ROOT, path("/dst"))).inode_id == src.inode_id
    # its create's write session is still open: an orphan (nlink 0) until the GC
    assert (await operator.stat_inode(ROOT, victim.inode_id)).nlink == 0
    records = await run_transaction(operator.test_engine, lambda txn: list_gc_records(txn))
    assert [r.inode_id for r in records] == [victim.inode_id]


@async_test
async def test_rename_replaces_empty_directory() -> None:
    operator = await new_operator()
    src = await operator.mkdir(ROOT, path("/src"), 0o755)
    victim = await operator.mkdir(ROOT, path("/dst"), 0o755)
    await operator.rename(ROOT, path("/src"), path("/dst"))
    assert (await operator.stat(ROOT, path("/dst"))).inode_id == src.inode_id
    await expect_errno(errno.ENOENT, operator.stat_inode(ROOT, victim.inode_id))


@async_test
async def test_rename_errors_change_nothing() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/a/b/c"), 0o755, recursive=True)
    await operator.mkdir(ROOT, path("/empty"), 0o755)
    await make_file(operator, "/f")
    await make_file(operator, "/a/g")
    cases = [
        ("/none", "/x", 0, errno.ENOENT),
        ("/f", "/none/x", 0, errno.ENOENT),
        ("/a", "/f", 0, errno.ENOTDIR),
        ("/f", "/empty", 0, errno.EISDIR),
        ("/empty", "/a", 0, errno.ENOTEMPTY),
        ("/a", "/a/b/x", 0, errno.EINVAL),
        ("/a", "/a/b/c/x", 0, errno.EINVAL),
        ("/a/b/c", "/a", 0, errno.ENOTEMPTY),
        ("/a/b", "/a/b/x", 0, errno.EINVAL),
        ("/", "/x", 0, errno.EBUSY),
        ("/a/.", "/x", 0, errno.EBUSY),
        ("/a/..", "/x", 0, errno.EBUSY),
        ("/f", "/a/.", 0, errno.EBUSY),
        ("/f", "/a/..", RENAME_NOREPLACE, errno.EEXIST),
        ("/f", "/a/g", RENAME_NOREPLACE, errno.EEXIST),
        ("/f", "/f", RENAME_NOREPLACE, errno.EEXIST),
        ("/f", "/nope", RENAME_EXCHANGE, errno.ENOENT),
        ("/f", "/a/g", RENAME_EXCHANGE | RENAME_NOREPLACE, errno.EINVAL),
        ("/f", "/a/g", 4, errno.EINVAL),
        ("/f/", "/x", 0, errno.ENOTDIR),
        ("/f", "/x/", 0, errno.ENOTDIR),
        ("/a", "/a/b/c", RENAME_EXCHANGE, errno.EINVAL),
        ("/a/b/c", "/a", RENAME_EXCHANGE, errno.EINVAL),
        ("", "/x", 0, errno.ENOENT),
        ("/f", "", 0, errno.ENOENT),
        (b"/f\x00", "/x", 0, errno.EINVAL),
        ("/f", b"/" + b"x" * 256, 0, errno.ENAMETOOLONG),
    ]
    for src, dst, flags, code in cases:
        await expect_errno_unchanged(operator, code, operator.rename(ROOT, path(src), path(dst), flags))
    await expect_errno_unchanged(operator, errno.ENOENT, operator.rename(ROOT, path("f", parent=55555), path("/x")))


@async_test
async def test_rename_onto_itself_is_a_no_op() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/d"), 0o755)
    await make_file(operator, "/f")
    engine = operator.test_engine
    from tests.meta.helpers import dump_kv

    before = await dump_kv(engine)
    await operator.rename(ROOT, path("/f"), path("/f"))
    await operator.rename(ROOT, path("/d"), path("/d/"))
    assert await dump_kv(engine) == before


@async_test
async def test_rename_noreplace_and_exchange() -> None:
    operator = await new_operator()
    file = await make_file(operator, "/f")
    await operator.rename(ROOT, path("/f"), path("/g"), RENAME_NOREPLACE)
    directory = await operator.mkdir(ROOT, path("/a/b"), 0o755, recursive=True)
    await operator.rename(ROOT, path("/g"), path("/a/b"), RENAME_EXCHANGE)
    assert (await operator.stat(ROOT, path("/g"))).inode_id == directory.inode_id
    assert (await operator.stat(ROOT, path("/a/b"))).inode_id == file.inode_id
    assert (await operator.stat(ROOT, path("/g"))).parent == ROOT_INODE_ID
    assert (await operator.stat(ROOT, path("/g/.."))).inode_id == ROOT_INODE_ID


@async_test
async def test_rename_permissions_and_sticky() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/ro"), 0o755)
    await make_file(operator, "/ro/f")
    await operator.mkdir(ROOT, path("/pub"), 0o777)
    await expect_errno_unchanged(operator, errno.EACCES, operator.rename(ALICE, path("/ro/f"), path("/pub/f")))
    await make_file(operator, "/pub/mine", ALICE)
    await expect_errno_unchanged(operator, errno.EACCES, operator.rename(ALICE, path("/pub/mine"), path("/ro/x")))
    # Moving a directory across parents needs write permission on it (its '..' changes).
    await operator.mkdir(ROOT, path("/pub/rootdir"), 0o755)
    await operator.mkdir(ALICE, path("/pub/target"), 0o777)
    await expect_errno_unchanged(operator, errno.EACCES, operator.rename(ALICE, path("/pub/rootdir"), path("/pub/target/d")))
    await operator.rename(ALICE, path("/pub/rootdir"), path("/pub/renamed"))
    await operator.mkdir(ROOT, path("/tmp"), 0o1777)
    await make_file(operator, "/tmp/alice", ALICE, 0o666)
    await make_file(operator, "/tmp/bob", BOB, 0o666)
    await expect_errno_unchanged(operator, errno.EPERM, operator.rename(BOB, path("/tmp/alice"), path("/tmp/x")))
    await expect_errno_unchanged(operator, errno.EPERM, operator.rename(BOB, path("/tmp/bob"), path("/tmp/alice")))
    await operator.rename(ALICE, path("/tmp/alice"), path("/tmp/a2"))
