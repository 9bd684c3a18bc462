from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChunkId(_message.Message):
    __slots__ = ("inode_id", "chunk_index")
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNK_INDEX_FIELD_NUMBER: _ClassVar[int]
    inode_id: int
    chunk_index: int
    def __init__(self, inode_id: _Optional[int] = ..., chunk_index: _Optional[int] = ...) -> None: ...

class SharedBuffer(_message.Message):
    __slots__ = ("region_id", "offset")
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    region_id: int
    offset: int
    def __init__(self, region_id: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class WriteChunkRequest(_message.Message):
    __slots__ = ("chain_id", "chain_version", "chunk", "offset", "length", "chunk_size", "payload_crc32c", "full_chunk_replace", "target_id", "client_id", "request_seq", "from_predecessor", "update_version", "shared_buffer")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_CRC32C_FIELD_NUMBER: _ClassVar[int]
    FULL_CHUNK_REPLACE_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_SEQ_FIELD_NUMBER: _ClassVar[int]
    FROM_PREDECESSOR_FIELD_NUMBER: _ClassVar[int]
    UPDATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    SHARED_BUFFER_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    chain_version: int
    chunk: ChunkId
    offset: int
    length: int
    chunk_size: int
    payload_crc32c: int
    full_chunk_replace: bool
    target_id: int
    client_id: int
    request_seq: int
    from_predecessor: bool
    update_version: int
    shared_buffer: SharedBuffer
    def __init__(self, chain_id: _Optional[int] = ..., chain_version: _Optional[int] = ..., chunk: _Optional[_Union[ChunkId, _Mapping]] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ..., chunk_size: _Optional[int] = ..., payload_crc32c: _Optional[int] = ..., full_chunk_replace: _Optional[bool] = ..., target_id: _Optional[int] = ..., client_id: _Optional[int] = ..., request_seq: _Optional[int] = ..., from_predecessor: _Optional[bool] = ..., update_version: _Optional[int] = ..., shared_buffer: _Optional[_Union[SharedBuffer, _Mapping]] = ...) -> None: ...

class WriteChunkResponse(_message.Message):
    __slots__ = ("committed_version", "chunk_length", "chunk_crc32c")
    COMMITTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHUNK_LENGTH_FIELD_NUMBER: _ClassVar[int]
    CHUNK_CRC32C_FIELD_NUMBER: _ClassVar[int]
    committed_version: int
    chunk_length: int
    chunk_crc32c: int
    def __init__(self, committed_version: _Optional[int] = ..., chunk_length: _Optional[int] = ..., chunk_crc32c: _Optional[int] = ...) -> None: ...

class ReadChunkRequest(_message.Message):
    __slots__ = ("chain_id", "chain_version", "chunk", "offset", "length", "target_id", "relaxed", "shared_buffer")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    RELAXED_FIELD_NUMBER: _ClassVar[int]
    SHARED_BUFFER_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    chain_version: int
    chunk: ChunkId
    offset: int
    length: int
    target_id: int
    relaxed: bool
    shared_buffer: SharedBuffer
    def __init__(self, chain_id: _Optional[int] = ..., chain_version: _Optional[int] = ..., chunk: _Optional[_Union[ChunkId, _Mapping]] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ..., target_id: _Optional[int] = ..., relaxed: _Optional[bool] = ..., shared_buffer: _Optional[_Union[SharedBuffer, _Mapping]] = ...) -> None: ...

class ReadChunkResponse(_message.Message):
    __slots__ = ("length", "committed_version", "chunk_length", "chunk_exists")
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHUNK_LENGTH_FIELD_NUMBER: _ClassVar[int]
    CHUNK_EXISTS_FIELD_NUMBER: _ClassVar[int]
    length: int
    committed_version: int
    chunk_length: int
    chunk_exists: bool
    def __init__(self, length: _Optional[int] = ..., committed_version: _Optional[int] = ..., chunk_length: _Optional[int] = ..., chunk_exists: _Optional[bool] = ...) -> None: ...

class ChunkMeta(_message.Message):
    __slots__ = ("chunk", "committed_version", "pending_version", "chain_version", "length", "crc32c")
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    PENDING_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHAIN_VERSION_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    CRC32C_FIELD_NUMBER: _ClassVar[int]
    chunk: ChunkId
    committed_version: int
    pending_version: int
    chain_version: int
    length: int
    crc32c: int
    def __init__(self, chunk: _Optional[_Union[ChunkId, _Mapping]] = ..., committed_version: _Optional[int] = ..., pending_version: _Optional[int] = ..., chain_version: _Optional[int] = ..., length: _Optional[int] = ..., crc32c: _Optional[int] = ...) -> None: ...

class QueryChunkRequest(_message.Message):
    __slots__ = ("chain_id", "chunk", "target_id")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    chunk: ChunkId
    target_id: int
    def __init__(self, chain_id: _Optional[int] = ..., chunk: _Optional[_Union[ChunkId, _Mapping]] = ..., target_id: _Optional[int] = ...) -> None: ...

class QueryChunkResponse(_message.Message):
    __slots__ = ("exists", "meta")
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    exists: bool
    meta: ChunkMeta
    def __init__(self, exists: _Optional[bool] = ..., meta: _Optional[_Union[ChunkMeta, _Mapping]] = ...) -> None: ...

class QueryLastChunkRequest(_message.Message):
    __slots__ = ("chain_id", "inode_id", "target_id")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    inode_id: int
    target_id: int
    def __init__(self, chain_id: _Optional[int] = ..., inode_id: _Optional[int] = ..., target_id: _Optional[int] = ...) -> None: ...

class QueryLastChunkResponse(_message.Message):
    __slots__ = ("exists", "meta")
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    exists: bool
    meta: ChunkMeta
    def __init__(self, exists: _Optional[bool] = ..., meta: _Optional[_Union[ChunkMeta, _Mapping]] = ...) -> None: ...

class RemoveChunksRequest(_message.Message):
    __slots__ = ("chain_id", "chain_version", "inode_id", "first_chunk_index", "target_id", "from_predecessor")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_VERSION_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_CHUNK_INDEX_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_PREDECESSOR_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    chain_version: int
    inode_id: int
    first_chunk_index: int
    target_id: int
    from_predecessor: bool
    def __init__(self, chain_id: _Optional[int] = ..., chain_version: _Optional[int] = ..., inode_id: _Optional[int] = ..., first_chunk_index: _Optional[int] = ..., target_id: _Optional[int] = ..., from_predecessor: _Optional[bool] = ...) -> None: ...

class RemoveChunksResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: int
    def __init__(self, removed: _Optional[int] = ...) -> None: ...

class TruncateChunkRequest(_message.Message):
    __slots__ = ("chain_id", "chain_version", "chunk", "length", "target_id", "from_predecessor")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_PREDECESSOR_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    chain_version: int
    chunk: ChunkId
    length: int
    target_id: int
    from_predecessor: bool
    def __init__(self, chain_id: _Optional[int] = ..., chain_version: _Optional[int] = ..., chunk: _Optional[_Union[ChunkId, _Mapping]] = ..., length: _Optional[int] = ..., target_id: _Optional[int] = ..., from_predecessor: _Optional[bool] = ...) -> None: ...

class TruncateChunkResponse(_message.Message):
    __slots__ = ("committed_version",)
    COMMITTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    committed_version: int
    def __init__(self, committed_version: _Optional[int] = ...) -> None: ...

class DumpChunkMetaRequest(_message.Message):
    __slots__ = ("target_id", "after", "limit")
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    target_id: int
    after: ChunkId
    limit: int
    def __init__(self, target_id: _Optional[int] = ..., after: _Optional[_Union[ChunkId, _Mapping]] = ..., limit: _Optional[int] = ...) -> None: ...

class DumpChunkMetaResponse(_message.Message):
    __slots__ = ("chunks", "more")
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    chunks: _containers.RepeatedCompositeFieldContainer[ChunkMeta]
    more: bool
    def __init__(self, chunks: _Optional[_Iterable[_Union[ChunkMeta, _Mapping]]] = ..., more: _Optional[bool] = ...) -> None: ...

class SyncChunkRequest(_message.Message):
    __slots__ = ("chain_id", "chain_version", "target_id", "chunk", "remove", "committed_version", "length", "payload_crc32c")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_VERSION_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_CRC32C_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    chain_version: int
    target_id: int
    chunk: ChunkId
    remove: bool
    committed_version: int
    length: int
    payload_crc32c: int
    def __init__(self, chain_id: _Optional[int] = ..., chain_version: _Optional[int] = ..., target_id: _Optional[int] = ..., chunk: _Optional[_Union[ChunkId, _Mapping]] = ..., remove: _Optional[bool] = ..., committed_version: _Optional[int] = ..., length: _Optional[int] = ..., payload_crc32c: _Optional[int] = ...) -> None: ...

class SyncChunkResponse(_message.Message):
    __slots__ = ("committed_version",)
    COMMITTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    committed_version: int
    def __init__(self, committed_version: _Optional[int] = ...) -> None: ...

class SyncDoneRequest(_message.Message):
    __slots__ = ("chain_id", "chain_version", "target_id")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_VERSION_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    chain_version: int
    target_id: int
    def __init__(self, chain_id: _Optional[int] = ..., chain_version: _Optional[int] = ..., target_id: _Optional[int] = ...) -> None: ...

class SyncDoneResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateTargetRequest(_message.Message):
    __slots__ = ("target_id", "disk")
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    DISK_FIELD_NUMBER: _ClassVar[int]
    target_id: int
    disk: str
    def __init__(self, target_id: _Optional[int] = ..., disk: _Optional[str] = ...) -> None: ...

class CreateTargetResponse(_message.Message):
    __slots__ = ("target_id", "path")
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    target_id: int
    path: str
    def __init__(self, target_id: _Optional[int] = ..., path: _Optional[str] = ...) -> None: ...

class ReplaceTargetRequest(_message.Message):
    __slots__ = ("target_id",)
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    target_id: int
    def __init__(self, target_id: _Optional[int] = ...) -> None: ...

class ReplaceTargetResponse(_message.Message):
    __slots__ = ("target_id", "path")
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    target_id: int
    path: str
    def __init__(self, target_id: _Optional[int] = ..., path: _Optional[str] = ...) -> None: ...
