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
