"""Calls to the cluster manager over gRPC, with fail-over across its addresses.

The calls use grpc's synchronous stubs on a small thread pool rather than
grpc.aio: on uvloop, grpc.aio runs a poller thread that keeps taking the GIL
and added 200+ us to every metadata call of the process (measured). Calls to
the cluster manager are rare (heartbeats, routing), so a thread hop is cheap.

Every call carries the caller's token (`authorization: Bearer ...`); without
one given, `fs3.tokens.resolve_token` finds it (FS3_TOKEN, FS3_TOKEN_FILE, the
local cluster's token file).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor

import grpc

from fs3._proto import mgmtd_pb2, mgmtd_pb2_grpc, users_pb2, users_pb2_grpc
from fs3.codec.mgmtd import (
    chain_from_proto, chain_to_proto, config_from_proto, migration_from_proto, table_from_proto,
)
from fs3.codec.routing import node_to_proto, routing_from_proto
from fs3.codec.users import identity_from_proto
from fs3.config import parse_address
from fs3.errors import Fs3Error, StatusCode
from fs3.identity import Identity
from fs3.mgmtd.auth import bearer_metadata
from fs3.mgmtd.config_store import ConfigRecord
from fs3.mgmtd.service import FS3_CODE_METADATA_KEY
from fs3.mgmtd.target_admin import ChainMigration
from fs3.routing import ChainInfo, ChainTable, LocalState, NodeInfo, NodeType, RoutingInfo
from fs3.tasks import stop_tasks
from fs3.tokens import resolve_token

__all__ = ["MgmtdClient", "RoutingWatcher", "HeartbeatReply", "ClusterStatus"]

logger = logging.getLogger(__name__)


def _to_fs3_error(error: grpc.RpcError, address: str) -> Fs3Error:
    for key, value in error.trailing_metadata() or ():
        if key == FS3_CODE_METADATA_KEY:
            return Fs3Error(int(value), error.details() or "")
    if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        return Fs3Error(StatusCode.TIMEOUT, f"cluster manager {address}: deadline exceeded")
    return Fs3Error(StatusCode.UNAVAILABLE, f"cluster manager {address}: {error.code().name} {error.details()}")


@dataclasses.dataclass(frozen=True, slots=True)
class HeartbeatReply:
    routing_version: int
    config: ConfigRecord | None  # the node type's config, when it differs from the version the node reported


@dataclasses.dataclass(frozen=True, slots=True)
class ClusterStatus:
    routing: RoutingInfo
    now_ms: int
    heartbeat_timeout_ms: int
    migrations: list[ChainMigration]
    configs: list[ConfigRecord]  # every node type's config version (no content)


class MgmtdClient:
    """One channel per cluster-manager address; calls go to the first that answers.

    Args:
        token: the caller's token (None: `resolve_token()`).
    """

    def __init__(self, addresses: list[str], timeout_s: float = 5.0, failover_wait_s: float = 15.0, *,
                 token: str | None = None) -> None:
        if not addresses:
            raise ValueError("no cluster manager address given")
        for address in addresses:
            parse_address(address)
        self.addresses = list(addresses)
        self.timeout_s = timeout_s
        self.failover_wait_s = failover_wait_s
        self._metadata = bearer_metadata(resolve_token(token))
        self._channels: dict[str, grpc.Channel] = {}
        self._stubs: dict[tuple[str, type], object] = {}
        self._preferred = 0
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mgmtd-client")
        # The cluster manager's heartbeat timeout, from the last RegisterNode or Heartbeat reply (0: not yet known).
        self.heartbeat_timeout_s = 0.0
        # The user table's version, from the last Heartbeat reply (0: not yet known).
        self.users_version = 0

    def _stub(self, address: str, stub_type: type = mgmtd_pb2_grpc.ClusterManagerStub):
        stub = self._stubs.get((address, stub_type))
        if stub is None:
            channel = self._channels.get(address)
            if channel is None:
                channel = self._channels[address] = grpc.insecure_channel(address)
            stub = self._stubs[(address, stub_type)] = stub_type(channel)
        return stub

    async def _call(self, method: str, request, stub_type: type = mgmtd_pb2_grpc.ClusterManagerStub):
        """Try every address; while only secondaries answer (a take-over in
        progress), keep trying for up to `failover_wait_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.failover_wait_s
        last_error: Fs3Error | None = None
        count = len(self.addresses)
        for attempt in range(count * 1000):
            index = (self._preferred + attempt) % count
            address = self.addresses[index]
            call = getattr(self._stub(address, stub_type), method)
            try:
                response = await loop.run_in_executor(
                    self._executor, lambda: call(request, timeout=self.timeout_s, metadata=self._metadata))
                self._preferred = index
                return response
            except grpc.RpcError as error:
                last_error = _to_fs3_error(error, address)
                if last_error.code not in (StatusCode.UNAVAILABLE, StatusCode.TIMEOUT, StatusCode.NOT_PRIMARY):
                    raise last_error from None
            if (attempt + 1) % count == 0:
                if last_error.code != StatusCode.NOT_PRIMARY or loop.time() >= deadline:
                    break
                await asyncio.sleep(0.2)
        assert last_error is not None
        raise last_error

    async def register_node(self, node: NodeInfo) -> int:
        response = await self._call("RegisterNode", mgmtd_pb2.RegisterNodeRequest(node=node_to_proto(node)))
        if response.heartbeat_timeout_ms:
            self.heartbeat_timeout_s = response.heartbeat_timeout_ms / 1000
        return response.node_id

    async def heartbeat(
        self, node_id: int, node_type: NodeType, targets: list[tuple[int, str, LocalState, int, int, int]] = ()
    ) -> int:
        return (await self.heartbeat_reply(node_id, node_type, targets)).routing_version

    async def heartbeat_reply(
        self, node_id: int, node_type: NodeType, targets: list[tuple[int, str, LocalState, int, int, int]] = (),
        *, config_version: int = 0,
    ) -> HeartbeatReply:
        request = mgmtd_pb2.HeartbeatRequest(
            node_id=node_id,
            node_type=int(node_type),
            config_version=config_version,
            targets=[
                mgmtd_pb2.TargetReport(
                    target_id=target_id, path=path, local_state=int(state), used_bytes=used,
                    capacity_bytes=capacity, chunk_count=chunks,
                )
                for target_id, path, state, used, capacity, chunks in targets
            ],
        )
        response = await self._call("Heartbeat", request)
        if response.heartbeat_timeout_ms:
            self.heartbeat_timeout_s = response.heartbeat_timeout_ms / 1000
        self.users_version = response.users_version
        config = config_from_proto(response.config) if response.HasField("config") else None
        return HeartbeatReply(response.routing_version, config)

    async def get_routing_info(self, known_version: int = 0) -> RoutingInfo | None:
        """The routing info, or None if `known_version` is still current."""
        response = await self._call("GetRoutingInfo", mgmtd_pb2.GetRoutingInfoRequest(known_routing_version=known_version))
        if not response.changed:
            return None
        return routing_from_proto(response.routing)

    async def create_chain_table(self, table_id: int, replication_factor: int, replace: bool = False) -> None:
        await self._call(
            "CreateChainTable",
            mgmtd_pb2.CreateChainTableRequest(table_id=table_id, replication_factor=replication_factor, replace=replace),
        )

    async def get_cluster_status(self) -> tuple[RoutingInfo, int, int]:
        status = await self.cluster_status()
        return status.routing, status.now_ms, status.heartbeat_timeout_ms

    async def cluster_status(self) -> ClusterStatus:
        response = await self._call("GetClusterStatus", mgmtd_pb2.GetClusterStatusRequest())
        return ClusterStatus(
            routing_from_proto(response.routing), response.now_ms, response.heartbeat_timeout_ms,
            [migration_from_proto(migration) for migration in response.migrations],
            [config_from_proto(config) for config in response.configs],
        )

    # ---- admin: placement and config (fs3.mgmtd.target_admin, fs3.mgmtd.config_store) ----
    async def offline_target(self, target_id: int, *, force: bool = False) -> ChainInfo | None:
        response = await self._call("OfflineTarget", mgmtd_pb2.OfflineTargetRequest(target_id=target_id, force=force))
        return chain_from_proto(response.chain) if response.HasField("chain") else None

    async def online_target(self, target_id: int, *, emptied: bool = False) -> ChainInfo | None:
        response = await self._call("OnlineTarget", mgmtd_pb2.OnlineTargetRequest(target_id=target_id,
                                                                                   emptied=emptied))
        return chain_from_proto(response.chain) if response.HasField("chain") else None

    async def set_chains(self, chains: list[tuple[int, list[int]]]) -> list[ChainInfo]:
        request = mgmtd_pb2.SetChainsRequest(chains=[chain_to_proto(ChainInfo(chain_id, 0, list(targets)))
                                                     for chain_id, targets in chains])
        response = await self._call("SetChains", request)
        return [chain_from_proto(chain) for chain in response.chains]

    async def set_chain_table(self, table_id: int, chain_ids: list[int], *, replace: bool = False) -> ChainTable:
        response = await self._call("SetChainTable", mgmtd_pb2.SetChainTableRequest(
            table_id=table_id, chain_ids=chain_ids, replace=replace))
        return table_from_proto(response.table)

    async def move_chain(self, chain_id: int, from_target_id: int, to_target_id: int) -> ChainMigration:
        response = await self._call("MoveChain", mgmtd_pb2.MoveChainRequest(
            chain_id=chain_id, from_target_id=from_target_id, to_target_id=to_target_id))
        return migration_from_proto(response.migration)

    async def cancel_chain_move(self, chain_id: int) -> ChainMigration:
        response = await self._call("MoveChain", mgmtd_pb2.MoveChainRequest(chain_id=chain_id, cancel=True))
        return migration_from_proto(response.migration)

    async def move_chains_to_node(self, node_id: int, chains_max: int = 0) -> list[ChainMigration]:
        response = await self._call("MoveChainsToNode", mgmtd_pb2.MoveChainsToNodeRequest(
            node_id=node_id, chains_max=chains_max))
        return [migration_from_proto(migration) for migration in response.migrations]

    async def set_config(self, node_type: NodeType, content: str, description: str = "") -> ConfigRecord:
        response = await self._call("SetConfig", mgmtd_pb2.SetConfigRequest(
            node_type=int(node_type), content=content, description=description))
        return config_from_proto(response.config)

    async def get_config(self, node_type: NodeType) -> ConfigRecord:
        response = await self._call("GetConfig", mgmtd_pb2.GetConfigRequest(node_type=int(node_type)))
        return config_from_proto(response.config)

    # ---- users (users.proto) ----------------------------------------------------
    async def who_am_i(self) -> tuple[Identity, int]:
        """The caller's identity and its creation time (ms)."""
        response = await self._call("WhoAmI", users_pb2.WhoAmIRequest(), users_pb2_grpc.UsersStub)
        return identity_from_proto(response.user), response.user.created_ms

    async def add_user(self, name: str, uid: int, gid: int, groups: list[int] = (), *, admin: bool = False,
                       root: bool = False) -> tuple[Identity, str]:
        """Add a user; returns it and its new token (shown only now)."""
        response = await self._call("AddUser", users_pb2.AddUserRequest(
            name=name, uid=uid, gid=gid, groups=list(groups), admin=admin, root=root), users_pb2_grpc.UsersStub)
        return identity_from_proto(response.user), response.token

    async def remove_user(self, name: str) -> None:
        await self._call("RemoveUser", users_pb2.RemoveUserRequest(name=name), users_pb2_grpc.UsersStub)

    async def list_users(self) -> list[tuple[Identity, int]]:
        """Every user with its creation time (ms), by name."""
        response = await self._call("ListUsers", users_pb2.ListUsersRequest(), users_pb2_grpc.UsersStub)
        return [(identity_from_proto(user), user.created_ms) for user in response.users]

    async def rotate_user_token(self, name: str) -> tuple[Identity, str]:
        """The user and a new token for it; the old one stops working."""
        response = await self._call("RotateUserToken", users_pb2.RotateUserTokenRequest(name=name),
                                    users_pb2_grpc.UsersStub)
        return identity_from_proto(response.user), response.token

    async def get_user_table(self, known_version: int = 0) -> tuple[int, list[tuple[bytes, Identity]]] | None:
        """(users version, [(token SHA-256, identity)]), or None if `known_version` is current. Root only."""
        response = await self._call("GetUserTable", users_pb2.GetUserTableRequest(known_users_version=known_version),
                                    users_pb2_grpc.UsersStub)
        if not response.changed:
            return None
        return response.users_version, [(entry.token_sha256, identity_from_proto(entry.user))
                                        for entry in response.entries]

    async def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()
        self._stubs.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)


class RoutingWatcher:
    """Keeps a RoutingInfo fresh: polls periodically and on demand."""

    def __init__(self, mgmtd: MgmtdClient, refresh_interval_s: float = 1.0) -> None:
        self.mgmtd = mgmtd
        self.refresh_interval_s = refresh_interval_s
        self.routing = RoutingInfo()
        self._task: asyncio.Task | None = None
        self._refresh_lock = asyncio.Lock()

    async def refresh(self) -> RoutingInfo:
        async with self._refresh_lock:
            routing = await self.mgmtd.get_routing_info(self.routing.routing_version)
            if routing is not None:
                self.routing = routing
        return self.routing

    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_interval_s)
            try:
                await self.refresh()
            except Fs3Error as error:
                logger.debug("routing refresh failed: %s", error)

    async def stop(self) -> None:
        await stop_tasks(self._task)
        self._task = None
