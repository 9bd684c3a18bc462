"""Framed-RPC handlers of the storage service: decode, call StorageNode, encode.

Any authenticated user may write and read chunks (the metadata service decides
who may open a file; storage knows no files, as in 3FS). Calls that only
services make (recovery sync, chunk removal and trims) need the root flag;
inspection calls (chunk metadata dumps and queries) need admin or root.
"""

from __future__ import annotations

from fs3._proto import storage_pb2
from fs3.errors import Fs3Error, StatusCode
from fs3.identity import Access
from fs3.metrics import SHARED_MEMORY_BYTES, STORAGE_BYTES
from fs3.net.methods import StorageMethod
from fs3.net.server import RpcContext, RpcServer
from fs3.net.shared_memory import SharedMemoryRegistry
from fs3.storage.codec import (
    chunk_id_from_proto, chunk_meta_to_proto, read_request_from_proto, remove_request_from_proto,
    truncate_request_from_proto, write_request_from_proto,
)
from fs3.storage.node import StorageNode
from fs3.storage.replication.resync import SyncChunk, SyncReceiver
from fs3.storage.target_admin import TargetAdmin

__all__ = ["register_storage_service"]


def register_storage_service(server: RpcServer, node: StorageNode, target_admin: TargetAdmin | None = None, *,
                             chunk_meta_page_max: int = 8192, shared_memory: SharedMemoryRegistry | None = None) -> None:
    pool = server.payload_pool

    written_bytes = STORAGE_BYTES.labels("written")
    read_bytes = STORAGE_BYTES.labels("read")
    shared_written_bytes = SHARED_MEMORY_BYTES.labels("written")
    shared_read_bytes = SHARED_MEMORY_BYTES.labels("read")

    def shared_view(slot: storage_pb2.SharedBuffer, length: int, context: RpcContext) -> memoryview:
        if context.payload is not None:
            raise Fs3Error(StatusCode.BAD_REQUEST, "a request names a shared buffer or carries a payload, not both")
        if shared_memory is None:
            raise Fs3Error(StatusCode.UNKNOWN_REGION, "this storage service takes no shared memory")
        return shared_memory.view(slot.region_id, slot.offset, length, context.identity)

    async def write_chunk(request: storage_pb2.WriteChunkRequest, context: RpcContext):
        decoded = write_request_from_proto(request)
        if not request.HasField("shared_buffer"):
            result = await node.write(decoded, context.payload)
            written_bytes.inc(request.length)
        else:
            # Stored (and forwarded) straight from the client's memory, as a NIC's DMA would; the
            # payload's CRC32C is checked at every hop and on every read, so a client changing its slot
            # mid-write can only make its own chunk fail its checksum, never have wrong bytes served.
            result = await node.write(decoded, shared_view(request.shared_buffer, decoded.length, context))
            shared_written_bytes.inc(request.length)
        return storage_pb2.WriteChunkResponse(
            committed_version=result.committed_version, chunk_length=result.chunk_length,
            chunk_crc32c=result.chunk_crc32c,
        )

    async def read_chunk(request: storage_pb2.ReadChunkRequest, context: RpcContext):
        decoded = read_request_from_proto(request)
        if decoded.length > node.chunk_size_bytes_max:
            raise Fs3Error(StatusCode.OFFSET_OUT_OF_RANGE, f"read length {decoded.length} exceeds the chunk size limit")
        if request.HasField("shared_buffer"):
            result = await node.read(decoded, shared_view(request.shared_buffer, decoded.length, context))
            shared_read_bytes.inc(result.length)
            return storage_pb2.ReadChunkResponse(
                length=result.length, committed_version=result.committed_version,
                chunk_length=result.chunk_length, chunk_exists=result.chunk_exists,
            )
        buffer = pool.acquire(max(decoded.length, 1))
        try:
            result = await node.read(decoded, buffer.view[: decoded.length])
        except BaseException:
            buffer.release()
            raise
        context.set_reply_payload([buffer.view[: result.length]] if result.length else [], buffer.release)
        read_bytes.inc(result.length)
        return storage_pb2.ReadChunkResponse(
            length=result.length, committed_version=result.committed_version,
            chunk_length=result.chunk_length, chunk_exists=result.chunk_exists,
        )

    async def query_chunk(request: storage_pb2.QueryChunkRequest, context: RpcContext):
        meta = await node.query_chunk(request.chain_id, chunk_id_from_proto(request.chunk),
                                      request.target_id)
        if meta is None:
            return storage_pb2.QueryChunkResponse(exists=False)
        return storage_pb2.QueryChunkResponse(exists=True, meta=chunk_meta_to_proto(meta))

    async def query_last_chunk(request: storage_pb2.QueryLastChunkRequest, context: RpcContext):
        meta = await node.query_last_chunk(request.chain_id, request.inode_id, request.target_id)
        if meta is None:
            return storage_pb2.QueryLastChunkResponse(exists=False)
        return storage_pb2.QueryLastChunkResponse(exists=True, meta=chunk_meta_to_proto(meta))

    async def dump_chunk_meta(request: storage_pb2.DumpChunkMetaRequest, context: RpcContext):
        target = node.dump_target(request.target_id)
        limit = min(request.limit or chunk_meta_page_max, chunk_meta_page_max)
        after = chunk_id_from_proto(request.after) if request.HasField("after") else None
        chunks = await target.list_chunks(after, limit + 1)
        return storage_pb2.DumpChunkMetaResponse(chunks=[chunk_meta_to_proto(meta) for meta in chunks[:limit]],
                                                 more=len(chunks) > limit)

    receiver = SyncReceiver(node)

    async def sync_chunk(request: storage_pb2.SyncChunkRequest, context: RpcContext):
        version = await receiver.sync_chunk(SyncChunk(
            chain_id=request.chain_id, chain_version=request.chain_version, target_id=request.target_id,
            chunk_id=chunk_id_from_proto(request.chunk), remove=request.remove,
            committed_version=request.committed_version, length=request.length,
            payload_crc32c=request.payload_crc32c,
        ), context.payload)
        return storage_pb2.SyncChunkResponse(committed_version=version)

    async def sync_done(request: storage_pb2.SyncDoneRequest, context: RpcContext):
        await receiver.sync_done(request.chain_id, request.chain_version, request.target_id)
        return storage_pb2.SyncDoneResponse()


    async def remove_chunks(request: storage_pb2.RemoveChunksRequest, context: RpcContext):
        removed = await node.remove_chunks(remove_request_from_proto(request))
        return storage_pb2.RemoveChunksResponse(removed=removed)

    async def truncate_chunk(request: storage_pb2.TruncateChunkRequest, context: RpcContext):
        version = await node.truncate_chunk(truncate_request_from_proto(request))
        return storage_pb2.TruncateChunkResponse(committed_version=version)

    server.register(StorageMethod.REMOVE_CHUNKS, storage_pb2.RemoveChunksRequest, remove_chunks, access=Access.ROOT)
    server.register(StorageMethod.TRUNCATE_CHUNK, storage_pb2.TruncateChunkRequest, truncate_chunk,
                    access=Access.ROOT)
    server.register(StorageMethod.WRITE_CHUNK, storage_pb2.WriteChunkRequest, write_chunk)
    server.register(StorageMethod.READ_CHUNK, storage_pb2.ReadChunkRequest, read_chunk)
    server.register(StorageMethod.QUERY_CHUNK, storage_pb2.QueryChunkRequest, query_chunk, access=Access.ADMIN_OR_ROOT)
    server.register(StorageMethod.QUERY_LAST_CHUNK, storage_pb2.QueryLastChunkRequest, query_last_chunk)
    server.register(StorageMethod.DUMP_CHUNK_META, storage_pb2.DumpChunkMetaRequest, dump_chunk_meta,
                    access=Access.ADMIN_OR_ROOT)
    server.register(StorageMethod.SYNC_CHUNK, storage_pb2.SyncChunkRequest, sync_chunk, access=Access.ROOT)
    server.register(StorageMethod.SYNC_DONE, storage_pb2.SyncDoneRequest, sync_done, access=Access.ROOT)
    if target_admin is not None:
        _register_target_admin(server, target_admin)


def _register_target_admin(server: RpcServer, target_admin: TargetAdmin) -> None:
    """Admin only."""

    async def create_target(request: storage_pb2.CreateTargetRequest, context: RpcContext):
        path = await target_admin.create_target(request.target_id, request.disk)
        return storage_pb2.CreateTargetResponse(target_id=request.target_id, path=path)

    async def replace_target(request: storage_pb2.ReplaceTargetRequest, context: RpcContext):
        path = await target_admin.replace_target(request.target_id)
        return storage_pb2.ReplaceTargetResponse(target_id=request.target_id, path=path)

    server.register(StorageMethod.CREATE_TARGET, storage_pb2.CreateTargetRequest, create_target, access=Access.ADMIN)
    server.register(StorageMethod.REPLACE_TARGET, storage_pb2.ReplaceTargetRequest, replace_target,
                    access=Access.ADMIN)
