"""A new storage node joins and chains move onto it; chains and tables uploaded from files.

Goal: `fs3 local add-storage`, `fs3 create-targets`, `fs3 move-chain` and
`fs3 add-node` bring a new node into the chains with every replica intact,
the old members leave their chains retired, `fs3 replace-target` returns
them to the free targets, and `fs3 generate-chains` / `upload-chains` /
`upload-chain-table` / `init` build new chains and tables from free targets
that files can then use. Method: real processes and the real `fs3` command;
`--json` output parsed; every replica compared at the end.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from fs3.client import Fs3Client
from tests.cluster.test_storage_recovery import check_replicas_and_data, write_file
from tests.conftest import run_async, run_cli, running_cluster

KiB = 1 << 10
CHUNK_SIZE = 256 * KiB


@pytest.fixture(scope="module")
def growing_cluster(tmp_path_factory):
    with running_cluster(tmp_path_factory.mktemp("growing"), heartbeat_timeout_s=4.0, meta_services=1,
                         targets_per_storage=3, chunk_size_bytes=CHUNK_SIZE, slot_file_bytes=8 << 20) as cluster:
        yield cluster


def _write(cluster, files: dict[str, bytes], prefix: str, count: int) -> None:
    async def main() -> None:
        client = await Fs3Client.connect(cluster.mgmtd_addresses)
        try:
            await client.mkdir(prefix, parents=True)
            for index in range(count):
                path = f"{prefix}/{index}"
                files[path] = os.urandom((index + 1) * CHUNK_SIZE * 3 + 11)
                await write_file(client, path, files[path])
        finally:
            await client.close()

    run_async(main())


def _check(cluster, files: dict[str, bytes]) -> None:
    async def main() -> None:
        client = await Fs3Client.connect(cluster.mgmtd_addresses)
        try:
            await check_replicas_and_data(client, files)
        finally:
            await client.close()

    run_async(main())


def _targets(cluster) -> dict[int, dict]:
    return {t["target_id"]: t for t in json.loads(run_cli(cluster, "targets", "--json").stdout)}


def test_new_node_takes_over_chains_without_losing_a_byte(growing_cluster):
    cluster = growing_cluster
    files: dict[str, bytes] = {}
    _write(cluster, files, "/grow", 4)

    added = json.loads(run_cli(cluster, "local", "add-storage", "--json").stdout)
    node = added["node_id"]
    assert added["name"] == f"storage-{node}" and node == 104
    deadline = time.monotonic() + 30
    while not any(n["node_id"] == node and n["alive"] for n in json.loads(run_cli(cluster, "nodes", "--json").stdout)):
        assert time.monotonic() < deadline, "the added storage service never became alive"
        time.sleep(0.3)
    nothing = run_cli(cluster, "add-node", str(node), check=False)
    assert nothing.returncode == 1 and "ENOSPC" in nothing.stderr and "create-targets" in nothing.stderr

    created = json.loads(run_cli(cluster, "create-targets", "--node", str(node), "--count", "3", "--json").stdout)
    assert [row["target_id"] for row in created] == [104001, 104002, 104003]
    assert all(row["path"].startswith(str(cluster.data_dir / f"storage-{node}")) for row in created)
    targets = _targets(cluster)
    assert all(targets[t]["chain_id"] == 0 and targets[t]["node_id"] == node for t in (104001, 104002, 104003))
    duplicate = run_cli(cluster, "create-targets", "--node", str(node), "--first-id", "101001", check=False)
    assert duplicate.returncode == 1 and "EEXIST" in duplicate.stderr

    chain = json.loads(run_cli(cluster, "chains", "--json").stdout)[0]
    leaving = chain["targets"][0]
    moved = json.loads(run_cli(cluster, "move-chain", str(chain["chain_id"]), "--from", str(leaving), "--to",
                               "104001", "--wait", "--timeout", "120", "--json").stdout)
    assert moved["done"] and leaving not in moved["chain"]["targets"] and "104001" in moved["chain"]["states"]
    assert set(moved["chain"]["states"].values()) == {"serving"} and len(moved["chain"]["targets"]) == 3

    _write(cluster, files, "/grow-more", 2)
    balanced = json.loads(run_cli(cluster, "add-node", str(node), "--wait", "--timeout", "120", "--json").stdout)
    assert len(balanced) == 1 and balanced[0]["to_target_id"] in (104002, 104003) and balanced[0]["done"]
    loads: dict[int, int] = {}
    targets = _targets(cluster)
    for each in json.loads(run_cli(cluster, "chains", "--json").stdout):
        nodes = [targets[t]["node_id"] for t in each["targets"]]
        assert len(set(nodes)) == 3
        for node_id in nodes:
            loads[node_id] = loads.get(node_id, 0) + 1
    assert max(loads.values()) - loads[node] <= 1 and sum(loads.values()) == 9
    _check(cluster, files)

    retired = [leaving, balanced[0]["from_target_id"]]
    for target_id in retired:
        assert targets[target_id]["chain_id"] == 0 and targets[target_id]["admin_offline"]
    freed = json.loads(run_cli(cluster, "replace-target", str(retired[0]), "--wait", "--json").stdout)
    assert freed[0]["chain_id"] == 0 and freed[0]["public_state"] == "free"
    assert not _targets(cluster)[retired[0]]["admin_offline"]
    status = json.loads(run_cli(cluster, "status", "--json").stdout)
    assert status["healthy"] and status["chain_moves"] == [] and status["nodes"]["storage"]["total"] == 4
    not_moving = run_cli(cluster, "move-chain", str(chain["chain_id"]), "--cancel", check=False)
    assert not_moving.returncode == 1 and "is not moving" in not_moving.stderr
    incomplete = run_cli(cluster, "move-chain", str(chain["chain_id"]), "--from", "1", check=False)
    assert incomplete.returncode == 1 and "give --from and --to, or --cancel" in incomplete.stderr


def test_generate_and_upload_chains_and_tables(growing_cluster, tmp_path):
    """Free targets on three nodes become a new chain and a new table; a directory using it stores files."""
    cluster = growing_cluster
    for target_id in [t for t, info in _targets(cluster).items() if info["admin_offline"] and not info["chain_id"]]:
        run_cli(cluster, "replace-target", str(target_id))  # retired by the previous test: free them
    nodes = {info["node_id"] for info in _targets(cluster).values() if not info["chain_id"]}
    for node_id in (101, 102, 103, 104):
        if node_id not in nodes:
            run_cli(cluster, "create-targets", "--node", str(node_id), "--count", "1")
    free = [t for t, info in _targets(cluster).items() if not info["chain_id"] and not info["admin_offline"]]
    assert len(free) == 4 and {t // 1000 for t in free} == {101, 102, 103, 104}  # one free target per node

    csv_path = tmp_path / "chains.csv"
    whole = run_cli(cluster, "generate-chains", "--replication", "3", check=False)  # all four free targets
    assert whole.returncode == 1 and "multiple of the replication factor" in whole.stderr
    generated = json.loads(run_cli(cluster, "generate-chains", "--replication", "3", "--count", "1", "--output",
                                   str(csv_path), "--json").stdout)
    assert len(generated["chains"]) == 1 and len(generated["chains"][0]["targets"]) == 3
    assert csv_path.read_text().startswith("ChainId,TargetId1,TargetId2,TargetId3\n")
    first = generated["chains"][0]
    csv_path.write_text(f"ChainId,TargetId1,TargetId2,TargetId3\n{first['chain_id']},"
                        + ",".join(map(str, first["targets"])) + "\n")
    uploaded = json.loads(run_cli(cluster, "upload-chains", str(csv_path), "--json").stdout)
    assert uploaded[0]["chain_id"] == first["chain_id"] and set(uploaded[0]["states"].values()) == {"serving"}
    again = run_cli(cluster, "upload-chains", str(csv_path), "--json")  # unchanged: accepted, nothing new
    assert json.loads(again.stdout)[0]["chain_version"] == uploaded[0]["chain_version"]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{first['chain_id'] + 100},{first['targets'][0]}\n")
    refused = run_cli(cluster, "upload-chains", str(bad), check=False)
    assert refused.returncode == 1 and "EEXIST" in refused.stderr and "is in chain" in refused.stderr

    table = json.loads(run_cli(cluster, "upload-chain-table", "7", str(csv_path), "--json").stdout)
    assert table == {"table_id": 7, "table_version": 1, "chains": [first["chain_id"]]}
    changed = tmp_path / "table.txt"
    changed.write_text(f"# chains\n{first['chain_id']}\n1\n")
    refused = run_cli(cluster, "upload-chain-table", "7", str(changed), check=False)
    assert refused.returncode == 1 and "--replace" in refused.stderr
    assert json.loads(run_cli(cluster, "upload-chain-table", "7", str(changed), "--replace", "--json").stdout)[
        "table_version"] == 2
    tables = json.loads(run_cli(cluster, "chain-tables", "--json").stdout)
    assert {t["table_id"] for t in tables} == {1, 7}

    async def use_table() -> None:
        client = await Fs3Client.connect(cluster.mgmtd_addresses)
        try:
            await client.mkdir("/table7", parents=True)
            await client.set_layout("/table7", chain_table_id=7, chunk_size=CHUNK_SIZE, stripe_size=2)
            data = os.urandom(5 * CHUNK_SIZE)
            await write_file(client, "/table7/file", data)
            stat = await client.stat("/table7/file")
            assert stat.layout.chain_table_id == 7
            await check_replicas_and_data(client, {"/table7/file": data})
        finally:
            await client.close()

    run_async(use_table())

    remaining = [t for t, info in _targets(cluster).items() if not info["chain_id"] and not info["admin_offline"]]
    assert len(remaining) == 1
    document = json.loads(run_cli(cluster, "init", "--table-id", "8", "--replication", "1", "--json").stdout)
    assert document["table_id"] == 8 and len(document["chains"]) == 1
    empty = run_cli(cluster, "init", "--table-id", "9", "--replication", "1", check=False)
    assert empty.returncode == 1 and "ENOSPC" in empty.stderr
