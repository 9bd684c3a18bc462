"""Method ids of the framed RPC protocol: one numeric code per call.

Request and response message types are named after the method in
`proto/fs3/_proto/{meta,storage,rpc}.proto` (method `Stat` takes
`StatRequest` and returns `StatResponse`). Ids never change once shipped.
"""

import enum

__all__ = ["CommonMethod", "MetaMethod", "StorageMethod"]


class CommonMethod(enum.IntEnum):
    PING = 1
    AUTHENTICATE = 2  # answered by RpcServer itself: a connection's first call (rpc.proto)


class MetaMethod(enum.IntEnum):
    STAT = 100
    STAT_INODE = 101
    MKDIR = 102
    CREATE = 103
    OPEN = 104
    CLOSE = 105
    SET_LENGTH = 106
    READDIR = 107
    UNLINK = 108
    RMDIR = 109
    RENAME = 110
    SYMLINK = 111
    READLINK = 112
    LINK = 113
    SETATTR = 114
    MKNOD = 115
    SETXATTR = 116
    GETXATTR = 117
    LISTXATTR = 118
    REMOVEXATTR = 119
    STATFS = 120
    SET_LAYOUT = 121
    SET_FILE_LOCK = 122
    GET_FILE_LOCK = 123
    RELEASE_FILE_LOCKS = 124
    STOP_LOCK_WAIT = 125
    # 141-150: client liveness and trash
    CLIENT_HEARTBEAT = 141
    REMOVE_TREE_TO_TRASH = 142
    LIST_CLIENTS = 143  # admin only
    # 151-159: administrator inspection
    DUMP_INODES = 151
    CHECK_INODES = 152
    LIST_GC_QUEUE = 153
    FSCK = 154


class StorageMethod(enum.IntEnum):
    WRITE_CHUNK = 200
    READ_CHUNK = 201
    QUERY_CHUNK = 202
    QUERY_LAST_CHUNK = 203
    REMOVE_CHUNKS = 204
    TRUNCATE_CHUNK = 205
    DUMP_CHUNK_META = 206
    # 207-219: chunk removal (another change); 220-239: recovery
    SYNC_CHUNK = 220
    SYNC_DONE = 221
    # 230-239: target administration (admin only)
    CREATE_TARGET = 230
    REPLACE_TARGET = 231
