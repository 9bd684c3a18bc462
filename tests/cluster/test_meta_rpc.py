"""Goal: every metadata call beyond the basic ones works through a real
cluster via Fs3Client, errors arriving as their errno (one cluster for the module)."""

from __future__ import annotations

import errno
import os

import pytest

from fs3.client import Fs3Client
from fs3.errors import Fs3Error
from tests.conftest import run_async

XATTR_CREATE, XATTR_REPLACE = 1, 2


async def _expect(code: int, awaitable) -> None:
    with pytest.raises(Fs3Error) as caught:
        await awaitable
    assert caught.value.code == code, f"expected errno {code}, got {caught.value}"


def test_links_and_lookup(cluster):
    async def body() -> None:
        async with await Fs3Client.connect([cluster.mgmtd_address], uid=0, gid=0) as client:
            directory = await client.mkdir("/rpc-links", parents=True)
            async with await client.open("/rpc-links/f", "wb") as file:
                await file.write(b"hello")
            link = await client.symlink("f", "/rpc-links/l")
            assert link.type == "symlink" and link.symlink_target == b"f"
            assert await client.readlink("/rpc-links/l") == b"f"
            await _expect(errno.EINVAL, client.readlink("/rpc-links/f"))
            hard = await client.link("/rpc-links/f", "/rpc-links/g")
            assert hard.nlink == 2
            await _expect(errno.EEXIST, client.link("/rpc-links/f", "/rpc-links/g"))
            found = await client.lookup(directory.inode_id, "l")
            assert found.type == "symlink"
            by_id = await client.stat_inode(hard.inode_id)
            assert by_id.length == 5 and by_id.nlink == 2
            await _expect(errno.ENOENT, client.lookup(directory.inode_id, "none"))
            await _expect(errno.ENOENT, client.stat_inode(987_654_321))

    run_async(body())


def test_setattr_family(cluster):
    async def body() -> None:
        async with await Fs3Client.connect([cluster.mgmtd_address], uid=0, gid=0) as root, \
                await Fs3Client.connect([cluster.mgmtd_address], uid=1000, gid=1000) as alice:
            await root.mkdir("/rpc-attr", 0o777, parents=True)
            async with await alice.open("/rpc-attr/f", "wb") as file:
                await file.write(b"x" * 100)
            assert (await alice.chmod("/rpc-attr/f", 0o600)).mode == 0o600
            await _expect(errno.EPERM, alice.chown("/rpc-attr/f", uid=0))
            owned = await root.chown("/rpc-attr/f", uid=1001, gid=1001)
            assert (owned.uid, owned.gid) == (1001, 1001)
            await _expect(errno.EPERM, alice.chmod("/rpc-attr/f", 0o644))
            timed = await root.utime("/rpc-attr/f", atime_ns=1_000, mtime_ns=2_000)
            assert (timed.atime_ns, timed.mtime_ns) == (1_000, 2_000)
            touched = await root.utime(owned.inode_id)
            assert touched.mtime_ns > 2_000 and touched.atime_ns == touched.mtime_ns
            assert (await root.truncate("/rpc-attr/f", 10)).length == 10
            await _expect(errno.EACCES, alice.truncate("/rpc-attr/f", 0))
            await _expect(errno.EISDIR, root.truncate("/rpc-attr", 0))

    run_async(body())


def test_mknod_xattrs_statfs_layout(cluster):
    async def body() -> None:
        async with await Fs3Client.connect([cluster.mgmtd_address], uid=0, gid=0) as client, \
                await Fs3Client.connect([cluster.mgmtd_address], uid=1000, gid=1000) as alice:
            await client.mkdir("/rpc-misc", parents=True)
            fifo = await client.mknod("/rpc-misc/p")
            assert fifo.type == "fifo"
            regular = await client.mknod("/rpc-misc/r", 0o100644)
            assert regular.type == "file" and regular.layout is not None
            await _expect(errno.EEXIST, client.mknod("/rpc-misc/p"))
            await client.setxattr("/rpc-misc/r", "user.k", b"v")
            await client.setxattr(regular.inode_id, b"trusted.t", b"w")
            assert await client.getxattr("/rpc-misc/r", "user.k") == b"v"
            assert await client.listxattr("/rpc-misc/r") == [b"trusted.t", b"user.k"]
            assert await alice.listxattr("/rpc-misc/r") == [b"user.k"]
            await _expect(errno.EEXIST, client.setxattr("/rpc-misc/r", "user.k", b"v", XATTR_CREATE))
            await _expect(errno.ENODATA, client.setxattr("/rpc-misc/r", "user.z", b"v", XATTR_REPLACE))
            await _expect(errno.E2BIG, client.setxattr("/rpc-misc/r", "user.big", b"x" * (64 * 1024 + 1)))
            await _expect(errno.EACCES, alice.setxattr("/rpc-misc/r", "user.k", b"v"))
            await client.removexattr("/rpc-misc/r", "user.k")
            await _expect(errno.ENODATA, client.getxattr("/rpc-misc/r", "user.k"))
            stats = await client.statfs()
            assert stats.total_bytes > 0 and 0 < stats.free_bytes <= stats.total_bytes
            assert stats.free_files < stats.total_files and stats.name_bytes_max == 255
            layout_dir = await client.set_layout("/rpc-misc", chain_table_id=1, chunk_size=4 << 20, stripe_size=2)
            assert layout_dir.layout.chunk_size == 4 << 20
            await _expect(errno.EPERM, alice.set_layout("/rpc-misc", chain_table_id=1, chunk_size=1 << 20,
                                                        stripe_size=1))
            data = os.urandom(9 << 20)
            async with await client.open("/rpc-misc/new", "wb") as file:
                await file.write(data)
            inherited = await client.stat("/rpc-misc/new")
            assert (inherited.layout.chunk_size, inherited.layout.stripe_size) == (4 << 20, 2)
            async with await client.open("/rpc-misc/new", "rb") as file:
                assert await file.read() == data

    run_async(body())


def test_close_settles_the_length_from_storage(cluster):
    """A writer that under-reports its length (or died before reporting) does not shorten the
    file: close after writes takes the length the chunks on storage imply."""
    from fs3._proto import meta_pb2
    from fs3.client import Fs3Client
    from fs3.net.methods import MetaMethod

    async def main() -> None:
        client = await Fs3Client.connect(cluster.mgmtd_addresses)
        try:
            data = os.urandom((3 << 20) + 5)
            file = await client.open("/settle.bin", "wb")
            await file.pwrite(data, 0)
            file.closed = True  # close by hand below, reporting nothing written
            await client.meta.call(MetaMethod.CLOSE, meta_pb2.CloseRequest(
                user=client.user, inode_id=file.stat.inode_id, client_id=client.client_id,
                session_id=file.session_id, wrote=True, length_hint=0))
            assert (await client.stat("/settle.bin")).length == len(data)
            async with await client.open("/settle.bin", "rb") as reader:
                assert await reader.read() == data
        finally:
            await client.close()

    run_async(main())


def test_fsync_settles_the_length_from_storage(cluster):
    """fsync counts what storage holds: another client's acknowledged writes beyond this
    writer's end show in the length before either closes. A settle without only_grow is refused."""
    from fs3._proto import meta_pb2
    from fs3.net.methods import MetaMethod

    async def main() -> None:
        first = await Fs3Client.connect(cluster.mgmtd_addresses)
        second = await Fs3Client.connect(cluster.mgmtd_addresses)
        try:
            head, tail = os.urandom(1 << 20), os.urandom((3 << 20) + 5)
            writer = await first.open("/fsync-settle.bin", "wb")
            await writer.pwrite(head, 0)
            other = await second.open("/fsync-settle.bin", "r+b")
            await other.pwrite(tail, len(head))
            assert (await first.stat("/fsync-settle.bin")).length < len(head) + len(tail)
            settled = await writer.fsync()
            assert settled.length == len(head) + len(tail)
            assert (await second.stat("/fsync-settle.bin")).length == len(head) + len(tail)
            await _expect(errno.EINVAL, first.meta.call(MetaMethod.SET_LENGTH, meta_pb2.SetLengthRequest(
                user=first.user, inode_id=settled.inode_id, length=0, only_grow=False, settle=True)))
            assert (await first.stat("/fsync-settle.bin")).length == len(head) + len(tail)
            await other.close()
            await writer.close()
            async with await first.open("/fsync-settle.bin", "rb") as reader:
                assert await reader.read() == head + tail
        finally:
            await first.close()
            await second.close()

    run_async(main())


def test_a_change_retried_on_another_metadata_service_is_answered_once(cluster):
    """The native client gives each namespace change a request id; the same request sent again (a
    retry after a lost reply, here to the other metadata service) gets the first answer, not EEXIST."""
    from fs3._proto import meta_pb2
    from fs3.net.methods import MetaMethod
    from fs3.routing import NodeType

    async def main() -> None:
        async with await Fs3Client.connect(cluster.mgmtd_addresses) as client:
            request = meta_pb2.MkdirRequest(user=client.user, path=client._path("/retried"), mode=0o755)
            first = await client.meta.call(MetaMethod.MKDIR, request)
            assert request.client_id == client.client_id and len(request.request_id) == 16
            for node in client.routing.routing.nodes_of_type(NodeType.META):
                again = await client.rpc.get(node.host, node.port).call(MetaMethod.MKDIR, request,
                                                                         meta_pb2.MkdirResponse)
                assert again.message.inode.inode_id == first.inode.inode_id
            await _expect(errno.EEXIST, client.mkdir("/retried"))  # a new call is a new request

    run_async(main())
