"""Chunk reads and writes against the storage services, with retries.

Writes go to the chain's head; reads to a serving replica picked at random
(a choice by chunk index correlated with the chains' member order, so a whole
file could read from one node), a retry to the next one. A payload to or from a storage service
on this host moves through a slot of the client's shared memory region
(`fs3/net/shared_memory/paths.py`) when the service took its registration;
otherwise it rides in the TCP frame. Routing errors (stale chain version,
a target that stopped serving, an unreachable node) refresh the routing info
and retry within a bounded number of attempts; errors the caller caused
(checksum, range, ENOSPC) are raised at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import random
from typing import Awaitable, Callable

import crc32c

from fs3._proto import storage_pb2
from fs3.errors import Fs3Error, StatusCode
from fs3.net.client import RpcClient, RpcClientPool
from fs3.net.methods import StorageMethod
from fs3.net.shared_memory import Registration
from fs3.net.shared_memory.paths import SharedMemoryConfig, SharedMemoryPaths, SlotLease
from fs3.routing import RoutingInfo, TargetInfo

__all__ = ["StorageClient", "StorageClientConfig", "ReadLease"]

logger = logging.getLogger(__name__)

_RETRYABLE = frozenset({
    StatusCode.STALE_CHAIN_VERSION, StatusCode.UNAVAILABLE, StatusCode.TIMEOUT, StatusCode.TARGET_NOT_SERVING,
    StatusCode.UNKNOWN_TARGET, StatusCode.ROUTING_NOT_READY, StatusCode.CHUNK_PENDING, StatusCode.UNKNOWN_CHAIN,
    StatusCode.CHUNK_CORRUPTED, StatusCode.INTERNAL, StatusCode.UNKNOWN_REGION,
})


@dataclasses.dataclass(frozen=True, slots=True)
class StorageClientConfig:
    retries_max: int = 40
    retry_delay_s: float = 0.05
    retry_delay_max_s: float = 1.0
    timeout_s: float = 30.0
    shared_memory: SharedMemoryConfig = SharedMemoryConfig()


class ReadLease:
    """A read's bytes in a buffer of their own (the `SlotLease` interface: nothing to give back)."""

    __slots__ = ("view",)

    def __init__(self, view: memoryview) -> None:
        self.view = view

    def release(self) -> None:
        pass


def _chunk_message(inode_id: int, chunk_index: int) -> storage_pb2.ChunkId:
    return storage_pb2.ChunkId(inode_id=inode_id, chunk_index=chunk_index)


class StorageClient:
    def __init__(
        self,
        clients: RpcClientPool,
        routing: Callable[[], RoutingInfo],
        refresh_routing: Callable[[], Awaitable[RoutingInfo]],
        *,
        client_id: int,
        config: StorageClientConfig = StorageClientConfig(),
        token: str | None = None,
    ) -> None:
        self.clients = clients
        self.shared_memory = SharedMemoryPaths(token, config.shared_memory)
        self.payload_bytes = {"shared_memory": 0, "tcp": 0}  # chunk payload bytes moved each way, for reports
        self._routing = routing
        self._refresh_routing = refresh_routing
        self.client_id = client_id
        self.config = config
        self._request_seq = 0
        self._replica_choice = random.Random()

    def _rpc(self, routing: RoutingInfo, target: TargetInfo) -> RpcClient:
        node = routing.nodes.get(target.node_id)
        if node is None:
            raise Fs3Error(StatusCode.UNAVAILABLE, f"storage node {target.node_id} unknown")
        return self.clients.get(node.host, node.port)

    async def _shared_registration(self, routing: RoutingInfo, target: TargetInfo, length: int) -> Registration | None:
        return await self.shared_memory.registration_for_payload(routing.nodes.get(target.node_id), length)

    def close(self) -> None:
        self.shared_memory.close()

    async def _backoff(self, attempt: int) -> None:
        await asyncio.sleep(min(self.config.retry_delay_s * (2 ** min(attempt, 6)), self.config.retry_delay_max_s))
        try:
            await self._refresh_routing()
        except Fs3Error as error:
            logger.debug("routing refresh failed: %s", error)

    async def write_chunk(
        self, chain_id: int, inode_id: int, chunk_index: int, offset: int, data: memoryview, chunk_size: int
    ) -> storage_pb2.WriteChunkResponse:
        """Write `data` at `offset` of a chunk; returns once the whole chain committed it."""
        checksum = crc32c.crc32c(data)
        self._request_seq += 1
        last_error: Fs3Error | None = None
        for attempt in range(self.config.retries_max):
            routing = self._routing()
            chain = routing.chain(chain_id)
            writable = routing.writable_targets(chain_id)
            if chain is None or not writable:
                last_error = Fs3Error(StatusCode.ROUTING_NOT_READY, f"chain {chain_id} has no writable target")
                await self._backoff(attempt)
                continue
            head = writable[0]
            request = storage_pb2.WriteChunkRequest(
                chain_id=chain_id, chain_version=chain.chain_version, chunk=_chunk_message(inode_id, chunk_index),
                offset=offset, length=len(data), chunk_size=chunk_size, payload_crc32c=checksum,
                target_id=head.target_id, client_id=self.client_id, request_seq=self._request_seq,
            )
            try:
                rpc = self._rpc(routing, head)
                registration = await self._shared_registration(routing, head, len(data))
                if registration is not None:
                    message = await self.shared_memory.call(rpc, registration, StorageMethod.WRITE_CHUNK, request,
                                                            storage_pb2.WriteChunkResponse, send=data,
                                                            timeout_s=self.config.timeout_s)
                    self.payload_bytes["shared_memory"] += len(data)
                    return message
                result = await rpc.call(
                    StorageMethod.WRITE_CHUNK, request, storage_pb2.WriteChunkResponse,
                    payload=[data] if len(data) else (), timeout_s=self.config.timeout_s,
                )
                self.payload_bytes["tcp"] += len(data)
                return result.message
            except Fs3Error as error:
                if error.code not in _RETRYABLE:
                    raise
                last_error = error
                logger.debug("write chunk %d/%d on chain %d: %s; retrying", inode_id, chunk_index, chain_id, error)
            await self._backoff(attempt)
        raise Fs3Error(errno.EIO, f"write to chain {chain_id} failed after retries: {last_error}")

    async def read_chunk(
        self, chain_id: int, inode_id: int, chunk_index: int, offset: int, length: int, into: memoryview
    ) -> int:
        """Read into `into[:length]`; returns bytes read (0 if the chunk does not exist)."""

        async def read_one(routing: RoutingInfo, chain_version: int, target: TargetInfo) -> int:
            return await self.read_from_target(routing, chain_id, chain_version, target, inode_id, chunk_index,
                                               offset, length, into)

        return await self._read_with_retries(chain_id, read_one)

    async def read_chunk_lease(
        self, chain_id: int, inode_id: int, chunk_index: int, offset: int, length: int
    ) -> "ReadLease | SlotLease":
        """`length` bytes of a chunk from `offset`, zeros past its end, in a lease the caller must
        `release`: the shared-memory slot the service read into when it can be kept (no copy out),
        else a buffer of its own."""

        async def read_one(routing: RoutingInfo, chain_version: int, target: TargetInfo):
            registration = await self._shared_registration(routing, target, length)
            if registration is not None:
                request = self._read_request(chain_id, chain_version, target, inode_id, chunk_index, offset, length)
                leased = await self.shared_memory.call_leasing(
                    self._rpc(routing, target), registration, StorageMethod.READ_CHUNK, request,
                    storage_pb2.ReadChunkResponse, length=length, timeout_s=self.config.timeout_s)
                if leased is not None:
                    message, lease = leased
                    self.payload_bytes["shared_memory"] += message.length
                    if message.length < length:  # past the chunk's end: zeros, as a hole reads
                        lease.view[message.length:] = bytes(length - message.length)
                    return lease
            buffer = memoryview(bytearray(length))  # zeros past what the chunk holds
            await self.read_from_target(routing, chain_id, chain_version, target, inode_id, chunk_index, offset,
                                        length, buffer)
            return ReadLease(buffer)

        return await self._read_with_retries(chain_id, read_one)

    async def _read_with_retries(self, chain_id: int, read_one):
        """`read_one(routing, chain_version, target)` on a serving replica picked at random, the next
        one on a retryable error, the tail after CHUNK_PENDING."""
        last_error: Fs3Error | None = None
        prefer_tail = False
        first_choice = self._replica_choice.getrandbits(16)
        for attempt in range(self.config.retries_max):
            routing = self._routing()
            chain = routing.chain(chain_id)
            serving = routing.serving_targets(chain_id)
            if chain is None or not serving:
                last_error = Fs3Error(StatusCode.ROUTING_NOT_READY, f"chain {chain_id} has no serving target")
                await self._backoff(attempt)
                continue
            if prefer_tail:
                target = serving[-1]
            else:
                target = serving[(first_choice + attempt) % len(serving)]
            try:
                return await read_one(routing, chain.chain_version, target)
            except Fs3Error as error:
                if error.code not in _RETRYABLE:
                    raise
                last_error = error
                if error.code == StatusCode.CHUNK_PENDING:
                    prefer_tail = True  # the tail always holds the committed version
                    continue
            await self._backoff(attempt)
        raise Fs3Error(errno.EIO, f"read from chain {chain_id} failed after retries: {last_error}")

    @staticmethod
    def _read_request(chain_id: int, chain_version: int, target: TargetInfo, inode_id: int, chunk_index: int,
                      offset: int, length: int, relaxed: bool = False) -> storage_pb2.ReadChunkRequest:
        return storage_pb2.ReadChunkRequest(
            chain_id=chain_id, chain_version=chain_version, chunk=_chunk_message(inode_id, chunk_index),
            offset=offset, length=length, target_id=target.target_id, relaxed=relaxed,
        )

    async def read_from_target(
        self, routing: RoutingInfo, chain_id: int, chain_version: int, target: TargetInfo, inode_id: int,
        chunk_index: int, offset: int, length: int, into: memoryview, relaxed: bool = False,
    ) -> int:
        request = self._read_request(chain_id, chain_version, target, inode_id, chunk_index, offset, length, relaxed)
        rpc = self._rpc(routing, target)
        registration = await self._shared_registration(routing, target, length)
        if registration is not None:
            message = await self.shared_memory.call(rpc, registration, StorageMethod.READ_CHUNK, request,
                                                    storage_pb2.ReadChunkResponse, receive_into=into,
                                                    timeout_s=self.config.timeout_s)
            self.payload_bytes["shared_memory"] += message.length
            return message.length
        result = await rpc.call(
            StorageMethod.READ_CHUNK, request, storage_pb2.ReadChunkResponse, into=into[:length],
            timeout_s=self.config.timeout_s,
        )
        received = result.payload
        count = result.message.length
        if count and (received is None or received.obj is not into.obj):
            assert received is not None and len(received) == count
            into[:count] = received
        self.payload_bytes["tcp"] += count
        return count

    async def query_last_chunk(self, chain_id: int, inode_id: int) -> storage_pb2.QueryLastChunkResponse:
        routing = self._routing()
        serving = routing.serving_targets(chain_id)
        if not serving:
            raise Fs3Error(StatusCode.ROUTING_NOT_READY, f"chain {chain_id} has no serving target")
        target = serving[-1]
        result = await self._rpc(routing, target).call(
            StorageMethod.QUERY_LAST_CHUNK,
            storage_pb2.QueryLastChunkRequest(chain_id=chain_id, inode_id=inode_id, target_id=target.target_id),
            storage_pb2.QueryLastChunkResponse,
        )
        return result.message
