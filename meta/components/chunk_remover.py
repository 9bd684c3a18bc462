"""Removes and trims a file's chunks on storage: the GC's and truncate's storage half.

Chunk `i` of a file lives on chain `chains[i % len(chains)]` of its layout
(client/layout.py), so "every chunk >= k" is "chunks >= k on every chain".
Requests go to each chain's head, which applies them along the chain (CRAQ
order, chain version checked per hop). Both calls are idempotent: a caller
that fails simply calls again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, Sequence

from google.protobuf.message import Message

from fs3._proto import storage_pb2
from fs3.client.layout import FileLayout
from fs3.errors import Fs3Error, StatusCode
from fs3.meta.types import ChunkTrim, Layout
from fs3.net.client import RpcClientPool
from fs3.net.methods import StorageMethod
from fs3.routing import RoutingInfo

__all__ = ["ChunkRemover"]

logger = logging.getLogger(__name__)

CHUNK_INDEX_MAX = (1 << 32) - 1
_RETRYABLE = frozenset({
    StatusCode.STALE_CHAIN_VERSION, StatusCode.UNAVAILABLE, StatusCode.TIMEOUT, StatusCode.TARGET_NOT_SERVING,
    StatusCode.UNKNOWN_TARGET,
})


class ChunkRemover:
    """Args:
        clients: connections to storage services.
        routing / refresh_routing: the service's routing info (its NodeAgent).
        timeout_s: per call; retries_max / retry_delay_s: bounds of retrying a chain.
    """

    def __init__(
        self,
        clients: RpcClientPool,
        routing: Callable[[], RoutingInfo],
        refresh_routing: Callable[[], Awaitable[RoutingInfo]],
        *,
        timeout_s: float = 10.0,
        retries_max: int = 10,
        retry_delay_s: float = 0.2,
    ) -> None:
        assert retries_max >= 1 and timeout_s > 0
        self._clients = clients
        self._routing = routing
        self._refresh_routing = refresh_routing
        self.timeout_s = timeout_s
        self.retries_max = retries_max
        self.retry_delay_s = retry_delay_s

    async def _chains(self, layout: Layout) -> tuple[int, ...]:
        """The file's chains; an unknown chain table first refreshes the routing
        info (a service that started with the cluster may hold an older one)."""
        file_layout = FileLayout(layout.chain_table_id, layout.chain_table_version, layout.chunk_size,
                                 layout.stripe_size, layout.first_chain_index, layout.shuffle_seed)
        try:
            return file_layout.chains(self._routing())
        except Fs3Error as error:
            if error.code != StatusCode.UNKNOWN_CHAIN:
                raise
        return file_layout.chains(await self._refresh_routing())

    async def remove_from(self, layout: Layout, inode_id: int, first_chunk_index: int) -> int:
        """Remove chunks >= first_chunk_index of `inode_id` from every chain; returns how many the heads removed."""
        if first_chunk_index > CHUNK_INDEX_MAX:
            return 0  # no chunk index is that large
        return await self.remove_on_chains(await self._chains(layout), inode_id, first_chunk_index)

    async def remove_on_chains(self, chains: Sequence[int], inode_id: int, first_chunk_index: int = 0) -> int:
        """Remove chunks >= first_chunk_index of `inode_id` on the given chains (also used for orphaned
        chunks, whose file and layout are gone); returns how many the heads removed."""
        assert 0 <= first_chunk_index <= CHUNK_INDEX_MAX

        def build(chain_id: int, chain_version: int) -> Message:
            return storage_pb2.RemoveChunksRequest(chain_id=chain_id, chain_version=chain_version, inode_id=inode_id,
                                                   first_chunk_index=first_chunk_index)

        responses = await asyncio.gather(*(
            self._call_head(chain_id, StorageMethod.REMOVE_CHUNKS, build, storage_pb2.RemoveChunksResponse)
            for chain_id in chains
        ))
        return sum(response.removed for response in responses)

    async def stored_length(self, layout: Layout, inode_id: int) -> int:
        """The file length its chunks on storage imply: the end of the highest chunk, over every chain.

        Close and fsync settle a file's length with this, so data written by
        any client counts even if the writer never reported it.
        """
        chains = await self._chains(layout)

        def build_for(chain_id: int, chain_version: int) -> Message:
            return storage_pb2.QueryLastChunkRequest(chain_id=chain_id, inode_id=inode_id)

        responses = await asyncio.gather(*(
            self._call_head(chain_id, StorageMethod.QUERY_LAST_CHUNK, build_for, storage_pb2.QueryLastChunkResponse)
            for chain_id in chains
        ))
        return max(
            (response.meta.chunk.chunk_index * layout.chunk_size + response.meta.length
             for response in responses if response.exists),
            default=0,
        )

    async def apply_trim(self, trim: ChunkTrim) -> None:
        """Drop the chunks past a truncated file's end and cut its last chunk."""
        await self.remove_from(trim.layout, trim.inode_id, trim.first_removed_chunk)
        if trim.boundary_length == 0:
            return
        chunk_index = trim.first_removed_chunk - 1
        assert 0 <= chunk_index <= CHUNK_INDEX_MAX
        chains = await self._chains(trim.layout)

        def build(chain_id: int, chain_version: int) -> Message:
            return storage_pb2.TruncateChunkRequest(
                chain_id=chain_id, chain_version=chain_version,
                chunk=storage_pb2.ChunkId(inode_id=trim.inode_id, chunk_index=chunk_index), length=trim.boundary_length,
            )

        await self._call_head(chains[chunk_index % len(chains)], StorageMethod.TRUNCATE_CHUNK, build,
                              storage_pb2.TruncateChunkResponse)

    async def _call_head(self, chain_id: int, method: StorageMethod, build: Callable[[int, int], Message],
                         response_type: type[Message]) -> Message:
        last_error: Fs3Error | None = None
        for attempt in range(self.retries_max):
            routing = self._routing()
            chain = routing.chain(chain_id)
            members = routing.writable_targets(chain_id)
            node = routing.node_of_target(members[0].target_id) if members else None
            if chain is None or node is None:
                last_error = Fs3Error(StatusCode.UNAVAILABLE, f"chain {chain_id} has no reachable head")
            else:
                try:
                    result = await self._clients.get(node.host, node.port).call(
                        method, build(chain_id, chain.chain_version), response_type, timeout_s=self.timeout_s)
                    return result.message
                except Fs3Error as error:
                    if error.code not in _RETRYABLE:
                        raise
                    last_error = error
            logger.debug("%s on chain %d failed (%s); retrying", method.name, chain_id, last_error)
            await asyncio.sleep(self.retry_delay_s * min(attempt + 1, 5))
            try:
                await self._refresh_routing()
            except Fs3Error:
                pass
        assert last_error is not None
        raise last_error
