"""Readahead blocks of an open file (client/fuse/file_handles.py) against a stand-in client whose
leases scribble over their bytes when given back, as a reused shared-memory slot would: a read
must never return bytes of a block whose lease went back before it copied them."""

from __future__ import annotations

import asyncio
import types

from fs3.client.fuse.config import FuseConfig
from fs3.client.fuse.file_handles import OpenFile

BLOCK = 1 << 20


class ScribblingLease:
    def __init__(self, index: int) -> None:
        self.view = memoryview(bytearray([index % 251]) * BLOCK)
        self.released = 0

    def release(self) -> None:
        self.released += 1
        self.view[:] = b"\xee" * BLOCK  # the slot serves another request now


class SlowFirstBlockClient:
    """Block 1 takes a while, the others come at once; every lease is kept for inspection."""

    def __init__(self) -> None:
        self.leases: list[ScribblingLease] = []

    async def read_lease(self, stat, start: int, length: int) -> ScribblingLease:
        index = start // BLOCK
        await asyncio.sleep(0.05 if index == 1 else 0.001)
        lease = ScribblingLease(index)
        self.leases.append(lease)
        return lease


def _open_file(client) -> OpenFile:
    """A 16 MiB file of 4 MiB chunks, read with 2 MiB of readahead."""
    stat = types.SimpleNamespace(inode_id=1, length=16 * BLOCK, layout=types.SimpleNamespace(chunk_size=4 * BLOCK))
    return OpenFile(1, client, FuseConfig(readahead_bytes=2 * BLOCK), stat, 0, writable=False)


def test_a_read_over_two_blocks_keeps_both_while_another_read_drops_them():
    async def main() -> None:
        client = SlowFirstBlockClient()
        handle = _open_file(client)
        length = 16 * BLOCK
        await handle.read(0, 4096, length)  # sequential from the start
        handle._read_next = BLOCK + BLOCK // 2
        spanning = asyncio.create_task(handle.read(BLOCK + BLOCK // 2, BLOCK, length))  # blocks 1 and 2
        await asyncio.sleep(0.01)  # block 2 is in, block 1 is not
        await handle.read(3 * BLOCK, 4096, length)  # passes (drops) blocks 1 and 2
        data = await spanning
        assert data == bytes([1]) * (BLOCK // 2) + bytes([2]) * (BLOCK // 2)
        await asyncio.sleep(0.01)
        await handle.close()
        await asyncio.sleep(0.1)
        assert all(lease.released == 1 for lease in client.leases), [lease.released for lease in client.leases]

    asyncio.run(main())


def test_a_cancelled_read_leaves_the_block_to_the_other_readers():
    """Cancelling one read (an interrupt, the session ending) must not cancel the fetch another read
    of the same block waits for."""

    async def main() -> None:
        client = SlowFirstBlockClient()
        handle = _open_file(client)
        length = 16 * BLOCK
        await handle.read(0, 4096, length)
        handle._read_next = BLOCK
        first = asyncio.create_task(handle.read(BLOCK, 4096, length))  # block 1: slow
        second = asyncio.create_task(handle.read(BLOCK + 4096, 4096, length))
        await asyncio.sleep(0.01)
        first.cancel()
        assert bytes(await second) == bytes([1]) * 4096
        await handle.close()
        await asyncio.sleep(0.1)
        assert first.cancelled()
        assert all(lease.released == 1 for lease in client.leases)

    asyncio.run(main())


def test_a_failed_fetch_is_not_kept_for_the_next_read():
    import errno

    from fs3.errors import Fs3Error

    class FailingOnceClient(SlowFirstBlockClient):
        def __init__(self) -> None:
            super().__init__()
            self.failed = False

        async def read_lease(self, stat, start, length):
            if start // BLOCK == 1 and not self.failed:
                self.failed = True
                raise Fs3Error(errno.EIO, "storage unreachable for a moment")
            return await super().read_lease(stat, start, length)

        async def read_chunks(self, stat, offset, into):  # a read that is not sequential any more
            for position in range(len(into)):
                into[position] = ((offset + position) // BLOCK) % 251

    async def main() -> None:
        client = FailingOnceClient()
        handle = _open_file(client)
        await handle.read(0, BLOCK, 16 * BLOCK)
        try:
            await handle.read(BLOCK, 4096, 16 * BLOCK)
            raise AssertionError("the first fetch of block 1 should have failed")
        except Fs3Error:
            pass
        assert bytes(await handle.read(BLOCK, 4096, 16 * BLOCK)) == bytes([1]) * 4096  # fetched again
        await handle.close()

    asyncio.run(main())
