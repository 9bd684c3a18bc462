from fs3._proto import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TargetReport(_message.Message):
    __slots__ = ("target_id", "path", "local_state", "used_bytes", "capacity_bytes", "chunk_count")
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    LOCAL_STATE_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHUNK_COUNT_FIELD_NUMBER: _ClassVar[int]
    target_id: int
    path: str
    local_state: _common_pb2.LocalTargetState
    used_bytes: int
    capacity_bytes: int
    chunk_count: int
    def __init__(self, target_id: _Optional[int] = ..., path: _Optional[str] = ..., local_state: _Optional[_Union[_common_pb2.LocalTargetState, str]] = ..., used_bytes: _Optional[int] = ..., capacity_bytes: _Optional[int] = ..., chunk_count: _Optional[int] = ...) -> None: ...

class RegisterNodeRequest(_message.Message):
    __slots__ = ("node",)
    NODE_FIELD_NUMBER: _ClassVar[int]
    node: _common_pb2.NodeInfo
    def __init__(self, node: _Optional[_Union[_common_pb2.NodeInfo, _Mapping]] = ...) -> None: ...

class RegisterNodeResponse(_message.Message):
    __slots__ = ("node_id", "routing_version", "heartbeat_timeout_ms")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTING_VERSION_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    node_id: int
    routing_version: int
    heartbeat_timeout_ms: int
    def __init__(self, node_id: _Optional[int] = ..., routing_version: _Optional[int] = ..., heartbeat_timeout_ms: _Optional[int] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("node_id", "node_type", "targets", "known_routing_version", "config_version")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    KNOWN_ROUTING_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONFIG_VERSION_FIELD_NUMBER: _ClassVar[int]
    node_id: int
    node_type: _common_pb2.NodeType
    targets: _containers.RepeatedCompositeFieldContainer[TargetReport]
    known_routing_version: int
    config_version: int
    def __init__(self, node_id: _Optional[int] = ..., node_type: _Optional[_Union[_common_pb2.NodeType, str]] = ..., targets: _Optional[_Iterable[_Union[TargetReport, _Mapping]]] = ..., known_routing_version: _Optional[int] = ..., config_version: _Optional[int] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("routing_version", "heartbeat_timeout_ms", "config", "users_version")
    ROUTING_VERSION_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    USERS_VERSION_FIELD_NUMBER: _ClassVar[int]
    routing_version: int
    heartbeat_timeout_ms: int
    config: ConfigInfo
    users_version: int
    def __init__(self, routing_version: _Optional[int] = ..., heartbeat_timeout_ms: _Optional[int] = ..., config: _Optional[_Union[ConfigInfo, _Mapping]] = ..., users_version: _Optional[int] = ...) -> None: ...

class GetRoutingInfoRequest(_message.Message):
    __slots__ = ("known_routing_version",)
    KNOWN_ROUTING_VERSION_FIELD_NUMBER: _ClassVar[int]
    known_routing_version: int
    def __init__(self, known_routing_version: _Optional[int] = ...) -> None: ...

class GetRoutingInfoResponse(_message.Message):
    __slots__ = ("changed", "routing")
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    changed: bool
    routing: _common_pb2.RoutingInfo
    def __init__(self, changed: _Optional[bool] = ..., routing: _Optional[_Union[_common_pb2.RoutingInfo, _Mapping]] = ...) -> None: ...

class CreateChainTableRequest(_message.Message):
    __slots__ = ("table_id", "replication_factor", "replace")
    TABLE_ID_FIELD_NUMBER: _ClassVar[int]
    REPLICATION_FACTOR_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    table_id: int
    replication_factor: int
    replace: bool
    def __init__(self, table_id: _Optional[int] = ..., replication_factor: _Optional[int] = ..., replace: _Optional[bool] = ...) -> None: ...

class CreateChainTableResponse(_message.Message):
    __slots__ = ("table", "chains")
    TABLE_FIELD_NUMBER: _ClassVar[int]
    CHAINS_FIELD_NUMBER: _ClassVar[int]
    table: _common_pb2.ChainTable
    chains: _containers.RepeatedCompositeFieldContainer[_common_pb2.ChainInfo]
    def __init__(self, table: _Optional[_Union[_common_pb2.ChainTable, _Mapping]] = ..., chains: _Optional[_Iterable[_Union[_common_pb2.ChainInfo, _Mapping]]] = ...) -> None: ...

class GetClusterStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetClusterStatusResponse(_message.Message):
    __slots__ = ("routing", "now_ms", "heartbeat_timeout_ms", "migrations", "configs")
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    NOW_MS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    MIGRATIONS_FIELD_NUMBER: _ClassVar[int]
    CONFIGS_FIELD_NUMBER: _ClassVar[int]
    routing: _common_pb2.RoutingInfo
    now_ms: int
    heartbeat_timeout_ms: int
    migrations: _containers.RepeatedCompositeFieldContainer[ChainMigration]
    configs: _containers.RepeatedCompositeFieldContainer[ConfigInfo]
    def __init__(self, routing: _Optional[_Union[_common_pb2.RoutingInfo, _Mapping]] = ..., now_ms: _Optional[int] = ..., heartbeat_timeout_ms: _Optional[int] = ..., migrations: _Optional[_Iterable[_Union[ChainMigration, _Mapping]]] = ..., configs: _Optional[_Iterable[_Union[ConfigInfo, _Mapping]]] = ...) -> None: ...

class ConfigInfo(_message.Message):
    __slots__ = ("node_type", "version", "content", "description", "updated_ms")
    NODE_TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_MS_FIELD_NUMBER: _ClassVar[int]
    node_type: _common_pb2.NodeType
    version: int
    content: str
    description: str
    updated_ms: int
    def __init__(self, node_type: _Optional[_Union[_common_pb2.NodeType, str]] = ..., version: _Optional[int] = ..., content: _Optional[str] = ..., description: _Optional[str] = ..., updated_ms: _Optional[int] = ...) -> None: ...

class ChainMigration(_message.Message):
    __slots__ = ("chain_id", "from_target_id", "to_target_id", "started_ms")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    TO_TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_MS_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    from_target_id: int
    to_target_id: int
    started_ms: int
    def __init__(self, chain_id: _Optional[int] = ..., from_target_id: _Optional[int] = ..., to_target_id: _Optional[int] = ..., started_ms: _Optional[int] = ...) -> None: ...

class OfflineTargetRequest(_message.Message):
    __slots__ = ("target_id", "force")
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    target_id: int
    force: bool
    def __init__(self, target_id: _Optional[int] = ..., force: _Optional[bool] = ...) -> None: ...

class OfflineTargetResponse(_message.Message):
    __slots__ = ("chain",)
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    chain: _common_pb2.ChainInfo
    def __init__(self, chain: _Optional[_Union[_common_pb2.ChainInfo, _Mapping]] = ...) -> None: ...

class OnlineTargetRequest(_message.Message):
    __slots__ = ("target_id", "emptied")
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    EMPTIED_FIELD_NUMBER: _ClassVar[int]
    target_id: int
    emptied: bool
    def __init__(self, target_id: _Optional[int] = ..., emptied: _Optional[bool] = ...) -> None: ...

class OnlineTargetResponse(_message.Message):
    __slots__ = ("chain",)
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    chain: _common_pb2.ChainInfo
    def __init__(self, chain: _Optional[_Union[_common_pb2.ChainInfo, _Mapping]] = ...) -> None: ...

class SetChainsRequest(_message.Message):
    __slots__ = ("chains",)
    CHAINS_FIELD_NUMBER: _ClassVar[int]
    chains: _containers.RepeatedCompositeFieldContainer[_common_pb2.ChainInfo]
    def __init__(self, chains: _Optional[_Iterable[_Union[_common_pb2.ChainInfo, _Mapping]]] = ...) -> None: ...

class SetChainsResponse(_message.Message):
    __slots__ = ("chains",)
    CHAINS_FIELD_NUMBER: _ClassVar[int]
    chains: _containers.RepeatedCompositeFieldContainer[_common_pb2.ChainInfo]
    def __init__(self, chains: _Optional[_Iterable[_Union[_common_pb2.ChainInfo, _Mapping]]] = ...) -> None: ...

class SetChainTableRequest(_message.Message):
    __slots__ = ("table_id", "chain_ids", "replace")
    TABLE_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_IDS_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    table_id: int
    chain_ids: _containers.RepeatedScalarFieldContainer[int]
    replace: bool
    def __init__(self, table_id: _Optional[int] = ..., chain_ids: _Optional[_Iterable[int]] = ..., replace: _Optional[bool] = ...) -> None: ...

class SetChainTableResponse(_message.Message):
    __slots__ = ("table",)
    TABLE_FIELD_NUMBER: _ClassVar[int]
    table: _common_pb2.ChainTable
    def __init__(self, table: _Optional[_Union[_common_pb2.ChainTable, _Mapping]] = ...) -> None: ...

class MoveChainRequest(_message.Message):
    __slots__ = ("chain_id", "from_target_id", "to_target_id", "cancel")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    TO_TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    from_target_id: int
    to_target_id: int
    cancel: bool
    def __init__(self, chain_id: _Optional[int] = ..., from_target_id: _Optional[int] = ..., to_target_id: _Optional[int] = ..., cancel: _Optional[bool] = ...) -> None: ...

class MoveChainResponse(_message.Message):
    __slots__ = ("migration",)
    MIGRATION_FIELD_NUMBER: _ClassVar[int]
    migration: ChainMigration
    def __init__(self, migration: _Optional[_Union[ChainMigration, _Mapping]] = ...) -> None: ...

class MoveChainsToNodeRequest(_message.Message):
    __slots__ = ("node_id", "chains_max")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    CHAINS_MAX_FIELD_NUMBER: _ClassVar[int]
    node_id: int
    chains_max: int
    def __init__(self, node_id: _Optional[int] = ..., chains_max: _Optional[int] = ...) -> None: ...

class MoveChainsToNodeResponse(_message.Message):
    __slots__ = ("migrations",)
    MIGRATIONS_FIELD_NUMBER: _ClassVar[int]
    migrations: _containers.RepeatedCompositeFieldContainer[ChainMigration]
    def __init__(self, migrations: _Optional[_Iterable[_Union[ChainMigration, _Mapping]]] = ...) -> None: ...

class SetConfigRequest(_message.Message):
    __slots__ = ("node_type", "content", "description")
    NODE_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    node_type: _common_pb2.NodeType
    content: str
    description: str
    def __init__(self, node_type: _Optional[_Union[_common_pb2.NodeType, str]] = ..., content: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class SetConfigResponse(_message.Message):
    __slots__ = ("config",)
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    config: ConfigInfo
    def __init__(self, config: _Optional[_Union[ConfigInfo, _Mapping]] = ...) -> None: ...

class GetConfigRequest(_message.Message):
    __slots__ = ("node_type",)
    NODE_TYPE_FIELD_NUMBER: _ClassVar[int]
    node_type: _common_pb2.NodeType
    def __init__(self, node_type: _Optional[_Union[_common_pb2.NodeType, str]] = ...) -> None: ...

class GetConfigResponse(_message.Message):
    __slots__ = ("config",)
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    config: ConfigInfo
    def __init__(self, config: _Optional[_Union[ConfigInfo, _Mapping]] = ...) -> None: ...
