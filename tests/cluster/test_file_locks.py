"""Cluster-wide file locks through real metadata services: two clients (each pinned to a different
metadata service) exclude each other with flock and POSIX range locks, a blocked waiter gets the lock
when the holder closes, and F_GETLK names the holder."""

from __future__ import annotations

import asyncio
import errno
import fcntl

import pytest

from fs3.client import Fs3Client
from fs3.errors import Fs3Error
from fs3.routing import NodeType
from tests.conftest import run_async


async def _two_clients(cluster) -> tuple[Fs3Client, Fs3Client]:
    first = await Fs3Client.connect(cluster.mgmtd_addresses)
    second = await Fs3Client.connect(cluster.mgmtd_addresses)
    metas = [(node.host, node.port) for node in first.routing.routing.nodes_of_type(NodeType.META)]
    assert len(metas) == 2
    first.meta.pinned_address, second.meta.pinned_address = metas
    return first, second


def test_flock_and_range_locks_exclude_across_clients_and_services(cluster):
    async def main() -> None:
        first, second = await _two_clients(cluster)
        try:
            mine = await first.open("/locked.bin", "wb")
            theirs = await second.open("/locked.bin", "rb")
            await mine.flock(fcntl.LOCK_EX)
            with pytest.raises(Fs3Error) as refused:
                await theirs.flock(fcntl.LOCK_SH | fcntl.LOCK_NB)
            assert refused.value.code == errno.EAGAIN

            waiter = asyncio.get_running_loop().create_task(theirs.flock(fcntl.LOCK_SH))
            await asyncio.sleep(0.3)
            assert not waiter.done(), "a blocking flock waits while the other client holds the lock"
            await mine.close()  # closing releases the lock
            await asyncio.wait_for(waiter, 10)

            # POSIX ranges: disjoint write locks coexist, overlapping ones do not, GETLK names the holder
            writer = await first.open("/locked.bin", "r+b")
            await writer.lock_range(fcntl.F_WRLCK, 0, 100)
            await theirs.lock_range(fcntl.F_RDLCK, 100, 100, wait=False)
            with pytest.raises(Fs3Error) as refused:
                await theirs.lock_range(fcntl.F_RDLCK, 50, 10, wait=False)
            assert refused.value.code == errno.EAGAIN
            holder = await theirs.test_lock(fcntl.F_WRLCK, 0, 0)
            assert holder is not None and holder.client_id == first.client_id and (holder.start, holder.end) == (0, 99)
            await writer.lock_range(fcntl.F_UNLCK, 0, 50)  # unlock half: the rest stays
            await theirs.lock_range(fcntl.F_RDLCK, 10, 10, wait=False)
            with pytest.raises(Fs3Error):
                await theirs.lock_range(fcntl.F_RDLCK, 60, 1, wait=False)
            await writer.close()
            await theirs.lock_range(fcntl.F_WRLCK, 0, 0, wait=False)  # everything free once the writer closed
            await theirs.close()
        finally:
            await first.close()
            await second.close()

    run_async(main())
