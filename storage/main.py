"""The storage service process: `python -m fs3.storage --config storage.toml`."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from fs3.config import StorageServiceConfig
from fs3.errors import Fs3Error
from fs3.hot_config import HotConfig
from fs3.metrics import start_metrics_endpoint
from fs3.mgmtd.agent import NodeAgent
from fs3.mgmtd.client import MgmtdClient
from fs3.mgmtd.user_table import UserTable
from fs3.net.client import ClientConfig, RpcClientPool
from fs3.net.server import RpcServer, ServerConfig
from fs3.net.shared_memory import SharedMemoryLimits, SharedMemoryRegistry
from fs3.net.shared_memory.paths import SharedMemoryConfig, SharedMemoryPaths
from fs3.routing import NodeType
from fs3.service_runner import service_main
from fs3.storage.chunk_engine import ChunkEngineConfig
from fs3.storage.lease import HeartbeatLease
from fs3.storage.node import StorageNode
from fs3.storage.replication.forward import RpcForwarder
from fs3.storage.replication.local_state import TargetLocalStates
from fs3.storage.replication.resync import ResyncWorker
from fs3.storage.service import register_storage_service
from fs3.storage.target import StorageTarget
from fs3.storage.target_admin import TargetAdmin, discover_targets
from fs3.tasks import stop_tasks
from fs3.tokens import service_token

logger = logging.getLogger(__name__)


class StorageServer:
    def __init__(self, config: StorageServiceConfig) -> None:
        self.config = config
        self.executor = ThreadPoolExecutor(max_workers=config.io_threads, thread_name_prefix="storage-io")
        self.targets: dict[int, StorageTarget] = {}
        token = service_token(config.token_file)  # for this service's own calls: mgmtd, chain peers
        self.mgmtd = MgmtdClient(config.mgmtd_addresses, token=token)
        self.user_table = UserTable(self.mgmtd, refresh_min_s=config.user_table_refresh_min_s)
        self.server = RpcServer(
            ServerConfig(
                inflight_requests_max=config.inflight_requests_max,
                payload_buffer_bytes=1 << 20,
                payload_buffer_count=config.payload_buffer_count,
            ),
            name=f"storage-{config.node_id}", authenticator=self.user_table,
        )
        self.clients = RpcClientPool(ClientConfig(call_timeout_s=config.forward_timeout_s), token=token)
        # forwards to successors on this host go through this service's own region
        self.forward_shared_memory = SharedMemoryPaths(token, SharedMemoryConfig(enabled=config.shared_memory))
        self.agent: NodeAgent | None = None
        self.local_states: TargetLocalStates | None = None
        self.resync: ResyncWorker | None = None
        self._follow_task: asyncio.Task | None = None
        self.node: StorageNode | None = None
        self.hot_config = HotConfig(config)
        self.shared_memory: SharedMemoryRegistry | None = None
        if config.shared_memory:
            self.shared_memory = SharedMemoryRegistry(config.node_id, self.user_table, SharedMemoryLimits(
                region_bytes_max=config.shared_memory_region_bytes_max,
                mapped_bytes_max=config.shared_memory_mapped_bytes_max,
                regions_max=config.shared_memory_regions_max,
                registration_timeout_s=config.shared_memory_registration_timeout_s,
                registrations_pending_max=config.shared_memory_registrations_pending_max,
            ))

    async def _target_reports(self):
        assert self.agent is not None and self.local_states is not None
        self.local_states.update(self.agent.current_routing())
        reports = []
        for target in list(self.targets.values()):
            try:
                space = await target.space()
            except Fs3Error as error:  # a target being replaced: report it, never fail the heartbeat
                logger.info("target %d: no space report (%s)", target.target_id, error)
                reports.append((target.target_id, target.path, self.local_states.state(target.target_id), 0, 0, 0))
                continue
            reports.append(
                (target.target_id, target.path, self.local_states.state(target.target_id), space.used_bytes,
                 space.capacity_bytes, space.chunk_count)
            )
        return reports

    async def _follow_routing(self) -> None:
        """Apply routing changes to the targets' local states between heartbeats."""
        assert self.agent is not None and self.local_states is not None
        while True:
            await asyncio.sleep(self.config.resync_poll_interval_s)
            self.local_states.update(self.agent.current_routing())

    async def start(self) -> None:
        engine_config = ChunkEngineConfig(chunk_size_bytes_max=self.config.chunk_size_bytes_max,
                                          direct_io=self.config.direct_io,
                                          slot_file_bytes=self.config.slot_file_bytes,
                                          cached_records_max=self.config.chunk_records_cached_max,
                                          free_slot_bytes_kept=self.config.free_slot_bytes_kept)
        for target_config in self.config.targets:
            self.targets[target_config.target_id] = StorageTarget(
                target_config.target_id, target_config.path, self.executor, engine_config
            )
        configured = {target.path for target in self.config.targets}
        for target_id, path in discover_targets(self.config.disks, configured):  # made by `fs3 create-targets`
            assert target_id not in self.targets, f"target {target_id} is both in the config and in {path}"
            self.targets[target_id] = StorageTarget(target_id, path, self.executor, engine_config)
        port = await self.server.start(self.config.host, self.config.port)
        metrics_port = start_metrics_endpoint(self.config.host, self.config.metrics_port)
        if self.shared_memory is not None:
            await self.shared_memory.start()
        self.agent = NodeAgent(
            self.mgmtd, self.config.node_id, NodeType.STORAGE, self.config.host, port,
            heartbeat_interval_s=self.config.heartbeat_interval_s, target_reports=self._target_reports,
            metrics_port=metrics_port, apply_config=self._apply_config, user_table=self.user_table,
            shared_memory_socket=self.shared_memory.socket_name if self.shared_memory is not None else "",
        )
        agent = self.agent
        self.local_states = TargetLocalStates(self.targets)  # every target goes through recovery
        node = StorageNode(
            self.config.node_id, self.targets, self.agent.current_routing, self.agent.refresh_routing,
            RpcForwarder(self.clients, self.agent.current_routing, self.config.forward_timeout_s,
                         self.forward_shared_memory, query_timeout_s=min(self.config.query_timeout_s,
                                                                     self.config.forward_timeout_s)),
            chunk_size_bytes_max=self.config.chunk_size_bytes_max,
            forward_retries_max=self.config.forward_retries_max,
            lease=HeartbeatLease(lambda: agent.last_heartbeat_ok, lambda: agent.heartbeat_timeout_s),
            local_states=self.local_states,
        )
        self.node = node
        register_storage_service(self.server, node, TargetAdmin(node, self.executor, engine_config,
                                                                self.config.disks, self.agent.refresh_routing),
                                 chunk_meta_page_max=self.config.chunk_meta_page_max, shared_memory=self.shared_memory)
        self.resync = ResyncWorker(
            node, self.clients, self.agent.current_routing, poll_interval_s=self.config.resync_poll_interval_s,
            concurrency_max=self.config.resync_concurrency_max, retry_delay_s=self.config.resync_retry_delay_s,
            call_timeout_s=self.config.resync_call_timeout_s,
        )
        await self.agent.start()
        self._follow_task = asyncio.get_running_loop().create_task(self._follow_routing())
        self.resync.start()
        logger.info("storage node %d serving %d targets on port %d", self.config.node_id, len(self.targets), port)

    def _apply_config(self, version: int, content: str) -> None:
        """Hot settings distributed by the cluster manager (StorageServiceConfig.HOT_FIELDS)."""
        changed = self.hot_config.apply(version, content)
        self.config = config = self.hot_config.current
        if self.agent is not None:
            self.agent.heartbeat_interval_s = config.heartbeat_interval_s
        if self.node is not None:
            self.node.forward_retries_max = config.forward_retries_max
        if self.resync is not None:
            self.resync.poll_interval_s = config.resync_poll_interval_s
            self.resync.retry_delay_s = config.resync_retry_delay_s
            self.resync.call_timeout_s = config.resync_call_timeout_s
        logger.info("storage node %d runs config version %d (%s)", config.node_id, version, sorted(changed))

    async def stop(self) -> None:
        if self.resync is not None:
            await self.resync.stop()
        await stop_tasks(self._follow_task)
        await self.server.stop()
        if self.shared_memory is not None:
            await self.shared_memory.stop()
        if self.agent is not None:
            await self.agent.stop()  # closes self.mgmtd
        else:
            await self.mgmtd.close()
        await self.clients.close()
        self.forward_shared_memory.close()
        self.executor.shutdown(wait=True)
        for target in self.targets.values():
            target.close()


def main() -> int:
    return service_main("fs3 storage service", StorageServiceConfig, StorageServer, "storage")


if __name__ == "__main__":
    raise SystemExit(main())
