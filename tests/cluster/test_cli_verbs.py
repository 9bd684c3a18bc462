"""Every CLI verb against a running cluster: the real `fs3` command, human and --json output."""

from __future__ import annotations

import json
import os

from tests.conftest import run_cli


def test_cluster_views_parse_as_json_and_render_as_tables(cluster):
    nodes = json.loads(run_cli(cluster, "nodes", "--json").stdout)
    assert {node["type"] for node in nodes} == {"meta", "storage"} and all(node["alive"] for node in nodes)
    targets = json.loads(run_cli(cluster, "targets", "--json").stdout)
    assert len(targets) == 15 and {t["public_state"] for t in targets} == {"serving"}
    chains = json.loads(run_cli(cluster, "chains", "--json").stdout)
    assert len(chains) == 5 and all(len(chain["targets"]) == 3 for chain in chains)
    tables = json.loads(run_cli(cluster, "chain-tables", "--json").stdout)
    assert tables[0]["table_id"] == 1 and sorted(tables[0]["chains"]) == sorted(c["chain_id"] for c in chains)
    for verb in ("nodes", "targets", "chains", "chain-tables"):
        assert run_cli(cluster, verb).stdout.strip()


def test_namespace_verbs_and_chunk_inspection(cluster, tmp_path):
    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom((2 << 20) + 5))
    run_cli(cluster, "mkdir", "-p", "/cli/a/b")
    run_cli(cluster, "put", str(source), "/cli/a/data.bin")
    listing = json.loads(run_cli(cluster, "ls", "/cli/a", "--json").stdout)
    assert {entry["name"] for entry in listing} == {"b", "data.bin"}
    info = json.loads(run_cli(cluster, "stat", "/cli/a/data.bin", "--json").stdout)
    assert info["length"] == (2 << 20) + 5 and info["type"] == "file"
    replicas = json.loads(run_cli(cluster, "query-chunk", "/cli/a/data.bin", "2", "--json").stdout)
    assert len(replicas) == 3
    assert all(replica["exists"] and replica["length"] == 5 for replica in replicas)
    assert len({replica["crc32c"] for replica in replicas}) == 1
    chunks = json.loads(run_cli(cluster, "dump-chunkmeta", str(replicas[0]["target_id"]), "--json").stdout)
    assert any(chunk["inode_id"] == info["inode_id"] for chunk in chunks)
    run_cli(cluster, "mv", "/cli/a/data.bin", "/cli/a/b/moved.bin")
    back = tmp_path / "back.bin"
    run_cli(cluster, "get", "/cli/a/b/moved.bin", str(back))
    assert back.read_bytes() == source.read_bytes()
    failed = run_cli(cluster, "rm", "/cli", check=False)
    assert failed.returncode == 1 and failed.stderr.startswith("fs3: error: EISDIR")
    run_cli(cluster, "rm", "-r", "/cli")
    missing = run_cli(cluster, "stat", "/cli", check=False)
    assert missing.returncode == 1 and "ENOENT" in missing.stderr
    unknown = run_cli(cluster, "dump-chunkmeta", "999999", check=False)
    assert unknown.returncode == 1 and "UNKNOWN_TARGET" in unknown.stderr


def test_verify_chain_compares_every_replica(cluster, tmp_path):
    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom(6 << 20))
    run_cli(cluster, "put", str(source), "/verify.bin")
    chains = json.loads(run_cli(cluster, "chains", "--json").stdout)
    total = 0
    for chain in chains:
        report = json.loads(run_cli(cluster, "verify-chain", str(chain["chain_id"]), "--read", "--json").stdout)
        assert report["problems"] == [] and report["targets"] == chain["targets"]
        total += report["chunks"]
    assert total >= 6
    missing = run_cli(cluster, "verify-chain", "4242", check=False)
    assert missing.returncode == 1 and "UNKNOWN_CHAIN" in missing.stderr


def test_inspection_verbs_dump_inodes_fsck_gc_and_orphaned_chunks(cluster, tmp_path):
    from fs3.client import Fs3Client
    from tests.conftest import run_async

    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom((3 << 20) + 1))
    run_cli(cluster, "mkdir", "-p", "/inspect/d")
    run_cli(cluster, "put", str(source), "/inspect/d/file.bin")
    info = json.loads(run_cli(cluster, "stat", "/inspect/d/file.bin", "--json").stdout)
    inodes = json.loads(run_cli(cluster, "dump-inodes", "--json").stdout)
    by_id = {inode["inode_id"]: inode for inode in inodes}
    assert by_id[info["inode_id"]]["type"] == "file" and by_id[info["inode_id"]]["length"] == (3 << 20) + 1
    assert by_id[1]["type"] == "directory"
    assert "inodes" in run_cli(cluster, "dump-inodes").stdout

    report = json.loads(run_cli(cluster, "fsck", "--json").stdout)
    assert report["problems"] == [] and report["inodes"] == len(inodes)
    assert "0 problems" in run_cli(cluster, "fsck").stdout

    # chunks of an inode that never existed: orphans, found and then removed through their chain
    orphan_inode = (1 << 62) + 12345

    async def write_orphan() -> int:
        async with await Fs3Client.connect(cluster.mgmtd_addresses) as client:
            chain_id = sorted(client.routing.routing.chains)[0]
            for index in range(2):
                await client.storage.write_chunk(chain_id, orphan_inode, index, 0, memoryview(os.urandom(1000)),
                                                 1 << 20)
            return chain_id

    chain_id = run_async(write_orphan())
    found = run_cli(cluster, "find-orphaned-chunks", "--json", check=False)
    assert found.returncode == 1, found.stderr  # orphans present: exit 1 for scripts
    rows = json.loads(found.stdout)
    assert [(row["inode_id"], row["chunks"], row["chains"]) for row in rows] == [(orphan_inode, 2 * 3, [chain_id])]
    removed = json.loads(run_cli(cluster, "find-orphaned-chunks", "--remove", "--json").stdout)
    assert [row["inode_id"] for row in removed] == [orphan_inode]
    assert json.loads(run_cli(cluster, "find-orphaned-chunks", "--json").stdout) == []

    # removed files pass through the GC queue; --wait returns once the collector emptied it
    run_cli(cluster, "rm", "-r", "/inspect")
    queue = json.loads(run_cli(cluster, "gc", "--wait", "--timeout", "60", "--json").stdout)
    assert queue == []
    assert json.loads(run_cli(cluster, "fsck", "--json").stdout)["problems"] == []


def test_bench_runs_its_own_cluster_and_reports_ratios(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "fs3.cli", "bench", "--size-mib", "32", "--rounds", "1", "--work-dir", str(tmp_path),
         "--json"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["size_mib"] == 32 and report["replication"] == 1
    assert report["fs3"]["write_mb_s"] > 0 and report["fs3"]["read_mb_s"] > 0 and report["fs3"]["stat_p50_us"] > 0
    assert report["write_ratio"] > 0 and report["read_ratio"] > 0 and len(report["rounds"]) == 1
    # same host: every payload byte through shared memory (32 MiB written, 2 x 32 MiB read)
    assert report["fs3"]["payload_bytes"] == {"shared_memory": 3 * 32 << 20, "tcp": 0}
    assert list(tmp_path.iterdir()) == [], "the scratch cluster is removed"
    result = subprocess.run(
        [sys.executable, "-m", "fs3.cli", "bench", "--size-mib", "8", "--rounds", "2", "--work-dir", str(tmp_path),
         "--tcp"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "payloads: 0% through shared memory, 100% over TCP" in result.stdout
