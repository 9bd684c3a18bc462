"""FileLocks (client/file_locks.py) against a stand-in metadata client: a blocking POSIX request
that is given up (cancelled by an interrupt) lets its attempt in flight finish and then withdraws
its wait, so no wait record it might have left counts in later deadlock checks."""

from __future__ import annotations

import asyncio
import errno

import pytest

from fs3.client.file_locks import FLOCK, POSIX, FileLocks
from fs3.errors import Fs3Error
from fs3.net.methods import MetaMethod


class SlowMeta:
    """Each SET_FILE_LOCK takes 0.2 s and then ends with `outcome` (0: granted)."""

    def __init__(self, outcome: int) -> None:
        self.outcome = outcome
        self.log: list[str] = []

    async def call(self, method, request):
        self.log.append(method.name)
        if method == MetaMethod.SET_FILE_LOCK:
            await asyncio.sleep(0.2)
            self.log.append("SET_FILE_LOCK answered")
            if self.outcome:
                raise Fs3Error(self.outcome, "refused")
        return None


async def _cancel_while_asking(meta: SlowMeta, kind: int) -> None:
    locks = FileLocks(meta, client_id=7)
    waiting = asyncio.create_task(locks.set(None, 1, kind, 5, 1, wait=True))
    await asyncio.sleep(0.05)  # the first attempt is still under way
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


@pytest.mark.parametrize("outcome", [errno.EAGAIN, 0])
def test_an_interrupted_posix_wait_is_withdrawn_after_its_attempt_ends(outcome):
    meta = SlowMeta(outcome)
    asyncio.run(_cancel_while_asking(meta, POSIX))
    assert meta.log == ["SET_FILE_LOCK", "SET_FILE_LOCK answered", "STOP_LOCK_WAIT"]


def test_flock_waits_and_edeadlk_need_no_withdrawal():
    meta = SlowMeta(errno.EAGAIN)
    asyncio.run(_cancel_while_asking(meta, FLOCK))
    assert meta.log == ["SET_FILE_LOCK"]  # flock waits are never recorded

    meta = SlowMeta(errno.EDEADLK)

    async def deadlock() -> None:
        with pytest.raises(Fs3Error) as refused:
            await FileLocks(meta, client_id=7).set(None, 1, POSIX, 5, 1, wait=True)
        assert refused.value.code == errno.EDEADLK

    asyncio.run(deadlock())
    assert meta.log == ["SET_FILE_LOCK", "SET_FILE_LOCK answered"]  # the service dropped the record itself
