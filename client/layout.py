"""Where a file's bytes live: offset -> (chunk index, chain), computed client-side.

The metadata service hands out the layout with `open`; from then on the
client maps every offset to a chunk and a chain without asking anyone.
A file's chunks rotate over `stripe_size` consecutive chains of its chain
table starting at `first_chain_index`, in an order shuffled by
`shuffle_seed` so files do not all hit the same chain first.
"""

from __future__ import annotations

import dataclasses
import functools
import random
from typing import Iterator

from fs3.errors import Fs3Error, StatusCode
from fs3.routing import RoutingInfo

__all__ = ["FileLayout", "ChunkSpan", "split_range"]


@functools.lru_cache(maxsize=1024)
def _rotation(chain_ids: tuple[int, ...], first_chain_index: int, stripe_size: int, shuffle_seed: int) -> tuple[int, ...]:
    """Cached: every chunk call asks, and seeding a shuffle costs more than the call's other work."""
    count = min(stripe_size, len(chain_ids))
    chosen = [chain_ids[(first_chain_index + k) % len(chain_ids)] for k in range(count)]
    random.Random(shuffle_seed).shuffle(chosen)
    return tuple(chosen)


@dataclasses.dataclass(frozen=True, slots=True)
class FileLayout:
    chain_table_id: int
    chain_table_version: int
    chunk_size: int
    stripe_size: int
    first_chain_index: int
    shuffle_seed: int

    def chains(self, routing: RoutingInfo) -> tuple[int, ...]:
        """The chains this file's chunks rotate over, in rotation order."""
        table = routing.chain_tables.get(self.chain_table_id)
        if table is None or not table.chain_ids:
            raise Fs3Error(StatusCode.UNKNOWN_CHAIN, f"chain table {self.chain_table_id} does not exist")
        return _rotation(tuple(table.chain_ids), self.first_chain_index, self.stripe_size, self.shuffle_seed)

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
