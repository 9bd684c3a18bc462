"""Goal: xattrs behave as on Linux: flags, size limits, namespaces and permissions."""

import errno

from fs3.meta.flags import O_CREAT, O_WRONLY, XATTR_CREATE, XATTR_REPLACE
from fs3.meta.store import keys

from tests.meta.helpers import ALICE, BOB, EVE, ROOT, async_test, dump_kv, expect_errno_unchanged, new_operator, path


@async_test
async def test_set_get_list_remove() -> None:
    operator = await new_operator()
    opened = await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    inode_id = opened.inode.inode_id
    operator.test_clock.advance(3)
    updated = await operator.setxattr(ROOT, path("/f"), b"user.a", b"1")
    assert updated.ctime_ns == operator.test_clock.now_ns()
    await operator.setxattr(ROOT, inode_id, b"user.b", b"")
    await operator.setxattr(ROOT, inode_id, b"trusted.t", b"x" * (64 << 10))
    assert await operator.getxattr(ROOT, path("/f"), b"user.a") == b"1"
    assert await operator.getxattr(ROOT, inode_id, b"user.b") == b""
    assert await operator.listxattr(ROOT, path("/f")) == [b"trusted.t", b"user.a", b"user.b"]
    assert await operator.listxattr(ALICE, path("/f")) == [b"user.a", b"user.b"]
    await expect_errno_unchanged(operator, errno.EEXIST, operator.setxattr(ROOT, inode_id, b"user.a", b"2", XATTR_CREATE))
    await expect_errno_unchanged(operator, errno.ENODATA, operator.setxattr(ROOT, inode_id, b"user.c", b"2", XATTR_REPLACE))
    await operator.setxattr(ROOT, inode_id, b"user.a", b"2", XATTR_REPLACE)
    assert await operator.getxattr(ROOT, inode_id, b"user.a") == b"2"
    await operator.removexattr(ROOT, inode_id, b"user.a")
    await expect_errno_unchanged(operator, errno.ENODATA, operator.getxattr(ROOT, inode_id, b"user.a"))
    await expect_errno_unchanged(operator, errno.ENODATA, operator.removexattr(ROOT, inode_id, b"user.a"))
    await operator.close(ROOT, inode_id, 0, opened.session_id)  # else unlink keeps the inode for its writer
    await operator.unlink(ROOT, path("/f"))
    state = await dump_kv(operator.test_engine)
    assert not [key for key in state if key.startswith(keys.XATTR_PREFIX)], "xattrs outlived their inode"


@async_test
async def test_limits_and_namespaces() -> None:
    operator = await new_operator()
    await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    f = path("/f")
    await expect_errno_unchanged(operator, errno.E2BIG, operator.setxattr(ROOT, f, b"user.a", b"x" * (64 << 10) + b"x"))
    await expect_errno_unchanged(operator, errno.ERANGE, operator.setxattr(ROOT, f, b"user." + b"a" * 251, b""))
    await operator.setxattr(ROOT, f, b"user." + b"a" * 250, b"")  # 255 bytes: fine
    await expect_errno_unchanged(operator, errno.ERANGE, operator.getxattr(ROOT, f, b""))
    await expect_errno_unchanged(operator, errno.EOPNOTSUPP, operator.setxattr(ROOT, f, b"system.posix_acl_access", b""))
    await expect_errno_unchanged(operator, errno.EOPNOTSUPP, operator.setxattr(ROOT, f, b"nonamespace", b""))
    await expect_errno_unchanged(operator, errno.EINVAL, operator.setxattr(ROOT, f, b"user.", b""))
    await expect_errno_unchanged(operator, errno.EINVAL, operator.setxattr(ROOT, f, b"user.a", b"", 4))
    # XATTR_CREATE | XATTR_REPLACE, as Linux file systems take it: absent -> ENODATA, present -> EEXIST
    await expect_errno_unchanged(operator, errno.ENODATA, operator.setxattr(ROOT, f, b"user.both", b"", 3))
    await operator.setxattr(ROOT, f, b"user.both", b"v")
    await expect_errno_unchanged(operator, errno.EEXIST, operator.setxattr(ROOT, f, b"user.both", b"w", 3))
    await expect_errno_unchanged(operator, errno.ENOENT, operator.getxattr(ROOT, path("/none"), b"user.a"))


@async_test
async def test_permissions_as_non_root() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/home"), 0o777)
    opened = await operator.create(ALICE, path("/home/f"), 0o640, O_CREAT | O_WRONLY)
    f = opened.inode.inode_id
    await operator.setxattr(ALICE, f, b"user.mine", b"v")
    assert await operator.getxattr(BOB, f, b"user.mine") == b"v"  # group 1000 may read
    await expect_errno_unchanged(operator, errno.EACCES, operator.setxattr(BOB, f, b"user.x", b"v"))
    await expect_errno_unchanged(operator, errno.EACCES, operator.getxattr(EVE, f, b"user.mine"))
    await expect_errno_unchanged(operator, errno.EACCES, operator.removexattr(BOB, f, b"user.mine"))
    await expect_errno_unchanged(operator, errno.EPERM, operator.setxattr(ALICE, f, b"trusted.x", b"v"))
    await operator.setxattr(ROOT, f, b"trusted.x", b"v")
    await expect_errno_unchanged(operator, errno.ENODATA, operator.getxattr(ALICE, f, b"trusted.x"))
    await operator.symlink(ALICE, path("/home/l"), b"f")
    await expect_errno_unchanged(operator, errno.EPERM,
                                 operator.setxattr(ALICE, path("/home/l"), b"user.x", b"v", follow_last_symlink=False))
    assert await operator.getxattr(ALICE, path("/home/l"), b"user.mine") == b"v"  # followed to the file
    await operator.mkdir(ALICE, path("/home/sticky"), 0o1777)
    await expect_errno_unchanged(operator, errno.EPERM, operator.setxattr(BOB, path("/home/sticky"), b"user.x", b""))
