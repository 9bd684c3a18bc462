"""Goal: write sessions of clients not seen for client_session_timeout_s are
pruned (so deferred GC of unlinked-but-open files proceeds), while clients
that heartbeat or open files keep theirs. Time comes from a fake clock."""

from __future__ import annotations

import dataclasses

from fs3.kv.interface import run_transaction
from fs3.meta.components.gc import ChunkGarbageCollector
from fs3.meta.components.session_pruner import SessionPruner
from fs3.meta.flags import O_CREAT, O_WRONLY
from fs3.meta.store.client import list_clients
from fs3.meta.store.session import list_all_sessions

from tests.meta.components.test_gc import FakeRemover
from tests.meta.helpers import CONFIG, ROOT, async_test, expect_errno, new_operator, path

SECOND = 1_000_000_000
PRUNE_CONFIG = dataclasses.replace(CONFIG, client_session_timeout_s=60.0, session_prune_batch_size=2)


async def _sessions(operator) -> list[tuple[int, int]]:
    found = await run_transaction(operator.test_engine, lambda txn: list_all_sessions(txn))
    return [(session.client_id, session.inode_id) for session in found]


@async_test
async def test_dead_client_sessions_pruned_live_ones_kept() -> None:
    operator = await new_operator(config=PRUNE_CONFIG)
    clock = operator.test_clock
    pruner = SessionPruner(operator.test_engine, PRUNE_CONFIG, clock=clock)
    dead = [await operator.create(ROOT, path(f"/dead{index}"), 0o644, O_CREAT | O_WRONLY, client_id=7)
            for index in range(3)]
    live = await operator.create(ROOT, path("/live"), 0o644, O_CREAT | O_WRONLY, client_id=8)
    assert sorted(client for client, _ in await _sessions(operator)) == [7, 7, 7, 8]
    clock.advance(59 * SECOND)
    assert await pruner.run_once() == 0, "within the timeout nobody is dead"
    await operator.client_heartbeat(8)
    clock.advance(2 * SECOND)
    assert await pruner.run_once() == 3, "paged over 2-session transactions"
    assert await _sessions(operator) == [(8, live.inode.inode_id)]
    clients = await run_transaction(operator.test_engine, lambda txn: list_clients(txn))
    assert [client for client, _ in clients] == [8], "the dead client's record is cleared too"
    # The dead client's close still works (its session is simply gone).
    assert await operator.close(ROOT, dead[0].inode.inode_id, 7, dead[0].session_id, wrote=True) is not None
    clock.advance(61 * SECOND)
    assert await pruner.run_once() == 1
    assert await _sessions(operator) == []


@async_test
async def test_pruning_lets_gc_remove_an_unlinked_open_file() -> None:
    operator = await new_operator(config=PRUNE_CONFIG)
    clock = operator.test_clock
    opened = await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY, client_id=9)
    await operator.unlink(ROOT, path("/f"))
    remover = FakeRemover()
    collector = ChunkGarbageCollector(operator.test_engine, remover, PRUNE_CONFIG, owner_id=1, clock=clock)
    pruner = SessionPruner(operator.test_engine, PRUNE_CONFIG, clock=clock)
    assert await collector.run_once() == 0, "open for writing: deferred"
    clock.advance(30 * SECOND)
    await operator.client_heartbeat(9)  # alive: 30 s later it is still within the timeout
    clock.advance(59 * SECOND)
    await pruner.run_once()
    assert await collector.run_once() == 0
    clock.advance(2 * SECOND)
    assert await pruner.run_once() == 1
    assert await collector.run_once() == 1
    assert remover.removed == [opened.inode.inode_id]


@async_test
async def test_reopen_refreshes_liveness_and_client_zero_goes_by_open_time() -> None:
    operator = await new_operator(config=PRUNE_CONFIG)
    clock = operator.test_clock
    pruner = SessionPruner(operator.test_engine, PRUNE_CONFIG, clock=clock)
    await operator.create(ROOT, path("/a"), 0o644, O_CREAT | O_WRONLY, client_id=5)
    await operator.create(ROOT, path("/anon"), 0o644, O_CREAT | O_WRONLY, client_id=0)
    clock.advance(50 * SECOND)
    await operator.open(ROOT, path("/a"), O_WRONLY, client_id=5)  # a write open marks client 5 alive
    clock.advance(20 * SECOND)
    assert await pruner.run_once() == 1, "only the anonymous session, 70 s old"
    assert sorted(client for client, _ in await _sessions(operator)) == [5, 5]
    await expect_errno(22, operator.client_heartbeat(0))


@async_test
async def test_file_locks_of_dead_clients_are_swept_live_ones_kept() -> None:
    from fs3.meta.store.file_lock import LockKind, LockType, load_file_locks

    operator = await new_operator(config=PRUNE_CONFIG)
    clock = operator.test_clock
    pruner = SessionPruner(operator.test_engine, PRUNE_CONFIG, clock=clock)
    inode_ids = [(await operator.create(ROOT, path(f"/locked{index}"), 0o644)).inode.inode_id for index in range(3)]
    for inode_id in inode_ids:  # client 7 holds three locks (paged over batches of 2), client 8 one
        await operator.set_file_lock(ROOT, inode_id, LockKind.POSIX, 7, 1, LockType.WRITE, 0, 99)
    await operator.set_file_lock(ROOT, inode_ids[0], LockKind.FLOCK, 8, 1, LockType.READ)
    clock.advance(50 * SECOND)
    await operator.client_heartbeat(8)
    clock.advance(11 * SECOND)
    await pruner.run_once()
    assert pruner.pruned_locks == 3
    left = [lock.holder for inode_id in inode_ids
            for lock in await run_transaction(operator.test_engine, lambda txn, i=inode_id: load_file_locks(txn, i))]
    assert left == [(8, 1)]


@async_test
async def test_lock_wait_records_not_refreshed_are_swept() -> None:
    from fs3.meta.store.file_lock import LockKind, LockType
    from fs3.meta.store.lock_wait import load_lock_wait

    operator = await new_operator(config=PRUNE_CONFIG)
    pruner = SessionPruner(operator.test_engine, PRUNE_CONFIG, clock=operator.test_clock)
    inode_id = (await operator.create(ROOT, path("/locked"), 0o644)).inode.inode_id
    await operator.set_file_lock(ROOT, inode_id, LockKind.POSIX, 1, 1, LockType.WRITE)
    for owner in (2, 3, 4):  # three waiters (pages of two records)
        await expect_errno(11, operator.set_file_lock(ROOT, inode_id, LockKind.POSIX, 2, owner, LockType.READ,
                                                      wait=True))

    async def waiting() -> list[int]:
        found = [await run_transaction(operator.test_engine, lambda txn, o=owner: load_lock_wait(txn, 2, o))
                 for owner in (2, 3, 4)]
        return [wait.owner for wait in found if wait is not None]

    await pruner.run_once()
    assert await waiting() == [2, 3, 4]
    operator.test_clock.advance(int(PRUNE_CONFIG.lock_wait_stale_s * SECOND) - SECOND)
    await expect_errno(11, operator.set_file_lock(ROOT, inode_id, LockKind.POSIX, 2, 3, LockType.READ, wait=True))
    operator.test_clock.advance(2 * SECOND)
    await pruner.run_once()
    assert await waiting() == [3], "the refreshed wait stays"
