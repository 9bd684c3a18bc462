"""The cluster manager's HTTP admin API (fastapi) and its Prometheus metrics.

Read-only JSON views of the same state the gRPC API serves, for dashboards
and scripts, plus `/metrics`. A secondary instance answers `/api/v1/status`
(saying who is primary) and 503 elsewhere.

Every `/api/v1/` view needs a user's token (`Authorization: Bearer <token>`,
any user: they show what `fs3 nodes`/`targets`/`chains` show); a missing or
unknown one gets 401. A secondary has no user table: its `/api/v1/status`
says only who the primary is, without a token. `/metrics` needs no token, like
the metrics ports of the other services (counts and states, no names or data).
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Annotated, Callable

import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from fs3.errors import Fs3Error
from fs3.identity import Identity
from fs3.metrics import CLUSTER_NODES, CLUSTER_TARGETS
from fs3.mgmtd.auth import authenticate
from fs3.mgmtd.lease import PrimaryLease
from fs3.mgmtd.manager import ClusterManager
from fs3.routing import NodeType, PublicState, RoutingInfo

__all__ = ["build_admin_app", "AdminHttpServer"]


def _node_json(routing: RoutingInfo) -> list[dict]:
    return [
        {**dataclasses.asdict(node), "node_type": node.node_type.name.lower()}
        for node in sorted(routing.nodes.values(), key=lambda node: node.node_id)
    ]


def _target_json(routing: RoutingInfo) -> list[dict]:
    return [
        {**dataclasses.asdict(target), "public_state": target.public_state.name.lower(),
         "local_state": target.local_state.name.lower()}
        for target in sorted(routing.targets.values(), key=lambda target: target.target_id)
    ]


def _update_cluster_gauges(routing: RoutingInfo) -> None:
    for node_type in (NodeType.META, NodeType.STORAGE):
        nodes = routing.nodes_of_type(node_type)
        for alive in (True, False):
            CLUSTER_NODES.labels(node_type.name.lower(), str(alive).lower()).set(
                sum(1 for node in nodes if node.alive == alive)
            )
    for state in PublicState:
        CLUSTER_TARGETS.labels(state.name.lower()).set(
            sum(1 for target in routing.targets.values() if target.public_state == state)
        )


def build_admin_app(primary: Callable[[], ClusterManager], lease: PrimaryLease, node_id: int) -> FastAPI:
    app = FastAPI(title="fs3 cluster manager", version="1")

    def routing() -> RoutingInfo:
        try:
            return primary().routing
        except Fs3Error as error:
            raise HTTPException(status_code=503, detail=error.message) from None

    def caller(authorization: Annotated[str | None, Header()] = None) -> Identity:
        try:
            users = primary().users
        except Fs3Error as error:
            raise HTTPException(status_code=503, detail=error.message) from None
        try:
            return authenticate(users, authorization)
        except Fs3Error as error:
            raise HTTPException(status_code=401, detail=error.message,
                                headers={"WWW-Authenticate": "Bearer"}) from None

    authenticated = [Depends(caller)]

    @app.get("/api/v1/status")
    def status(authorization: Annotated[str | None, Header()] = None) -> dict:
        if lease.is_primary():
            caller(authorization)
        holder = lease.holder
        document: dict = {
            "node_id": node_id,
            "primary": lease.is_primary(),
            "primary_node_id": holder.node_id if holder else None,
            "primary_address": holder.address if holder else None,
        }
        if lease.is_primary():
            current = routing()
            document.update(
                routing_version=current.routing_version,
                nodes=_node_json(current),
                targets=_target_json(current),
                chains=[dataclasses.asdict(chain) for chain in current.chains.values()],
                chain_tables=[dataclasses.asdict(table) for table in current.chain_tables.values()],
            )
        return document

    @app.get("/api/v1/nodes", dependencies=authenticated)
    def nodes() -> list[dict]:
        return _node_json(routing())

    @app.get("/api/v1/targets", dependencies=authenticated)
    def targets() -> list[dict]:
        return _target_json(routing())

    @app.get("/api/v1/chains", dependencies=authenticated)
    def chains() -> list[dict]:
        return [dataclasses.asdict(chain) for chain in routing().chains.values()]

    @app.get("/api/v1/chain-tables", dependencies=authenticated)
    def chain_tables() -> list[dict]:
        return [dataclasses.asdict(table) for table in routing().chain_tables.values()]

    @app.get("/api/v1/metrics-endpoints", dependencies=authenticated)
    def metrics_endpoints() -> list[dict]:
        """Where every service serves Prometheus metrics (for scrape configs)."""
        return [
            {"node_id": node.node_id, "node_type": node.node_type.name.lower(),
             "url": f"http://{node.host}:{node.metrics_port}/metrics"}
            for node in routing().nodes.values() if node.metrics_port
        ]

    @app.get("/metrics")
    def metrics() -> PlainTextResponse:
        if lease.is_primary():
            _update_cluster_gauges(routing())
        return PlainTextResponse(generate_latest().decode(), media_type=CONTENT_TYPE_LATEST)

    return app


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):  # the service runner owns SIGTERM/SIGINT
        yield


class AdminHttpServer:
    """uvicorn running inside the cluster manager's event loop."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self._server = _EmbeddedServer(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                      access_log=False, lifespan="off"))
        self._task = None

    async def start(self) -> None:
        import asyncio

        self._task = asyncio.get_running_loop().create_task(self._server.serve())
        for _attempt in range(200):
            if self._server.started or self._task.done():
                break
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()

    async def stop(self) -> None:
        if self._task is not None:
            self._server.should_exit = True
            await self._task
