"""Goal: mknod makes regular files, FIFOs, device and socket nodes, with Linux's errors."""

import errno

from fs3.meta import InodeType
from fs3.meta.flags import S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFREG, S_IFSOCK

from tests.meta.helpers import ALICE, ROOT, async_test, expect_errno_unchanged, new_operator, path, names


@async_test
async def test_mknod_file_and_fifo() -> None:
    operator = await new_operator()
    fifo = await operator.mknod(ROOT, path("/p"), S_IFIFO | 0o640)
    assert fifo.inode_type == InodeType.FIFO and fifo.mode == 0o640 and fifo.layout is None
    regular = await operator.mknod(ROOT, path("/f"), S_IFREG | 0o600)
    assert regular.inode_type == InodeType.FILE and regular.layout is not None and regular.nlink == 1
    plain = await operator.mknod(ROOT, path("/g"), 0o644)
    assert plain.inode_type == InodeType.FILE
    assert await names(operator, "/") == [b"f", b"g", b"p"]
    assert (await operator.stat(ROOT, path("/p"))).inode_type == InodeType.FIFO


@async_test
async def test_mknod_errors() -> None:
    operator = await new_operator()
    await operator.mknod(ROOT, path("/p"), S_IFIFO | 0o644)
    await expect_errno_unchanged(operator, errno.EEXIST, operator.mknod(ROOT, path("/p"), S_IFIFO | 0o644))
    await expect_errno_unchanged(operator, errno.EPERM, operator.mknod(ROOT, path("/d"), S_IFDIR | 0o755))
    await expect_errno_unchanged(operator, errno.EINVAL, operator.mknod(ROOT, path("/x"), 0o070000 | 0o644))
    await expect_errno_unchanged(operator, errno.EACCES, operator.mknod(ALICE, path("/q"), S_IFIFO | 0o644))
    await expect_errno_unchanged(operator, errno.ENOENT, operator.mknod(ROOT, path("/no/q"), S_IFIFO | 0o644))
    await expect_errno_unchanged(operator, errno.ENOTDIR, operator.mknod(ROOT, path("/p/q"), S_IFIFO | 0o644))


@async_test
async def test_mknod_devices_and_sockets_are_names_with_attributes() -> None:
    """Devices keep their number; only root makes devices (Linux: CAP_MKNOD), anyone sockets."""
    operator = await new_operator(root_mode=0o777)
    char = await operator.mknod(ROOT, path("/c"), S_IFCHR | 0o644, (1 << 8) | 3)
    assert char.inode_type == InodeType.CHAR_DEVICE and char.rdev == (1 << 8) | 3 and char.layout is None
    block = await operator.mknod(ROOT, path("/b"), S_IFBLK | 0o600, 7)
    assert (await operator.stat(ROOT, path("/b"))).inode_type == InodeType.BLOCK_DEVICE and block.rdev == 7
    socket = await operator.mknod(ALICE, path("/s"), S_IFSOCK | 0o755, 9)
    assert socket.inode_type == InodeType.SOCKET and socket.rdev == 0 and socket.uid == ALICE.uid
    fifo = await operator.mknod(ROOT, path("/p"), S_IFIFO | 0o644, 9)
    assert fifo.rdev == 0  # a device number only means something on a device
    await expect_errno_unchanged(operator, errno.EPERM, operator.mknod(ALICE, path("/c2"), S_IFCHR | 0o644, 5))
    await expect_errno_unchanged(operator, errno.EEXIST, operator.mknod(ALICE, path("/c"), S_IFCHR | 0o644, 5))
    for name in (b"/c", b"/b", b"/s"):
        await operator.unlink(ROOT, path(name))
    assert await names(operator, "/") == [b"p"]
