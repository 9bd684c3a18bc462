"""gRPC face of the cluster manager: decode, call ClusterManager, encode.

Callers are authenticated, and each method's access checked, by
`fs3.mgmtd.auth.TokenInterceptor` before a method here runs; admin RPCs may
also call `fs3.mgmtd.auth.require_admin()` for finer checks.
"""

from __future__ import annotations

import grpc

from fs3._proto import mgmtd_pb2, mgmtd_pb2_grpc
from fs3.codec.mgmtd import chain_from_proto, chain_to_proto, config_to_proto, migration_to_proto, table_to_proto
from fs3.codec.routing import node_from_proto, routing_to_proto
from typing import Awaitable, Callable

from fs3.errors import Fs3Error, StatusCode
from fs3.mgmtd.manager import ClusterManager, TargetReport
from fs3.mgmtd.target_admin import TargetAdmin
from fs3.routing import LocalState, NodeType

__all__ = ["ClusterManagerService", "FS3_CODE_METADATA_KEY"]

FS3_CODE_METADATA_KEY = "fs3-code"


def _grpc_status(code: int) -> grpc.StatusCode:
    if code == StatusCode.BAD_REQUEST:
        return grpc.StatusCode.INVALID_ARGUMENT
    if code in (StatusCode.UNKNOWN_NODE, StatusCode.UNKNOWN_CHAIN, StatusCode.UNKNOWN_TARGET):
        return grpc.StatusCode.NOT_FOUND
    if code in (StatusCode.UNAUTHENTICATED,):
        return grpc.StatusCode.UNAUTHENTICATED
    if code in (StatusCode.PERMISSION_DENIED,):
        return grpc.StatusCode.PERMISSION_DENIED
    return grpc.StatusCode.FAILED_PRECONDITION


async def _abort(context: grpc.aio.ServicerContext, error: Fs3Error) -> None:
    context.set_trailing_metadata(((FS3_CODE_METADATA_KEY, str(error.code)),))
    await context.abort(_grpc_status(error.code), error.message)


def _node_type(value: int) -> NodeType:
    try:
        return NodeType(value)
    except ValueError:
        raise Fs3Error(StatusCode.BAD_REQUEST, f"unknown node type {value}") from None


def _local_state(value: int) -> LocalState:
    try:
        return LocalState(value)
    except ValueError:
        raise Fs3Error(StatusCode.BAD_REQUEST, f"unknown local target state {value}") from None


class ClusterManagerService(mgmtd_pb2_grpc.ClusterManagerServicer):
    """`primary()` returns the manager while this instance holds the primary
    lease and raises NOT_PRIMARY otherwise, so a secondary answers nothing but
    "ask another address"."""

    def __init__(self, primary: Callable[[], ClusterManager]) -> None:
        self._primary = primary

    @property
    def manager(self) -> ClusterManager:
        return self._primary()

    async def _answer(self, context, body: Callable[[ClusterManager], Awaitable]):
        """Run `body(manager)` on the primary; an Fs3Error becomes the call's error."""
        try:
            return await body(self._primary())
        except Fs3Error as error:
            await _abort(context, error)

    async def _check_primary(self, context) -> bool:
        try:
            self._primary()
            return True
        except Fs3Error as error:
            await _abort(context, error)
            return False

    async def RegisterNode(self, request, context):
        if not await self._check_primary(context):
            return None
        try:
            node = node_from_proto(request.node) if request.node.node_type else None
            if node is None:
                raise Fs3Error(StatusCode.BAD_REQUEST, "node type missing")
            node_id = await self.manager.register_node(node)
        except (Fs3Error, ValueError) as error:
            await _abort(context, error if isinstance(error, Fs3Error) else Fs3Error(StatusCode.BAD_REQUEST, str(error)))
        return mgmtd_pb2.RegisterNodeResponse(
            node_id=node_id,
            routing_version=self.manager.routing.routing_version,
            heartbeat_timeout_ms=int(self.manager.config.heartbeat_timeout_s * 1000),
        )

    async def Heartbeat(self, request, context):
        if not await self._check_primary(context):
            return None
        try:
            reports = [
                TargetReport(
                    target_id=report.target_id, path=report.path, local_state=_local_state(report.local_state),
                    used_bytes=report.used_bytes, capacity_bytes=report.capacity_bytes,
                    chunk_count=report.chunk_count,
                )
                for report in request.targets
            ]
            node_type = _node_type(request.node_type)
            version = self.manager.heartbeat(request.node_id, node_type, reports, request.config_version)
        except Fs3Error as error:
            await _abort(context, error)
        response = mgmtd_pb2.HeartbeatResponse(
            routing_version=version, heartbeat_timeout_ms=int(self.manager.config.heartbeat_timeout_s * 1000),
            users_version=self.manager.users.version,
        )
        config = self.manager.configs.latest(node_type)
        if config.version != request.config_version:
            response.config.CopyFrom(config_to_proto(config))
        return response

    async def GetRoutingInfo(self, request, context):
        if not await self._check_primary(context):
            return None
        routing = self.manager.routing
        if request.known_routing_version and request.known_routing_version == routing.routing_version:
            return mgmtd_pb2.GetRoutingInfoResponse(changed=False)
        return mgmtd_pb2.GetRoutingInfoResponse(changed=True, routing=routing_to_proto(routing))

    async def CreateChainTable(self, request, context):
        if not await self._check_primary(context):
            return None
        try:
            table = await self.manager.create_chain_table(request.table_id, request.replication_factor, request.replace)
        except Fs3Error as error:
            await _abort(context, error)
        routing = routing_to_proto(self.manager.routing)
        return mgmtd_pb2.CreateChainTableResponse(
            table=[t for t in routing.chain_tables if t.table_id == table.table_id][0],
            chains=[c for c in routing.chains if c.chain_id in set(table.chain_ids)],
        )

    async def GetClusterStatus(self, request, context):
        if not await self._check_primary(context):
            return None
        return mgmtd_pb2.GetClusterStatusResponse(
            routing=routing_to_proto(self.manager.routing),
            now_ms=self.manager._wall_clock_ms(),
            heartbeat_timeout_ms=int(self.manager.config.heartbeat_timeout_s * 1000),
            migrations=[migration_to_proto(migration) for migration in self.manager.chain_migrations.values()],
            configs=[config_to_proto(record, with_content=False) for record in self.manager.configs.versions()],
        )

    # ---- placement operations (admin only: auth.METHOD_ACCESS) -----
    async def OfflineTarget(self, request, context):
        async def body(manager):
            chain = await TargetAdmin(manager).offline_target(request.target_id, force=request.force)
            return mgmtd_pb2.OfflineTargetResponse(chain=chain_to_proto(chain) if chain else None)

        return await self._answer(context, body)

    async def OnlineTarget(self, request, context):
        async def body(manager):
            chain = await TargetAdmin(manager).online_target(request.target_id, emptied=request.emptied)
            return mgmtd_pb2.OnlineTargetResponse(chain=chain_to_proto(chain) if chain else None)

        return await self._answer(context, body)

    async def SetChains(self, request, context):
        async def body(manager):
            chains = [chain_from_proto(chain) for chain in request.chains]
            done = await TargetAdmin(manager).set_chains([(chain.chain_id, chain.target_ids) for chain in chains])
            return mgmtd_pb2.SetChainsResponse(chains=[chain_to_proto(chain) for chain in done])

        return await self._answer(context, body)

    async def SetChainTable(self, request, context):
        async def body(manager):
            table = await TargetAdmin(manager).set_chain_table(request.table_id, list(request.chain_ids),
                                                               replace=request.replace)
            return mgmtd_pb2.SetChainTableResponse(table=table_to_proto(table))

        return await self._answer(context, body)

    async def MoveChain(self, request, context):
        async def body(manager):
            admin = TargetAdmin(manager)
            if request.cancel:
                migration = await admin.cancel_move(request.chain_id)
            else:
                migration = await admin.move_chain(request.chain_id, request.from_target_id, request.to_target_id)
            return mgmtd_pb2.MoveChainResponse(migration=migration_to_proto(migration))

        return await self._answer(context, body)

    async def MoveChainsToNode(self, request, context):
        async def body(manager):
            migrations = await TargetAdmin(manager).move_chains_to_node(request.node_id, request.chains_max)
            return mgmtd_pb2.MoveChainsToNodeResponse(migrations=[migration_to_proto(m) for m in migrations])

        return await self._answer(context, body)

    # ---- config distribution (SetConfig admin only: auth.METHOD_ACCESS) --------
    async def SetConfig(self, request, context):
        async def body(manager):
            node_type = _node_type(request.node_type)
            base = manager.file_config if node_type == NodeType.MGMTD else None
            record = await manager.configs.set(node_type, request.content, request.description, base=base)
            return mgmtd_pb2.SetConfigResponse(config=config_to_proto(record))

        return await self._answer(context, body)

    async def GetConfig(self, request, context):
        async def body(manager):
            return mgmtd_pb2.GetConfigResponse(config=config_to_proto(manager.configs.latest(
                _node_type(request.node_type))))

        return await self._answer(context, body)
