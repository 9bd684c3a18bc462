"""Inode ids: 64-bit, unique, handed out in batches without a hot key.

The id space is cut into batches of `batch_size` ids. Shard `s` (one KV
counter `IDAL + s`) owns batches s, s + shards, s + 2*shards, ...; taking
a batch increments that shard's counter in a short transaction. Each
allocator picks a shard at random per batch, so several metadata services
rarely touch the same counter. Ids below FIRST_ALLOCATED_INODE_ID are
reserved (the root is 1). Ids of a batch a process did not use are lost,
which 64 bits afford.
"""

from __future__ import annotations

import asyncio
import random
import struct

from fs3.kv.interface import KvEngine, RetryPolicy, Transaction, run_transaction
from fs3.meta.store import keys

__all__ = ["FIRST_ALLOCATED_INODE_ID", "InodeIdAllocator"]

FIRST_ALLOCATED_INODE_ID = 1 << 10
_COUNTER = struct.Struct("<q")
_INODE_ID_MAX = (1 << 64) - 1


class InodeIdAllocator:
    """Hands out inode ids from a locally held batch.

    Args:
        engine: the KV engine holding the shard counters.
        shards: number of counters (fixed for the life of a namespace).
        batch_size: ids taken per counter increment (fixed likewise).
        rng: picks the shard of each batch.
        policy: retry bounds of the batch transaction.
    """

    def __init__(
        self,
        engine: KvEngine,
        *,
        shards: int,
        batch_size: int,
        rng: random.Random,
        policy: RetryPolicy = RetryPolicy(),
    ) -> None:
        assert shards >= 1
        assert batch_size >= 1
        self._engine = engine
        self._shards = shards
        self._batch_size = batch_size
        self._rng = rng
        self._policy = policy
        self._next_id = 0
        self._end_id = 0  # exclusive end of the local batch
        self._refill_lock = asyncio.Lock()

    async def allocate(self) -> int:
        """A fresh inode id never returned before by any allocator on this namespace."""
        for _attempt in range(2):
            if self._next_id < self._end_id:
                inode_id = self._next_id
                self._next_id += 1
                return inode_id
            async with self._refill_lock:
                if self._next_id >= self._end_id:
                    self._next_id, self._end_id = await self._take_batch()
        raise AssertionError("a fresh batch must yield an id")

    async def _take_batch(self) -> tuple[int, int]:
        shard = self._rng.randrange(self._shards)
        key = keys.inode_id_allocator_key(shard)

        async def body(txn: Transaction) -> int:
            value = await txn.get(key)
            taken = 0 if value is None else _COUNTER.unpack(value)[0]
            assert taken >= 0
            txn.set(key, _COUNTER.pack(taken + 1))
            return taken

        taken = await run_transaction(self._engine, body, policy=self._policy, rng=self._rng)
        batch_index = taken * self._shards + shard
        begin = FIRST_ALLOCATED_INODE_ID + batch_index * self._batch_size
        end = begin + self._batch_size
        assert end <= _INODE_ID_MAX, "inode id space exhausted"
        return begin, end
