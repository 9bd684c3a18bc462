"""Garbage collection of removed files' chunks: drains the GCQU queue.

Each pass (every `gc_interval_s`, at once again after a full batch):

1. one transaction scans the queue from a cursor (snapshot reads, at most
   4 x gc_batch_size records), skips records claimed by another live
   collector and files that still have write sessions (an unlinked file
   open for writing keeps its chunks until its last writer closes), and
   claims up to gc_batch_size records by writing owner + expiry into them
   (a conflicting read of each claimed key: two collectors never both
   claim one record; a claim whose owner died expires after gc_claim_s);
2. for each claimed record, REMOVE_CHUNKS on every chain of its layout;
3. one transaction per record clears it, if still ours, with the inode of
   a file unlinked while open (an orphan, nlink 0) that waited for it.

Storage removal is idempotent, so a crash anywhere only repeats work.
"""

from __future__ import annotations

import dataclasses
import logging
import random

from fs3.errors import Fs3Error
from fs3.meta.components.background import BackgroundComponent
from fs3.kv.interface import KvEngine, RetryPolicy, Transaction, run_transaction
from fs3.meta.clock import Clock, WallClock
from fs3.meta.components.chunk_remover import ChunkRemover
from fs3.meta.config import MetaConfig
from fs3.meta.store.gc_queue import GcRecord, list_gc_records, load_gc_record, remove_gc_record, store_gc_record
from fs3.meta.store.inode import load_inode, remove_inode
from fs3.meta.store.session import list_sessions

__all__ = ["ChunkGarbageCollector"]

logger = logging.getLogger(__name__)

_SCAN_FACTOR = 4


class ChunkGarbageCollector(BackgroundComponent):
    def __init__(self, engine: KvEngine, remover: ChunkRemover, config: MetaConfig, *,
                 owner_id: int | None = None, clock: Clock | None = None) -> None:
        self._engine = engine
        self._remover = remover
        self._config = config
        self._clock = clock or WallClock()
        self.owner_id = owner_id or random.SystemRandom().getrandbits(63) + 1
        self._policy = RetryPolicy(retries_max=config.op_retries_max, deadline_s=config.op_deadline_s)
        self._cursor: int | None = None
        super().__init__()
        self.removed_files = 0

    # ---- one pass -------------------------------------------------------------
    async def run_once(self) -> int:
        """Claim, remove and clear one batch; returns how many records were finished."""
        claimed, self._cursor = await run_transaction(self._engine, self._claim_batch, policy=self._policy)
        finished = 0
        for record in claimed:
            try:
                if record.layout is not None and record.layout.chunk_size > 0:
                    await self._remover.remove_from(record.layout, record.inode_id, 0)
            except Fs3Error as error:
                logger.warning("GC of inode %d failed (%s); its claim will expire and it is retried",
                               record.inode_id, error)
                continue
            await run_transaction(self._engine, lambda txn, record=record: self._finish(txn, record.inode_id),
                                  policy=self._policy)
            finished += 1
        self.removed_files += finished
        return finished

    async def _claim_batch(self, txn: Transaction) -> tuple[list[GcRecord], int | None]:
        now_ns = self._clock.now_ns()
        batch = self._config.gc_batch_size
        scan_limit = batch * _SCAN_FACTOR
        candidates = await list_gc_records(txn, limit=scan_limit, after_inode_id=self._cursor, snapshot=True)
        next_cursor = candidates[-1].inode_id if len(candidates) == scan_limit else None
        claimed: list[GcRecord] = []
        for candidate in candidates:
            if len(claimed) == batch:
                next_cursor = claimed[-1].inode_id
                break
            if candidate.claim_owner not in (0, self.owner_id) and candidate.claim_until_ns > now_ns:
                continue
            if await list_sessions(txn, candidate.inode_id, limit=1):
                continue  # still open for writing: wait for the last close
            record = await load_gc_record(txn, candidate.inode_id)  # conflicting read: one claimant wins
            if record is None:
                continue
            owned = dataclasses.replace(record, claim_owner=self.owner_id,
                                        claim_until_ns=now_ns + int(self._config.gc_claim_s * 1e9))
            store_gc_record(txn, owned)
            claimed.append(owned)
        return claimed, next_cursor

    async def _finish(self, txn: Transaction, inode_id: int) -> None:
        record = await load_gc_record(txn, inode_id)
        if record is not None and record.claim_owner == self.owner_id:
            remove_gc_record(txn, inode_id)
            orphan = await load_inode(txn, inode_id)
            if orphan is not None:
                # no name leads to it (unlink kept it for its writers); nothing can open it again
                assert orphan.nlink == 0, f"inode {inode_id} is queued for GC with {orphan.nlink} links"
                remove_inode(txn, orphan)

    name = "GC pass"

    def _batch_size(self) -> int:
        return self._config.gc_batch_size

    def _interval_s(self) -> float:
        return self._config.gc_interval_s
