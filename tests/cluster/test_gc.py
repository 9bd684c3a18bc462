"""Goal: removing a file removes its chunks from every replica, and a
shrinking truncate drops the chunks past the new end.

Method: a real cluster (R=3); write a 100 MiB file (100 chunks over 16
chains), unlink it, and poll DUMP_CHUNK_META on all 15 targets until no
chunk of the inode is left (the metadata services' GC runs every second).
A file still open for writing keeps its chunks until its writer closes.
"""

from __future__ import annotations

import asyncio
import os
import time

from fs3.client import Fs3Client
from fs3.storage.chunk_meta_dump import dump_target_chunk_meta
from tests.conftest import run_async

MiB = 1 << 20


async def _chunks_of(client: Fs3Client, inode_id: int) -> dict[int, list[int]]:
    """target id -> chunk indexes of `inode_id` stored there."""
    routing = await client.routing.refresh()
    found: dict[int, list[int]] = {}
    for target_id, target in routing.targets.items():
        node = routing.nodes[target.node_id]
        # small pages: the paging runs
        chunks = await dump_target_chunk_meta(client.rpc.get(node.host, node.port), target_id, page_limit=7)
        indexes = [meta.chunk.chunk_index for meta in chunks if meta.chunk.inode_id == inode_id]
        if indexes:
            found[target_id] = sorted(indexes)
    return found


async def _wait_until_gone(client: Fs3Client, inode_id: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    left: dict[int, list[int]] = {}
    while time.monotonic() < deadline:
        left = await _chunks_of(client, inode_id)
        if not left:
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"chunks of inode {inode_id} still on targets after {timeout_s}s: "
                         f"{ {target: len(chunks) for target, chunks in left.items()} }")


def test_unlinked_file_chunks_leave_every_target(cluster):
    async def body() -> None:
        async with await Fs3Client.connect([cluster.mgmtd_address], uid=0, gid=0) as client:
            await client.mkdir("/gc", parents=True)
            data = os.urandom(100 * MiB)
            async with await client.open("/gc/big.bin", "wb") as file:
                await file.write(data)
            stat = await client.stat("/gc/big.bin")
            assert stat.length == 100 * MiB
            before = await _chunks_of(client, stat.inode_id)
            assert sum(len(chunks) for chunks in before.values()) == 100 * 3, "every chunk on 3 replicas"
            await client.unlink("/gc/big.bin")
            await _wait_until_gone(client, stat.inode_id, timeout_s=15)

    run_async(body())


def test_open_writer_defers_gc_until_close(cluster):
    async def body() -> None:
        async with await Fs3Client.connect([cluster.mgmtd_address], uid=0, gid=0) as client:
            await client.mkdir("/gc", parents=True)
            file = await client.open("/gc/open.bin", "wb")
            await file.write(os.urandom(3 * MiB))
            inode_id = file.stat.inode_id
            await client.unlink("/gc/open.bin")
            await asyncio.sleep(2.5)  # two GC passes
            await file.write(os.urandom(MiB))  # writing to an unlinked open file still works
            assert sum(len(chunks) for chunks in (await _chunks_of(client, inode_id)).values()) == 4 * 3
            await file.close()
            await _wait_until_gone(client, inode_id, timeout_s=15)

    run_async(body())


def test_truncate_drops_chunks_past_the_end(cluster):
    async def body() -> None:
        async with await Fs3Client.connect([cluster.mgmtd_address], uid=0, gid=0) as client:
            await client.mkdir("/gc", parents=True)
            data = os.urandom(8 * MiB)
            async with await client.open("/gc/cut.bin", "wb") as file:
                await file.write(data)
            stat = await client.truncate("/gc/cut.bin", 2 * MiB + 10)
            assert stat.length == 2 * MiB + 10
            left = await _chunks_of(client, stat.inode_id)
            assert sorted({index for chunks in left.values() for index in chunks}) == [0, 1, 2]
            await client.truncate("/gc/cut.bin", 4 * MiB)  # extend: the cut tail reads as zeros
            async with await client.open("/gc/cut.bin", "rb") as file:
                back = await file.read()
            assert back == data[: 2 * MiB + 10] + bytes(4 * MiB - (2 * MiB + 10))

    run_async(body())
