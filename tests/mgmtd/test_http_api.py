"""The cluster manager's HTTP admin API and every service's Prometheus metrics, on a real cluster.

Goal: the JSON views answer a valid token and refuse an absent or forged one
with 401, while `/metrics` stays open to scrapers.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import pytest

from fs3.client import Fs3Client
from tests.conftest import run_async


def _get(url: str, token: str | None = None) -> bytes:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
        assert response.status == 200
        return response.read()


def test_admin_api_refuses_absent_and_forged_tokens(cluster):
    base = f"http://127.0.0.1:{cluster.services['mgmtd'].http_port}"
    for path in ("/api/v1/status", "/api/v1/nodes", "/api/v1/targets", "/api/v1/chains", "/api/v1/chain-tables",
                 "/api/v1/metrics-endpoints"):
        for token in (None, "fs3_forged", cluster.token + "x"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                _get(base + path, token)
            assert refused.value.code == 401, path
            assert refused.value.headers["WWW-Authenticate"] == "Bearer"
    assert b"fs3_cluster_targets" in _get(base + "/metrics")  # scrapers need no token
    assert json.loads(_get(base + "/api/v1/status", cluster.token))["primary"] is True  # still serving


def test_admin_api_serves_cluster_state_and_metrics(cluster):
    manager = cluster.services["mgmtd"]
    base = f"http://127.0.0.1:{manager.http_port}"
    token = cluster.token
    status = json.loads(_get(base + "/api/v1/status", token))
    assert status["primary"] is True and status["node_id"] == 1
    assert len(status["targets"]) == 15
    assert {node["node_type"] for node in status["nodes"]} == {"meta", "storage"}
    targets = json.loads(_get(base + "/api/v1/targets", token))
    assert all(target["public_state"] == "serving" for target in targets)
    chains = json.loads(_get(base + "/api/v1/chains", token))
    assert len(chains) == 5 and all(len(chain["target_ids"]) == 3 for chain in chains)
    assert json.loads(_get(base + "/api/v1/chain-tables", token))[0]["table_id"] == 1
    metrics = _get(base + "/metrics").decode()
    assert 'fs3_cluster_targets{public_state="serving"} 15.0' in metrics


def test_every_service_exports_prometheus_metrics(cluster):
    async def write_something() -> None:
        client = await Fs3Client.connect(cluster.mgmtd_addresses)
        try:
            async with await client.open("/metrics-probe", "wb") as file:
                await file.write(os.urandom(3 << 20))
            async with await client.open("/metrics-probe", "rb") as file:
                assert len(await file.read()) == 3 << 20
        finally:
            await client.close()

    run_async(write_something())
    manager = cluster.services["mgmtd"]
    endpoints = json.loads(_get(f"http://127.0.0.1:{manager.http_port}/api/v1/metrics-endpoints", cluster.token))
    assert len(endpoints) == 5  # 2 metadata + 3 storage services
    written = 0.0
    for endpoint in endpoints:
        text = _get(endpoint["url"]).decode()
        assert "fs3_rpc_calls_total" in text
        if endpoint["node_type"] == "storage":
            for line in text.splitlines():
                # from a client over TCP or through its shared memory (same host), or forwarded along the chain
                if line.startswith(('fs3_storage_bytes_total{direction="written"}',
                                    'fs3_shared_memory_bytes_total{direction="written"}')):
                    written += float(line.split()[-1])
    assert written >= 3 * (3 << 20)  # every byte on each of 3 replicas
