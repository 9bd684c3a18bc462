"""Cluster-manager admin types <-> protobuf: chain moves, distributed configs, chains."""

from __future__ import annotations

from fs3._proto import common_pb2, mgmtd_pb2
from fs3.mgmtd.config_store import ConfigRecord
from fs3.mgmtd.target_admin import ChainMigration
from fs3.routing import ChainInfo, ChainTable, NodeType

__all__ = [
    "migration_to_proto", "migration_from_proto", "config_to_proto", "config_from_proto", "chain_to_proto",
    "chain_from_proto", "table_to_proto", "table_from_proto",
]


def migration_to_proto(migration: ChainMigration) -> mgmtd_pb2.ChainMigration:
    return mgmtd_pb2.ChainMigration(chain_id=migration.chain_id, from_target_id=migration.from_target_id,
                                    to_target_id=migration.to_target_id, started_ms=migration.started_ms)


def migration_from_proto(message: mgmtd_pb2.ChainMigration) -> ChainMigration:
    return ChainMigration(message.chain_id, message.from_target_id, message.to_target_id, message.started_ms)


def config_to_proto(record: ConfigRecord, *, with_content: bool = True) -> mgmtd_pb2.ConfigInfo:
    return mgmtd_pb2.ConfigInfo(node_type=int(record.node_type), version=record.version,
                                content=record.content if with_content else "", description=record.description,
                                updated_ms=record.updated_ms)


def config_from_proto(message: mgmtd_pb2.ConfigInfo) -> ConfigRecord:
    return ConfigRecord(NodeType(message.node_type), message.version, message.content, message.description,
                        message.updated_ms)


def chain_to_proto(chain: ChainInfo) -> common_pb2.ChainInfo:
    return common_pb2.ChainInfo(chain_id=chain.chain_id, chain_version=chain.chain_version,
                                target_ids=chain.target_ids)


def chain_from_proto(message: common_pb2.ChainInfo) -> ChainInfo:
    return ChainInfo(message.chain_id, message.chain_version, list(message.target_ids))


def table_to_proto(table: ChainTable) -> common_pb2.ChainTable:
    return common_pb2.ChainTable(table_id=table.table_id, table_version=table.table_version,
                                 chain_ids=table.chain_ids)


def table_from_proto(message: common_pb2.ChainTable) -> ChainTable:
    return ChainTable(message.table_id, message.table_version, list(message.chain_ids))
