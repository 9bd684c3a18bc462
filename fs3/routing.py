"""Routing info: the versioned map of nodes, targets, chains and chain tables.

The cluster manager owns it; every service and client holds a copy that it
refreshes periodically and whenever a peer reports a version mismatch. Plain
dataclasses here; `fs3.codec` converts them to and from protobuf.
"""

from __future__ import annotations

import dataclasses
import enum

__all__ = [
    "NodeType",
    "PublicState",
    "LocalState",
    "NodeInfo",
    "TargetInfo",
    "ChainInfo",
    "ChainTable",
    "RoutingInfo",
]


class NodeType(enum.IntEnum):
    MGMTD = 1
    META = 2
    STORAGE = 3
    CLIENT = 4


class PublicState(enum.IntEnum):
    """Values match proto PublicTargetState."""

    SERVING = 1
    SYNCING = 2
    WAITING = 3
    LASTSRV = 4
    OFFLINE = 5


class LocalState(enum.IntEnum):
    """Values match proto LocalTargetState."""

    UP_TO_DATE = 1
    ONLINE = 2
    OFFLINE = 3


@dataclasses.dataclass(slots=True)
class NodeInfo:
    node_id: int
    node_type: NodeType
    host: str
    port: int
    hostname: str = ""
    pid: int = 0
    last_heartbeat_ms: int = 0
    alive: bool = False
    start_time_ms: int = 0
    metrics_port: int = 0
    config_version: int = 0  # its node type's distributed config it has applied (0: none)
    shared_memory_socket: str = ""  # storage: abstract Unix socket for same-host memory registration

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclasses.dataclass(slots=True)
class TargetInfo:
    target_id: int
    node_id: int
    path: str = ""
    public_state: PublicState = PublicState.SERVING
    local_state: LocalState = LocalState.OFFLINE
    chain_id: int = 0
    used_bytes: int = 0
    capacity_bytes: int = 0
    chunk_count: int = 0
    admin_offline: bool = False  # an operator took it out of service: offline until brought back


@dataclasses.dataclass(slots=True)
class ChainInfo:
    chain_id: int
    chain_version: int
    target_ids: list[int]  # head first


@dataclasses.dataclass(slots=True)
class ChainTable:
    table_id: int
    table_version: int
    chain_ids: list[int]


@dataclasses.dataclass(slots=True)
class RoutingInfo:
    routing_version: int = 0
    nodes: dict[int, NodeInfo] = dataclasses.field(default_factory=dict)
    targets: dict[int, TargetInfo] = dataclasses.field(default_factory=dict)
    chains: dict[int, ChainInfo] = dataclasses.field(default_factory=dict)
    chain_tables: dict[int, ChainTable] = dataclasses.field(default_factory=dict)

    def chain(self, chain_id: int) -> ChainInfo | None:
        return self.chains.get(chain_id)

    def serving_targets(self, chain_id: int) -> list[TargetInfo]:
        """Targets of the chain that may serve reads, in chain order."""
        chain = self.chains.get(chain_id)
        if chain is None:
            return []
        return [
            self.targets[target_id]
            for target_id in chain.target_ids
            if target_id in self.targets and self.targets[target_id].public_state == PublicState.SERVING
        ]

    def writable_targets(self, chain_id: int) -> list[TargetInfo]:
        """Targets that take writes (serving or syncing), in chain order: head first."""
        chain = self.chains.get(chain_id)
        if chain is None:
            return []
        writable = (PublicState.SERVING, PublicState.SYNCING)
        return [
            self.targets[target_id]
            for target_id in chain.target_ids
            if target_id in self.targets and self.targets[target_id].public_state in writable
        ]

    def node_of_target(self, target_id: int) -> NodeInfo | None:
        target = self.targets.get(target_id)
        return None if target is None else self.nodes.get(target.node_id)

    def nodes_of_type(self, node_type: NodeType) -> list[NodeInfo]:
        return sorted(
            (node for node in self.nodes.values() if node.node_type == node_type), key=lambda node: node.node_id
        )
