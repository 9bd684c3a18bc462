"""Where a file's bytes live: offset -> (chunk index, chain), computed client-side.

The metadata service hands out the layout with `open`; from then on the
client maps every offset to a chunk and a chain without asking anyone.
A file's chunks rotate over `stripe_size` consecutive chains of its chain
table starting at `first_chain_index`, in an order shuffled by
`shuffle_seed` so files do not all hit the same chain first.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Iterator

from fs3.errors import Fs3Error, StatusCode
from fs3.routing import RoutingInfo

__all__ = ["FileLayout", "ChunkSpan", "split_range"]


@dataclasses.dataclass(frozen=True, slots=True)
class FileLayout:
    chain_table_id: int
    chain_table_version: int
    chunk_size: int
    stripe_size: int
    first_chain_index: int
    shuffle_seed: int

    def chains(self, routing: RoutingInfo) -> list[int]:
        """The chains this file's chunks rotate over, in rotation order."""
        table = routing.chain_tables.get(self.chain_table_id)
        if table is None or not table.chain_ids:
            raise Fs3Error(StatusCode.UNKNOWN_CHAIN, f"chain table {self.chain_table_id} does not exist")
        count = min(self.stripe_size, len(table.chain_ids))
        chosen = [table.chain_ids[(self.first_chain_index + k) % len(table.chain_ids)] for k in range(count)]
        random.Random(self.shuffle_seed).shuffle(chosen)
        return chosen

    def chain_of_chunk(self, routing: RoutingInfo, chunk_index: int) -> int:
        chains = self.chains(routing)
        return chains[chunk_index % len(chains)]


@dataclasses.dataclass(frozen=True, slots=True)
class ChunkSpan:
    """A piece of a byte range that falls inside one chunk."""

    chunk_index: int
    offset_in_chunk: int
    length: int
    offset_in_range: int  # where this piece starts within the caller's buffer


def split_range(offset: int, length: int, chunk_size: int) -> Iterator[ChunkSpan]:
    """Split `[offset, offset+length)` at chunk boundaries."""
    assert chunk_size > 0 and offset >= 0 and length >= 0
    position = offset
    end = offset + length
    while position < end:
        chunk_index, offset_in_chunk = divmod(position, chunk_size)
        piece = min(chunk_size - offset_in_chunk, end - position)
        yield ChunkSpan(chunk_index, offset_in_chunk, piece, position - offset)
        position += piece
