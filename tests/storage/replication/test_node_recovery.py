"""StorageNode and SyncReceiver around recovery, in one process: real targets, a recording forwarder."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import crc32c
import pytest

from fs3.errors import Fs3Error, StatusCode
from fs3.routing import ChainInfo, LocalState, NodeInfo, NodeType, PublicState, RoutingInfo, TargetInfo
from fs3.storage.chunk_engine import ChunkEngineConfig, ChunkId
from fs3.storage.lease import HeartbeatLease
from fs3.storage.node import StorageNode
from fs3.storage.replication.local_state import TargetLocalStates
from fs3.storage.replication.resync import SyncChunk, SyncReceiver
from fs3.storage.requests import ReadRequest, WriteRequest, WriteResult
from fs3.storage.target import StorageTarget

CHUNK = ChunkId(42, 0)
CONFIG = ChunkEngineConfig(chunk_size_bytes_max=1 << 20, direct_io=False, slot_file_bytes=1 << 20)


def _routing(head_state: PublicState, tail_state: PublicState, chain_version: int = 3) -> RoutingInfo:
    routing = RoutingInfo(routing_version=9)
    routing.nodes[1] = NodeInfo(1, NodeType.STORAGE, "127.0.0.1", 1)
    routing.nodes[2] = NodeInfo(2, NodeType.STORAGE, "127.0.0.1", 2)
    routing.chains[7] = ChainInfo(7, chain_version, [1, 2])
    routing.targets[1] = TargetInfo(1, 1, public_state=head_state, chain_id=7)
    routing.targets[2] = TargetInfo(2, 2, public_state=tail_state, chain_id=7)
    return routing


class RecordingForwarder:
    def __init__(self) -> None:
        self.hops: list[tuple[WriteRequest, bytes]] = []

    async def forward_write(self, successor, request: WriteRequest, payload: memoryview) -> WriteResult:
        self.hops.append((request, bytes(payload)))
        return WriteResult(request.update_version, len(payload), 0)


def _write(data: bytes, offset: int, *, chain_version: int = 3, target_id: int = 0, full: bool = False,
           from_predecessor: bool = False, update_version: int = 0) -> WriteRequest:
    return WriteRequest(chain_id=7, chain_version=chain_version, chunk_id=CHUNK, offset=offset, length=len(data),
                        chunk_size=1 << 20, payload_crc32c=crc32c.crc32c(data), full_chunk_replace=full,
                        target_id=target_id, from_predecessor=from_predecessor, update_version=update_version)


@pytest.fixture
def executor():
    pool = ThreadPoolExecutor(max_workers=2)
    yield pool
    pool.shutdown(wait=True)


def _node(tmp_path, executor, target_id: int, routing: RoutingInfo, **kwargs) -> tuple[StorageNode, StorageTarget]:
    target = StorageTarget(target_id, str(tmp_path / f"target-{target_id}"), executor, CONFIG)
    state = {"routing": routing}

    async def refresh():
        return state["routing"]

    node = StorageNode(target_id, {target_id: target}, lambda: state["routing"], refresh,
                       kwargs.pop("forwarder", RecordingForwarder()), chunk_size_bytes_max=1 << 20,
                       forward_retries_max=2, forward_retry_delay_s=0.01, **kwargs)
    return node, target


def test_a_write_reaches_a_syncing_successor_as_the_whole_chunk(tmp_path, executor):
    forwarder = RecordingForwarder()
    node, target = _node(tmp_path, executor, 1, _routing(PublicState.SERVING, PublicState.SERVING),
                         forwarder=forwarder)

    async def main():
        await node.write(_write(b"a" * 1000, 0), memoryview(b"a" * 1000))
        assert forwarder.hops[-1][0].full_chunk_replace is False  # a serving successor gets the update only
        node._routing().targets[2].public_state = PublicState.SYNCING
        result = await node.write(_write(b"b" * 10, 500), memoryview(b"b" * 10))
        hop, payload = forwarder.hops[-1]
        expected = b"a" * 500 + b"b" * 10 + b"a" * 490
        assert (hop.full_chunk_replace, hop.offset, hop.length, hop.update_version) == (True, 0, 1000, 2)
        assert payload == expected and hop.payload_crc32c == crc32c.crc32c(expected)
        assert result.committed_version == 2
        target.close()

    asyncio.run(main())


def test_a_syncing_target_takes_only_full_chunks_keeps_their_version_and_serves_no_reads(tmp_path, executor):
    states = TargetLocalStates([2])
    routing = _routing(PublicState.SERVING, PublicState.SYNCING)
    node, target = _node(tmp_path, executor, 2, routing, local_states=states)

    async def main():
        with pytest.raises(Fs3Error) as caught:  # restarted, recovery not begun
            await node.write(_write(b"x" * 10, 0, target_id=2, full=True, from_predecessor=True),
                             memoryview(b"x" * 10))
        assert caught.value.code == StatusCode.TARGET_NOT_SERVING
        states.update(_routing(PublicState.SERVING, PublicState.OFFLINE))
        assert states.state(2) == LocalState.ONLINE
        with pytest.raises(Fs3Error) as caught:
            await node.write(_write(b"x" * 10, 5, target_id=2, from_predecessor=True), memoryview(b"x" * 10))
        assert caught.value.code == StatusCode.TARGET_NOT_SERVING
        await target.write_pending(CHUNK, 0, memoryview(b"stale"), chunk_size=1 << 20, chain_version=1,
                                   full_chunk_replace=False, payload_crc32c=crc32c.crc32c(b"stale"))
        result = await node.write(_write(b"y" * 30, 0, target_id=2, full=True, from_predecessor=True,
                                         update_version=8), memoryview(b"y" * 30))
        meta = await target.get_meta(CHUNK)
        assert (result.committed_version, meta.committed_version, meta.pending_version) == (8, 8, 0)
        with pytest.raises(Fs3Error) as caught:
            await node.read(ReadRequest(7, 3, CHUNK, 0, 30, 2, False), memoryview(bytearray(30)))
        assert caught.value.code == StatusCode.TARGET_NOT_SERVING

        receiver = SyncReceiver(node)
        other = ChunkId(42, 1)
        await receiver.sync_chunk(SyncChunk(7, 3, 2, other, False, 5, 4, crc32c.crc32c(b"data")),
                                  memoryview(b"data"))
        assert (await target.get_meta(other)).committed_version == 5
        await receiver.sync_chunk(SyncChunk(7, 3, 2, other, True, 0, 0, 0), None)
        assert await target.get_meta(other) is None
        with pytest.raises(Fs3Error) as caught:
            await receiver.sync_done(7, 2, 2)
        assert caught.value.code == StatusCode.STALE_CHAIN_VERSION
        await receiver.sync_done(7, 3, 2)
        assert states.state(2) == LocalState.UP_TO_DATE
        target.close()

    asyncio.run(main())


def test_without_the_lease_nothing_is_served(tmp_path, executor):
    clock = {"last": 0.0}
    lease = HeartbeatLease(lambda: clock["last"], lambda: 4.0, lambda: 100.0)
    node, target = _node(tmp_path, executor, 2, _routing(PublicState.SERVING, PublicState.SERVING), lease=lease)

    async def main():
        for attempt in ("write", "read"):
            with pytest.raises(Fs3Error) as caught:
                if attempt == "write":
                    await node.write(_write(b"z", 0, target_id=2), memoryview(b"z"))
                else:
                    await node.read(ReadRequest(7, 3, CHUNK, 0, 1, 2, False), memoryview(bytearray(1)))
            assert caught.value.code == StatusCode.TARGET_NOT_SERVING
        clock["last"] = 99.0  # a heartbeat one second ago: within half of 4 s
        await node.write(_write(b"z", 0, target_id=2), memoryview(b"z"))
        target.close()

    asyncio.run(main())
