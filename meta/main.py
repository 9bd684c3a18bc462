"""The metadata service process: `python -m fs3.meta --config meta.toml`.

Stateless: all state is in the KV store, so any number of these serve one
namespace, and any of them answers any request.
"""

from __future__ import annotations

import dataclasses
import logging
import time

from fs3.config import MetaServiceConfig
from fs3.hot_config import HotConfig
from fs3.kv import open_engine
from fs3.meta.components.chunk_remover import ChunkRemover
from fs3.meta.components.gc import ChunkGarbageCollector
from fs3.meta.components.session_pruner import SessionPruner
from fs3.meta.components.trash_cleaner import TrashCleaner
from fs3.meta.config import MetaConfig
from fs3.meta.format import format_namespace
from fs3.meta.operator import MetaOperator
from fs3.meta.file_lock_service import register_file_lock_service
from fs3.meta.inspection_service import register_inspection_service
from fs3.meta.service import register_meta_service
from fs3.meta.types import Capacity, Layout
from fs3.metrics import start_metrics_endpoint
from fs3.mgmtd.agent import NodeAgent
from fs3.mgmtd.client import MgmtdClient
from fs3.mgmtd.user_table import UserTable
from fs3.net.client import ClientConfig, RpcClientPool
from fs3.net.server import RpcServer, ServerConfig
from fs3.routing import NodeType, RoutingInfo
from fs3.service_runner import service_main
from fs3.tokens import service_token

logger = logging.getLogger(__name__)


def capacity_of(routing: RoutingInfo) -> Capacity:
    """Usable bytes: each chain holds one logical copy, as large as its smallest member."""
    total = free = 0
    for chain in routing.chains.values():
        members = [routing.targets[target_id] for target_id in chain.target_ids if target_id in routing.targets]
        if not members:
            continue
        total += min(member.capacity_bytes for member in members)
        free += min(max(0, member.capacity_bytes - member.used_bytes) for member in members)
    return Capacity(total_bytes=total, free_bytes=min(free, total))


class MetaServer:
    def __init__(self, config: MetaServiceConfig) -> None:
        self.config = config
        self.engine = None
        token = service_token(config.token_file)  # for this service's own calls: mgmtd, storage
        self.mgmtd = MgmtdClient(config.mgmtd_addresses, token=token)
        # Checks the tokens of incoming connections; a non-root user may only act as itself (meta/service.py).
        self.user_table = UserTable(self.mgmtd, refresh_min_s=config.user_table_refresh_min_s)
        self.server = RpcServer(
            ServerConfig(inflight_requests_max=config.inflight_requests_max, payload_buffer_count=0),
            name=f"meta-{config.node_id}", authenticator=self.user_table,
        )
        self.agent: NodeAgent | None = None
        self.clients = RpcClientPool(ClientConfig(call_timeout_s=config.rpc_timeout_s), token=token)
        self.collector: ChunkGarbageCollector | None = None
        self.pruner: SessionPruner | None = None
        self.trash_cleaner: TrashCleaner | None = None
        self._capacity: Capacity | None = None
        self._capacity_read_at = 0.0
        self.hot_config = HotConfig(config)
        self.meta_config: MetaConfig | None = None

    async def _current_capacity(self) -> Capacity:
        """The targets' space, re-read from the manager at most every
        capacity_refresh_s (space changes do not bump the routing version)."""
        now = time.monotonic()
        if self.agent is not None and (self._capacity is None
                                       or now - self._capacity_read_at > self.config.capacity_refresh_s):
            routing = await self.agent.mgmtd.get_routing_info(0)
            assert routing is not None, "known version 0 always returns the routing info"
            self._capacity, self._capacity_read_at = capacity_of(routing), now
        return self._capacity or Capacity(total_bytes=0, free_bytes=0)

    def _routing(self) -> RoutingInfo:
        return self.agent.current_routing() if self.agent is not None else RoutingInfo()

    async def _refresh_routing(self) -> RoutingInfo:
        return await self.agent.refresh_routing() if self.agent is not None else RoutingInfo()

    async def start(self) -> None:
        self.engine = open_engine(self.config.kv_url)
        layout = Layout(
            chain_table_id=self.config.default_chain_table_id, chain_table_version=1,
            chunk_size=self.config.default_chunk_size_bytes, stripe_size=self.config.default_stripe_size,
        )
        await format_namespace(self.engine, layout)
        meta_config = dataclasses.replace(
            MetaConfig(), default_layout=layout, op_deadline_s=self.config.rpc_timeout_s,
            gc_batch_size=self.config.gc_batch_size, gc_interval_s=self.config.gc_interval_s,
            client_session_timeout_s=self.config.client_session_timeout_s,
            session_prune_interval_s=self.config.session_prune_interval_s,
            trash_expiry_min_s=self.config.trash_expiry_min_s, trash_expiry_max_s=self.config.trash_expiry_max_s,
            trash_clean_interval_s=self.config.trash_clean_interval_s,
        )
        self.meta_config = meta_config
        operator = MetaOperator(self.engine, config=meta_config, capacity=self._current_capacity)
        remover = ChunkRemover(self.clients, self._routing, self._refresh_routing, timeout_s=self.config.rpc_timeout_s)
        register_meta_service(self.server, operator, trim_chunks=remover.apply_trim,
                              stored_length=remover.stored_length)
        register_inspection_service(self.server, operator)
        register_file_lock_service(self.server, operator)
        port = await self.server.start(self.config.host, self.config.port)
        metrics_port = start_metrics_endpoint(self.config.host, self.config.metrics_port)
        self.agent = NodeAgent(
            self.mgmtd, self.config.node_id, NodeType.META, self.config.host, port,
            heartbeat_interval_s=self.config.heartbeat_interval_s, metrics_port=metrics_port,
            apply_config=self._apply_config,
            user_table=self.user_table,
        )
        await self.agent.start()
        meta_config = self.meta_config  # with the distributed settings the first heartbeat may have brought
        self.collector = ChunkGarbageCollector(self.engine, remover, meta_config, owner_id=self.config.node_id)
        self.collector.start()
        self.pruner = SessionPruner(self.engine, meta_config)
        self.pruner.start()
        self.trash_cleaner = TrashCleaner(self.engine, operator, meta_config)
        self.trash_cleaner.start()
        logger.info("metadata service %d listening on port %d", self.config.node_id, port)

    def _apply_config(self, version: int, content: str) -> None:
        """Hot settings distributed by the cluster manager (MetaServiceConfig.HOT_FIELDS)."""
        changed = self.hot_config.apply(version, content)
        self.config = config = self.hot_config.current
        if self.agent is not None:
            self.agent.heartbeat_interval_s = config.heartbeat_interval_s
        if self.meta_config is not None:
            self.meta_config = dataclasses.replace(
                self.meta_config, gc_batch_size=config.gc_batch_size, gc_interval_s=config.gc_interval_s,
                client_session_timeout_s=config.client_session_timeout_s,
                session_prune_interval_s=config.session_prune_interval_s,
                trash_clean_interval_s=config.trash_clean_interval_s,
            )
            for component in (self.collector, self.pruner, self.trash_cleaner):
                if component is not None:
                    component.reconfigure(self.meta_config)
        logger.info("metadata service %d runs config version %d (%s)", config.node_id, version, sorted(changed))

    async def stop(self) -> None:
        if self.collector is not None:
            await self.collector.stop()
        if self.pruner is not None:
            await self.pruner.stop()
        if self.trash_cleaner is not None:
            await self.trash_cleaner.stop()
        await self.server.stop()
        if self.agent is not None:
            await self.agent.stop()  # closes self.mgmtd
        else:
            await self.mgmtd.close()
        await self.clients.close()
        if self.engine is not None:
            await self.engine.close()


def main() -> int:
    return service_main("fs3 metadata service", MetaServiceConfig, MetaServer, "meta")


if __name__ == "__main__":
    raise SystemExit(main())
