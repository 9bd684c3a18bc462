from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NodeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NODE_TYPE_UNSPECIFIED: _ClassVar[NodeType]
    NODE_TYPE_MGMTD: _ClassVar[NodeType]
    NODE_TYPE_META: _ClassVar[NodeType]
    NODE_TYPE_STORAGE: _ClassVar[NodeType]
    NODE_TYPE_CLIENT: _ClassVar[NodeType]

class PublicTargetState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PUBLIC_STATE_UNSPECIFIED: _ClassVar[PublicTargetState]
    PUBLIC_STATE_SERVING: _ClassVar[PublicTargetState]
    PUBLIC_STATE_SYNCING: _ClassVar[PublicTargetState]
    PUBLIC_STATE_WAITING: _ClassVar[PublicTargetState]
    PUBLIC_STATE_LASTSRV: _ClassVar[PublicTargetState]
    PUBLIC_STATE_OFFLINE: _ClassVar[PublicTargetState]

class LocalTargetState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOCAL_STATE_UNSPECIFIED: _ClassVar[LocalTargetState]
    LOCAL_STATE_UP_TO_DATE: _ClassVar[LocalTargetState]
    LOCAL_STATE_ONLINE: _ClassVar[LocalTargetState]
    LOCAL_STATE_OFFLINE: _ClassVar[LocalTargetState]
NODE_TYPE_UNSPECIFIED: NodeType
NODE_TYPE_MGMTD: NodeType
NODE_TYPE_META: NodeType
NODE_TYPE_STORAGE: NodeType
NODE_TYPE_CLIENT: NodeType
PUBLIC_STATE_UNSPECIFIED: PublicTargetState
PUBLIC_STATE_SERVING: PublicTargetState
PUBLIC_STATE_SYNCING: PublicTargetState
PUBLIC_STATE_WAITING: PublicTargetState
PUBLIC_STATE_LASTSRV: PublicTargetState
PUBLIC_STATE_OFFLINE: PublicTargetState
LOCAL_STATE_UNSPECIFIED: LocalTargetState
LOCAL_STATE_UP_TO_DATE: LocalTargetState
LOCAL_STATE_ONLINE: LocalTargetState
LOCAL_STATE_OFFLINE: LocalTargetState

class NodeInfo(_message.Message):
    __slots__ = ("node_id", "node_type", "host", "port", "hostname", "pid", "last_heartbeat_ms", "alive", "start_time_ms", "metrics_port", "config_version", "shared_memory_socket")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_TYPE_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_MS_FIELD_NUMBER: _ClassVar[int]
    ALIVE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    METRICS_PORT_FIELD_NUMBER: _ClassVar[int]
    CONFIG_VERSION_FIELD_NUMBER: _ClassVar[int]
    SHARED_MEMORY_SOCKET_FIELD_NUMBER: _ClassVar[int]
    node_id: int
    node_type: NodeType
    host: str
    port: int
    hostname: str
    pid: int
    last_heartbeat_ms: int
    alive: bool
    start_time_ms: int
    metrics_port: int
    config_version: int
    shared_memory_socket: str
    def __init__(self, node_id: _Optional[int] = ..., node_type: _Optional[_Union[NodeType, str]] = ..., host: _Optional[str] = ..., port: _Optional[int] = ..., hostname: _Optional[str] = ..., pid: _Optional[int] = ..., last_heartbeat_ms: _Optional[int] = ..., alive: _Optional[bool] = ..., start_time_ms: _Optional[int] = ..., metrics_port: _Optional[int] = ..., config_version: _Optional[int] = ..., shared_memory_socket: _Optional[str] = ...) -> None: ...

class TargetInfo(_message.Message):
    __slots__ = ("target_id", "node_id", "path", "public_state", "local_state", "chain_id", "used_bytes", "capacity_bytes", "chunk_count", "admin_offline")
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_STATE_FIELD_NUMBER: _ClassVar[int]
    LOCAL_STATE_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHUNK_COUNT_FIELD_NUMBER: _ClassVar[int]
    ADMIN_OFFLINE_FIELD_NUMBER: _ClassVar[int]
    target_id: int
    node_id: int
    path: str
    public_state: PublicTargetState
    local_state: LocalTargetState
    chain_id: int
    used_bytes: int
    capacity_bytes: int
    chunk_count: int
    admin_offline: bool
    def __init__(self, target_id: _Optional[int] = ..., node_id: _Optional[int] = ..., path: _Optional[str] = ..., public_state: _Optional[_Union[PublicTargetState, str]] = ..., local_state: _Optional[_Union[LocalTargetState, str]] = ..., chain_id: _Optional[int] = ..., used_bytes: _Optional[int] = ..., capacity_bytes: _Optional[int] = ..., chunk_count: _Optional[int] = ..., admin_offline: _Optional[bool] = ...) -> None: ...

class ChainInfo(_message.Message):
    __slots__ = ("chain_id", "chain_version", "target_ids")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_VERSION_FIELD_NUMBER: _ClassVar[int]
    TARGET_IDS_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    chain_version: int
    target_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, chain_id: _Optional[int] = ..., chain_version: _Optional[int] = ..., target_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class ChainTable(_message.Message):
    __slots__ = ("table_id", "table_version", "chain_ids")
    TABLE_ID_FIELD_NUMBER: _ClassVar[int]
    TABLE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHAIN_IDS_FIELD_NUMBER: _ClassVar[int]
    table_id: int
    table_version: int
    chain_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, table_id: _Optional[int] = ..., table_version: _Optional[int] = ..., chain_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class RoutingInfo(_message.Message):
    __slots__ = ("routing_version", "nodes", "targets", "chains", "chain_tables")
    ROUTING_VERSION_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    CHAINS_FIELD_NUMBER: _ClassVar[int]
    CHAIN_TABLES_FIELD_NUMBER: _ClassVar[int]
    routing_version: int
    nodes: _containers.RepeatedCompositeFieldContainer[NodeInfo]
    targets: _containers.RepeatedCompositeFieldContainer[TargetInfo]
    chains: _containers.RepeatedCompositeFieldContainer[ChainInfo]
    chain_tables: _containers.RepeatedCompositeFieldContainer[ChainTable]
    def __init__(self, routing_version: _Optional[int] = ..., nodes: _Optional[_Iterable[_Union[NodeInfo, _Mapping]]] = ..., targets: _Optional[_Iterable[_Union[TargetInfo, _Mapping]]] = ..., chains: _Optional[_Iterable[_Union[ChainInfo, _Mapping]]] = ..., chain_tables: _Optional[_Iterable[_Union[ChainTable, _Mapping]]] = ...) -> None: ...

class Layout(_message.Message):
    __slots__ = ("chain_table_id", "chain_table_version", "chunk_size", "stripe_size", "first_chain_index", "shuffle_seed")
    CHAIN_TABLE_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_TABLE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    STRIPE_SIZE_FIELD_NUMBER: _ClassVar[int]
    FIRST_CHAIN_INDEX_FIELD_NUMBER: _ClassVar[int]
    SHUFFLE_SEED_FIELD_NUMBER: _ClassVar[int]
    chain_table_id: int
    chain_table_version: int
    chunk_size: int
    stripe_size: int
    first_chain_index: int
    shuffle_seed: int
    def __init__(self, chain_table_id: _Optional[int] = ..., chain_table_version: _Optional[int] = ..., chunk_size: _Optional[int] = ..., stripe_size: _Optional[int] = ..., first_chain_index: _Optional[int] = ..., shuffle_seed: _Optional[int] = ...) -> None: ...

class UserInfo(_message.Message):
    __slots__ = ("uid", "gid", "groups", "token")
    UID_FIELD_NUMBER: _ClassVar[int]
    GID_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    uid: int
    gid: int
    groups: _containers.RepeatedScalarFieldContainer[int]
    token: str
    def __init__(self, uid: _Optional[int] = ..., gid: _Optional[int] = ..., groups: _Optional[_Iterable[int]] = ..., token: _Optional[str] = ...) -> None: ...

class RpcError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...
