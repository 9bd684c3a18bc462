"""Goal: `fs3 rmtree` moves a tree to /trash/<uid>/<name>-<time>; an entry
renamed out of the trash before the expiry survives; the rest is deleted by
the metadata services' trash cleaner and its files' chunks leave every
target.

Method: a real cluster whose meta services accept a 2 s minimum expiry and
clean every 0.5 s; the CLI verb does the rmtree, the client restores one
file and then polls DUMP_CHUNK_META on all targets.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest

from fs3.client import Fs3Client
from tests.cluster.test_gc import _chunks_of, _wait_until_gone
from tests.conftest import run_async, run_cli, running_cluster

MiB = 1 << 20


@pytest.fixture(scope="module")
def trash_cluster(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trash-cluster")
    with running_cluster(folder, meta_options={"trash_expiry_min_s": 2.0, "trash_clean_interval_s": 0.5,
                         "gc_interval_s": 0.5}) as cluster:
        yield cluster


def test_rmtree_to_trash_restore_and_expiry(trash_cluster):
    cluster = trash_cluster
    keep_data, gone_data = os.urandom(2 * MiB + 5), os.urandom(3 * MiB)

    async def build() -> dict[str, int]:
        async with await Fs3Client.connect([cluster.mgmtd_address]) as client:
            await client.heartbeat()
            await client.mkdir("/t/proj/sub/deep", parents=True)
            inodes = {}
            for name, data in (("/t/proj/keep.bin", keep_data), ("/t/proj/sub/gone.bin", gone_data)):
                async with await client.open(name, "wb") as file:
                    await file.write(data)
                inodes[name] = file.stat.inode_id
            return inodes

    inodes = run_async(build())
    result = run_cli(cluster, "rmtree", "/t/proj", "--expire", "1s", check=False)
    assert result.returncode != 0 and "trash expiry" in result.stderr, result.stderr
    reply = json.loads(run_cli(cluster, "rmtree", "/t/proj", "--expire", "6s", "--json").stdout)
    trash_path = reply["trash_path"]
    assert trash_path.startswith(f"/trash/{os.getuid()}/proj-")

    async def check_and_restore() -> None:
        async with await Fs3Client.connect([cluster.mgmtd_address]) as client:
            assert not await client.exists("/t/proj")
            assert sorted(entry.name for entry in await client.listdir(trash_path)) == ["keep.bin", "sub"]
            await client.rename(trash_path + "/keep.bin", "/t/keep.bin")
            gone_inode = inodes["/t/proj/sub/gone.bin"]
            assert await _chunks_of(client, gone_inode), "chunks stay while the tree is in the trash"
            await _wait_until_gone(client, gone_inode, timeout_s=30)
            deadline = time.monotonic() + 10
            while await client.exists(trash_path):
                assert time.monotonic() < deadline, "expired trash entry still there"
                await asyncio.sleep(0.25)
            assert await client.listdir(f"/trash/{os.getuid()}") == []
            async with await client.open("/t/keep.bin", "rb") as file:
                assert await file.read() == keep_data
            keep_chunks = await _chunks_of(client, inodes["/t/proj/keep.bin"])
            assert sum(len(chunks) for chunks in keep_chunks.values()) == 3 * 3, "restored file keeps its chunks"

    run_async(check_and_restore())
