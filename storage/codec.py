"""Storage wire messages <-> storage core dataclasses."""

from __future__ import annotations

from fs3._proto import storage_pb2
from fs3.storage.chunk_engine import ChunkId, ChunkMeta
from fs3.storage.requests import ReadRequest, RemoveChunksRequest, TruncateChunkRequest, WriteRequest

__all__ = ["chunk_id_to_proto", "chunk_id_from_proto", "write_request_from_proto", "write_request_to_proto",
           "read_request_from_proto", "chunk_meta_to_proto", "chunk_meta_from_proto",
           "remove_request_from_proto", "remove_request_to_proto", "truncate_request_from_proto",
           "truncate_request_to_proto"]


def chunk_id_to_proto(chunk_id: ChunkId) -> storage_pb2.ChunkId:
    return storage_pb2.ChunkId(inode_id=chunk_id.inode_id, chunk_index=chunk_id.chunk_index)


def chunk_id_from_proto(message: storage_pb2.ChunkId) -> ChunkId:
    return ChunkId(message.inode_id, message.chunk_index)


def write_request_from_proto(message: storage_pb2.WriteChunkRequest) -> WriteRequest:
    return WriteRequest(
        chain_id=message.chain_id, chain_version=message.chain_version,
        chunk_id=chunk_id_from_proto(message.chunk), offset=message.offset,
        length=message.length, chunk_size=message.chunk_size, payload_crc32c=message.payload_crc32c,
        full_chunk_replace=message.full_chunk_replace, target_id=message.target_id,
        client_id=message.client_id, request_seq=message.request_seq, from_predecessor=message.from_predecessor,
        update_version=message.update_version,
    )


def write_request_to_proto(request: WriteRequest) -> storage_pb2.WriteChunkRequest:
    return storage_pb2.WriteChunkRequest(
        chain_id=request.chain_id, chain_version=request.chain_version,
        chunk=chunk_id_to_proto(request.chunk_id),
        offset=request.offset, length=request.length, chunk_size=request.chunk_size,
        payload_crc32c=request.payload_crc32c, full_chunk_replace=request.full_chunk_replace,
        target_id=request.target_id, client_id=request.client_id, request_seq=request.request_seq,
        from_predecessor=request.from_predecessor, update_version=request.update_version,
    )


def read_request_from_proto(message: storage_pb2.ReadChunkRequest) -> ReadRequest:
    return ReadRequest(
        chain_id=message.chain_id, chain_version=message.chain_version,
        chunk_id=chunk_id_from_proto(message.chunk), offset=message.offset,
        length=message.length, target_id=message.target_id, relaxed=message.relaxed,
    )


def chunk_meta_to_proto(meta: ChunkMeta) -> storage_pb2.ChunkMeta:
    return storage_pb2.ChunkMeta(
        chunk=chunk_id_to_proto(meta.chunk_id),
        committed_version=meta.committed_version, pending_version=meta.pending_version,
        chain_version=meta.chain_version, length=meta.length, crc32c=meta.crc32c,
    )


def chunk_meta_from_proto(message: storage_pb2.ChunkMeta) -> ChunkMeta:
    """A peer's chunk metadata (the wire form carries no pending length or checksum)."""
    chunk_id = chunk_id_from_proto(message.chunk)
    return ChunkMeta(chunk_id, message.committed_version, message.pending_version, message.chain_version,
                     message.length, message.crc32c, 0, 0)


def remove_request_from_proto(message: storage_pb2.RemoveChunksRequest) -> RemoveChunksRequest:
    return RemoveChunksRequest(
        chain_id=message.chain_id, chain_version=message.chain_version, inode_id=message.inode_id,
        first_chunk_index=message.first_chunk_index, target_id=message.target_id,
        from_predecessor=message.from_predecessor,
    )


def remove_request_to_proto(request: RemoveChunksRequest) -> storage_pb2.RemoveChunksRequest:
    return storage_pb2.RemoveChunksRequest(
        chain_id=request.chain_id, chain_version=request.chain_version, inode_id=request.inode_id,
        first_chunk_index=request.first_chunk_index, target_id=request.target_id,
        from_predecessor=request.from_predecessor,
    )


def truncate_request_from_proto(message: storage_pb2.TruncateChunkRequest) -> TruncateChunkRequest:
    return TruncateChunkRequest(
        chain_id=message.chain_id, chain_version=message.chain_version,
        chunk_id=chunk_id_from_proto(message.chunk), length=message.length,
        target_id=message.target_id, from_predecessor=message.from_predecessor,
    )


def truncate_request_to_proto(request: TruncateChunkRequest) -> storage_pb2.TruncateChunkRequest:
    return storage_pb2.TruncateChunkRequest(
        chain_id=request.chain_id, chain_version=request.chain_version,
        chunk=chunk_id_to_proto(request.chunk_id),
        length=request.length, target_id=request.target_id, from_predecessor=request.from_predecessor,
    )
