"""Reading a whole target's chunk metadata page by page (DumpChunkMeta).

A target can hold millions of chunks; one reply holds at most the service's
page bound, so every caller (recovery, the admin CLI, tests) walks the pages
with this one loop.
"""

from __future__ import annotations

from typing import Awaitable, Callable

from fs3._proto import storage_pb2
from fs3.net.methods import StorageMethod

__all__ = ["dump_all_chunk_meta", "dump_target_chunk_meta"]

CallPage = Callable[[storage_pb2.DumpChunkMetaRequest], Awaitable[storage_pb2.DumpChunkMetaResponse]]


async def dump_all_chunk_meta(call_page: CallPage, target_id: int, *, page_limit: int = 0) -> list[storage_pb2.ChunkMeta]:
    """Every chunk's metadata on `target_id`, in chunk id order.

    Pages are not one snapshot: a chunk created or removed meanwhile may be
    missing or present, which recovery allows for (it re-checks each chunk under its lock).
    """
    chunks: list[storage_pb2.ChunkMeta] = []
    request = storage_pb2.DumpChunkMetaRequest(target_id=target_id, limit=page_limit)
    while True:
        page = await call_page(request)
        chunks.extend(page.chunks)
        if not page.more or not page.chunks:
            return chunks
        request = storage_pb2.DumpChunkMetaRequest(target_id=target_id, limit=page_limit, after=page.chunks[-1].chunk)


async def dump_target_chunk_meta(rpc, target_id: int, *, page_limit: int = 0,
                                 timeout_s: float | None = None) -> list[storage_pb2.ChunkMeta]:
    """`dump_all_chunk_meta` over `rpc`, an RpcClient connected to the target's storage service."""

    async def call_page(request: storage_pb2.DumpChunkMetaRequest) -> storage_pb2.DumpChunkMetaResponse:
        reply = await rpc.call(StorageMethod.DUMP_CHUNK_META, request, storage_pb2.DumpChunkMetaResponse,
                               timeout_s=timeout_s)
        return reply.message

    return await dump_all_chunk_meta(call_page, target_id, page_limit=page_limit)
