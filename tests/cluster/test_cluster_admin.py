"""Config distribution, client sessions and cluster status against a running cluster.

Goal: `fs3 set-config` changes a hot setting in running services of one
type within a heartbeat (a storage service starts and stops logging at DEBUG;
the cluster manager's heartbeat timeout changes), every node reports the
version it applied, non-hot or invalid settings are refused with a precise
error and exit 1, and a restarted cluster manager serves the same documents.
`fs3 clients` lists a client holding a file open for writing; `fs3 status`
summarises the cluster. Method: real processes, the real `fs3` command, its
`--json` output parsed, service logs read.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from fs3.client import Fs3Client
from tests.conftest import run_async, run_cli, running_cluster


@pytest.fixture(scope="module")
def admin_cluster(tmp_path_factory):
    with running_cluster(tmp_path_factory.mktemp("admin"), heartbeat_timeout_s=4.0, targets_per_storage=1,
                         slot_file_bytes=8 << 20) as cluster:
        yield cluster


def _wait_applied(cluster, node_type: str, version: int, timeout_s: float = 15.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while True:
        nodes = [n for n in json.loads(run_cli(cluster, "nodes", "--json").stdout) if n["type"] == node_type]
        if nodes and all(n["config_version"] == version for n in nodes):
            return nodes
        assert time.monotonic() < deadline, f"{node_type} nodes did not apply config version {version}: {nodes}"
        time.sleep(0.3)


def _debug_lines(cluster, service: str) -> int:
    return sum(" DEBUG " in line for line in Path(cluster.services[service].log_path).read_text().splitlines())


def test_hot_settings_reach_running_services(admin_cluster):
    cluster = admin_cluster
    empty = json.loads(run_cli(cluster, "get-config", "--type", "storage", "--json").stdout)
    assert (empty["version"], empty["content"]) == (0, "")
    assert _debug_lines(cluster, "storage-101") == 0

    record = json.loads(run_cli(cluster, "set-config", "--type", "storage", "log_level=DEBUG",
                                "resync_poll_interval_s=0.3", "-m", "trace a resync", "--json").stdout)
    assert record["version"] == 1 and record["description"] == "trace a resync"
    assert record["content"] == 'log_level = "DEBUG"\nresync_poll_interval_s = 0.3\n'
    _wait_applied(cluster, "storage", 1)
    time.sleep(2.0)  # a couple of heartbeats, each logged at DEBUG now
    assert _debug_lines(cluster, "storage-101") >= 1
    assert "runs config version 1" in Path(cluster.services["storage-102"].log_path).read_text()

    record = json.loads(run_cli(cluster, "set-config", "--type", "storage", "--unset", "log_level", "--json").stdout)
    assert record["version"] == 2 and record["content"] == "resync_poll_interval_s = 0.3\n"
    _wait_applied(cluster, "storage", 2)
    time.sleep(0.5)
    quiet = _debug_lines(cluster, "storage-101")
    time.sleep(2.0)
    assert _debug_lines(cluster, "storage-101") == quiet  # back to the file's INFO: no more DEBUG lines

    run_cli(cluster, "set-config", "--type", "meta", "gc_interval_s=0.5", "trash_clean_interval_s=2")
    for node in _wait_applied(cluster, "meta", 1):
        assert "runs config version 1" in Path(cluster.services[f"meta-{node['node_id']}"].log_path).read_text()

    run_cli(cluster, "set-config", "--type", "mgmtd", "heartbeat_timeout_s=7")
    deadline = time.monotonic() + 10
    while json.loads(run_cli(cluster, "status", "--json").stdout)["heartbeat_timeout_s"] != 7.0:
        assert time.monotonic() < deadline, "the cluster manager did not apply heartbeat_timeout_s"
        time.sleep(0.3)
    status = json.loads(run_cli(cluster, "status", "--json").stdout)
    assert status["configs"]["storage"] == {"version": 2, "nodes_applied": 3, "nodes_alive": 3}
    assert status["configs"]["mgmtd"]["version"] == 1


def test_invalid_settings_are_refused_precisely(admin_cluster, tmp_path):
    cluster = admin_cluster
    before = json.loads(run_cli(cluster, "get-config", "--type", "storage", "--json").stdout)["version"]
    cases = [
        (("--type", "storage", "io_threads=2"), "StorageServiceConfig.io_threads cannot change while services run"),
        (("--type", "storage", "no_such=1"), "has no setting 'no_such'"),
        (("--type", "storage", "forward_retries_max=lots"), "forward_retries_max must be int"),
        (("--type", "mgmtd", "state_update_interval_s=60"), "break a rule of MgmtdConfig"),
        (("--type", "client", "log_level=DEBUG"), "unknown node type 'client'"),
        (("--type", "storage", "--unset", "log_level"), "log_level is not set"),
        (("--type", "storage",), "give KEY=VALUE settings"),
    ]
    for arguments, words in cases:
        result = run_cli(cluster, "set-config", *arguments, check=False)
        assert result.returncode == 1 and result.stderr.startswith("fs3: error: ") and words in result.stderr, (
            arguments, result.stderr)
    assert json.loads(run_cli(cluster, "get-config", "--type", "storage", "--json").stdout)["version"] == before

    document = tmp_path / "storage.toml"
    document.write_text("# whole document\nheartbeat_interval_s = 0.5\n")
    record = json.loads(run_cli(cluster, "set-config", "--type", "storage", str(document), "--json").stdout)
    assert record["version"] == before + 1 and record["content"] == document.read_text()
    assert run_cli(cluster, "get-config", "--type", "storage").stdout.startswith(
        f"# storage config version {before + 1}")
    _wait_applied(cluster, "storage", before + 1)


def test_restarted_cluster_manager_serves_the_same_documents(admin_cluster):
    cluster = admin_cluster
    before = {kind: json.loads(run_cli(cluster, "get-config", "--type", kind, "--json").stdout)
              for kind in ("storage", "meta", "mgmtd")}
    cluster.kill_service("mgmtd")
    cluster.start_service("mgmtd")
    deadline = time.monotonic() + 60
    while run_cli(cluster, "status", check=False).returncode != 0:
        assert time.monotonic() < deadline, "the cluster did not come back after the manager restarted"
        time.sleep(0.5)
    for kind, record in before.items():
        assert json.loads(run_cli(cluster, "get-config", "--type", kind, "--json").stdout) == record
    assert json.loads(run_cli(cluster, "status", "--json").stdout)["heartbeat_timeout_s"] == 7.0
    _wait_applied(cluster, "storage", before["storage"]["version"])


def test_clients_and_status(admin_cluster):
    cluster = admin_cluster

    async def hold_a_file_open() -> None:
        client = await Fs3Client.connect(cluster.mgmtd_addresses)
        try:
            file = await client.open("/held-open", "wb")
            await file.write(b"still writing")
            listing = json.loads(run_cli(cluster, "clients", "--json").stdout)
            mine = [c for c in listing["clients"] if c["client_id"] == client.client_id]
            assert mine and mine[0]["write_sessions"] == 1 and mine[0]["seconds_ago"] < 60
            assert not listing["truncated"]
            assert str(client.client_id) in run_cli(cluster, "clients").stdout
            await file.close()
            listing = json.loads(run_cli(cluster, "clients", "--json").stdout)
            assert [c["write_sessions"] for c in listing["clients"] if c["client_id"] == client.client_id] == [0]
        finally:
            await client.close()

    run_async(hold_a_file_open())
    status = json.loads(run_cli(cluster, "status", "--json").stdout)
    assert status["healthy"] and status["nodes"]["storage"] == {"alive": 3, "total": 3, "dead": []}
    assert status["chains"] == {"total": 1, "degraded": []} and status["targets"]["public_states"] == {"serving": 3}
    text = run_cli(cluster, "status").stdout
    assert "storage nodes: 3/3 alive" in text and text.rstrip().endswith("healthy")
