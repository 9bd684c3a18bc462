"""A running cluster end to end, driven as a user drives it.

Goal: every process is real (cluster manager, two metadata services, three
storage services at replication 3), every call crosses a real socket, and the
CLI used is the installed `fs3` command. Each test states what it proves.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os

import crc32c
import pytest

from fs3._proto import meta_pb2, rpc_pb2, storage_pb2
from fs3.client import Fs3Client
from fs3.client.meta_client import MetaClient
from fs3.errors import Fs3Error, StatusCode
from fs3.net.frame import FrameHeader, FrameLimits
from fs3.net.methods import CommonMethod, MetaMethod, StorageMethod
from fs3.routing import NodeType
from tests.conftest import run_async, run_cli

MiB = 1 << 20


def _write_random_file(path, size_bytes: int) -> str:
    digest = hashlib.sha256()
    with open(path, "wb") as file:
        remaining = size_bytes
        while remaining:
            block = os.urandom(min(remaining, 8 * MiB))
            digest.update(block)
            file.write(block)
            remaining -= len(block)
    return digest.hexdigest()


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(8 * MiB), b""):
            digest.update(block)
    return digest.hexdigest()


def test_status_shows_every_service_up_and_every_target_serving(cluster):
    result = run_cli(cluster, "local", "status", "--json")
    status = json.loads(result.stdout)
    assert status["healthy"] is True
    assert {service["name"] for service in status["services"]} == {
        "mgmtd", "meta-50", "meta-51", "storage-101", "storage-102", "storage-103",
    }
    assert all(service["running"] and service["alive"] for service in status["services"])
    assert len(status["targets"]) == 15
    assert all(target["public_state"] == "serving" for target in status["targets"])


def test_put_get_one_gibibyte_is_identical_and_every_replica_holds_the_same_bytes(cluster, tmp_path):
    """1 GiB through the CLI and back; then each replica of sampled chunks is read
    from its own target, and every chunk's checksum is equal on all replicas."""
    source = tmp_path / "source.bin"
    source_digest = _write_random_file(source, 1024 * MiB)
    run_cli(cluster, "mkdir", "-p", "/e2e")
    run_cli(cluster, "put", str(source), "/e2e/big.bin")
    back = tmp_path / "back.bin"
    run_cli(cluster, "get", "/e2e/big.bin", str(back))
    assert _sha256(back) == source_digest
    back.unlink()

    async def check_replicas() -> None:
        client = await Fs3Client.connect([cluster.mgmtd_address])
        try:
            stat = await client.stat("/e2e/big.bin")
            assert stat.length == 1024 * MiB
            layout = stat.layout
            routing = client.routing.routing
            chunk_count = stat.length // layout.chunk_size
            buffer = memoryview(bytearray(layout.chunk_size))
            with open(source, "rb") as file:
                for chunk_index in range(chunk_count):
                    chain_id = layout.chain_of_chunk(routing, chunk_index)
                    chain = routing.chains[chain_id]
                    assert len(chain.target_ids) == 3
                    checksums = set()
                    for target_id in chain.target_ids:
                        target = routing.targets[target_id]
                        node = routing.nodes[target.node_id]
                        reply = await client.rpc.get(node.host, node.port).call(
                            StorageMethod.QUERY_CHUNK,
                            storage_pb2.QueryChunkRequest(
                                chain_id=chain_id, target_id=target_id,
                                chunk=storage_pb2.ChunkId(inode_id=stat.inode_id, chunk_index=chunk_index)),
                            storage_pb2.QueryChunkResponse,
                        )
                        assert reply.message.exists, f"chunk {chunk_index} missing on target {target_id}"
                        assert reply.message.meta.pending_version == 0
                        checksums.add((reply.message.meta.crc32c, reply.message.meta.length))
                    assert len(checksums) == 1, f"replicas of chunk {chunk_index} differ: {checksums}"
                    if chunk_index % 64 and chunk_index != chunk_count - 1:
                        continue
                    # sampled chunks: compare the bytes of every replica with the source
                    file.seek(chunk_index * layout.chunk_size)
                    expected_bytes = file.read(layout.chunk_size)
                    for target_id in chain.target_ids:
                        count = await client.storage.read_from_target(
                            routing, chain_id, chain.chain_version, routing.targets[target_id], stat.inode_id,
                            chunk_index, 0, layout.chunk_size, buffer,
                        )
                        assert count == layout.chunk_size
                        assert buffer == expected_bytes, f"chunk {chunk_index} differs on target {target_id}"
        finally:
            await client.close()

    run_async(check_replicas())
    run_cli(cluster, "rm", "/e2e/big.bin")
    source.unlink()


def test_two_metadata_services_create_one_thousand_files_each_exactly_once(cluster):
    """Both services take creates at the same time, for the same names with
    O_EXCL: each name ends up created exactly once, and the listing has 1000."""

    async def main() -> None:
        client = await Fs3Client.connect([cluster.mgmtd_address])
        try:
            await client.mkdir("/many")
            routing = client.routing.routing
            metas = routing.nodes_of_type(NodeType.META)
            assert len(metas) == 2
            pinned = [
                MetaClient(client.rpc, lambda: client.routing.routing, client.routing.refresh,
                           pinned_address=(node.host, node.port))
                for node in metas
            ]
            names = [f"file-{index:04d}".encode() for index in range(1000)]

            async def create(meta: MetaClient, name: bytes) -> bool:
                request = meta_pb2.CreateRequest(
                    user=client.user, path=meta_pb2.PathAt(path=b"/many/" + name), mode=0o644,
                    flags=os.O_WRONLY | os.O_CREAT | os.O_EXCL, client_id=client.client_id,
                    request_id=os.urandom(16),
                )
                try:
                    await meta.call(MetaMethod.CREATE, request)
                    return True
                except Fs3Error as error:
                    assert error.code == errno.EEXIST, error
                    return False

            created = 0
            for start in range(0, len(names), 100):
                batch = names[start : start + 100]
                results = await asyncio.gather(
                    *(create(pinned[0], name) for name in batch), *(create(pinned[1], name) for name in batch)
                )
                for index in range(len(batch)):
                    assert results[index] + results[len(batch) + index] == 1, f"{batch[index]!r} created twice or never"
                created += sum(results)
            assert created == 1000
            listing = await client.listdir("/many")
            assert sorted(entry.name.encode() for entry in listing) == names
        finally:
            await client.close()

    run_async(main())


def test_bad_input_gets_precise_errors_and_services_keep_running(cluster):
    async def main() -> None:
        client = await Fs3Client.connect([cluster.mgmtd_address])
        try:
            routing = client.routing.routing
            await client.mkdir("/bad")
            async with await client.open("/bad/file", "wb") as file:
                await file.write(b"x" * 1000)

            async def expect(code: int, coroutine) -> None:
                with pytest.raises(Fs3Error) as caught:
                    await coroutine
                assert caught.value.code == code, caught.value

            # names: NUL, over 255 bytes, empty final component
            await expect(errno.EINVAL, client.mkdir(b"/bad/a\0b"))
            await expect(errno.ENAMETOOLONG, client.mkdir(b"/bad/" + b"n" * 256))
            await expect(errno.ENAMETOOLONG, client.open(b"/bad/" + b"n" * 256, "wb"))
            await expect(errno.ENOENT, client.stat("/bad/missing"))
            await expect(errno.ENOTDIR, client.mkdir("/bad/file/sub"))
            await expect(errno.EEXIST, client.mkdir("/bad"))
            # a read past the end returns nothing
            async with await client.open("/bad/file", "rb") as file:
                assert await file.preadinto(bytearray(10), 5000) == 0
                assert await file.preadinto(bytearray(10), 995) == 5
            # calls on an inode that does not exist
            await expect(errno.ENOENT, client.meta.call(
                MetaMethod.CLOSE, meta_pb2.CloseRequest(user=client.user, inode_id=123456789, wrote=True, length_hint=9)))
            await expect(errno.ENOENT, client.meta.call(
                MetaMethod.SET_LENGTH, meta_pb2.SetLengthRequest(user=client.user, inode_id=123456789, length=1)))
            await expect(errno.ENOENT, client.open("/bad/not-there", "rb"))

            # storage: unknown chain, stale chain version, bad checksum, offset beyond chunk, unknown target
            storage_node = routing.nodes_of_type(NodeType.STORAGE)[0]
            storage = client.rpc.get(storage_node.host, storage_node.port)
            chain_id = next(iter(routing.chains))
            chain = routing.chains[chain_id]
            head = routing.targets[chain.target_ids[0]]
            head_node = routing.nodes[head.node_id]
            head_rpc = client.rpc.get(head_node.host, head_node.port)
            payload = b"y" * 4096

            def write_request(**overrides):
                fields = dict(chain_id=chain_id, chain_version=chain.chain_version,
                              chunk=storage_pb2.ChunkId(inode_id=999_999_999, chunk_index=0), offset=0,
                              length=len(payload), chunk_size=MiB, payload_crc32c=crc32c.crc32c(payload),
                              target_id=head.target_id)
                fields.update(overrides)
                return storage_pb2.WriteChunkRequest(**fields)

            async def write(rpc, request, data=payload):
                return await rpc.call(StorageMethod.WRITE_CHUNK, request, storage_pb2.WriteChunkResponse,
                                      payload=[data])

            await expect(StatusCode.UNKNOWN_CHAIN, write(storage, write_request(chain_id=99_999)))
            await expect(StatusCode.STALE_CHAIN_VERSION, write(head_rpc, write_request(chain_version=chain.chain_version + 7)))
            await expect(StatusCode.CHECKSUM_MISMATCH, write(head_rpc, write_request(payload_crc32c=1)))
            await expect(StatusCode.OFFSET_OUT_OF_RANGE, write(head_rpc, write_request(offset=MiB - 100)))
            await expect(StatusCode.UNKNOWN_TARGET, write(head_rpc, write_request(target_id=424242)))
            await expect(StatusCode.BAD_REQUEST, write(head_rpc, write_request(length=10)))
            reply = await head_rpc.call(
                StorageMethod.QUERY_CHUNK,
                storage_pb2.QueryChunkRequest(chain_id=chain_id, target_id=head.target_id,
                                              chunk=storage_pb2.ChunkId(inode_id=999_999_999, chunk_index=0)),
                storage_pb2.QueryChunkResponse)
            assert not reply.message.exists, "a refused write left a chunk behind"
            await expect(StatusCode.UNKNOWN_CHAIN, client.storage.read_from_target(
                routing, 99_999, 0, head, 1, 0, 0, 10, memoryview(bytearray(10))))

            # malformed frames: garbage bytes, then (on an authenticated connection) a header with an
            # undecodable message and an unknown method
            meta_node = routing.nodes_of_type(NodeType.META)[0]
            for node in (meta_node, storage_node):
                reader, writer = await asyncio.open_connection(node.host, node.port)
                writer.write(b"GARBAGE!" * 8)
                await writer.drain()
                reply = await asyncio.wait_for(reader.read(), 5)  # error reply, then the server closes
                assert b"bad frame magic" in reply
                writer.close()
                reader, writer = await asyncio.open_connection(node.host, node.port)
                login = rpc_pb2.AuthenticateRequest(token=cluster.token).SerializeToString()
                writer.write(FrameHeader(int(CommonMethod.AUTHENTICATE), 0, 0, 6, len(login), 0).pack() + login)
                accepted = FrameHeader.unpack_from(await asyncio.wait_for(reader.readexactly(32), 5), 0, FrameLimits())
                await reader.readexactly(accepted.message_length)
                assert (accepted.request_id, accepted.status) == (6, 0)
                body = b"\xff\xff\xff\xff"
                writer.write(FrameHeader(int(MetaMethod.STAT if node is meta_node else StorageMethod.READ_CHUNK),
                                         0, 0, 7, len(body), 0).pack() + body)
                writer.write(FrameHeader(4321, 0, 0, 8, 0, 0).pack())
                await writer.drain()
                first = await asyncio.wait_for(reader.readexactly(32), 5)
                first_header = FrameHeader.unpack_from(first, 0, FrameLimits())
                await reader.readexactly(first_header.message_length)
                second = await asyncio.wait_for(reader.readexactly(32), 5)
                second_header = FrameHeader.unpack_from(second, 0, FrameLimits())
                assert {first_header.status, second_header.status} == {StatusCode.BAD_REQUEST, StatusCode.UNKNOWN_METHOD}
                writer.close()
            # and everything still works
            assert (await client.stat("/bad/file")).length == 1000
            async with await client.open("/bad/file", "rb") as file:
                assert await file.read() == b"x" * 1000
        finally:
            await client.close()

    run_async(main())
