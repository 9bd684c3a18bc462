"""Namespace invariants under concurrent changes through two metadata services.

Goal: several client processes, half talking only to one metadata service and
half only to the other, rename, create, link, unlink, mkdir and rmdir in one
small shared tree at the same time. Afterwards the KV store itself is read
and checked by the fsck core (meta/fsck.py): every inode is reachable from
the root exactly as its link count says (files) or through exactly one entry
(directories), every directory's parent field names the directory holding it,
no directory is its own ancestor, and removed files sit in the GC queue, not
in the tree; then `fs3 fsck` checks the same through a metadata service.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import time

from fs3.errors import Fs3Error
from fs3.kv import open_engine
from fs3.meta.fsck import check_namespace
from fs3.routing import NodeType
from tests.conftest import run_async, run_cli, running_cluster

DIRECTORIES = ["/ns", "/ns/a", "/ns/b", "/ns/a/c"]
NAMES = [f"n{index}" for index in range(6)]
WORKERS = 4
DURATION_S = 8.0


def _random_path(rng: random.Random) -> str:
    return f"{rng.choice(DIRECTORIES)}/{rng.choice(NAMES)}"


async def _work(addresses: list[str], meta_address: tuple[str, int], seed: int, duration_s: float) -> dict:
    from fs3.client import Fs3Client

    rng = random.Random(seed)
    client = await Fs3Client.connect(addresses)
    client.meta.pinned_address = meta_address
    done = {"ok": 0, "refused": 0}
    try:
        deadline = time.monotonic() + duration_s
        while time.monotonic() < deadline:
            operation = rng.choice(["create", "create", "mkdir", "unlink", "rmdir", "rename", "rename", "link"])
            try:
                if operation == "create":
                    async with await client.open(_random_path(rng), "ab") as file:
                        await file.write(b"x")
                elif operation == "mkdir":
                    await client.mkdir(_random_path(rng))
                elif operation == "unlink":
                    await client.unlink(_random_path(rng))
                elif operation == "rmdir":
                    await client.rmdir(_random_path(rng))
                elif operation == "rename":
                    source = rng.choice([_random_path(rng), rng.choice(DIRECTORIES[1:])])
                    await client.rename(source, _random_path(rng), flags=rng.choice([0, 0, 1, 2]))
                else:
                    await client.link(_random_path(rng), _random_path(rng))
                done["ok"] += 1
            except Fs3Error as error:
                assert error.is_posix, f"{operation}: non-POSIX error {error}"
                done["refused"] += 1
    finally:
        await client.close()
    return done


def _worker_process(addresses, meta_address, seed, duration_s, results) -> None:
    results.put(asyncio.run(_work(addresses, meta_address, seed, duration_s)))


async def _check_store(kv_path: str) -> dict:
    """The invariants (meta/fsck.py, whose own tests show it catches each kind of damage), read
    straight from the KV store; returns the report's counts."""
    engine = open_engine(f"sqlite://{kv_path}")
    try:
        txn = engine.create_transaction()
        report = await check_namespace(txn, inodes_max=100_000)
        txn.cancel()
    finally:
        await engine.close()
    assert report.clean, report.problems
    return {"inodes": report.inodes, "entries": report.entries}


def test_concurrent_changes_through_two_metadata_services_keep_invariants(tmp_path):
    with running_cluster(tmp_path / "cluster", storage_services=1, targets_per_storage=2,
                         replication_factor=1) as cluster:
        async def prepare():
            from fs3.client import Fs3Client

            client = await Fs3Client.connect(cluster.mgmtd_addresses)
            try:
                for directory in DIRECTORIES:
                    await client.mkdir(directory)
                routing = client.routing.routing
                return [(node.host, node.port) for node in routing.nodes_of_type(NodeType.META)]
            finally:
                await client.close()

        metas = run_async(prepare())
        assert len(metas) == 2
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        seed = random.randrange(1 << 30)
        workers = [
            context.Process(target=_worker_process,
                            args=(cluster.mgmtd_addresses, metas[index % 2], seed + index, DURATION_S, results))
            for index in range(WORKERS)
        ]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
            assert worker.exitcode == 0
        assert sum(outcome["ok"] for outcome in outcomes) > 100, outcomes
        counts = run_async(_check_store(os.path.join(cluster.data_dir, "meta", "kv.db")))
        # and the same check through a metadata service, as an operator runs it (the GC may have
        # deleted removed files' inodes in between, never added any)
        report = json.loads(run_cli(cluster, "fsck", "--json").stdout)
        assert report["problems"] == [] and 0 < report["inodes"] <= counts["inodes"], report
