"""Cluster-manager high availability with real processes.

Goal: with two cluster managers sharing one state store, SIGKILL of the
primary hands the lease to the other within two lease periods, the routing
state (chains, versions) and the users carry over, and a client that keeps
writing and reading through the fail-over sees no error.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time

import pytest

from fs3.client import Fs3Client
from fs3.errors import Fs3Error, StatusCode
from fs3.mgmtd.client import MgmtdClient
from tests.conftest import run_async, running_cluster


async def _primary_index(addresses: list[str]) -> int | None:
    for index, address in enumerate(addresses):
        client = MgmtdClient([address], timeout_s=1.0)
        try:
            await client.get_cluster_status()
            return index
        except Fs3Error:
            continue
        finally:
            await client.close()
    return None


def test_secondary_takes_over_and_clients_see_no_error(tmp_path):
    with running_cluster(tmp_path / "cluster", mgmtd_services=2, heartbeat_timeout_s=4.0) as cluster:
        lease_s = min(5.0, 4.0 / 2)
        addresses = cluster.mgmtd_addresses
        assert len(addresses) == 2
        primary = run_async(_primary_index(addresses))
        assert primary is not None
        names = [name for name, service in cluster.services.items() if service.module == "fs3.mgmtd"]

        async def workload() -> tuple[float, int]:
            client = await Fs3Client.connect(addresses)
            try:
                before = client.routing.routing
                chains_before = {chain_id: chain.target_ids for chain_id, chain in before.chains.items()}
                written: dict[str, str] = {}
                killed_at = None
                took_over_s = None
                for step in range(400):
                    data = os.urandom(64 * 1024 + step)
                    path = f"/ha-{step}"
                    async with await client.open(path, "wb") as file:
                        await file.write(data)
                    written[path] = hashlib.sha256(data).hexdigest()
                    async with await client.open(path, "rb") as file:
                        assert hashlib.sha256(await file.read()).hexdigest() == written[path]
                    if step == 20:
                        cluster.kill_service(names[primary])
                        killed_at = time.monotonic()
                    if killed_at is not None and took_over_s is None:
                        if await _primary_index([addresses[1 - primary]]) == 0:
                            took_over_s = time.monotonic() - killed_at
                    if took_over_s is not None and step > 60:
                        break
                    await asyncio.sleep(0.02)
                assert took_over_s is not None, "no cluster manager took over"
                # routing state carried over from the persisted state
                routing = await client.routing.refresh()
                assert {chain_id: chain.target_ids for chain_id, chain in routing.chains.items()} == chains_before
                await client.mkdir("/after-failover")
                for path, digest in written.items():
                    async with await client.open(path, "rb") as file:
                        assert hashlib.sha256(await file.read()).hexdigest() == digest
                return took_over_s, len(written)
            finally:
                await client.close()

        took_over_s, count = run_async(workload())
        assert took_over_s <= 2 * lease_s + 1.0, f"take-over took {took_over_s:.1f}s"
        assert count > 60


def test_users_survive_a_failover(tmp_path):
    """Goal: users and tokens live in the shared KV store, so the new primary
    knows every user, refuses what the old one refused, and can change the
    table (its writes pass the fence of its own term)."""
    with running_cluster(tmp_path / "cluster", mgmtd_services=2, heartbeat_timeout_s=4.0, meta_services=1,
                         storage_services=1, targets_per_storage=1, replication_factor=1) as cluster:
        addresses = cluster.mgmtd_addresses
        primary = run_async(_primary_index(addresses))
        assert primary is not None
        names = [name for name, service in cluster.services.items() if service.module == "fs3.mgmtd"]

        async def before() -> str:
            admin = MgmtdClient(addresses, token=cluster.token)
            try:
                _identity, token = await admin.add_user("alice", 1000, 1000, [10])
                return token
            finally:
                await admin.close()

        alice_token = run_async(before())
        cluster.kill_service(names[primary])

        async def after() -> None:
            survivor = [addresses[1 - primary]]
            alice = MgmtdClient(survivor, token=alice_token, failover_wait_s=30)
            admin = MgmtdClient(survivor, token=cluster.token, failover_wait_s=30)
            try:
                identity, _created_ms = await alice.who_am_i()
                assert (identity.name, identity.uid, identity.groups, identity.admin) == ("alice", 1000, (10,), False)
                with pytest.raises(Fs3Error) as refused:
                    await alice.add_user("mallory", 0, 0, admin=True)
                assert refused.value.code == StatusCode.PERMISSION_DENIED
                assert [user.name for user, _created in await admin.list_users()] == ["alice", "root"]
                _bob, bob_token = await admin.add_user("bob", 1001, 1001)
                bob = MgmtdClient(survivor, token=bob_token)
                assert (await bob.who_am_i())[0].name == "bob"
                await bob.close()
            finally:
                await alice.close()
                await admin.close()
            async with await Fs3Client.connect(survivor, token=alice_token) as client:  # the services agree
                assert (await client.stat("/")).is_dir
                assert (client.user.uid, client.user.gid) == (1000, 1000)

        run_async(after())
