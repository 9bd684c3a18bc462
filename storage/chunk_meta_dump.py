"""Reading a whole target's chunk metadata page by page (DumpChunkMeta).

A target can hold millions of chunks; one reply holds at most the service's
page bound, so every caller (recovery, the admin CLI, tests) walks the pages
with this one loop.
"""

from __future__ import annotations

from typing import Awaitable, Callable

from fs3._proto import storage_pb2

__all__ = ["dump_all_chunk_meta"]

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
