"""Goal: the chunk GC claims each queued file once across collectors, waits
for write sessions to close, retries after a failure, and clears its records."""

from __future__ import annotations

import dataclasses

from fs3.errors import Fs3Error, StatusCode
from fs3.kv.interface import run_transaction
from fs3.meta.components.gc import ChunkGarbageCollector
from fs3.meta.flags import O_CREAT, O_WRONLY
from fs3.meta.store.gc_queue import list_gc_records

from tests.meta.helpers import CONFIG, ROOT, async_test, new_operator, path


class FakeRemover:
    def __init__(self) -> None:
        self.removed: list[int] = []
        self.fail = False

    async def remove_from(self, layout, inode_id: int, first_chunk_index: int) -> int:
        assert first_chunk_index == 0 and layout.chunk_size > 0
        if self.fail:
            raise Fs3Error(StatusCode.UNAVAILABLE, "storage down")
        self.removed.append(inode_id)
        return 1


async def _queue(operator) -> list[int]:
    records = await run_transaction(operator.test_engine, lambda txn: list_gc_records(txn))
    return [record.inode_id for record in records]


@async_test
async def test_two_collectors_share_the_queue_and_sessions_defer() -> None:
    operator = await new_operator()
    config = dataclasses.replace(CONFIG, gc_batch_size=2)
    inode_ids = []
    for index in range(5):
        opened = await operator.create(ROOT, path(f"/f{index}"), 0o644, O_CREAT | O_WRONLY, client_id=1)
        inode_ids.append(opened.inode.inode_id)
        if index != 4:
            await operator.close(ROOT, opened.inode.inode_id, 1, opened.session_id)
        else:
            open_session = opened.session_id
        await operator.unlink(ROOT, path(f"/f{index}"))
    assert sorted(await _queue(operator)) == sorted(inode_ids)
    remover = FakeRemover()
    first = ChunkGarbageCollector(operator.test_engine, remover, config, owner_id=1, clock=operator.test_clock)
    second = ChunkGarbageCollector(operator.test_engine, remover, config, owner_id=2, clock=operator.test_clock)
    for _pass in range(4):
        await first.run_once()
        await second.run_once()
    assert sorted(remover.removed) == sorted(inode_ids[:4]), "each file once; the open one waits"
    assert await _queue(operator) == [inode_ids[4]]
    await operator.close(ROOT, inode_ids[4], 1, open_session)
    for _pass in range(3):  # the cursor wraps around to the deferred record
        await first.run_once()
    assert sorted(remover.removed) == sorted(inode_ids) and await _queue(operator) == []


@async_test
async def test_failed_removal_is_retried_after_the_claim_expires() -> None:
    operator = await new_operator()
    opened = await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    await operator.close(ROOT, opened.inode.inode_id, 0, opened.session_id)
    await operator.unlink(ROOT, path("/f"))
    remover = FakeRemover()
    remover.fail = True
    first = ChunkGarbageCollector(operator.test_engine, remover, CONFIG, owner_id=1, clock=operator.test_clock)
    assert await first.run_once() == 0
    remover.fail = False
    second = ChunkGarbageCollector(operator.test_engine, remover, CONFIG, owner_id=2, clock=operator.test_clock)
    assert await second.run_once() == 0, "claimed by the first collector"
    operator.test_clock.advance(int(CONFIG.gc_claim_s * 1e9) + 1)
    assert await second.run_once() == 1
    assert remover.removed == [opened.inode.inode_id] and await _queue(operator) == []
