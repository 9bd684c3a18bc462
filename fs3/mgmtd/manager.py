"""The cluster manager's core: membership, heartbeats, chain tables, target states.

Plain Python over dataclasses; `fs3.mgmtd.service` puts gRPC in front of it.
Everything an operator configured (nodes, targets, chains, chain tables and
their public states) is persisted in the KV store, so a restarted manager
continues where it stopped; heartbeat times live only in memory, and after a
start every known node gets one heartbeat timeout of grace before it is
declared dead.
"""

from __future__ import annotations

import copy
import dataclasses
import errno
import json
import logging
import time
from typing import Awaitable, Callable

from fs3.config import MgmtdConfig
from fs3.errors import Fs3Error, StatusCode
from fs3.kv import KvEngine, Transaction, run_transaction
from fs3.mgmtd.config_store import ConfigStore
from fs3.mgmtd.placement import slots_by_disk, generate_chains
from fs3.mgmtd.target_admin import ChainMigration, advance_chain_migrations
from fs3.mgmtd.target_states import update_chain
from fs3.mgmtd.users import UserStore
from fs3.routing import (
    ChainInfo,
    ChainTable,
    LocalState,
    NodeInfo,
    NodeType,
    PublicState,
    RoutingInfo,
    TargetInfo,
)

__all__ = ["ClusterManager", "TargetReport"]

logger = logging.getLogger(__name__)

_STATE_KEY = b"MGMT/cluster_state"
_STATE_FORMAT = 1


@dataclasses.dataclass(frozen=True, slots=True)
class TargetReport:
    """What a storage service says about one of its targets in a heartbeat."""

    target_id: int
    path: str
    local_state: LocalState
    used_bytes: int = 0
    capacity_bytes: int = 0
    chunk_count: int = 0


class ClusterManager:
    """Owns the routing info. Not thread-safe: used from one event loop."""

    def __init__(
        self,
        config: MgmtdConfig,
        engine: KvEngine,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        fence: Callable[[Transaction], Awaitable[None]] | None = None,
    ) -> None:
        self.config = config  # with the distributed hot settings applied (fs3.hot_config)
        self.file_config = config  # as the process's config file says
        self.engine = engine
        self._fence = fence  # checks, inside every state write, that we still hold the primary lease
        self._monotonic = monotonic
        self._wall_clock_ms = wall_clock_ms
        self.routing = RoutingInfo(routing_version=1)
        self._last_heartbeat: dict[int, float] = {}
        self._reported_local_state: dict[int, LocalState] = {}
        self._started_at = monotonic()
        self.chain_migrations: dict[int, ChainMigration] = {}  # by chain id (fs3.mgmtd.target_admin)
        self.configs = ConfigStore(engine, document_bytes_max=config.config_document_bytes_max, fence=fence,
                                   wall_clock_ms=wall_clock_ms)
        # Users and tokens (fs3.mgmtd.users): the same term, store and fence as the routing state.
        self.users = UserStore(engine, fence=fence, users_max=config.users_max, wall_clock_ms=wall_clock_ms)

    # ---- persistence ----------------------------------------------------------
    async def load(self) -> None:
        """Load persisted state; every known node gets a heartbeat-timeout of grace."""
        await self.users.load()

        async def read(txn: Transaction) -> bytes | None:
            return await txn.get(_STATE_KEY)

        await self.configs.load()
        blob = await run_transaction(self.engine, read)
        if blob is None:
            return
        state = json.loads(blob)
        assert state["format"] == _STATE_FORMAT, f"unknown cluster state format {state['format']}"
        # Versions only move forward, also across a change of primary whose
        # last in-memory bumps were never persisted.
        routing = RoutingInfo(routing_version=max(state["routing_version"] + 1, self._wall_clock_ms()))
        for node in state["nodes"]:
            node["node_type"] = NodeType(node["node_type"])
            routing.nodes[node["node_id"]] = NodeInfo(**node)
        for target in state["targets"]:
            target["public_state"] = PublicState(target["public_state"])
            target["local_state"] = LocalState.OFFLINE
            routing.targets[target["target_id"]] = TargetInfo(**target)
        for chain in state["chains"]:
            routing.chains[chain["chain_id"]] = ChainInfo(**chain)
        for table in state["chain_tables"]:
            routing.chain_tables[table["table_id"]] = ChainTable(**table)
        self.chain_migrations = {
            migration["chain_id"]: ChainMigration(**migration) for migration in state.get("chain_migrations", [])
        }
        self.routing = routing
        now = self._monotonic()
        for node_id in routing.nodes:
            self._last_heartbeat[node_id] = now
        logger.info(
            "loaded cluster state: %d nodes, %d targets, %d chains",
            len(routing.nodes), len(routing.targets), len(routing.chains),
        )

    async def _persist(self) -> None:
        state = {
            "format": _STATE_FORMAT,
            "routing_version": self.routing.routing_version,
            "nodes": [
                {**dataclasses.asdict(node), "alive": False, "node_type": int(node.node_type)}
                for node in self.routing.nodes.values()
            ],
            "targets": [
                {**dataclasses.asdict(target), "public_state": int(target.public_state), "local_state": 0}
                for target in self.routing.targets.values()
            ],
            "chains": [dataclasses.asdict(chain) for chain in self.routing.chains.values()],
            "chain_tables": [dataclasses.asdict(table) for table in self.routing.chain_tables.values()],
            "chain_migrations": [dataclasses.asdict(migration) for migration in self.chain_migrations.values()],
        }
        for target in state["targets"]:
            del target["local_state"]
        blob = json.dumps(state, sort_keys=True).encode()

        async def write(txn: Transaction) -> None:
            if self._fence is not None:
                await self._fence(txn)
            txn.set(_STATE_KEY, blob)

        await run_transaction(self.engine, write)

    def _bump_routing_version(self) -> None:
        self.routing.routing_version += 1

    async def publish_change(self) -> None:
        """An operator changed the routing state: a new routing version, persisted."""
        self._bump_routing_version()
        await self._persist()

    def wall_clock_ms(self) -> int:
        return self._wall_clock_ms()

    # ---- operations -----------------------------------------------------------
    async def register_node(self, node: NodeInfo) -> int:
        """Add or refresh a node; returns its id. Node ids are chosen by config."""
        if node.node_id <= 0:
            raise Fs3Error(StatusCode.BAD_REQUEST, "node_id must be positive")
        if not node.host or not 0 < node.port < 65536:
            raise Fs3Error(StatusCode.BAD_REQUEST, f"node {node.node_id}: bad address {node.host}:{node.port}")
        if len(node.shared_memory_socket) > 100 or not node.shared_memory_socket.isprintable():
            raise Fs3Error(StatusCode.BAD_REQUEST, f"node {node.node_id}: bad shared memory socket name")
        existing = self.routing.nodes.get(node.node_id)
        if existing is not None and existing.node_type != node.node_type:
            raise Fs3Error(
                errno.EEXIST,
                f"node id {node.node_id} belongs to a {existing.node_type.name} node, not {node.node_type.name}",
            )
        node = dataclasses.replace(node, alive=True, last_heartbeat_ms=self._wall_clock_ms())
        self.routing.nodes[node.node_id] = node
        # A (re)started node's earlier reports say nothing about its targets now: they are unknown until its
        # first heartbeat (a restarted storage service reports them offline, then goes through recovery).
        for target in self.routing.targets.values():
            if target.node_id == node.node_id:
                self._reported_local_state.pop(target.target_id, None)
        self._last_heartbeat[node.node_id] = self._monotonic()
        self._bump_routing_version()
        await self._persist()
        logger.info("registered %s node %d at %s", node.node_type.name, node.node_id, node.address)
        return node.node_id

    def heartbeat(self, node_id: int, node_type: NodeType, reports: list[TargetReport], config_version: int = 0) -> int:
        """Record a heartbeat (and the config version the node applied); returns the current routing version."""
        node = self.routing.nodes.get(node_id)
        if node is None:
            raise Fs3Error(StatusCode.UNKNOWN_NODE, f"node {node_id} is not registered")
        if node.node_type != node_type:
            raise Fs3Error(StatusCode.BAD_REQUEST, f"node {node_id} is a {node.node_type.name} node")
        self._last_heartbeat[node_id] = self._monotonic()
        node.last_heartbeat_ms = self._wall_clock_ms()
        node.config_version = config_version
        if not node.alive:
            node.alive = True
            self._bump_routing_version()
        for report in reports:
            target = self.routing.targets.get(report.target_id)
            if target is None:
                target = TargetInfo(target_id=report.target_id, node_id=node_id, path=report.path)
                self.routing.targets[report.target_id] = target
                self._bump_routing_version()
            elif target.node_id != node_id:
                raise Fs3Error(
                    errno.EEXIST, f"target {report.target_id} belongs to node {target.node_id}, not {node_id}"
                )
            target.path = report.path
            target.used_bytes = report.used_bytes
            target.capacity_bytes = report.capacity_bytes
            target.chunk_count = report.chunk_count
            self._reported_local_state[report.target_id] = report.local_state
        return self.routing.routing_version

    def routing_snapshot(self) -> RoutingInfo:
        return copy.deepcopy(self.routing)

    async def create_chain_table(self, table_id: int, replication_factor: int, replace: bool = False) -> ChainTable:
        """Build chains from every target not yet in a chain and group them into a table."""
        if table_id <= 0:
            raise Fs3Error(StatusCode.BAD_REQUEST, "table_id must be positive")
        if not 1 <= replication_factor <= 16:
            raise Fs3Error(StatusCode.BAD_REQUEST, f"replication factor {replication_factor} not in 1..16")
        if table_id in self.routing.chain_tables and not replace:
            raise Fs3Error(errno.EEXIST, f"chain table {table_id} exists")
        free = [target for target in self.routing.targets.values() if target.chain_id == 0 and not target.admin_offline]
        if not free:
            raise Fs3Error(errno.ENOSPC, "no storage targets outside a chain; start storage services first")
        slots = slots_by_disk((target.target_id, target.node_id, target.path) for target in free)
        first_chain_id = max(self.routing.chains, default=0) + 1
        try:
            generated = generate_chains(slots, replication_factor, first_chain_id=first_chain_id, seed=table_id)
        except ValueError as error:
            raise Fs3Error(errno.EINVAL, f"cannot build chains: {error}") from None
        for chain in generated:
            self.routing.chains[chain.chain_id] = ChainInfo(chain.chain_id, 1, list(chain.target_ids))
            for target_id in chain.target_ids:
                target = self.routing.targets[target_id]
                target.chain_id = chain.chain_id
                target.public_state = PublicState.SERVING
        previous = self.routing.chain_tables.get(table_id)
        table = ChainTable(
            table_id=table_id,
            table_version=(previous.table_version + 1) if previous else 1,
            chain_ids=[chain.chain_id for chain in generated],
        )
        self.routing.chain_tables[table_id] = table
        self._bump_routing_version()
        await self._persist()
        logger.info("created chain table %d with %d chains at R=%d", table_id, len(generated), replication_factor)
        return table

    # ---- background -----------------------------------------------------------
    async def update_target_states(self) -> bool:
        """Advance chain moves, recompute liveness and public states; persist and bump on change."""
        migrated = advance_chain_migrations(self)
        now = self._monotonic()
        timeout = self.config.heartbeat_timeout_s
        changed = False
        for node_id, node in self.routing.nodes.items():
            alive = now - self._last_heartbeat.get(node_id, self._started_at) < timeout
            if alive != node.alive:
                node.alive = alive
                changed = True
                logger.warning("node %d is now %s", node_id, "alive" if alive else "dead")
        chains_changed = False
        unreported: set[int] = set()
        for target in self.routing.targets.values():
            node = self.routing.nodes.get(target.node_id)
            local = self._reported_local_state.get(target.target_id)
            if node is None or not node.alive or target.admin_offline:
                local = LocalState.OFFLINE
            elif local is None:
                # Alive only by the start-up grace: its state is unknown, not offline.
                unreported.add(target.target_id)
                continue
            if target.local_state != local:
                target.local_state = local
                changed = True
        for chain in self.routing.chains.values():
            if unreported.intersection(chain.target_ids):
                continue  # decide once every member has reported or its node is declared dead
            members = [
                (target_id, self.routing.targets[target_id].local_state, self.routing.targets[target_id].public_state)
                for target_id in chain.target_ids
            ]
            new_order, chain_changed = update_chain(members)
            if not chain_changed:
                continue
            chain.target_ids = [target_id for target_id, _state in new_order]
            for target_id, state in new_order:
                self.routing.targets[target_id].public_state = state
            chain.chain_version += 1
            chains_changed = True
            logger.warning(
                "chain %d -> version %d: %s", chain.chain_id, chain.chain_version,
                [(target_id, state.name) for target_id, state in new_order],
            )
        if changed or chains_changed or migrated:
            self._bump_routing_version()
        if chains_changed or migrated:
            await self._persist()
        return changed or chains_changed or migrated
