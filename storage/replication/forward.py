"""Forward a write (or a chunk removal/truncation) to the successor target over the framed RPC protocol.

A successor on this host that took this service's shared memory region gets
a write's payload through a slot of it (`fs3.net.shared_memory.paths`), like
a client's; otherwise the payload rides in the frame.
"""

from __future__ import annotations

from fs3._proto import storage_pb2
from fs3.errors import Fs3Error, StatusCode
from fs3.net.client import RpcClientPool
from fs3.net.methods import StorageMethod
from fs3.net.shared_memory.paths import SharedMemoryPaths
from fs3.routing import RoutingInfo, TargetInfo
from fs3.storage.chunk_engine import ChunkId, ChunkMeta
from fs3.storage.codec import (
    chunk_id_to_proto, chunk_meta_from_proto, remove_request_to_proto, truncate_request_to_proto,
    write_request_to_proto,
)
from fs3.storage.requests import RemoveChunksRequest, TruncateChunkRequest, WriteRequest, WriteResult

__all__ = ["RpcForwarder"]


class RpcForwarder:
    def __init__(self, clients: RpcClientPool, routing, timeout_s: float,
                 shared_memory: SharedMemoryPaths | None = None, *, query_timeout_s: float | None = None) -> None:
        self.clients = clients
        self._routing = routing  # () -> RoutingInfo
        self.timeout_s = timeout_s
        self.query_timeout_s = timeout_s if query_timeout_s is None else query_timeout_s
        self.shared_memory = shared_memory

    async def forward_write(self, successor: TargetInfo, request: WriteRequest, payload: memoryview) -> WriteResult:
        routing: RoutingInfo = self._routing()
        node = routing.nodes.get(successor.node_id)
        if node is None:
            raise Fs3Error(StatusCode.UNAVAILABLE, f"node {successor.node_id} of target {successor.target_id} unknown")
        client = self.clients.get(node.host, node.port)
        message = write_request_to_proto(request)
        registration = (await self.shared_memory.registration_for_payload(node, len(payload))
                        if self.shared_memory is not None else None)
        if registration is not None:
            response = await self.shared_memory.call(client, registration, StorageMethod.WRITE_CHUNK, message,
                                                     storage_pb2.WriteChunkResponse, send=payload,
                                                     timeout_s=self.timeout_s)
        else:
            result = await client.call(
                StorageMethod.WRITE_CHUNK, message, storage_pb2.WriteChunkResponse,
                payload=[payload] if len(payload) else (), timeout_s=self.timeout_s,
            )
            response = result.message
        return WriteResult(response.committed_version, response.chunk_length, response.chunk_crc32c)

    async def query_chunk(self, successor: TargetInfo, chain_id: int, chunk_id: ChunkId) -> ChunkMeta | None:
        """The successor's metadata of one chunk (None: it has no such chunk)."""
        result = await self._client_of(successor).call(
            StorageMethod.QUERY_CHUNK,
            storage_pb2.QueryChunkRequest(chain_id=chain_id, target_id=successor.target_id,
                                          chunk=chunk_id_to_proto(chunk_id)),
            storage_pb2.QueryChunkResponse, timeout_s=self.query_timeout_s,
        )
        return chunk_meta_from_proto(result.message.meta) if result.message.exists else None

    async def forward_remove(self, successor: TargetInfo, request: RemoveChunksRequest) -> int:
        result = await self._client_of(successor).call(
            StorageMethod.REMOVE_CHUNKS, remove_request_to_proto(request), storage_pb2.RemoveChunksResponse,
            timeout_s=self.timeout_s,
        )
        return result.message.removed

    async def forward_truncate(self, successor: TargetInfo, request: TruncateChunkRequest) -> None:
        await self._client_of(successor).call(
            StorageMethod.TRUNCATE_CHUNK, truncate_request_to_proto(request), storage_pb2.TruncateChunkResponse,
            timeout_s=self.timeout_s,
        )

    def _client_of(self, successor: TargetInfo):
        node = self._routing().nodes.get(successor.node_id)
        if node is None:
            raise Fs3Error(StatusCode.UNAVAILABLE, f"node {successor.node_id} of target {successor.target_id} unknown")
        return self.clients.get(node.host, node.port)
