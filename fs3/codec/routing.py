"""RoutingInfo <-> fs3.RoutingInfo protobuf."""

from __future__ import annotations

from fs3._proto import common_pb2
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

__all__ = ["node_to_proto", "node_from_proto", "routing_to_proto", "routing_from_proto"]


def node_to_proto(node: NodeInfo) -> common_pb2.NodeInfo:
    return common_pb2.NodeInfo(
        node_id=node.node_id, node_type=int(node.node_type), host=node.host, port=node.port,
        hostname=node.hostname, pid=node.pid, last_heartbeat_ms=node.last_heartbeat_ms,
        alive=node.alive, start_time_ms=node.start_time_ms, metrics_port=node.metrics_port,
        config_version=node.config_version, shared_memory_socket=node.shared_memory_socket,
    )


def node_from_proto(message: common_pb2.NodeInfo) -> NodeInfo:
    return NodeInfo(
        node_id=message.node_id, node_type=NodeType(message.node_type), host=message.host,
        port=message.port, hostname=message.hostname, pid=message.pid,
        last_heartbeat_ms=message.last_heartbeat_ms, alive=message.alive,
        start_time_ms=message.start_time_ms, metrics_port=message.metrics_port,
        config_version=message.config_version, shared_memory_socket=message.shared_memory_socket,
    )


def target_to_proto(target: TargetInfo) -> common_pb2.TargetInfo:
    return common_pb2.TargetInfo(
        target_id=target.target_id, node_id=target.node_id, path=target.path,
        public_state=int(target.public_state), local_state=int(target.local_state),
        chain_id=target.chain_id, used_bytes=target.used_bytes,
        capacity_bytes=target.capacity_bytes, chunk_count=target.chunk_count,
        admin_offline=target.admin_offline,
    )


def target_from_proto(message: common_pb2.TargetInfo) -> TargetInfo:
    return TargetInfo(
        target_id=message.target_id, node_id=message.node_id, path=message.path,
        public_state=PublicState(message.public_state or PublicState.OFFLINE),
        local_state=LocalState(message.local_state or LocalState.OFFLINE),
        chain_id=message.chain_id, used_bytes=message.used_bytes,
        capacity_bytes=message.capacity_bytes, chunk_count=message.chunk_count,
        admin_offline=message.admin_offline,
    )


def routing_to_proto(routing: RoutingInfo) -> common_pb2.RoutingInfo:
    return common_pb2.RoutingInfo(
        routing_version=routing.routing_version,
        nodes=[node_to_proto(node) for node in routing.nodes.values()],
        targets=[target_to_proto(target) for target in routing.targets.values()],
        chains=[
            common_pb2.ChainInfo(chain_id=chain.chain_id, chain_version=chain.chain_version, target_ids=chain.target_ids)
            for chain in routing.chains.values()
        ],
        chain_tables=[
            common_pb2.ChainTable(table_id=table.table_id, table_version=table.table_version, chain_ids=table.chain_ids)
            for table in routing.chain_tables.values()
        ],
    )


def routing_from_proto(message: common_pb2.RoutingInfo) -> RoutingInfo:
    return RoutingInfo(
        routing_version=message.routing_version,
        nodes={node.node_id: node_from_proto(node) for node in message.nodes},
        targets={target.target_id: target_from_proto(target) for target in message.targets},
        chains={
            chain.chain_id: ChainInfo(chain.chain_id, chain.chain_version, list(chain.target_ids))
            for chain in message.chains
        },
        chain_tables={
            table.table_id: ChainTable(table.table_id, table.table_version, list(table.chain_ids))
            for table in message.chain_tables
        },
    )
