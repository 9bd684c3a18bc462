from fs3._proto import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InodeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INODE_TYPE_UNSPECIFIED: _ClassVar[InodeType]
    INODE_TYPE_FILE: _ClassVar[InodeType]
    INODE_TYPE_DIRECTORY: _ClassVar[InodeType]
    INODE_TYPE_SYMLINK: _ClassVar[InodeType]
    INODE_TYPE_FIFO: _ClassVar[InodeType]
    INODE_TYPE_CHAR_DEVICE: _ClassVar[InodeType]
    INODE_TYPE_BLOCK_DEVICE: _ClassVar[InodeType]
    INODE_TYPE_SOCKET: _ClassVar[InodeType]

class InodeState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INODE_MISSING: _ClassVar[InodeState]
    INODE_LIVE: _ClassVar[InodeState]
    INODE_GC_QUEUED: _ClassVar[InodeState]

class LockKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOCK_KIND_UNSPECIFIED: _ClassVar[LockKind]
    LOCK_POSIX: _ClassVar[LockKind]
    LOCK_FLOCK: _ClassVar[LockKind]
INODE_TYPE_UNSPECIFIED: InodeType
INODE_TYPE_FILE: InodeType
INODE_TYPE_DIRECTORY: InodeType
INODE_TYPE_SYMLINK: InodeType
INODE_TYPE_FIFO: InodeType
INODE_TYPE_CHAR_DEVICE: InodeType
INODE_TYPE_BLOCK_DEVICE: InodeType
INODE_TYPE_SOCKET: InodeType
INODE_MISSING: InodeState
INODE_LIVE: InodeState
INODE_GC_QUEUED: InodeState
LOCK_KIND_UNSPECIFIED: LockKind
LOCK_POSIX: LockKind
LOCK_FLOCK: LockKind

class PathAt(_message.Message):
    __slots__ = ("parent", "path")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    parent: int
    path: bytes
    def __init__(self, parent: _Optional[int] = ..., path: _Optional[bytes] = ...) -> None: ...

class Inode(_message.Message):
    __slots__ = ("inode_id", "inode_type", "mode", "uid", "gid", "nlink", "length", "atime_ns", "mtime_ns", "ctime_ns", "layout", "symlink_target", "parent", "rdev")
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    INODE_TYPE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    GID_FIELD_NUMBER: _ClassVar[int]
    NLINK_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    ATIME_NS_FIELD_NUMBER: _ClassVar[int]
    MTIME_NS_FIELD_NUMBER: _ClassVar[int]
    CTIME_NS_FIELD_NUMBER: _ClassVar[int]
    LAYOUT_FIELD_NUMBER: _ClassVar[int]
    SYMLINK_TARGET_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    RDEV_FIELD_NUMBER: _ClassVar[int]
    inode_id: int
    inode_type: InodeType
    mode: int
    uid: int
    gid: int
    nlink: int
    length: int
    atime_ns: int
    mtime_ns: int
    ctime_ns: int
    layout: _common_pb2.Layout
    symlink_target: bytes
    parent: int
    rdev: int
    def __init__(self, inode_id: _Optional[int] = ..., inode_type: _Optional[_Union[InodeType, str]] = ..., mode: _Optional[int] = ..., uid: _Optional[int] = ..., gid: _Optional[int] = ..., nlink: _Optional[int] = ..., length: _Optional[int] = ..., atime_ns: _Optional[int] = ..., mtime_ns: _Optional[int] = ..., ctime_ns: _Optional[int] = ..., layout: _Optional[_Union[_common_pb2.Layout, _Mapping]] = ..., symlink_target: _Optional[bytes] = ..., parent: _Optional[int] = ..., rdev: _Optional[int] = ...) -> None: ...

class DirEntry(_message.Message):
    __slots__ = ("name", "inode_id", "inode_type")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    INODE_TYPE_FIELD_NUMBER: _ClassVar[int]
    name: bytes
    inode_id: int
    inode_type: InodeType
    def __init__(self, name: _Optional[bytes] = ..., inode_id: _Optional[int] = ..., inode_type: _Optional[_Union[InodeType, str]] = ...) -> None: ...

class StatRequest(_message.Message):
    __slots__ = ("user", "path", "follow_last_symlink")
    USER_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_LAST_SYMLINK_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    path: PathAt
    follow_last_symlink: bool
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., path: _Optional[_Union[PathAt, _Mapping]] = ..., follow_last_symlink: _Optional[bool] = ...) -> None: ...

class StatResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class StatInodeRequest(_message.Message):
    __slots__ = ("user", "inode_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    inode_id: int
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., inode_id: _Optional[int] = ...) -> None: ...

class StatInodeResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class MkdirRequest(_message.Message):
    __slots__ = ("user", "path", "mode", "recursive", "client_id", "request_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    RECURSIVE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    path: PathAt
    mode: int
    recursive: bool
    client_id: int
    request_id: bytes
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., path: _Optional[_Union[PathAt, _Mapping]] = ..., mode: _Optional[int] = ..., recursive: _Optional[bool] = ..., client_id: _Optional[int] = ..., request_id: _Optional[bytes] = ...) -> None: ...

class MkdirResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class CreateRequest(_message.Message):
    __slots__ = ("user", "path", "mode", "flags", "client_id", "request_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    path: PathAt
    mode: int
    flags: int
    client_id: int
    request_id: bytes
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., path: _Optional[_Union[PathAt, _Mapping]] = ..., mode: _Optional[int] = ..., flags: _Optional[int] = ..., client_id: _Optional[int] = ..., request_id: _Optional[bytes] = ...) -> None: ...

class CreateResponse(_message.Message):
    __slots__ = ("inode", "session_id")
    INODE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    session_id: int
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ..., session_id: _Optional[int] = ...) -> None: ...

class OpenRequest(_message.Message):
    __slots__ = ("user", "path", "flags", "client_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    path: PathAt
    flags: int
    client_id: int
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., path: _Optional[_Union[PathAt, _Mapping]] = ..., flags: _Optional[int] = ..., client_id: _Optional[int] = ...) -> None: ...

class OpenResponse(_message.Message):
    __slots__ = ("inode", "session_id")
    INODE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    session_id: int
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ..., session_id: _Optional[int] = ...) -> None: ...

class CloseRequest(_message.Message):
    __slots__ = ("user", "inode_id", "client_id", "session_id", "wrote", "length_hint")
    USER_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    WROTE_FIELD_NUMBER: _ClassVar[int]
    LENGTH_HINT_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    inode_id: int
    client_id: int
    session_id: int
    wrote: bool
    length_hint: int
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., inode_id: _Optional[int] = ..., client_id: _Optional[int] = ..., session_id: _Optional[int] = ..., wrote: _Optional[bool] = ..., length_hint: _Optional[int] = ...) -> None: ...

class CloseResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class SetLengthRequest(_message.Message):
    __slots__ = ("user", "inode_id", "length", "only_grow", "settle")
    USER_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    ONLY_GROW_FIELD_NUMBER: _ClassVar[int]
    SETTLE_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    inode_id: int
    length: int
    only_grow: bool
    settle: bool
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., inode_id: _Optional[int] = ..., length: _Optional[int] = ..., only_grow: _Optional[bool] = ..., settle: _Optional[bool] = ...) -> None: ...

class SetLengthResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class ReaddirRequest(_message.Message):
    __slots__ = ("user", "path", "after_name", "limit", "with_inodes", "inode_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    AFTER_NAME_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    WITH_INODES_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    path: PathAt
    after_name: bytes
    limit: int
    with_inodes: bool
    inode_id: int
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., path: _Optional[_Union[PathAt, _Mapping]] = ..., after_name: _Optional[bytes] = ..., limit: _Optional[int] = ..., with_inodes: _Optional[bool] = ..., inode_id: _Optional[int] = ...) -> None: ...

class ReaddirResponse(_message.Message):
    __slots__ = ("entries", "inodes", "more")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    INODES_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[DirEntry]
    inodes: _containers.RepeatedCompositeFieldContainer[Inode]
    more: bool
    def __init__(self, entries: _Optional[_Iterable[_Union[DirEntry, _Mapping]]] = ..., inodes: _Optional[_Iterable[_Union[Inode, _Mapping]]] = ..., more: _Optional[bool] = ...) -> None: ...

class UnlinkRequest(_message.Message):
    __slots__ = ("user", "path", "client_id", "request_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    path: PathAt
    client_id: int
    request_id: bytes
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., path: _Optional[_Union[PathAt, _Mapping]] = ..., client_id: _Optional[int] = ..., request_id: _Optional[bytes] = ...) -> None: ...

class UnlinkResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RmdirRequest(_message.Message):
    __slots__ = ("user", "path", "client_id", "request_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    path: PathAt
    client_id: int
    request_id: bytes
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., path: _Optional[_Union[PathAt, _Mapping]] = ..., client_id: _Optional[int] = ..., request_id: _Optional[bytes] = ...) -> None: ...

class RmdirResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RenameRequest(_message.Message):
    __slots__ = ("user", "src", "dst", "flags", "client_id", "request_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    SRC_FIELD_NUMBER: _ClassVar[int]
    DST_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    src: PathAt
    dst: PathAt
    flags: int
    client_id: int
    request_id: bytes
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., src: _Optional[_Union[PathAt, _Mapping]] = ..., dst: _Optional[_Union[PathAt, _Mapping]] = ..., flags: _Optional[int] = ..., client_id: _Optional[int] = ..., request_id: _Optional[bytes] = ...) -> None: ...

class RenameResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class SymlinkRequest(_message.Message):
    __slots__ = ("user", "path", "target", "client_id", "request_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    path: PathAt
    target: bytes
    client_id: int
    request_id: bytes
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., path: _Optional[_Union[PathAt, _Mapping]] = ..., target: _Optional[bytes] = ..., client_id: _Optional[int] = ..., request_id: _Optional[bytes] = ...) -> None: ...

class SymlinkResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class ReadlinkRequest(_message.Message):
    __slots__ = ("user", "path")
    USER_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    path: PathAt
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., path: _Optional[_Union[PathAt, _Mapping]] = ...) -> None: ...

class ReadlinkResponse(_message.Message):
    __slots__ = ("target",)
    TARGET_FIELD_NUMBER: _ClassVar[int]
    target: bytes
    def __init__(self, target: _Optional[bytes] = ...) -> None: ...

class LinkRequest(_message.Message):
    __slots__ = ("user", "old_path", "new_path", "client_id", "request_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    OLD_PATH_FIELD_NUMBER: _ClassVar[int]
    NEW_PATH_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    old_path: PathAt
    new_path: PathAt
    client_id: int
    request_id: bytes
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., old_path: _Optional[_Union[PathAt, _Mapping]] = ..., new_path: _Optional[_Union[PathAt, _Mapping]] = ..., client_id: _Optional[int] = ..., request_id: _Optional[bytes] = ...) -> None: ...

class LinkResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class SetattrRequest(_message.Message):
    __slots__ = ("user", "path", "inode_id", "follow_last_symlink", "mode", "uid", "gid", "length", "atime_ns", "mtime_ns", "atime_now", "mtime_now")
    USER_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_LAST_SYMLINK_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    GID_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    ATIME_NS_FIELD_NUMBER: _ClassVar[int]
    MTIME_NS_FIELD_NUMBER: _ClassVar[int]
    ATIME_NOW_FIELD_NUMBER: _ClassVar[int]
    MTIME_NOW_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    path: PathAt
    inode_id: int
    follow_last_symlink: bool
    mode: int
    uid: int
    gid: int
    length: int
    atime_ns: int
    mtime_ns: int
    atime_now: bool
    mtime_now: bool
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., path: _Optional[_Union[PathAt, _Mapping]] = ..., inode_id: _Optional[int] = ..., follow_last_symlink: _Optional[bool] = ..., mode: _Optional[int] = ..., uid: _Optional[int] = ..., gid: _Optional[int] = ..., length: _Optional[int] = ..., atime_ns: _Optional[int] = ..., mtime_ns: _Optional[int] = ..., atime_now: _Optional[bool] = ..., mtime_now: _Optional[bool] = ...) -> None: ...

class SetattrResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class MknodRequest(_message.Message):
    __slots__ = ("user", "path", "mode", "rdev")
    USER_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    RDEV_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    path: PathAt
    mode: int
    rdev: int
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., path: _Optional[_Union[PathAt, _Mapping]] = ..., mode: _Optional[int] = ..., rdev: _Optional[int] = ...) -> None: ...

class MknodResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class SetxattrRequest(_message.Message):
    __slots__ = ("user", "path", "inode_id", "follow_last_symlink", "name", "value", "flags", "client_id", "request_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_LAST_SYMLINK_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    path: PathAt
    inode_id: int
    follow_last_symlink: bool
    name: bytes
    value: bytes
    flags: int
    client_id: int
    request_id: bytes
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., path: _Optional[_Union[PathAt, _Mapping]] = ..., inode_id: _Optional[int] = ..., follow_last_symlink: _Optional[bool] = ..., name: _Optional[bytes] = ..., value: _Optional[bytes] = ..., flags: _Optional[int] = ..., client_id: _Optional[int] = ..., request_id: _Optional[bytes] = ...) -> None: ...

class SetxattrResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class GetxattrRequest(_message.Message):
    __slots__ = ("user", "path", "inode_id", "follow_last_symlink", "name")
    USER_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_LAST_SYMLINK_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    path: PathAt
    inode_id: int
    follow_last_symlink: bool
    name: bytes
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., path: _Optional[_Union[PathAt, _Mapping]] = ..., inode_id: _Optional[int] = ..., follow_last_symlink: _Optional[bool] = ..., name: _Optional[bytes] = ...) -> None: ...

class GetxattrResponse(_message.Message):
    __slots__ = ("value",)
    VALUE_FIELD_NUMBER: _ClassVar[int]
    value: bytes
    def __init__(self, value: _Optional[bytes] = ...) -> None: ...

class ListxattrRequest(_message.Message):
    __slots__ = ("user", "path", "inode_id", "follow_last_symlink")
    USER_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_LAST_SYMLINK_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    path: PathAt
    inode_id: int
    follow_last_symlink: bool
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., path: _Optional[_Union[PathAt, _Mapping]] = ..., inode_id: _Optional[int] = ..., follow_last_symlink: _Optional[bool] = ...) -> None: ...

class ListxattrResponse(_message.Message):
    __slots__ = ("names",)
    NAMES_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, names: _Optional[_Iterable[bytes]] = ...) -> None: ...

class RemovexattrRequest(_message.Message):
    __slots__ = ("user", "path", "inode_id", "follow_last_symlink", "name", "client_id", "request_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_LAST_SYMLINK_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    path: PathAt
    inode_id: int
    follow_last_symlink: bool
    name: bytes
    client_id: int
    request_id: bytes
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., path: _Optional[_Union[PathAt, _Mapping]] = ..., inode_id: _Optional[int] = ..., follow_last_symlink: _Optional[bool] = ..., name: _Optional[bytes] = ..., client_id: _Optional[int] = ..., request_id: _Optional[bytes] = ...) -> None: ...

class RemovexattrResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class StatfsRequest(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ...) -> None: ...

class StatfsResponse(_message.Message):
    __slots__ = ("total_bytes", "free_bytes", "total_files", "free_files", "name_bytes_max")
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    FREE_BYTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FILES_FIELD_NUMBER: _ClassVar[int]
    FREE_FILES_FIELD_NUMBER: _ClassVar[int]
    NAME_BYTES_MAX_FIELD_NUMBER: _ClassVar[int]
    total_bytes: int
    free_bytes: int
    total_files: int
    free_files: int
    name_bytes_max: int
    def __init__(self, total_bytes: _Optional[int] = ..., free_bytes: _Optional[int] = ..., total_files: _Optional[int] = ..., free_files: _Optional[int] = ..., name_bytes_max: _Optional[int] = ...) -> None: ...

class SetLayoutRequest(_message.Message):
    __slots__ = ("user", "path", "inode_id", "chain_table_id", "chunk_size", "stripe_size", "chain_table_version")
    USER_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_TABLE_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    STRIPE_SIZE_FIELD_NUMBER: _ClassVar[int]
    CHAIN_TABLE_VERSION_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    path: PathAt
    inode_id: int
    chain_table_id: int
    chunk_size: int
    stripe_size: int
    chain_table_version: int
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., path: _Optional[_Union[PathAt, _Mapping]] = ..., inode_id: _Optional[int] = ..., chain_table_id: _Optional[int] = ..., chunk_size: _Optional[int] = ..., stripe_size: _Optional[int] = ..., chain_table_version: _Optional[int] = ...) -> None: ...

class SetLayoutResponse(_message.Message):
    __slots__ = ("inode",)
    INODE_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ...) -> None: ...

class ClientHeartbeatRequest(_message.Message):
    __slots__ = ("user", "client_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    client_id: int
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., client_id: _Optional[int] = ...) -> None: ...

class ClientHeartbeatResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RemoveTreeToTrashRequest(_message.Message):
    __slots__ = ("user", "path", "expire_s")
    USER_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_S_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    path: PathAt
    expire_s: float
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., path: _Optional[_Union[PathAt, _Mapping]] = ..., expire_s: _Optional[float] = ...) -> None: ...

class RemoveTreeToTrashResponse(_message.Message):
    __slots__ = ("inode", "trash_path", "expire_at_ns")
    INODE_FIELD_NUMBER: _ClassVar[int]
    TRASH_PATH_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_AT_NS_FIELD_NUMBER: _ClassVar[int]
    inode: Inode
    trash_path: bytes
    expire_at_ns: int
    def __init__(self, inode: _Optional[_Union[Inode, _Mapping]] = ..., trash_path: _Optional[bytes] = ..., expire_at_ns: _Optional[int] = ...) -> None: ...

class ListClientsRequest(_message.Message):
    __slots__ = ("user", "limit")
    USER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    limit: int
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., limit: _Optional[int] = ...) -> None: ...

class ClientSession(_message.Message):
    __slots__ = ("client_id", "last_seen_ns", "write_sessions")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_NS_FIELD_NUMBER: _ClassVar[int]
    WRITE_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    client_id: int
    last_seen_ns: int
    write_sessions: int
    def __init__(self, client_id: _Optional[int] = ..., last_seen_ns: _Optional[int] = ..., write_sessions: _Optional[int] = ...) -> None: ...

class ListClientsResponse(_message.Message):
    __slots__ = ("clients", "truncated")
    CLIENTS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    clients: _containers.RepeatedCompositeFieldContainer[ClientSession]
    truncated: bool
    def __init__(self, clients: _Optional[_Iterable[_Union[ClientSession, _Mapping]]] = ..., truncated: _Optional[bool] = ...) -> None: ...

class DumpInodesRequest(_message.Message):
    __slots__ = ("user", "after_inode_id", "limit")
    USER_FIELD_NUMBER: _ClassVar[int]
    AFTER_INODE_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    after_inode_id: int
    limit: int
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., after_inode_id: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class DumpInodesResponse(_message.Message):
    __slots__ = ("inodes", "more")
    INODES_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    inodes: _containers.RepeatedCompositeFieldContainer[Inode]
    more: bool
    def __init__(self, inodes: _Optional[_Iterable[_Union[Inode, _Mapping]]] = ..., more: _Optional[bool] = ...) -> None: ...

class CheckInodesRequest(_message.Message):
    __slots__ = ("user", "inode_ids")
    USER_FIELD_NUMBER: _ClassVar[int]
    INODE_IDS_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    inode_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., inode_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class CheckInodesResponse(_message.Message):
    __slots__ = ("states",)
    STATES_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedScalarFieldContainer[InodeState]
    def __init__(self, states: _Optional[_Iterable[_Union[InodeState, str]]] = ...) -> None: ...

class GcQueueEntry(_message.Message):
    __slots__ = ("inode_id", "length", "layout", "removed_at_ns", "claim_owner", "claim_until_ns")
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    LAYOUT_FIELD_NUMBER: _ClassVar[int]
    REMOVED_AT_NS_FIELD_NUMBER: _ClassVar[int]
    CLAIM_OWNER_FIELD_NUMBER: _ClassVar[int]
    CLAIM_UNTIL_NS_FIELD_NUMBER: _ClassVar[int]
    inode_id: int
    length: int
    layout: _common_pb2.Layout
    removed_at_ns: int
    claim_owner: int
    claim_until_ns: int
    def __init__(self, inode_id: _Optional[int] = ..., length: _Optional[int] = ..., layout: _Optional[_Union[_common_pb2.Layout, _Mapping]] = ..., removed_at_ns: _Optional[int] = ..., claim_owner: _Optional[int] = ..., claim_until_ns: _Optional[int] = ...) -> None: ...

class ListGcQueueRequest(_message.Message):
    __slots__ = ("user", "after_inode_id", "limit")
    USER_FIELD_NUMBER: _ClassVar[int]
    AFTER_INODE_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    after_inode_id: int
    limit: int
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., after_inode_id: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ListGcQueueResponse(_message.Message):
    __slots__ = ("entries", "more")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[GcQueueEntry]
    more: bool
    def __init__(self, entries: _Optional[_Iterable[_Union[GcQueueEntry, _Mapping]]] = ..., more: _Optional[bool] = ...) -> None: ...

class FsckProblem(_message.Message):
    __slots__ = ("kind", "inode_id", "detail")
    KIND_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    kind: str
    inode_id: int
    detail: str
    def __init__(self, kind: _Optional[str] = ..., inode_id: _Optional[int] = ..., detail: _Optional[str] = ...) -> None: ...

class FsckRequest(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ...) -> None: ...

class FsckResponse(_message.Message):
    __slots__ = ("inodes", "directories", "files", "symlinks", "entries", "gc_queued", "sessions", "problems", "problems_omitted", "unlinked_open")
    INODES_FIELD_NUMBER: _ClassVar[int]
    DIRECTORIES_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    SYMLINKS_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    GC_QUEUED_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_OMITTED_FIELD_NUMBER: _ClassVar[int]
    UNLINKED_OPEN_FIELD_NUMBER: _ClassVar[int]
    inodes: int
    directories: int
    files: int
    symlinks: int
    entries: int
    gc_queued: int
    sessions: int
    problems: _containers.RepeatedCompositeFieldContainer[FsckProblem]
    problems_omitted: int
    unlinked_open: int
    def __init__(self, inodes: _Optional[int] = ..., directories: _Optional[int] = ..., files: _Optional[int] = ..., symlinks: _Optional[int] = ..., entries: _Optional[int] = ..., gc_queued: _Optional[int] = ..., sessions: _Optional[int] = ..., problems: _Optional[_Iterable[_Union[FsckProblem, _Mapping]]] = ..., problems_omitted: _Optional[int] = ..., unlinked_open: _Optional[int] = ...) -> None: ...

class FileLockSpec(_message.Message):
    __slots__ = ("inode_id", "kind", "client_id", "owner", "lock_type", "start", "end", "pid")
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    LOCK_TYPE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    inode_id: int
    kind: LockKind
    client_id: int
    owner: int
    lock_type: int
    start: int
    end: int
    pid: int
    def __init__(self, inode_id: _Optional[int] = ..., kind: _Optional[_Union[LockKind, str]] = ..., client_id: _Optional[int] = ..., owner: _Optional[int] = ..., lock_type: _Optional[int] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., pid: _Optional[int] = ...) -> None: ...

class SetFileLockRequest(_message.Message):
    __slots__ = ("user", "lock", "wait")
    USER_FIELD_NUMBER: _ClassVar[int]
    LOCK_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    lock: FileLockSpec
    wait: bool
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., lock: _Optional[_Union[FileLockSpec, _Mapping]] = ..., wait: _Optional[bool] = ...) -> None: ...

class SetFileLockResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetFileLockRequest(_message.Message):
    __slots__ = ("user", "lock")
    USER_FIELD_NUMBER: _ClassVar[int]
    LOCK_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    lock: FileLockSpec
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., lock: _Optional[_Union[FileLockSpec, _Mapping]] = ...) -> None: ...

class GetFileLockResponse(_message.Message):
    __slots__ = ("blocked", "holder")
    BLOCKED_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    blocked: bool
    holder: FileLockSpec
    def __init__(self, blocked: _Optional[bool] = ..., holder: _Optional[_Union[FileLockSpec, _Mapping]] = ...) -> None: ...

class ReleaseFileLocksRequest(_message.Message):
    __slots__ = ("user", "inode_id", "kind", "client_id", "owner")
    USER_FIELD_NUMBER: _ClassVar[int]
    INODE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    inode_id: int
    kind: LockKind
    client_id: int
    owner: int
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., inode_id: _Optional[int] = ..., kind: _Optional[_Union[LockKind, str]] = ..., client_id: _Optional[int] = ..., owner: _Optional[int] = ...) -> None: ...

class ReleaseFileLocksResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StopLockWaitRequest(_message.Message):
    __slots__ = ("user", "client_id", "owner")
    USER_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserInfo
    client_id: int
    owner: int
    def __init__(self, user: _Optional[_Union[_common_pb2.UserInfo, _Mapping]] = ..., client_id: _Optional[int] = ..., owner: _Optional[int] = ...) -> None: ...

class StopLockWaitResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
