"""Goal: remove_tree_to_trash moves a tree to /trash/<uid>/<name>-<time>
with an expiry in [1 h, 7 d]; a rename restores it before it expires; the
trash cleaner deletes expired trees (files' chunks queued for GC) and
leaves restored ones alone. Time comes from a fake clock."""

from __future__ import annotations

import errno

from fs3.kv.interface import run_transaction
from fs3.meta import SetAttributes
from fs3.meta.components.trash_cleaner import TrashCleaner
from fs3.meta.flags import O_CREAT, O_WRONLY
from fs3.meta.store.gc_queue import list_gc_records
from fs3.meta.store.trash import list_expired_trash

from tests.meta.helpers import ALICE, BOB, CONFIG, ROOT, async_test, expect_errno, names, new_operator, path

HOUR = 3600
SECOND_NS = 1_000_000_000


async def _tree(operator, user=ALICE) -> list[int]:
    """/home/alice/proj/{a.txt, sub/{b.txt, deep/}}; returns the file inode ids."""
    await operator.mkdir(ROOT, path("/home"), 0o755)
    await operator.mkdir(ROOT, path("/home/alice"), 0o755)
    await operator.setattr(ROOT, path("/home/alice"), SetAttributes(uid=user.uid, gid=user.gid))
    await operator.mkdir(user, path("/home/alice/proj/sub/deep"), 0o755, recursive=True)
    files = []
    for name in ("/home/alice/proj/a.txt", "/home/alice/proj/sub/b.txt"):
        opened = await operator.create(user, path(name), 0o644, O_CREAT | O_WRONLY, client_id=1)
        await operator.close(user, opened.inode.inode_id, 1, opened.session_id)
        files.append(opened.inode.inode_id)
    return files


async def _gc_queue(operator) -> list[int]:
    return sorted(record.inode_id for record in
                  await run_transaction(operator.test_engine, lambda txn: list_gc_records(txn)))


@async_test
async def test_expiry_bounds_and_errors() -> None:
    operator = await new_operator()
    await _tree(operator)
    for bad in (HOUR - 1, 7 * 86400 + 1, -1, float("nan")):
        await expect_errno(errno.EINVAL, operator.remove_tree_to_trash(ALICE, path("/home/alice/proj"), bad))
    await expect_errno(errno.ENOENT, operator.remove_tree_to_trash(ALICE, path("/home/alice/none"), HOUR))
    await expect_errno(errno.EBUSY, operator.remove_tree_to_trash(ROOT, path("/"), HOUR))
    await expect_errno(errno.EACCES, operator.remove_tree_to_trash(BOB, path("/home/alice/proj"), HOUR))
    await expect_errno(errno.ENOTDIR, operator.remove_tree_to_trash(ALICE, path("/home/alice/proj/a.txt/"), HOUR))
    await operator.remove_tree_to_trash(ALICE, path("/home/alice/proj/a.txt"), HOUR)
    await expect_errno(errno.EINVAL, operator.remove_tree_to_trash(ROOT, path("/trash"), HOUR))


@async_test
async def test_trash_restore_and_expiry() -> None:
    operator = await new_operator()
    clock = operator.test_clock
    files = await _tree(operator)
    result = await operator.remove_tree_to_trash(ALICE, path("/home/alice/proj"), 2 * HOUR)
    assert result.trash_path.startswith(b"/trash/1000/proj-2023")  # FixedClock starts in Nov 2023
    assert result.expire_at_ns == clock.now_ns() + 2 * HOUR * SECOND_NS
    assert await names(operator, "/home/alice") == []
    trash_root = await operator.stat(ROOT, path("/trash"))
    user_trash = await operator.stat(ROOT, path("/trash/1000"))
    assert (trash_root.uid, trash_root.mode & 0o7777) == (0, 0o755)
    assert (user_trash.uid, user_trash.mode & 0o7777) == (1000, 0o700)
    moved = await operator.stat(ALICE, path(result.trash_path))
    assert moved.inode_id == result.inode.inode_id and moved.parent == user_trash.inode_id
    assert sorted(await names(operator, result.trash_path.decode())) == [b"a.txt", b"sub"]
    await expect_errno(errno.EACCES, operator.stat(BOB, path(result.trash_path)))
    # A second tree of the same name in the same second gets a distinct name.
    await operator.mkdir(ALICE, path("/home/alice/proj"), 0o755)
    second = await operator.remove_tree_to_trash(ALICE, path("/home/alice/proj"), HOUR)
    assert second.trash_path == result.trash_path + b".1"
    # Restore one entry out of the first tree by an ordinary rename.
    await operator.rename(ALICE, path(result.trash_path + b"/sub"), path("/home/alice/sub"))
    cleaner = TrashCleaner(operator.test_engine, operator, CONFIG, clock=clock)
    assert await cleaner.run_once() == 0, "nothing expired yet"
    clock.advance(HOUR * SECOND_NS + 1)
    assert await cleaner.run_once() == 1, "the second (empty) tree expired"
    clock.advance(HOUR * SECOND_NS)
    assert await cleaner.run_once() == 1
    assert await names(operator, "/trash/1000") == []
    assert await names(operator, "/home/alice/sub") == [b"b.txt", b"deep"]
    assert await _gc_queue(operator) == [files[0]], "a.txt's chunks go through the GC queue"
    assert await run_transaction(operator.test_engine, lambda txn: list_expired_trash(txn, 1 << 62)) == []


@async_test
async def test_restored_whole_tree_is_left_alone() -> None:
    operator = await new_operator()
    clock = operator.test_clock
    files = await _tree(operator)
    result = await operator.remove_tree_to_trash(ALICE, path("/home/alice/proj/sub/b.txt"), HOUR)
    await operator.rename(ALICE, path(result.trash_path), path("/home/alice/b.txt"))
    clock.advance(2 * HOUR * SECOND_NS)
    cleaner = TrashCleaner(operator.test_engine, operator, CONFIG, clock=clock)
    assert await cleaner.run_once() == 0
    assert (await operator.stat(ALICE, path("/home/alice/b.txt"))).inode_id == files[1]
    assert await _gc_queue(operator) == []
    assert await run_transaction(operator.test_engine, lambda txn: list_expired_trash(txn, 1 << 62)) == []
