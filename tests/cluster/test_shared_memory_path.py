"""Chunk payloads through shared memory between a client and storage services on its host.

Goal: a client on a storage service's host moves payloads through its
registered region (the services' counters show it), bytes are identical to
what a TCP-only client reads, a region disappears with its client (also a
`kill -9`ed one), a restarted service gets the region registered again
without an error reaching the caller, and hostile requests naming shared
buffers are refused precisely with nothing written. Real processes: one
cluster manager, one metadata service, two storage services at replication 2
(the head forwards to the tail through its own region too).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import signal
import subprocess
import sys
import urllib.request

import crc32c
import pytest

from fs3._proto import storage_pb2
from fs3.client import Fs3Client
from fs3.client.client import ClientConfig
from fs3.net.shared_memory.paths import SharedMemoryConfig
from fs3.client.storage_client import StorageClientConfig
from fs3.errors import Fs3Error, StatusCode
from fs3.net.methods import StorageMethod
from fs3.routing import NodeType, PublicState
from tests.conftest import eventually, run_async, running_cluster

MiB = 1 << 20
TCP_ONLY = ClientConfig(storage=StorageClientConfig(shared_memory=SharedMemoryConfig(enabled=False)))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with running_cluster(tmp_path_factory.mktemp("shm"), meta_services=1, storage_services=2,
                         targets_per_storage=2, replication_factor=2) as cluster:
        yield cluster


def _metric(node, name: str, labels: str = "") -> float:
    text = urllib.request.urlopen(f"http://{node.host}:{node.metrics_port}/metrics", timeout=5).read().decode()
    match = re.search(rf"^{name}{re.escape(labels)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def _storage_nodes(client: Fs3Client):
    return client.routing.routing.nodes_of_type(NodeType.STORAGE)


def _moved(client: Fs3Client, direction: str) -> float:
    return sum(_metric(node, "fs3_shared_memory_bytes_total", f'{{direction="{direction}"}}')
               for node in _storage_nodes(client))


def _regions(client: Fs3Client) -> float:
    return sum(_metric(node, "fs3_shared_memory_regions") for node in _storage_nodes(client))


async def _recovered(client: Fs3Client, versions_before: dict[int, int]) -> None:
    """Every chain changed since `versions_before` (a restarted member went offline and through
    recovery) and every target serves again (`cluster.up` may look before the restart is noticed)."""
    while True:
        routing = await client.routing.refresh()
        if all(chain.chain_version > versions_before[chain.chain_id] for chain in routing.chains.values()) \
                and all(target.public_state == PublicState.SERVING for target in routing.targets.values()):
            return
        await asyncio.sleep(0.1)


def test_a_same_host_client_moves_payloads_through_shared_memory(cluster):
    data = os.urandom(8 * MiB + 12345)

    async def main() -> None:
        async with await Fs3Client.connect([cluster.mgmtd_address]) as client:
            assert all(node.shared_memory_socket for node in _storage_nodes(client))
            written, read = _moved(client, "written"), _moved(client, "read")
            async with await client.open("/shm.bin", "wb") as file:
                await file.write(data)
            # at the chain's head from the client, at the tail from the head (both services share this host)
            assert _moved(client, "written") - written >= 2 * len(data)
            async with await client.open("/shm.bin", "rb") as file:
                assert await file.read() == data
            assert _moved(client, "read") - read >= len(data)
            # (the services' own regions, for forwarding along chains, count too)
            registered = client.storage.shared_memory.registered_with
            assert registered == 2 and _regions(client) >= registered
            with_client = _regions(client)
            # a client that never uses shared memory reads the same bytes over TCP, and moves nothing through it
            async with await Fs3Client.connect([cluster.mgmtd_address], config=TCP_ONLY) as tcp_client:
                read = _moved(client, "read")
                async with await tcp_client.open("/shm.bin", "rb") as file:
                    assert await file.read() == data
                assert _moved(client, "read") == read
                async with await tcp_client.open("/tcp.bin", "wb") as file:
                    await file.write(data[:3 * MiB])
            async with await client.open("/tcp.bin", "rb") as file:
                assert await file.read() == data[:3 * MiB]
            await client.unlink("/shm.bin")
            await client.unlink("/tcp.bin")
        async with await Fs3Client.connect([cluster.mgmtd_address], config=TCP_ONLY) as observer:
            # closed clients leave no region behind
            await eventually(lambda: _regions(observer) == with_client - registered)

    run_async(main())


def test_reads_left_in_their_slots_read_right_and_every_slot_comes_back(cluster):
    """`read_lease` leaves a chunk's bytes in the slot the service read them into (what the FUSE
    daemon replies from): bytes past the chunk's end read as zeros even in a slot that held data,
    a released lease frees its slot, and beyond `leased_slots_max` leases come in own buffers so
    the remaining slots keep serving writes."""
    data = os.urandom(3 * MiB + 777)

    async def main() -> None:
        async with await Fs3Client.connect([cluster.mgmtd_address]) as client:
            paths = client.storage.shared_memory
            async with await client.open("/lease.bin", "wb") as file:
                await file.write(data)
            stat = await client.stat("/lease.bin")
            for offset, length in ((0, MiB), (MiB + 5, MiB - 5), (3 * MiB, 777), (3 * MiB, 4096)):
                lease = await client.read_lease(stat, offset, length)
                expected = data[offset:offset + length]
                assert bytes(lease.view) == expected + bytes(length - len(expected))
                assert paths.leased == 1
                lease.release()
                lease.release()  # once only
                assert paths.leased == 0
            await client.truncate("/lease.bin", 8 * MiB)  # a hole after the data
            lease = await client.read_lease(await client.stat("/lease.bin"), 5 * MiB, MiB)
            assert bytes(lease.view) == bytes(MiB)
            lease.release()
            # all at once: the bound holds for concurrent callers too (the rest get own buffers)
            held = await asyncio.gather(*(client.read_lease(stat, 0, MiB)
                                          for _ in range(paths.config.leased_slots_max + 8)))
            assert paths.leased == paths.config.leased_slots_max
            assert all(bytes(lease.view) == data[:MiB] for lease in held)
            async with await client.open("/while-leased.bin", "wb") as file:
                await file.write(data)
            async with await client.open("/while-leased.bin", "rb") as file:
                assert await file.read() == data
            for lease in held:
                lease.release()
            assert paths.leased == 0 and len(paths.region._free) == paths.config.slots
            await client.unlink("/lease.bin")
            await client.unlink("/while-leased.bin")

    run_async(main())


_KILLED_CLIENT = """
import asyncio, sys
from fs3.client import Fs3Client

async def main():
    client = await Fs3Client.connect([sys.argv[1]])
    async with await client.open("/killed-client.bin", "wb") as file:
        await file.write(b"k" * (3 << 20))
    print("ready", client.storage.shared_memory.registered_with, flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


def test_a_killed_client_leaves_no_region_behind(cluster):
    process = subprocess.Popen([sys.executable, "-c", _KILLED_CLIENT, cluster.mgmtd_address], stdout=subprocess.PIPE,
                               text=True)
    try:
        word, registered = process.stdout.readline().split()
        assert word == "ready" and int(registered) >= 1

        async def main() -> None:
            async with await Fs3Client.connect([cluster.mgmtd_address], config=TCP_ONLY) as observer:
                with_client = _regions(observer)
                assert with_client >= int(registered)
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)
                await eventually(lambda: _regions(observer) == with_client - int(registered))
                async with await observer.open("/killed-client.bin", "rb") as file:
                    assert await file.read() == b"k" * (3 << 20)
                await observer.unlink("/killed-client.bin")

        run_async(main())
    finally:
        process.kill()
        process.wait()


def test_a_restarted_storage_service_gets_the_region_again_without_errors(cluster):
    data = os.urandom(6 * MiB)

    async def main() -> None:
        async with await Fs3Client.connect([cluster.mgmtd_address]) as client:
            async with await client.open("/restart.bin", "wb") as file:
                await file.write(data)
            before = {node.node_id: node.shared_memory_socket for node in _storage_nodes(client)}
            versions_before = {chain.chain_id: chain.chain_version for chain in client.routing.routing.chains.values()}
            name = next(name for name in cluster.services if name.startswith("storage"))
            cluster.kill_service(name)
            cluster.restart_service(name)

            def sockets():
                return {node.node_id: node.shared_memory_socket for node in _storage_nodes(client)}

            async def registered_again() -> None:
                while sum(before[node_id] != name for node_id, name in sockets().items()) != 1:
                    await client.routing.refresh()  # a new socket per process
                    await asyncio.sleep(0.1)

            await asyncio.wait_for(registered_again(), 30)
            await asyncio.wait_for(_recovered(client, versions_before), 60)
            after = sockets()
            read = _moved(client, "read")
            for _ in range(3):
                async with await client.open("/restart.bin", "rb") as file:
                    assert await file.read() == data
            restarted = next(node for node in _storage_nodes(client) if before[node.node_id] != after[node.node_id])
            assert _metric(restarted, "fs3_shared_memory_regions") >= 1  # replicas are picked at random: 18 reads
            assert _moved(client, "read") - read >= 3 * len(data)
            await client.unlink("/restart.bin")

    run_async(main())


def test_a_storage_service_killed_mid_write_costs_the_region_not_the_data(cluster):
    """Requests in flight to a killed service got no reply: their slots may still be written, so the
    client abandons the region, retries on the surviving replica, and registers a new region."""
    block = os.urandom(8 * MiB)

    async def main() -> None:
        async with await Fs3Client.connect([cluster.mgmtd_address]) as client:
            # a service at the head of some chain: the client's own calls go to it (an earlier test may
            # have moved a restarted service's targets to the chains' ends)
            routing = client.routing.routing
            head_node = routing.targets[routing.writable_targets(next(iter(routing.chains)))[0].target_id].node_id
            name = next(name for name, service in cluster.services.items() if service.module == "fs3.storage"
                        and service.node_id == head_node)
            killed = asyncio.Event()

            async def kill_soon() -> None:
                while blocks < 2:  # registered with both services by then
                    await asyncio.sleep(0.01)
                # from a thread: the writes in flight keep going while the service dies under them
                await asyncio.get_running_loop().run_in_executor(None, cluster.kill_service, name)
                killed.set()

            blocks = 0
            async with await client.open("/killed-service.bin", "wb") as file:
                async def write_until_well_after_the_kill() -> None:
                    nonlocal blocks
                    after = 0
                    while after < 4:
                        await file.pwrite(block, blocks * len(block))
                        blocks += 1
                        after += killed.is_set()

                await asyncio.gather(write_until_well_after_the_kill(), kill_soon())
            async with await client.open("/killed-service.bin", "rb") as file:
                assert await file.read() == block * blocks
            assert client.storage.shared_memory.regions_abandoned >= 1
            assert client.storage.payload_bytes["shared_memory"] > 0
            versions_before = {chain.chain_id: chain.chain_version for chain in client.routing.routing.chains.values()}
            cluster.restart_service(name)
            await asyncio.wait_for(_recovered(client, versions_before), 90)
            async with await client.open("/killed-service.bin", "rb") as file:
                assert await file.read() == block * blocks
            await client.unlink("/killed-service.bin")

    run_async(main())


def test_hostile_shared_buffer_requests_are_refused_and_nothing_is_written(cluster):
    async def main() -> None:
        async with await Fs3Client.connect([cluster.mgmtd_address]) as client:
            async with await client.open("/hostile.bin", "wb") as file:
                await file.write(b"h" * MiB)  # registers this client's region with the head of some chain
            routing = client.routing.routing
            chain_id = next(iter(routing.chains))
            chain = routing.chains[chain_id]
            head = routing.targets[chain.target_ids[0]]
            head_node = routing.nodes[head.node_id]
            registration = await client.storage.shared_memory.registration_for(head_node)
            assert registration is not None
            rpc = client.rpc.get(head_node.host, head_node.port)
            chunk = storage_pb2.ChunkId(inode_id=888_888_888, chunk_index=0)
            payload = b"z" * 4096

            def write(region_id, offset, **fields):
                return storage_pb2.WriteChunkRequest(
                    chain_id=chain_id, chain_version=chain.chain_version, chunk=chunk, offset=0, length=len(payload),
                    chunk_size=MiB, payload_crc32c=crc32c.crc32c(payload), target_id=head.target_id,
                    shared_buffer=storage_pb2.SharedBuffer(region_id=region_id, offset=offset), **fields)

            async def expect(code, coroutine, text):
                with pytest.raises(Fs3Error) as caught:
                    await coroutine
                assert caught.value.code == code and text in caught.value.message, caught.value

            region_bytes = client.storage.shared_memory.region.size
            await expect(StatusCode.UNKNOWN_REGION, rpc.call(StorageMethod.WRITE_CHUNK, write(12345, 0),
                                                             storage_pb2.WriteChunkResponse), "not registered")
            await expect(StatusCode.OFFSET_OUT_OF_RANGE,
                         rpc.call(StorageMethod.WRITE_CHUNK, write(registration.region_id, region_bytes - 100),
                                  storage_pb2.WriteChunkResponse), "exceed shared memory region")
            await expect(StatusCode.BAD_REQUEST,
                         rpc.call(StorageMethod.WRITE_CHUNK, write(registration.region_id, 0),
                                  storage_pb2.WriteChunkResponse, payload=[payload]), "not both")
            # the slot's bytes are checked against the request's checksum before anything is stored
            slot = await registration.region.acquire()
            try:
                slot.view[:len(payload)] = b"not the payload".ljust(len(payload), b".")
                await expect(StatusCode.CHECKSUM_MISMATCH,
                             rpc.call(StorageMethod.WRITE_CHUNK, write(registration.region_id, slot.offset),
                                      storage_pb2.WriteChunkResponse), "")
            finally:
                registration.region.release(slot)
            await expect(StatusCode.UNKNOWN_REGION, rpc.call(
                StorageMethod.READ_CHUNK,
                storage_pb2.ReadChunkRequest(chain_id=chain_id, chunk=chunk, length=4096, target_id=head.target_id,
                                             shared_buffer=storage_pb2.SharedBuffer(region_id=777, offset=0)),
                storage_pb2.ReadChunkResponse), "not registered")
            reply = await rpc.call(StorageMethod.QUERY_CHUNK, storage_pb2.QueryChunkRequest(
                chain_id=chain_id, target_id=head.target_id, chunk=chunk), storage_pb2.QueryChunkResponse)
            assert not reply.message.exists, "a refused write left a chunk behind"
            # the slot's bytes are not a chunk's until a write names them; and the service still serves
            async with await client.open("/hostile.bin", "rb") as file:
                assert await file.read() == b"h" * MiB
            await client.unlink("/hostile.bin")

    run_async(main())


def test_the_client_config_bounds_what_moves_through_shared_memory():
    config = SharedMemoryConfig()
    assert config.slot_bytes == MiB and config.slots > 0
    with pytest.raises(AssertionError):
        dataclasses.replace(config, slot_bytes=1000).check()
