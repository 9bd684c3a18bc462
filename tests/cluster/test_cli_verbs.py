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
