"""Goal: setattr follows Linux's chmod/chown/utimensat/truncate rules, incl. errnos as non-root."""

import errno

from fs3.meta import ChunkTrim, SetAttributes
from fs3.meta.flags import O_CREAT, O_WRONLY

from tests.meta.helpers import ALICE, BOB, EVE, ROOT, async_test, expect_errno_unchanged, new_operator, path

MiB = 1 << 20


async def _alice_file(operator, mode: int = 0o644):
    await operator.mkdir(ROOT, path("/home"), 0o777)
    opened = await operator.create(ALICE, path("/home/f"), mode, O_CREAT | O_WRONLY)
    return opened.inode


@async_test
async def test_chmod_by_owner_and_root_only() -> None:
    operator = await new_operator()
    inode = await _alice_file(operator)
    operator.test_clock.advance(5)
    result = await operator.setattr(ALICE, path("/home/f"), SetAttributes(mode=0o600))
    assert result.inode.mode == 0o600 and result.inode.ctime_ns > inode.ctime_ns
    assert result.inode.mtime_ns == inode.mtime_ns and result.trim is None
    await expect_errno_unchanged(operator, errno.EPERM, operator.setattr(BOB, path("/home/f"), SetAttributes(mode=0o777)))
    assert (await operator.setattr(ROOT, inode.inode_id, SetAttributes(mode=0o640))).inode.mode == 0o640
    await expect_errno_unchanged(operator, errno.EINVAL, operator.setattr(ROOT, inode.inode_id, SetAttributes(mode=0o10000)))


@async_test
async def test_chmod_clears_setgid_outside_the_group() -> None:
    operator = await new_operator()
    inode = await _alice_file(operator)
    await operator.setattr(ROOT, inode.inode_id, SetAttributes(gid=4242))
    result = await operator.setattr(ALICE, inode.inode_id, SetAttributes(mode=0o2755))
    assert result.inode.mode == 0o755  # alice is not in group 4242
    result = await operator.setattr(ROOT, inode.inode_id, SetAttributes(mode=0o2755))
    assert result.inode.mode == 0o2755


@async_test
async def test_chown_rules() -> None:
    operator = await new_operator()
    inode = await _alice_file(operator, 0o6755)
    await expect_errno_unchanged(operator, errno.EPERM, operator.setattr(ALICE, inode.inode_id, SetAttributes(uid=1001)))
    await expect_errno_unchanged(operator, errno.EPERM, operator.setattr(BOB, inode.inode_id, SetAttributes(gid=1000)))
    await expect_errno_unchanged(operator, errno.EPERM, operator.setattr(ALICE, inode.inode_id, SetAttributes(gid=1001)))
    same = await operator.setattr(ALICE, inode.inode_id, SetAttributes(uid=1000))  # to itself: allowed
    assert same.inode.uid == 1000 and same.inode.mode == 0o755  # setuid and setgid (group x) dropped
    alice_in_group = ALICE.__class__(uid=1000, gid=1000, groups=(77,))
    assert (await operator.setattr(alice_in_group, inode.inode_id, SetAttributes(gid=77))).inode.gid == 77
    given = await operator.setattr(ROOT, inode.inode_id, SetAttributes(uid=1001, gid=1001))
    assert (given.inode.uid, given.inode.gid) == (1001, 1001)


@async_test
async def test_utimensat_rules() -> None:
    operator = await new_operator()
    inode = await _alice_file(operator, 0o666)
    explicit = SetAttributes(atime_ns=11, mtime_ns=22)
    result = await operator.setattr(ALICE, inode.inode_id, explicit)
    assert (result.inode.atime_ns, result.inode.mtime_ns) == (11, 22)
    await expect_errno_unchanged(operator, errno.EPERM, operator.setattr(BOB, inode.inode_id, explicit))
    omit_atime = SetAttributes(mtime_ns=33)
    assert (await operator.setattr(ALICE, inode.inode_id, omit_atime)).inode.atime_ns == 11
    await expect_errno_unchanged(operator, errno.EPERM,
                                 operator.setattr(BOB, inode.inode_id, SetAttributes(mtime_now=True)))
    operator.test_clock.advance(100)
    touched = await operator.setattr(BOB, inode.inode_id, SetAttributes(atime_now=True, mtime_now=True))
    now = operator.test_clock.now_ns()
    assert touched.inode.atime_ns == touched.inode.mtime_ns == touched.inode.ctime_ns == now
    await operator.setattr(ALICE, inode.inode_id, SetAttributes(mode=0o644))
    await expect_errno_unchanged(operator, errno.EACCES,
                                 operator.setattr(BOB, inode.inode_id, SetAttributes(atime_now=True, mtime_now=True)))
    assert (await operator.setattr(ROOT, inode.inode_id, SetAttributes(atime_now=True, mtime_now=True))).inode
    await expect_errno_unchanged(operator, errno.EINVAL,
                                 operator.setattr(ALICE, inode.inode_id, SetAttributes(atime_ns=1, atime_now=True)))
    unchanged = await operator.setattr(ALICE, inode.inode_id, SetAttributes())
    assert unchanged.inode == await operator.stat_inode(ROOT, inode.inode_id)


@async_test
async def test_truncate_returns_the_chunks_to_trim() -> None:
    operator = await new_operator()
    inode = await _alice_file(operator, 0o664)
    grown = await operator.setattr(ALICE, inode.inode_id, SetAttributes(length=10 * MiB + 5))
    assert grown.inode.length == 10 * MiB + 5 and grown.trim is None
    operator.test_clock.advance(7)
    shrunk = await operator.setattr(ALICE, path("/home/f"), SetAttributes(length=3 * MiB + 100))
    assert shrunk.inode.length == 3 * MiB + 100
    assert shrunk.inode.mtime_ns == shrunk.inode.ctime_ns == operator.test_clock.now_ns()
    assert shrunk.trim == ChunkTrim(inode.inode_id, inode.layout, 4, 100)
    aligned = await operator.setattr(ALICE, inode.inode_id, SetAttributes(length=2 * MiB))
    assert aligned.trim == ChunkTrim(inode.inode_id, inode.layout, 2, 0)
    await expect_errno_unchanged(operator, errno.EACCES, operator.setattr(EVE, inode.inode_id, SetAttributes(length=0)))
    await expect_errno_unchanged(operator, errno.EISDIR, operator.setattr(ROOT, path("/home"), SetAttributes(length=0)))
    await operator.symlink(ROOT, path("/l"), b"/home")
    await operator.mknod(ROOT, path("/p"), 0o010644)
    await expect_errno_unchanged(operator, errno.EINVAL, operator.setattr(ROOT, path("/p"), SetAttributes(length=0)))
    await expect_errno_unchanged(operator, errno.ENOENT, operator.setattr(ROOT, path("/none"), SetAttributes(mode=0)))
    await expect_errno_unchanged(operator, errno.ENOENT, operator.setattr(ROOT, 999_999, SetAttributes(mode=0)))


@async_test
async def test_truncate_by_non_root_drops_setuid() -> None:
    operator = await new_operator()
    inode = await _alice_file(operator, 0o4755)
    assert (await operator.setattr(ALICE, inode.inode_id, SetAttributes(length=0))).inode.mode == 0o755


@async_test
async def test_writer_who_is_not_the_owner_may_only_clear_setid_bits() -> None:
    """Linux's file_remove_privs on a write by a non-owner reaches fs3 as a chmod (through FUSE):
    allowed when it only clears setuid/setgid and the caller may write, EPERM otherwise."""
    operator = await new_operator()
    inode = await _alice_file(operator, 0o6777)
    cleared = await operator.setattr(BOB, inode.inode_id, SetAttributes(mode=0o0777))
    assert cleared.inode.mode == 0o777
    await operator.setattr(ALICE, inode.inode_id, SetAttributes(mode=0o4777))
    await expect_errno_unchanged(operator, errno.EPERM, operator.setattr(BOB, inode.inode_id, SetAttributes(mode=0o4777)))
    await expect_errno_unchanged(operator, errno.EPERM, operator.setattr(BOB, inode.inode_id, SetAttributes(mode=0o0775)))
    await expect_errno_unchanged(operator, errno.EPERM, operator.setattr(BOB, inode.inode_id, SetAttributes(mode=0o6777)))
    await operator.setattr(ALICE, inode.inode_id, SetAttributes(mode=0o4755))  # others may not write now
    await expect_errno_unchanged(operator, errno.EPERM, operator.setattr(EVE, inode.inode_id, SetAttributes(mode=0o0755)))
    assert (await operator.setattr(ALICE, inode.inode_id, SetAttributes(mode=0o0755))).inode.mode == 0o755
