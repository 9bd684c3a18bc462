"""Disk replacement end to end, with real processes and the real `fs3` command (issue 5, acceptance 3).

Goal: an operator takes a target offline, replaces it with an empty one, the
target recovers from its chain and serves again, and no byte is lost: every
replica of every chunk holds the expected bytes. Method: a cluster of three
storage services x three targets at R=3; files written through the native
client; `fs3 offline-target`, then writes while the target is out, then
`fs3 replace-target --wait`; the storage logs show the target was emptied
and refilled by its predecessor; `check_replicas_and_data` and
`fs3 verify-chain --read` compare every replica. A second test replaces
every target of one disk at once (`fs3 replace-disk`).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import time
from pathlib import Path

import pytest

from fs3.client import Fs3Client
from fs3.errors import Fs3Error, StatusCode
from fs3.routing import PublicState
from tests.cluster.test_storage_recovery import check_replicas_and_data, write_file
from tests.conftest import run_async, run_cli, running_cluster

KiB = 1 << 10
CHUNK_SIZE = 256 * KiB


@pytest.fixture(scope="module")
def replacement_cluster(tmp_path_factory):
    with running_cluster(tmp_path_factory.mktemp("replacement"), heartbeat_timeout_s=4.0, meta_services=1,
                         targets_per_storage=3, chunk_size_bytes=CHUNK_SIZE, slot_file_bytes=8 << 20) as cluster:
        yield cluster


def _resync_reports(cluster, target_id: int) -> list[int]:
    """Chunks transferred by each completed resync of `target_id`, from every storage log."""
    pattern = re.compile(rf"resync of target {target_id} from \d+ \(chain \d+ v\d+\) done in [\d.]+s: "
                         rf"(\d+) transferred")
    found = []
    for log in sorted(Path(cluster.data_dir, "logs").glob("storage-*.log")):
        found += [int(match.group(1)) for match in pattern.finditer(log.read_text())]
    return found


def _verify_every_chain(cluster) -> None:
    for chain in json.loads(run_cli(cluster, "chains", "--json").stdout):
        report = json.loads(run_cli(cluster, "verify-chain", str(chain["chain_id"]), "--read", "--json").stdout)
        assert report["problems"] == [] and len(report["targets"]) == 3, report


async def _wait_not_served(client: Fs3Client, target_id: int, path: str, timeout_s: float = 15.0) -> None:
    """Until the storage service refuses reads of `path`'s first chunk from `target_id`."""
    stat = await client.stat(path)
    buffer = memoryview(bytearray(CHUNK_SIZE))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        routing = await client.routing.refresh()
        chain_id = routing.targets[target_id].chain_id
        try:
            await client.storage.read_from_target(routing, chain_id, 0, routing.targets[target_id], stat.inode_id,
                                                  0, 0, 1, buffer)
        except Fs3Error as error:
            assert error.code == StatusCode.TARGET_NOT_SERVING, error
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"target {target_id} still serves reads after being taken offline")


def test_offline_replace_recover_loses_nothing(replacement_cluster):
    cluster = replacement_cluster
    randomness = random.Random(5)
    files: dict[str, bytes] = {}

    async def write_before() -> int:
        client = await Fs3Client.connect(cluster.mgmtd_addresses)
        try:
            await client.mkdir("/disk", parents=True)
            for index in range(4):
                files[f"/disk/before-{index}"] = os.urandom(randomness.randrange(CHUNK_SIZE, 10 * CHUNK_SIZE))
                await write_file(client, f"/disk/before-{index}", files[f"/disk/before-{index}"])
            stat = await client.stat("/disk/before-0")
            routing = await client.routing.refresh()
            return routing.chains[stat.layout.chain_of_chunk(routing, 0)].target_ids[0]  # a head: it serves reads
        finally:
            await client.close()

    victim = run_async(write_before())
    chunks_before = {t["target_id"]: t for t in json.loads(run_cli(cluster, "targets", "--json").stdout)}
    assert chunks_before[victim]["chunk_count"] > 0

    offline = json.loads(run_cli(cluster, "offline-target", str(victim), "--json").stdout)
    assert offline["admin_offline"] and offline["chain"]["targets"][-1] == victim
    assert offline["chain"]["states"][str(victim)] == "offline"

    async def while_offline() -> None:
        client = await Fs3Client.connect(cluster.mgmtd_addresses)
        try:
            await _wait_not_served(client, victim, "/disk/before-0")
            for index in range(2):  # new files and overwrites the offline target misses
                files[f"/disk/during-{index}"] = os.urandom(randomness.randrange(CHUNK_SIZE, 8 * CHUNK_SIZE))
                await write_file(client, f"/disk/during-{index}", files[f"/disk/during-{index}"])
            data = bytearray(files["/disk/before-1"])
            patch = os.urandom(CHUNK_SIZE + 777)
            async with await client.open("/disk/before-1", "r+b") as file:
                await file.pwrite(patch, 1000)
            data[1000 : 1000 + len(patch)] = patch
            files["/disk/before-1"] = bytes(data)
        finally:
            await client.close()

    run_async(while_offline())
    still_out = {t["target_id"]: t for t in json.loads(run_cli(cluster, "targets", "--json").stdout)}[victim]
    assert still_out["public_state"] == "offline" and still_out["admin_offline"]

    replaced = json.loads(run_cli(cluster, "replace-target", str(victim), "--wait", "--timeout", "120",
                                  "--json").stdout)
    assert replaced[0]["target_id"] == victim and replaced[0]["public_state"] == "serving"
    target = {t["target_id"]: t for t in json.loads(run_cli(cluster, "targets", "--json").stdout)}[victim]
    assert (target["public_state"], target["local_state"], target["admin_offline"]) == ("serving", "up_to_date",
                                                                                         False)
    node_log = Path(cluster.services[f"storage-{target['node_id']}"].log_path).read_text()
    assert f"target {victim} emptied in" in node_log
    transferred = _resync_reports(cluster, victim)
    # Refilled from nothing: its predecessor sent every chunk the chain holds (no writes during recovery).
    assert transferred and transferred[-1] == target["chunk_count"] > chunks_before[victim]["chunk_count"] - 1

    async def check() -> None:
        client = await Fs3Client.connect(cluster.mgmtd_addresses)
        try:
            await check_replicas_and_data(client, files)
        finally:
            await client.close()

    run_async(check())
    _verify_every_chain(cluster)
    assert run_cli(cluster, "status").returncode == 0


def test_replace_disk_replaces_every_target_on_it(replacement_cluster):
    cluster = replacement_cluster
    files: dict[str, bytes] = {}

    async def write() -> None:
        client = await Fs3Client.connect(cluster.mgmtd_addresses)
        try:
            await client.mkdir("/wholedisk", parents=True)
            for index in range(3):
                files[f"/wholedisk/{index}"] = os.urandom((index + 2) * CHUNK_SIZE + 3)
                await write_file(client, f"/wholedisk/{index}", files[f"/wholedisk/{index}"])
        finally:
            await client.close()

    run_async(write())
    disk = str(cluster.data_dir / "storage-103")
    refused = run_cli(cluster, "replace-disk", "--node", "103", "--disk", disk + "-nonexistent", check=False)
    assert refused.returncode == 1 and "ENOENT" in refused.stderr and "has no targets on disk" in refused.stderr
    rows = json.loads(run_cli(cluster, "replace-disk", "--node", "103", "--disk", disk, "--wait", "--timeout",
                              "120", "--json").stdout)
    assert sorted(row["target_id"] for row in rows) == [103001, 103002, 103003]
    assert all(row["public_state"] == "serving" for row in rows)
    log = Path(cluster.services["storage-103"].log_path).read_text()
    assert all(f"target {row['target_id']} emptied in" in log for row in rows)

    async def check() -> None:
        client = await Fs3Client.connect(cluster.mgmtd_addresses)
        try:
            routing = await client.routing.refresh()
            assert all(routing.targets[t].public_state == PublicState.SERVING for t in (103001, 103002, 103003))
            await check_replicas_and_data(client, files)
        finally:
            await client.close()

    run_async(check())
    _verify_every_chain(cluster)


def test_offline_refusals_and_online_target(replacement_cluster):
    """The last serving replica is never taken away without --force; online-target brings a target back
    through recovery; unknown targets fail with exit 1 and a precise message."""
    cluster = replacement_cluster
    chain = json.loads(run_cli(cluster, "chains", "--json").stdout)[0]
    first, second, last = chain["targets"]
    run_cli(cluster, "offline-target", str(first))
    run_cli(cluster, "offline-target", str(second))
    refused = run_cli(cluster, "offline-target", str(last), check=False)
    assert refused.returncode == 1 and "EBUSY" in refused.stderr and "last serving target" in refused.stderr
    assert run_cli(cluster, "status", check=False).returncode == 1  # degraded chain: status says so
    replace_refused = run_cli(cluster, "replace-target", str(last), check=False)
    assert replace_refused.returncode == 1 and "no serving target left" in replace_refused.stderr
    for target_id in (first, second):
        back = json.loads(run_cli(cluster, "online-target", str(target_id), "--wait", "--timeout", "120",
                                  "--json").stdout)
        assert back["admin_offline"] is False and back["chain"]["states"][str(target_id)] == "serving"
    unknown = run_cli(cluster, "offline-target", "987654", check=False)
    assert unknown.returncode == 1 and "UNKNOWN_TARGET" in unknown.stderr
    status = json.loads(run_cli(cluster, "status", "--json").stdout)
    assert status["healthy"] and status["targets"]["offline_by_operator"] == []
