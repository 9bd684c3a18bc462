"""Users and tokens on a real cluster (1 manager, 2 metadata, 3 storage services).

Goal: an absent or forged token is refused by the cluster manager (gRPC) and
by every metadata and storage service (framed RPC) while they keep serving
valid callers; an ordinary user cannot run admin operations, internal storage
calls, or act as another uid; a new user works at once, and a rotated token or
a removed user stops working, also on connections already open; users survive
a restart of the cluster manager.
"""

from __future__ import annotations

import asyncio
import errno
import time

import grpc
import pytest

from fs3._proto import meta_pb2, mgmtd_pb2, mgmtd_pb2_grpc, storage_pb2
from fs3.client import Fs3Client
from fs3.errors import Fs3Error, StatusCode
from fs3.mgmtd.client import MgmtdClient
from fs3.mgmtd.service import FS3_CODE_METADATA_KEY
from fs3.net.client import RpcClient
from fs3.net.methods import MetaMethod, StorageMethod
from fs3.routing import NodeInfo, NodeType
from tests.conftest import run_async, running_cluster


@pytest.fixture(scope="module")
def auth_cluster(tmp_path_factory):
    with running_cluster(tmp_path_factory.mktemp("auth"), targets_per_storage=1) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def alice_token(auth_cluster) -> str:
    """An ordinary user: uid 1000, gid 1000, also in group 10."""

    async def add() -> str:
        admin = MgmtdClient(auth_cluster.mgmtd_addresses, token=auth_cluster.token)
        try:
            _identity, token = await admin.add_user("alice", 1000, 1000, [10])
            return token
        finally:
            await admin.close()

    return run_async(add())


async def _code(awaitable) -> int:
    with pytest.raises(Fs3Error) as refused:
        await awaitable
    return refused.value.code


async def _services(cluster) -> list[tuple[NodeInfo, tuple]]:
    """Every metadata and storage service, each with a harmless call it answers:
    stat / for metadata, query-last-chunk on its target for storage."""
    client = MgmtdClient(cluster.mgmtd_addresses, token=cluster.token)
    try:
        routing = await client.get_routing_info()
    finally:
        await client.close()
    services = []
    for node in routing.nodes_of_type(NodeType.META):
        services.append((node, (MetaMethod.STAT, meta_pb2.StatRequest(path=meta_pb2.PathAt(path=b"/")),
                                meta_pb2.StatResponse)))
    for node in routing.nodes_of_type(NodeType.STORAGE):
        target = next(target for target in routing.targets.values() if target.node_id == node.node_id)
        request = storage_pb2.QueryLastChunkRequest(chain_id=target.chain_id, inode_id=1, target_id=target.target_id)
        services.append((node, (StorageMethod.QUERY_LAST_CHUNK, request, storage_pb2.QueryLastChunkResponse)))
    assert len(services) == 5  # 2 metadata + 3 storage services
    return services


def test_absent_and_forged_tokens_are_refused_by_the_cluster_manager(auth_cluster):
    async def body():
        channel = grpc.aio.insecure_channel(auth_cluster.mgmtd_address)
        try:
            stub = mgmtd_pb2_grpc.ClusterManagerStub(channel)
            for metadata in (None, (("authorization", "Bearer fs3_forged"),), (("authorization", "Basic x"),)):
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await stub.GetRoutingInfo(mgmtd_pb2.GetRoutingInfoRequest(), metadata=metadata, timeout=5)
                assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
                fs3_code = dict(refused.value.trailing_metadata())[FS3_CODE_METADATA_KEY]
                assert fs3_code == str(int(StatusCode.UNAUTHENTICATED))
        finally:
            await channel.close()
        forged = MgmtdClient(auth_cluster.mgmtd_addresses, token="fs3_forged")
        try:
            assert await _code(forged.get_routing_info()) == StatusCode.UNAUTHENTICATED
        finally:
            await forged.close()
        admin = MgmtdClient(auth_cluster.mgmtd_addresses, token=auth_cluster.token)
        try:
            assert (await admin.get_routing_info()).chains  # still serving
        finally:
            await admin.close()

    run_async(body())


def test_every_metadata_and_storage_service_refuses_absent_and_forged_tokens(auth_cluster):
    async def body():
        for node, (method, request, response_type) in await _services(auth_cluster):
            for token in (None, "fs3_forged", auth_cluster.token[:-1]):
                client = RpcClient(node.host, node.port, token=token)
                try:
                    for _attempt in range(2):  # refused each time; the service keeps the connection
                        code = await _code(client.call(method, request, response_type, timeout_s=5))
                        assert code == StatusCode.UNAUTHENTICATED, (node.node_id, token)
                finally:
                    await client.close()
            valid = RpcClient(node.host, node.port, token=auth_cluster.token)
            try:  # still serving (a storage service learns the new chain with its next heartbeat)
                await _until(lambda: valid.call(method, request, response_type, timeout_s=5))
            finally:
                await valid.close()
        async with await Fs3Client.connect(auth_cluster.mgmtd_addresses, token=auth_cluster.token) as client:
            async with await client.open("/after-forgeries", "wb") as file:
                await file.write(b"x" * (3 << 20))
            assert (await client.stat("/after-forgeries")).length == 3 << 20

    run_async(body())


def test_an_ordinary_user_cannot_administer(auth_cluster, alice_token):
    async def body():
        alice = MgmtdClient(auth_cluster.mgmtd_addresses, token=alice_token)
        try:
            assert await _code(alice.create_chain_table(9, 1)) == StatusCode.PERMISSION_DENIED
            assert await _code(alice.add_user("mallory", 0, 0, admin=True)) == StatusCode.PERMISSION_DENIED
            assert await _code(alice.list_users()) == StatusCode.PERMISSION_DENIED
            assert await _code(alice.remove_user("root")) == StatusCode.PERMISSION_DENIED
            assert await _code(alice.rotate_user_token("root")) == StatusCode.PERMISSION_DENIED
            fake = NodeInfo(node_id=999, node_type=NodeType.STORAGE, host="127.0.0.1", port=1)
            assert await _code(alice.register_node(fake)) == StatusCode.PERMISSION_DENIED  # services only
            assert await _code(alice.heartbeat(101, NodeType.STORAGE)) == StatusCode.PERMISSION_DENIED
            assert await _code(alice.get_user_table()) == StatusCode.PERMISSION_DENIED
            routing = await alice.get_routing_info()  # reading the cluster's layout is for everyone
            assert 999 not in routing.nodes and 9 not in routing.chain_tables
            assert (await alice.who_am_i())[0].name == "alice"
        finally:
            await alice.close()

    run_async(body())


def test_an_ordinary_user_acts_only_as_itself(auth_cluster, alice_token):
    async def body():
        async with await Fs3Client.connect(auth_cluster.mgmtd_addresses, token=auth_cluster.token, uid=0,
                                           gid=0) as root:
            await root.mkdir("/shared", 0o777)
            await root.mkdir("/private", 0o700)
            async with await Fs3Client.connect(auth_cluster.mgmtd_addresses, token=alice_token) as alice:
                assert (alice.user.uid, alice.user.gid, list(alice.user.groups)) == (1000, 1000, [10])
                async with await alice.open("/shared/a", "wb") as file:
                    await file.write(b"alice's data")
                created = await alice.stat("/shared/a")
                assert (created.uid, created.gid) == (1000, 1000)
                async with await alice.open("/shared/a", "rb") as file:
                    assert await file.read() == b"alice's data"
                assert await _code(alice.mkdir("/private/x")) == errno.EACCES
                # Storage calls only services (or admins) make are refused to her.
                storage = alice.routing.routing.nodes_of_type(NodeType.STORAGE)[0]
                rpc = alice.rpc.get(storage.host, storage.port)
                remove = storage_pb2.RemoveChunksRequest(chain_id=1, inode_id=created.inode_id)
                assert await _code(rpc.call(StorageMethod.REMOVE_CHUNKS, remove, storage_pb2.RemoveChunksResponse)
                                   ) == StatusCode.PERMISSION_DENIED
                dump = storage_pb2.DumpChunkMetaRequest(target_id=storage.node_id * 1000 + 1)
                assert await _code(rpc.call(StorageMethod.DUMP_CHUNK_META, dump, storage_pb2.DumpChunkMetaResponse)
                                   ) == StatusCode.PERMISSION_DENIED
            for uid, gid, groups in ((0, 0, ()), (1001, 1000, ()), (1000, 0, ()), (1000, 1000, (0,))):
                async with await Fs3Client.connect(auth_cluster.mgmtd_addresses, token=alice_token, uid=uid,
                                                   gid=gid, groups=groups) as impostor:
                    assert await _code(impostor.stat("/shared/a")) == errno.EPERM, (uid, gid, groups)
                    assert await _code(impostor.chmod("/shared/a", 0o777)) == errno.EPERM
            async with await Fs3Client.connect(auth_cluster.mgmtd_addresses, token=alice_token, gid=10) as in_group:
                assert (await in_group.stat("/shared/a")).uid == 1000  # her own other group is fine
            assert (await root.stat("/shared/a")).mode & 0o777 != 0o777

    run_async(body())


async def _until(condition, timeout_s: float = 15.0):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            result = await condition()
            if result:
                return result
        except Fs3Error:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.2)


async def _refused(client: Fs3Client) -> bool:
    """Whether the client's open connections now get UNAUTHENTICATED."""
    try:
        await client.stat("/")
    except Fs3Error as error:
        assert error.code == StatusCode.UNAUTHENTICATED, error
        return True
    return False


def test_new_rotated_and_removed_users(auth_cluster):
    async def body():
        admin = MgmtdClient(auth_cluster.mgmtd_addresses, token=auth_cluster.token)
        try:
            _carol, first = await admin.add_user("carol", 2000, 2000)
            # Every metadata and storage service accepts her at once (an unknown token refreshes its table).
            async with await Fs3Client.connect(auth_cluster.mgmtd_addresses, token=first) as carol:
                for node, (method, request, response_type) in await _services(auth_cluster):
                    if node.node_type == NodeType.META:
                        request.user.uid, request.user.gid = 2000, 2000
                    rpc = carol.rpc.get(node.host, node.port)
                    await _until(lambda: rpc.call(method, request, response_type, timeout_s=5))
                # She rotates her own token: the old one is refused, also on the connections already open.
                carol_mgmtd = MgmtdClient(auth_cluster.mgmtd_addresses, token=first)
                try:
                    _identity, second = await carol_mgmtd.rotate_user_token("carol")
                finally:
                    await carol_mgmtd.close()

                await _until(lambda: _refused(carol))
            assert await _code(Fs3Client.connect(auth_cluster.mgmtd_addresses, token=first)
                               ) == StatusCode.UNAUTHENTICATED
            async with await Fs3Client.connect(auth_cluster.mgmtd_addresses, token=second) as carol:
                assert (await carol.stat("/")).is_dir
                await admin.remove_user("carol")

                await _until(lambda: _refused(carol))
            assert await _code(Fs3Client.connect(auth_cluster.mgmtd_addresses, token=second)
                               ) == StatusCode.UNAUTHENTICATED
        finally:
            await admin.close()

    run_async(body())


def test_users_survive_a_restart_of_the_cluster_manager(auth_cluster, alice_token):
    auth_cluster.kill_service("mgmtd")
    auth_cluster.start_service("mgmtd")

    async def body():
        alice = MgmtdClient(auth_cluster.mgmtd_addresses, token=alice_token, failover_wait_s=30)
        try:
            identity, _created_ms = await _until(alice.who_am_i, timeout_s=30)
            assert (identity.name, identity.uid, identity.groups, identity.admin) == ("alice", 1000, (10,), False)
            assert await _code(alice.create_chain_table(9, 1)) == StatusCode.PERMISSION_DENIED
        finally:
            await alice.close()
        async with await Fs3Client.connect(auth_cluster.mgmtd_addresses, token=alice_token) as client:
            async with await client.open("/shared/after-restart", "wb") as file:
                await file.write(b"still alice")
            assert (await client.stat("/shared/after-restart")).uid == 1000

    run_async(body())


def test_an_ordinary_user_cannot_change_placement_configs_or_inspect(auth_cluster, alice_token):
    """The admin verbs through the real `fs3` command with an ordinary user's token: creating targets,
    taking one offline, setting a config, adding users and fsck are refused; reading the config is not."""
    import os
    import subprocess
    import sys

    environment = dict(os.environ, FS3_TOKEN=alice_token, FS3_LOCAL_DIR=str(auth_cluster.data_dir))
    environment.pop("FS3_TOKEN_FILE", None)

    def fs3(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "fs3.cli", *args, "--mgmtd", auth_cluster.mgmtd_address],
                              capture_output=True, text=True, timeout=120, env=environment)

    for args in (("create-targets", "--node", "101", "--count", "1"), ("offline-target", "101001"),
                 ("set-config", "--type", "storage", "log_level=DEBUG"), ("user-add", "mallory", "--uid", "0",
                                                                           "--gid", "0", "--admin"),
                 ("fsck",), ("dump-inodes",)):
        result = fs3(*args)
        assert result.returncode == 1 and ("PERMISSION_DENIED" in result.stderr or "EPERM" in result.stderr), \
            (args, result.stdout, result.stderr)
    assert fs3("get-config", "--type", "storage").returncode == 0
