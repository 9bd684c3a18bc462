"""gRPC face of the cluster manager: decode, call ClusterManager, encode.

Callers are authenticated, and each method's access checked, by
`fs3.mgmtd.auth.TokenInterceptor` before a method here runs; admin RPCs may
also call `fs3.mgmtd.auth.require_admin()` for finer checks.
"""

from __future__ import annotations

import grpc

from fs3._proto import mgmtd_pb2, mgmtd_pb2_grpc
from fs3.codec.routing import node_from_proto, routing_to_proto
from typing import Callable

from fs3.errors import Fs3Error, StatusCode
from fs3.mgmtd.manager import ClusterManager, TargetReport
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
            version = self.manager.heartbeat(request.node_id, _node_type(request.node_type), reports)
        except Fs3Error as error:
            await _abort(context, error)
        return mgmtd_pb2.HeartbeatResponse(
            routing_version=version, heartbeat_timeout_ms=int(self.manager.config.heartbeat_timeout_s * 1000),
            users_version=self.manager.users.version,
        )

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
        )
