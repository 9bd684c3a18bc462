"""The piece of every service that talks to the cluster manager.

Registers the node, heartbeats every `heartbeat_interval_s`, re-registers
if the manager forgot the node (e.g. it restarted with no state), and keeps
routing info fresh: a heartbeat reply carries the routing version, and a
newer version triggers a fetch. Heartbeats also report the version of the
node type's distributed config the service applied; a reply carrying another
version hands it to the service's `apply_config` (`fs3.hot_config`).
The same goes for the service's copy of the
user table (`user_table`), by the users version in the reply.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from typing import Awaitable, Callable

from fs3.errors import Fs3Error, StatusCode
from fs3.mgmtd.config_store import ConfigRecord
from fs3.mgmtd.client import MgmtdClient, RoutingWatcher
from fs3.mgmtd.user_table import UserTable
from fs3.routing import LocalState, NodeInfo, NodeType, RoutingInfo
from fs3.tasks import stop_tasks

__all__ = ["NodeAgent"]

logger = logging.getLogger(__name__)

TargetReports = Callable[[], Awaitable[list[tuple[int, str, LocalState, int, int, int]]]]
ApplyConfig = Callable[[int, str], None]  # (version, TOML document); raises Fs3Error to refuse it


class NodeAgent:
    def __init__(
        self,
        mgmtd: MgmtdClient,
        node_id: int,
        node_type: NodeType,
        host: str,
        port: int,
        *,
        heartbeat_interval_s: float,
        target_reports: TargetReports | None = None,
        metrics_port: int = 0,
        apply_config: ApplyConfig | None = None,
        user_table: UserTable | None = None,
        shared_memory_socket: str = "",
    ) -> None:
        self.mgmtd = mgmtd
        self.user_table = user_table
        self.node = NodeInfo(
            node_id=node_id, node_type=node_type, host=host, port=port, hostname=socket.gethostname(),
            pid=os.getpid(), start_time_ms=int(time.time() * 1000), metrics_port=metrics_port,
            shared_memory_socket=shared_memory_socket,
        )
        self.heartbeat_interval_s = heartbeat_interval_s
        self.target_reports = target_reports
        # Refreshed when a heartbeat reply names a newer routing version, never polled.
        self._routing = RoutingWatcher(mgmtd)
        self._task: asyncio.Task | None = None
        # time.monotonic() when the last successful heartbeat was *sent* (0: never): the lease starts there,
        # never later than the cluster manager's own clock for it.
        self.last_heartbeat_ok = 0.0
        self.apply_config = apply_config
        self.config_version = 0  # of the distributed config applied (reported in heartbeats)
        self._refused_config_version = 0  # not retried until a newer one comes

    @property
    def routing(self) -> RoutingInfo:
        return self._routing.routing

    def current_routing(self) -> RoutingInfo:
        return self._routing.routing

    async def refresh_routing(self) -> RoutingInfo:
        return await self._routing.refresh()

    async def start(self, *, startup_timeout_s: float = 30.0) -> None:
        """Register (retrying while the manager starts), heartbeat once, start the loop."""
        deadline = time.monotonic() + startup_timeout_s
        for attempt in range(10_000):
            try:
                await self.mgmtd.register_node(self.node)
                await self.refresh_routing()  # before the first heartbeat, so reports can depend on routing
                if self.user_table is not None:
                    await self.user_table.refresh()
                await self._heartbeat()
                break
            except Fs3Error as error:
                transient = error.code in (StatusCode.UNAVAILABLE, StatusCode.TIMEOUT, StatusCode.NOT_PRIMARY)
                if not transient or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(min(0.1 * (attempt + 1), 1.0))
        self._task = asyncio.get_running_loop().create_task(self._run())

    @property
    def heartbeat_timeout_s(self) -> float:
        """The cluster manager's heartbeat timeout as it last told us (0: not yet known)."""
        return self.mgmtd.heartbeat_timeout_s

    async def _heartbeat(self) -> None:
        sent_at = time.monotonic()
        reports = await self.target_reports() if self.target_reports else []
        try:
            reply = await self.mgmtd.heartbeat_reply(self.node.node_id, self.node.node_type, reports,
                                                     config_version=self.config_version)
        except Fs3Error as error:
            if error.code != StatusCode.UNKNOWN_NODE:
                raise
            logger.warning("cluster manager forgot node %d; registering again", self.node.node_id)
            await self.mgmtd.register_node(self.node)
            reply = await self.mgmtd.heartbeat_reply(self.node.node_id, self.node.node_type, reports,
                                                     config_version=self.config_version)
        self.last_heartbeat_ok = sent_at
        logger.debug("heartbeat of node %d: routing version %d, config version %d", self.node.node_id,
                     reply.routing_version, self.config_version)
        if reply.config is not None:
            self._apply_config(reply.config)
        if self.user_table is not None and self.mgmtd.users_version != self.user_table.version:
            try:
                await self.user_table.refresh()
            except Fs3Error as error:
                logger.warning("user table refresh failed: %s", error)
        if reply.routing_version != self.routing.routing_version:
            await self.refresh_routing()

    def _apply_config(self, config: ConfigRecord) -> None:
        if self.apply_config is None or config.version in (self.config_version, self._refused_config_version):
            return
        try:
            self.apply_config(config.version, config.content)
        except Fs3Error as error:
            logger.error("distributed config version %d not applied: %s", config.version, error)
            self._refused_config_version = config.version
            return
        self.config_version = config.version

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval_s)
            try:
                await self._heartbeat()
            except Fs3Error as error:
                logger.warning("heartbeat failed: %s", error)
            except Exception:
                logger.exception("heartbeat failed")

    async def stop(self) -> None:
        await stop_tasks(self._task)
        self._task = None
        await self.mgmtd.close()
