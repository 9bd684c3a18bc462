"""fs3.meta: the metadata service - file system semantics on a transactional KV store.

Layering, bottom up: `types` (dataclasses matching meta.proto), `store`
(key schema, encodings, path resolution), `ops` (one operation each),
`components` (inode id allocator), `operator` (validate, transaction,
retry, deadline). Nothing here imports protobuf or grpc; a service module
translates wire messages to these calls.
"""

from fs3.meta.clock import Clock, FixedClock, WallClock
from fs3.meta.config import DEFAULT_LAYOUT, MetaConfig
from fs3.meta.format import format_namespace
from fs3.meta.operator import MetaOperator
from fs3.meta.types import (
    ROOT_INODE_ID,
    DirEntry,
    Inode,
    InodeType,
    Layout,
    OpenResult,
    PathAt,
    ReaddirResult,
    UserInfo,
    SetAttributes,
    SetattrResult,
    ChunkTrim,
    Capacity,
    StatfsResult,
)

__all__ = [
    "Clock",
    "FixedClock",
    "WallClock",
    "DEFAULT_LAYOUT",
    "MetaConfig",
    "format_namespace",
    "MetaOperator",
    "ROOT_INODE_ID",
    "DirEntry",
    "Inode",
    "InodeType",
    "Layout",
    "OpenResult",
    "PathAt",
    "ReaddirResult",
    "UserInfo",
    "SetAttributes",
    "SetattrResult",
    "ChunkTrim",
    "Capacity",
    "StatfsResult",
]
