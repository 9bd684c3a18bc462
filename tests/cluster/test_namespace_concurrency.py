"""Namespace invariants under concurrent changes through two metadata services.

Goal: several client processes, half talking only to one metadata service and
half only to the other, rename, create, link, unlink, mkdir and rmdir in one
small shared tree at the same time. Afterwards the KV store itself is read
and checked: every inode is reachable from the root exactly as its link
count says (files) or through exactly one entry (directories), every
directory's parent field names the directory holding it, no directory is its
own ancestor, and removed files sit in the GC queue, not in the tree.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import time

from fs3.errors import Fs3Error
from fs3.kv import open_engine, prefix_range
from fs3.meta.store import keys
from fs3.meta.store.dir_entry import decode_dir_entry
from fs3.meta.store.inode import decode_inode, load_inode
from fs3.meta.types import ROOT_INODE_ID, InodeType
from fs3.routing import NodeType
from tests.conftest import remove_cluster_data, run_async, start_cluster

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


async def _check_store(kv_path: str) -> None:
    engine = open_engine(f"sqlite://{kv_path}")
    try:
        txn = engine.create_transaction()
        inodes = {}
        for item in await txn.get_range(*prefix_range(keys.INODE_PREFIX)):
            inode = decode_inode(item.value)
            inodes[inode.inode_id] = inode
        entries: dict[int, list] = {}  # inode id -> [(parent id, name)]
        children: dict[int, list[int]] = {}
        for item in await txn.get_range(*prefix_range(keys.DIR_ENTRY_PREFIX)):
            parent_id = int.from_bytes(item.key[4:12], "little")
            entry = decode_dir_entry(item.key[12:], item.value)
            entries.setdefault(entry.inode_id, []).append((parent_id, entry.name))
            children.setdefault(parent_id, []).append(entry.inode_id)
        queued = {
            int.from_bytes(item.key[4:12], "little")
            for item in await txn.get_range(*prefix_range(keys.GC_QUEUE_PREFIX))
        }
        directory_nlinks = {
            inode_id: (await load_inode(txn, inode_id)).nlink
            for inode_id, inode in inodes.items() if inode.inode_type == InodeType.DIRECTORY
        }
        txn.cancel()
    finally:
        await engine.close()

    # every entry points at a live inode, inside a live directory
    for inode_id, places in entries.items():
        assert inode_id in inodes, f"entry {places} points at missing inode {inode_id}"
        for parent_id, _name in places:
            assert parent_id in inodes and inodes[parent_id].inode_type == InodeType.DIRECTORY
    # reachability from the root, without cycles
    reachable = {ROOT_INODE_ID}
    frontier = [ROOT_INODE_ID]
    while frontier:
        directory = frontier.pop()
        for child in children.get(directory, []):
            if inodes[child].inode_type == InodeType.DIRECTORY:
                assert child not in reachable, f"directory {child} reached twice: a cycle or a second entry"
                frontier.append(child)
            reachable.add(child)
    for inode_id in set(inodes) - reachable:  # unlinked while open for writing: kept until the GC
        inode = inodes[inode_id]
        assert inode.nlink == 0 and inode.inode_type == InodeType.FILE and inode_id in queued, \
            f"unreachable inode {inode}"
    assert not queued & reachable, f"inodes both live and queued for GC: {queued & reachable}"
    for inode_id, inode in inodes.items():
        places = entries.get(inode_id, [])
        if inode.inode_type == InodeType.DIRECTORY:
            if inode_id == ROOT_INODE_ID:
                continue
            assert len(places) == 1, f"directory {inode_id} has {len(places)} entries"
            assert inode.parent == places[0][0], f"directory {inode_id}: parent field {inode.parent} != {places[0][0]}"
            subdirectories = sum(inodes[child].inode_type == InodeType.DIRECTORY for child in children.get(inode_id, []))
            assert directory_nlinks[inode_id] == 2 + subdirectories, f"directory {inode_id}: nlink"
            # no directory is its own ancestor
            seen, current = set(), inode_id
            for _depth in range(len(inodes) + 1):
                if current == ROOT_INODE_ID:
                    break
                assert current not in seen, f"directory {inode_id} is its own ancestor"
                seen.add(current)
                current = inodes[current].parent
            assert current == ROOT_INODE_ID
        elif inode_id in reachable:
            assert inode.nlink == len(places), f"inode {inode_id}: nlink {inode.nlink} but {len(places)} entries"


def test_concurrent_changes_through_two_metadata_services_keep_invariants(tmp_path):
    cluster = start_cluster(tmp_path / "cluster", storage_services=1, targets_per_storage=2, replication_factor=1)
    try:
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
        run_async(_check_store(os.path.join(cluster.data_dir, "meta", "kv.db")))
    finally:
        cluster.down(timeout_s=10)
        remove_cluster_data(cluster)
