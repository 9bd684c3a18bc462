"""Storage failures and recovery with real processes (replication.md "Recovery").

A storage service is SIGKILLed while clients write; writes keep succeeding
once the cluster manager has moved its targets out of their chains; the
service restarts, its targets go offline -> waiting -> syncing -> serving
while their predecessors transfer what they missed; at the end every chunk
has the same bytes on all three replicas and every acknowledged byte reads
back exactly.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time

import crc32c
import pytest

from fs3._proto import storage_pb2
from fs3.client import Fs3Client
from fs3.errors import Fs3Error, StatusCode
from fs3.net.methods import StorageMethod
from fs3.routing import NodeType, PublicState, RoutingInfo
from fs3.storage.chunk_meta_dump import dump_target_chunk_meta
from tests.conftest import run_async, running_cluster

KiB = 1 << 10
CHUNK_SIZE = 256 * KiB
HEARTBEAT_TIMEOUT_S = 3.0
STORAGE_SERVICES = ("storage-101", "storage-102", "storage-103")


@pytest.fixture(scope="module")
def recovery_cluster(tmp_path_factory):
    with running_cluster(tmp_path_factory.mktemp("recovery"), heartbeat_timeout_s=HEARTBEAT_TIMEOUT_S,
                         chunk_size_bytes=CHUNK_SIZE, slot_file_bytes=8 << 20) as cluster:
        yield cluster


async def wait_all_serving(cluster, timeout_s: float = 90.0) -> RoutingInfo:
    """Until every service is alive and every target serving and up to date."""
    deadline = time.monotonic() + timeout_s
    problem = "not checked"
    while time.monotonic() < deadline:
        routing, problem = await cluster.status()
        if routing is not None and problem is None:
            return routing
        await asyncio.sleep(0.3)
    raise AssertionError(f"cluster did not recover in {timeout_s}s: {problem}")


async def write_file(client: Fs3Client, path: str, data: bytes, block: int = 100 * KiB) -> None:
    async with await client.open(path, "wb") as file:
        for start in range(0, len(data), block):
            await file.write(data[start : start + block])


async def check_replicas_and_data(client: Fs3Client, files: dict[str, bytes]) -> int:
    """Every chunk: same length and checksum on every replica (and equal to the expected bytes'),
    no pending version; every file reads back byte-exact. Returns the number of chunks checked."""
    routing = await client.routing.refresh()
    checked = 0
    for path, expected in files.items():
        stat = await client.stat(path)
        assert stat.length == len(expected), path
        layout = stat.layout
        for chunk_index in range((len(expected) + layout.chunk_size - 1) // layout.chunk_size):
            piece = expected[chunk_index * layout.chunk_size : (chunk_index + 1) * layout.chunk_size]
            chain_id = layout.chain_of_chunk(routing, chunk_index)
            chain = routing.chains[chain_id]
            assert len(chain.target_ids) == 3
            for target_id in chain.target_ids:
                assert routing.targets[target_id].public_state == PublicState.SERVING
                node = routing.nodes[routing.targets[target_id].node_id]
                reply = await client.rpc.get(node.host, node.port).call(
                    StorageMethod.QUERY_CHUNK,
                    storage_pb2.QueryChunkRequest(chain_id=chain_id, target_id=target_id, chunk=storage_pb2.ChunkId(
                        inode_id=stat.inode_id, chunk_index=chunk_index)),
                    storage_pb2.QueryChunkResponse,
                )
                meta = reply.message.meta
                where = f"{path} chunk {chunk_index} on target {target_id}"
                assert reply.message.exists, f"{where}: missing"
                assert meta.pending_version == 0, f"{where}: pending version {meta.pending_version}"
                assert (meta.length, meta.crc32c) == (len(piece), crc32c.crc32c(piece)), f"{where}: differs"
            checked += 1
        async with await client.open(path, "rb") as file:
            assert await file.read() == expected, f"{path} reads back different bytes"
    return checked


def storage_target_ids(routing: RoutingInfo, name: str) -> set[int]:
    node_id = int(name.split("-")[1])
    return {target.target_id for target in routing.targets.values() if target.node_id == node_id}


def test_killed_storage_service_recovers_and_every_replica_converges(recovery_cluster, tmp_path):
    """Kill one storage service of three; write new files and overwrite old ones while it is down and
    while it recovers; after recovery all replicas hold the same, expected bytes."""
    cluster = recovery_cluster
    randomness = random.Random(4)

    async def main() -> None:
        client = await Fs3Client.connect([cluster.mgmtd_address])
        try:
            before = await wait_all_serving(cluster)
            versions_before = {chain.chain_id: chain.chain_version for chain in before.chains.values()}
            await client.mkdir("/recovery")
            files: dict[str, bytes] = {}
            for index in range(4):
                files[f"/recovery/before-{index}"] = os.urandom(randomness.randrange(1, 3 * CHUNK_SIZE * 5))
                await write_file(client, f"/recovery/before-{index}", files[f"/recovery/before-{index}"])

            await asyncio.to_thread(cluster.kill_service, "storage-102")
            killed_at = time.monotonic()
            for index in range(4):  # these writes wait (client retries) until the chains drop the dead targets
                files[f"/recovery/down-{index}"] = os.urandom(randomness.randrange(1, 2 * CHUNK_SIZE * 5))
                await write_file(client, f"/recovery/down-{index}", files[f"/recovery/down-{index}"])
            # overwrite parts of files written before the kill: their chunks change while a replica is away
            for index in range(2):
                path = f"/recovery/before-{index}"
                data = bytearray(files[path])
                offset = len(data) // 3
                patch = os.urandom(min(CHUNK_SIZE + 1000, len(data) - offset))
                async with await client.open(path, "r+b") as file:
                    await file.pwrite(patch, offset)
                data[offset : offset + len(patch)] = patch
                files[path] = bytes(data)
            down_for = time.monotonic() - killed_at
            routing = await client.routing.refresh()
            dead_targets = storage_target_ids(routing, "storage-102")
            assert all(routing.targets[t].public_state in (PublicState.OFFLINE, PublicState.LASTSRV)
                       for t in dead_targets), "the killed service's targets should be out of their chains"

            await asyncio.to_thread(cluster.start_service, "storage-102")
            for index in range(3):  # writes during recovery reach the syncing targets as full-chunk replaces
                files[f"/recovery/during-{index}"] = os.urandom(randomness.randrange(1, 2 * CHUNK_SIZE * 5))
                await write_file(client, f"/recovery/during-{index}", files[f"/recovery/during-{index}"])
            started = time.monotonic()
            after = await wait_all_serving(cluster)
            recovery_s = time.monotonic() - started
            assert all(after.chains[chain_id].chain_version > version for chain_id, version in versions_before.items())
            checked = await check_replicas_and_data(client, files)
            print(f"writes while down took {down_for:.1f}s, recovery {recovery_s:.1f}s, {checked} chunks checked")
        finally:
            await client.close()

    run_async(main())


def test_storage_service_killed_mid_write_loses_no_acknowledged_byte(recovery_cluster):
    """A writer streams into one file while a storage service is killed and later restarted; every
    write that returned is in the file, on all three replicas, after recovery."""
    cluster = recovery_cluster

    async def main() -> None:
        client = await Fs3Client.connect([cluster.mgmtd_address])
        try:
            await wait_all_serving(cluster)
            await client.mkdir("/midwrite", parents=True)
            acknowledged = bytearray()
            stop = asyncio.Event()
            randomness = random.Random(7)

            async def writer() -> None:
                async with await client.open("/midwrite/stream", "wb") as file:
                    while not stop.is_set():
                        block = os.urandom(randomness.randrange(1, 300 * KiB))
                        await file.write(block)
                        acknowledged.extend(block)

            task = asyncio.get_running_loop().create_task(writer())
            await asyncio.sleep(1.0)
            await asyncio.to_thread(cluster.kill_service, "storage-103")
            size_at_kill = len(acknowledged)
            await asyncio.sleep(HEARTBEAT_TIMEOUT_S + 3.0)
            await asyncio.to_thread(cluster.start_service, "storage-103")
            await asyncio.sleep(3.0)
            stop.set()
            await task
            assert len(acknowledged) > size_at_kill, "no write succeeded after the kill"
            await wait_all_serving(cluster)
            await check_replicas_and_data(client, {"/midwrite/stream": bytes(acknowledged)})
        finally:
            await client.close()

    run_async(main())


async def chunks_of_inodes(client: Fs3Client, inode_ids: set[int]) -> dict[int, int]:
    """target id -> how many chunks of `inode_ids` it stores (every target, whatever its state)."""
    routing = await client.routing.refresh()
    found: dict[int, int] = {}
    for target_id, target in routing.targets.items():
        node = routing.nodes[target.node_id]
        chunks = await dump_target_chunk_meta(client.rpc.get(node.host, node.port), target_id)
        count = sum(meta.chunk.inode_id in inode_ids for meta in chunks)
        if count:
            found[target_id] = count
    return found


def test_removals_while_a_replica_is_down_and_recovering_reach_it(recovery_cluster):
    """Files removed (and a file truncated) while a storage service is down, and again while its
    targets recover, leave no chunk behind on any replica once all serve; the kept files converge."""
    cluster = recovery_cluster
    randomness = random.Random(11)

    async def main() -> None:
        client = await Fs3Client.connect([cluster.mgmtd_address])
        try:
            await wait_all_serving(cluster)
            await client.mkdir("/removals", parents=True)
            files: dict[str, bytes] = {}
            for index in range(8):
                files[f"/removals/f{index}"] = os.urandom(randomness.randrange(CHUNK_SIZE, 4 * CHUNK_SIZE * 5))
                await write_file(client, f"/removals/f{index}", files[f"/removals/f{index}"])
            inode_of = {path: (await client.stat(path)).inode_id for path in files}

            await asyncio.to_thread(cluster.kill_service, "storage-101")
            removed: set[int] = set()
            for path in ("/removals/f0", "/removals/f1", "/removals/f2"):  # while down
                await client.unlink(path)
                removed.add(inode_of[path])
                del files[path]
            files["/removals/f3"] = files["/removals/f3"][: CHUNK_SIZE // 3]  # shrink while down
            await client.truncate("/removals/f3", len(files["/removals/f3"]))

            await asyncio.to_thread(cluster.start_service, "storage-101")
            for path in ("/removals/f4", "/removals/f5"):  # while its targets come back
                await client.unlink(path)
                removed.add(inode_of[path])
                del files[path]
            files["/removals/f6"] = files["/removals/f6"][: CHUNK_SIZE + 5]
            await client.truncate("/removals/f6", len(files["/removals/f6"]))

            await wait_all_serving(cluster)
            deadline = time.monotonic() + 30
            while (left := await chunks_of_inodes(client, removed)) and time.monotonic() < deadline:
                await asyncio.sleep(0.3)  # the metadata services' GC runs every second
            assert not left, f"chunks of removed files still on targets: {left}"
            await check_replicas_and_data(client, files)
            for path in ("/removals/f3", "/removals/f6"):  # no chunk past the new end on any replica
                extra = await chunks_of_inodes(client, {inode_of[path]})
                chunk_count = (len(files[path]) + CHUNK_SIZE - 1) // CHUNK_SIZE
                assert sum(extra.values()) == 3 * chunk_count, (path, extra)
        finally:
            await client.close()

    run_async(main())


def test_storage_stops_serving_without_heartbeats_and_resumes_after(recovery_cluster):
    """The heartbeat is a lease: with the cluster manager frozen (SIGSTOP) for more than half the heartbeat
    timeout, a storage service answers TARGET_NOT_SERVING; once heartbeats succeed again it serves."""
    cluster = recovery_cluster

    async def main() -> None:
        client = await Fs3Client.connect([cluster.mgmtd_address])
        try:
            await wait_all_serving(cluster)
            data = os.urandom(5000)
            await client.mkdir("/lease", parents=True)
            await write_file(client, "/lease/file", data)
            stat = await client.stat("/lease/file")
            routing = await client.routing.refresh()
            chain_id = stat.layout.chain_of_chunk(routing, 0)
            chain = routing.chains[chain_id]
            target = routing.targets[chain.target_ids[-1]]
            buffer = memoryview(bytearray(len(data)))

            async def read() -> int:
                return await client.storage.read_from_target(
                    routing, chain_id, chain.chain_version, target, stat.inode_id, 0, 0, len(data), buffer)

            assert await read() == len(data)
            mgmtd_pid = cluster.services["mgmtd"].pid
            os.kill(mgmtd_pid, signal.SIGSTOP)
            try:
                await asyncio.sleep(HEARTBEAT_TIMEOUT_S / 2 + 0.3)
                with pytest.raises(Fs3Error) as caught:
                    await read()
                assert caught.value.code == StatusCode.TARGET_NOT_SERVING, caught.value
            finally:
                os.kill(mgmtd_pid, signal.SIGCONT)
            deadline = time.monotonic() + 60
            while True:  # serving resumes with the next successful heartbeat (or after a recovery)
                try:
                    routing = await client.routing.refresh()
                    chain = routing.chains[chain_id]
                    if await read() == len(data) and bytes(buffer) == data:
                        break
                except Fs3Error as error:
                    assert time.monotonic() < deadline, f"storage did not serve again: {error}"
                await asyncio.sleep(0.2)
            await wait_all_serving(cluster)
        finally:
            await client.close()

    run_async(main())


def _killable(routing: RoutingInfo, down: set[str], victim: str) -> bool:
    """True if every chain keeps a serving target on a running node after `victim` dies."""
    running_nodes = {int(name.split("-")[1]) for name in STORAGE_SERVICES if name not in down | {victim}}
    for chain in routing.chains.values():
        if not any(routing.targets[t].public_state == PublicState.SERVING and routing.targets[t].node_id in running_nodes
                   for t in chain.target_ids):
            return False
    return True


@pytest.mark.slow
def test_soak_random_storage_kills_and_restarts_while_writing(recovery_cluster):
    """Many rounds: random storage services are killed (never the last serving replica of a chain) and
    restarted while several writers stream; every acknowledged byte survives on all replicas."""
    cluster = recovery_cluster
    rounds = int(os.environ.get("FS3_SOAK_ROUNDS", "12"))

    async def main() -> None:
        client = await Fs3Client.connect([cluster.mgmtd_address])
        try:
            await wait_all_serving(cluster)
            await client.mkdir("/soak", parents=True)
            stop = asyncio.Event()
            files: dict[str, bytearray] = {}

            async def writer(index: int) -> None:
                randomness = random.Random(index)
                generation = 0
                while not stop.is_set():
                    path = f"/soak/w{index}-{generation}"
                    files[path] = bytearray()
                    async with await client.open(path, "wb") as file:
                        for _ in range(randomness.randrange(5, 40)):
                            if stop.is_set():
                                break
                            block = os.urandom(randomness.randrange(1, 200 * KiB))
                            await file.write(block)
                            files[path].extend(block)
                    generation += 1

            writers = [asyncio.get_running_loop().create_task(writer(index)) for index in range(3)]
            randomness = random.Random(11)
            down: set[str] = set()
            for round_index in range(rounds):
                routing = await client.routing.refresh()
                if down and (len(down) == 2 or randomness.random() < 0.5):
                    name = randomness.choice(sorted(down))
                    await asyncio.to_thread(cluster.start_service, name)
                    down.discard(name)
                else:
                    candidates = [name for name in STORAGE_SERVICES
                                  if name not in down and _killable(routing, down, name)]
                    if candidates:
                        name = randomness.choice(candidates)
                        await asyncio.to_thread(cluster.kill_service, name)
                        down.add(name)
                await asyncio.sleep(randomness.uniform(1.0, HEARTBEAT_TIMEOUT_S + 3.0))
                for task in writers:
                    if task.done():
                        task.result()  # a writer's error fails the test here
            for name in sorted(down):
                await asyncio.to_thread(cluster.start_service, name)
            stop.set()
            await asyncio.gather(*writers)
            await wait_all_serving(cluster, timeout_s=180)
            checked = await check_replicas_and_data(client, {path: bytes(data) for path, data in files.items()})
            print(f"soak: {rounds} rounds, {len(files)} files, {checked} chunks checked")
        finally:
            await client.close()

    run_async(main())
