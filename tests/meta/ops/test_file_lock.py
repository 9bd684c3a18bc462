"""Cluster-wide file locks against a reference model: per holder, a map byte -> lock type.

A hypothesis sequence of lock/unlock/test requests by several holders over a
small file must give the same EAGAIN decisions and leave exactly the model's
bytes locked, stored as merged ranges. Then the edges: stale holders, flock,
release, bad input.
"""

from __future__ import annotations

import asyncio
import errno

from hypothesis import given, settings, strategies as st

from fs3.errors import Fs3Error
from fs3.kv.interface import run_transaction
from fs3.meta.store.file_lock import OFFSET_MAX, LockKind, LockType, load_file_locks
from tests.meta.helpers import ALICE, ROOT, async_test, new_operator, path, raises_errno

SPAN = 24  # requests start at bytes 0..SPAN-1; model byte SPAN stands for every offset from SPAN to OFFSET_MAX
HOLDERS = [(7, 1), (7, 2), (9, 1)]  # (client, owner): two processes of one client, one of another

_request = st.tuples(
    st.sampled_from(HOLDERS),
    st.sampled_from([LockType.READ, LockType.WRITE, LockType.UNLOCK]),
    st.integers(0, SPAN - 1),
    st.one_of(st.integers(0, SPAN - 1), st.just(None)),  # None: to the end of the file
    st.booleans(),  # test with GETLK instead of setting
)


def _model_range(start: int, end: int | None) -> range:
    return range(start, SPAN + 1 if end is None else end + 1)


async def _stored(operator, inode_id: int) -> dict:
    locks = await run_transaction(operator.test_engine, lambda txn: load_file_locks(txn, inode_id, LockKind.POSIX))
    per_holder: dict = {}
    for lock in locks:
        ranges = per_holder.setdefault(lock.holder, [])
        ranges.append((lock.start, lock.end, lock.lock_type))
    for holder, ranges in per_holder.items():  # stored merged: no overlapping or touching ranges of one type
        ranges.sort()
        for (start_a, end_a, type_a), (start_b, _end_b, type_b) in zip(ranges, ranges[1:]):
            assert end_a < start_b, f"{holder}: overlapping ranges {ranges}"
            assert not (end_a + 1 == start_b and type_a == type_b), f"{holder}: unmerged ranges {ranges}"
    return {holder: {offset: lock_type for start, end, lock_type in ranges
                     for offset in range(start, min(end, SPAN) + 1)}
            for holder, ranges in per_holder.items()}


@settings(max_examples=150, deadline=None)
@given(st.lists(_request, max_size=25))
def test_locks_follow_the_reference_model(requests):
    async def body() -> None:
        operator = await new_operator()
        inode_id = (await operator.create(ROOT, path("/f"), 0o644)).inode.inode_id
        model: dict = {holder: {} for holder in HOLDERS}
        for holder, lock_type, start, end, test_only in requests:
            if end is not None and end < start:
                start, end = end, start
            span = _model_range(start, end)
            blockers = {other for other, bytes_held in model.items() if other != holder and any(
                offset in bytes_held and LockType.WRITE in (bytes_held[offset], lock_type) for offset in span)}
            client_id, owner = holder
            kernel_end = OFFSET_MAX if end is None else end
            if test_only:
                if lock_type == LockType.UNLOCK:
                    continue
                found = await operator.get_file_lock(ROOT, inode_id, LockKind.POSIX, client_id, owner, lock_type,
                                                     start, kernel_end)
                assert (found is not None) == bool(blockers)
                if found is not None:
                    assert found.holder in blockers and found.overlaps(start, kernel_end)
                continue
            try:
                await operator.set_file_lock(ROOT, inode_id, LockKind.POSIX, client_id, owner, lock_type, start,
                                             kernel_end, pid=owner)
            except Fs3Error as error:
                assert error.code == errno.EAGAIN and blockers and lock_type != LockType.UNLOCK
                continue
            assert not blockers or lock_type == LockType.UNLOCK
            for offset in span:
                if lock_type == LockType.UNLOCK:
                    model[holder].pop(offset, None)
                else:
                    model[holder][offset] = lock_type
            stored = await _stored(operator, inode_id)
            assert {holder: held for holder, held in stored.items() if held} == \
                   {holder: held for holder, held in model.items() if held}

    asyncio.run(body())


@async_test
async def test_a_dead_holders_locks_give_way_and_release_drops_an_owner():
    operator = await new_operator()
    inode_id = (await operator.create(ROOT, path("/f"), 0o644)).inode.inode_id
    await operator.set_file_lock(ROOT, inode_id, LockKind.FLOCK, 5, 50, LockType.WRITE)
    with raises_errno(errno.EAGAIN):
        await operator.set_file_lock(ROOT, inode_id, LockKind.FLOCK, 6, 60, LockType.READ)
    # POSIX and flock locks are independent, as on Linux
    await operator.set_file_lock(ROOT, inode_id, LockKind.POSIX, 6, 60, LockType.WRITE, 0, 10)
    holder = await operator.get_file_lock(ROOT, inode_id, LockKind.FLOCK, 6, 60, LockType.READ)
    assert holder is not None and holder.holder == (5, 50)
    operator.test_clock.advance(int(operator._config.client_session_timeout_s * 1e9) + 1)
    assert await operator.get_file_lock(ROOT, inode_id, LockKind.FLOCK, 6, 60, LockType.READ) is None
    await operator.set_file_lock(ROOT, inode_id, LockKind.FLOCK, 6, 60, LockType.WRITE)  # the stale one is dropped
    await operator.release_file_locks(ROOT, inode_id, LockKind.FLOCK, 6, 60)
    await operator.release_file_locks(ROOT, inode_id, LockKind.POSIX, 6, 60)
    assert await _stored(operator, inode_id) == {}
    assert await operator.get_file_lock(ROOT, inode_id, LockKind.POSIX, 1, 1, LockType.WRITE) is None


@async_test
async def test_bad_lock_requests_are_refused():
    operator = await new_operator()
    inode_id = (await operator.create(ROOT, path("/f"), 0o644)).inode.inode_id
    cases = [
        (errno.EINVAL, (inode_id, 3, 1, 1, LockType.READ, 0, 10)),       # unknown kind
        (errno.EINVAL, (inode_id, LockKind.POSIX, 1, 1, 7, 0, 10)),     # unknown type
        (errno.EINVAL, (inode_id, LockKind.POSIX, 0, 1, LockType.READ, 0, 10)),  # no client id
        (errno.EINVAL, (inode_id, LockKind.POSIX, 1, 1, LockType.READ, 10, 5)),  # empty range
        (errno.EINVAL, (inode_id, LockKind.POSIX, 1, 1, LockType.READ, 0, OFFSET_MAX + 1)),
        (errno.EINVAL, (inode_id, LockKind.FLOCK, 1, 1, LockType.READ, 0, 10)),  # flock is whole-file
        (errno.ENOENT, (999_999, LockKind.POSIX, 1, 1, LockType.READ, 0, 10)),
    ]
    for code, arguments in cases:
        with raises_errno(code):
            await operator.set_file_lock(ALICE, *arguments)
    with raises_errno(errno.EINVAL):
        await operator.get_file_lock(ROOT, inode_id, LockKind.POSIX, 1, 1, LockType.UNLOCK)
    assert await _stored(operator, inode_id) == {}


# ---- deadlock detection (POSIX locks, blocking requests) ------------------------------------------

async def _wait(operator, inode_id: int, holder: tuple[int, int], lock_type: LockType, start: int, end: int):
    """One attempt of a blocking request: None if granted, else the errno."""
    try:
        await operator.set_file_lock(ROOT, inode_id, LockKind.POSIX, *holder, lock_type, start, end, wait=True)
    except Fs3Error as error:
        return error.code
    return None


@async_test
async def test_a_wait_that_closes_a_cycle_across_files_fails_with_edeadlk():
    operator = await new_operator()
    first = (await operator.create(ROOT, path("/a"), 0o644)).inode.inode_id
    second = (await operator.create(ROOT, path("/b"), 0o644)).inode.inode_id
    alice, bob = (1, 10), (2, 20)  # two processes on two clients
    await operator.set_file_lock(ROOT, first, LockKind.POSIX, *alice, LockType.WRITE, 0, 9)
    await operator.set_file_lock(ROOT, second, LockKind.POSIX, *bob, LockType.WRITE, 0, 9)
    assert await _wait(operator, second, alice, LockType.WRITE, 5, 5) == errno.EAGAIN  # alice now waits for bob
    assert await _wait(operator, first, bob, LockType.READ, 0, 0) == errno.EDEADLK
    # a non-blocking request is only refused, and a range alice does not hold is free
    assert await _wait(operator, first, bob, LockType.WRITE, 10, 20) is None
    with raises_errno(errno.EAGAIN):
        await operator.set_file_lock(ROOT, first, LockKind.POSIX, *bob, LockType.READ, 0, 0)
    # alice gives up waiting (interrupted): bob may wait for her
    await operator.stop_lock_wait(ROOT, *alice)
    assert await _wait(operator, first, bob, LockType.READ, 0, 0) == errno.EAGAIN
    # bob's wait is recorded now; alice waiting again closes the cycle from her side
    assert await _wait(operator, second, alice, LockType.WRITE, 5, 5) == errno.EDEADLK
    # a wait not refreshed for lock_wait_stale_s (a killed client) no longer counts
    operator.test_clock.advance(int(operator._config.lock_wait_stale_s * 1e9) + 1)
    assert await _wait(operator, second, alice, LockType.WRITE, 5, 5) == errno.EAGAIN


@async_test
async def test_a_three_holder_cycle_in_one_file_is_found_and_named():
    operator = await new_operator()
    inode_id = (await operator.create(ROOT, path("/f"), 0o644)).inode.inode_id
    holders = [(1, 1), (1, 2), (3, 1)]  # two processes of one client, one of another
    for index, holder in enumerate(holders):
        await operator.set_file_lock(ROOT, inode_id, LockKind.POSIX, *holder, LockType.WRITE, 10 * index,
                                     10 * index + 9)
    assert await _wait(operator, inode_id, holders[0], LockType.READ, 12, 12) == errno.EAGAIN  # waits for 1
    assert await _wait(operator, inode_id, holders[1], LockType.WRITE, 25, 26) == errno.EAGAIN  # waits for 2
    try:
        await operator.set_file_lock(ROOT, inode_id, LockKind.POSIX, *holders[2], LockType.READ, 5, 5, wait=True)
    except Fs3Error as error:
        assert error.code == errno.EDEADLK
        assert "client 3 owner 0x1 -> client 1 owner 0x1 -> client 1 owner 0x2 -> client 3 owner 0x1" in str(error)
    else:
        raise AssertionError("the cycle was not found")
    # once holder 1 got its lock (holder 2 unlocked), nobody waits for holder 0 through it any more
    await operator.set_file_lock(ROOT, inode_id, LockKind.POSIX, *holders[2], LockType.UNLOCK, 20, 29)
    assert await _wait(operator, inode_id, holders[1], LockType.WRITE, 25, 26) is None
    assert await _wait(operator, inode_id, holders[2], LockType.READ, 5, 5) == errno.EAGAIN


@async_test
async def test_flock_waits_are_not_checked_and_leave_no_record():
    operator = await new_operator()
    first = (await operator.create(ROOT, path("/a"), 0o644)).inode.inode_id
    second = (await operator.create(ROOT, path("/b"), 0o644)).inode.inode_id
    await operator.set_file_lock(ROOT, first, LockKind.FLOCK, 1, 1, LockType.WRITE)
    await operator.set_file_lock(ROOT, second, LockKind.FLOCK, 2, 2, LockType.WRITE)
    for inode_id, holder in ((second, (1, 1)), (first, (2, 2))):
        with raises_errno(errno.EAGAIN):  # as on Linux: flock deadlocks are not detected
            await operator.set_file_lock(ROOT, inode_id, LockKind.FLOCK, *holder, LockType.WRITE, wait=True)
    assert await _lock_waits(operator) == []


async def _lock_waits(operator) -> list:
    from fs3.kv.interface import prefix_range
    from fs3.meta.store import keys

    return await run_transaction(operator.test_engine,
                                 lambda txn: txn.get_range(*prefix_range(keys.LOCK_WAIT_PREFIX), snapshot=True))


@async_test
async def test_bad_stop_lock_wait_requests_are_refused():
    operator = await new_operator()
    with raises_errno(errno.EINVAL):
        await operator.stop_lock_wait(ROOT, 0, 1)  # no client id
    with raises_errno(errno.EINVAL):
        await operator.stop_lock_wait(ROOT, 1, 1 << 64)
    await operator.stop_lock_wait(ROOT, 1, 1)  # nothing to withdraw: fine


# The wait-for graph against a reference model: holders lock and wait on bytes of a few files;
# a blocking request fails with EDEADLK exactly when the model's graph has a path back to its holder.
_FILES = 2
_DEADLOCK_HOLDERS = [(1, 1), (1, 2), (2, 1), (3, 1)]
_wait_request = st.tuples(st.sampled_from(_DEADLOCK_HOLDERS), st.integers(0, _FILES - 1),
                          st.sampled_from([LockType.READ, LockType.WRITE, LockType.WRITE, LockType.UNLOCK]),
                          st.integers(0, 3), st.integers(0, 1), st.sampled_from([True, True, True, False]))


@settings(max_examples=300, deadline=None)
@given(st.lists(_wait_request, max_size=30))
def test_deadlock_detection_follows_a_reference_wait_for_graph(requests):
    async def body() -> None:
        operator = await new_operator()
        inodes = [(await operator.create(ROOT, path(f"/f{index}"), 0o644)).inode.inode_id for index in range(_FILES)]
        held: dict = {holder: {} for holder in _DEADLOCK_HOLDERS}  # holder -> {(file, byte): type}
        waits: dict = {}  # holder -> (file, bytes, type)

        def blockers(holder, file, span, lock_type) -> set:
            return {other for other, locks in held.items() if other != holder and any(
                (file, offset) in locks and LockType.WRITE in (locks[(file, offset)], lock_type) for offset in span)}

        def reaches(start_holders: set, target) -> bool:
            seen, frontier = set(start_holders), list(start_holders)
            while frontier:
                holder = frontier.pop()
                if holder == target:
                    return True
                if holder in waits:
                    for other in blockers(holder, *waits[holder]) - seen:
                        seen.add(other)
                        frontier.append(other)
            return False

        for holder, file, lock_type, start, length, wait in requests:
            span = range(start, start + length + 1)
            in_the_way = blockers(holder, file, span, lock_type) if lock_type != LockType.UNLOCK else set()
            try:
                await operator.set_file_lock(ROOT, inodes[file], LockKind.POSIX, *holder, lock_type, span[0],
                                             span[-1], wait=wait)
                outcome = None
            except Fs3Error as error:
                outcome = error.code
            if not in_the_way:
                assert outcome is None
                waits.pop(holder, None)
                for offset in span:
                    if lock_type == LockType.UNLOCK:
                        held[holder].pop((file, offset), None)
                    else:
                        held[holder][(file, offset)] = lock_type
            elif not wait:
                assert outcome == errno.EAGAIN
            elif reaches(in_the_way, holder):
                assert outcome == errno.EDEADLK
                waits.pop(holder, None)
            else:
                assert outcome == errno.EAGAIN
                waits[holder] = (file, span, lock_type)

    asyncio.run(body())


@async_test
async def test_two_services_closing_one_cycle_at_once_let_exactly_one_wait():
    """Both waits in one instant, through two operators (two metadata services) on one store: the
    wait records are read with conflicts, so one commits its wait and the other sees it (EDEADLK)
    rather than both waiting forever."""
    import random

    from fs3.kv.memory import MemoryKvEngine, MemoryTransaction
    from fs3.meta import MetaOperator
    from tests.meta.helpers import CONFIG

    class YieldingTransaction(MemoryTransaction):
        """Every read lets the other service's transaction run (the memory engine never would)."""

        async def get(self, key, *, snapshot=False):
            await asyncio.sleep(0)
            return await super().get(key, snapshot=snapshot)

        async def get_range(self, *args, **kwargs):
            await asyncio.sleep(0)
            return await super().get_range(*args, **kwargs)

    class InterleavingEngine(MemoryKvEngine):
        def create_transaction(self):
            return YieldingTransaction(self)

    engine = InterleavingEngine()
    first = await new_operator(engine)
    second = MetaOperator(engine, config=CONFIG, clock=first.test_clock, rng=random.Random(3))
    for round_index in range(20):
        a = (await first.create(ROOT, path(f"/a{round_index}"), 0o644)).inode.inode_id
        b = (await first.create(ROOT, path(f"/b{round_index}"), 0o644)).inode.inode_id
        alice, bob = (1, 100 + round_index), (2, 100 + round_index)
        await first.set_file_lock(ROOT, a, LockKind.POSIX, *alice, LockType.WRITE)
        await second.set_file_lock(ROOT, b, LockKind.POSIX, *bob, LockType.WRITE)
        outcomes = await asyncio.gather(_wait(first, b, alice, LockType.WRITE, 0, 0),
                                        _wait(second, a, bob, LockType.WRITE, 0, 0))
        assert sorted(outcomes) == sorted([errno.EAGAIN, errno.EDEADLK]), outcomes
