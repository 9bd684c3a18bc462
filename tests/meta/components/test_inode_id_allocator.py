"""Goal: inode ids are unique across allocators sharing one engine, never reserved ids.

Method: several allocators on one memory engine take ids concurrently.
"""

import asyncio
import random

from fs3.kv.memory import MemoryKvEngine
from fs3.meta.components.inode_id_allocator import FIRST_ALLOCATED_INODE_ID, InodeIdAllocator

from tests.meta.helpers import async_test


@async_test
async def test_ids_unique_across_concurrent_allocators() -> None:
    engine = MemoryKvEngine()
    allocators = [
        InodeIdAllocator(engine, shards=4, batch_size=16, rng=random.Random(seed)) for seed in range(3)
    ]
    ids = await asyncio.gather(*(allocator.allocate() for allocator in allocators for _ in range(300)))
    assert len(set(ids)) == len(ids) == 900
    assert min(ids) >= FIRST_ALLOCATED_INODE_ID


@async_test
async def test_a_new_allocator_does_not_reuse_ids() -> None:
    engine = MemoryKvEngine()
    first = InodeIdAllocator(engine, shards=2, batch_size=8, rng=random.Random(1))
    taken = {await first.allocate() for _ in range(20)}
    second = InodeIdAllocator(engine, shards=2, batch_size=8, rng=random.Random(1))
    assert not taken & {await second.allocate() for _ in range(20)}
