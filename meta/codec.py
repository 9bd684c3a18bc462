"""Metadata wire messages <-> metadata core dataclasses."""

from __future__ import annotations

from fs3._proto import common_pb2, meta_pb2
from fs3.meta.types import DirEntry, Inode, InodeType, Layout, PathAt, SetAttributes, StatfsResult, UserInfo

__all__ = ["user_from_proto", "path_from_proto", "inode_to_proto", "entry_to_proto", "target_from_proto",
           "attributes_from_proto", "statfs_to_proto"]


def user_from_proto(message: common_pb2.UserInfo) -> UserInfo:
    return UserInfo(uid=message.uid, gid=message.gid, groups=tuple(message.groups), token=message.token)


def path_from_proto(message: meta_pb2.PathAt) -> PathAt:
    return PathAt(parent=message.parent, path=message.path)


def layout_to_proto(layout: Layout) -> common_pb2.Layout:
    return common_pb2.Layout(
        chain_table_id=layout.chain_table_id, chain_table_version=layout.chain_table_version,
        chunk_size=layout.chunk_size, stripe_size=layout.stripe_size,
        first_chain_index=layout.first_chain_index, shuffle_seed=layout.shuffle_seed,
    )


def inode_to_proto(inode: Inode) -> meta_pb2.Inode:
    message = meta_pb2.Inode(
        inode_id=inode.inode_id, inode_type=int(inode.inode_type), mode=inode.mode, uid=inode.uid, gid=inode.gid,
        nlink=inode.nlink, length=inode.length, atime_ns=inode.atime_ns, mtime_ns=inode.mtime_ns,
        ctime_ns=inode.ctime_ns, symlink_target=inode.symlink_target, parent=inode.parent, rdev=inode.rdev,
    )
    if inode.layout is not None:
        message.layout.CopyFrom(layout_to_proto(inode.layout))
    return message


def entry_to_proto(entry: DirEntry) -> meta_pb2.DirEntry:
    return meta_pb2.DirEntry(name=entry.name, inode_id=entry.inode_id, inode_type=int(entry.inode_type))


def inode_type_name(value: InodeType) -> str:
    return value.name.lower()


def target_from_proto(message) -> PathAt | int:
    """An attribute request's inode: `inode_id` when set, else its path."""
    return message.inode_id if message.inode_id else path_from_proto(message.path)


def attributes_from_proto(message: meta_pb2.SetattrRequest) -> SetAttributes:
    def optional(field: str):
        return getattr(message, field) if message.HasField(field) else None

    return SetAttributes(
        mode=optional("mode"), uid=optional("uid"), gid=optional("gid"), length=optional("length"),
        atime_ns=optional("atime_ns"), mtime_ns=optional("mtime_ns"), atime_now=message.atime_now,
        mtime_now=message.mtime_now,
    )


def statfs_to_proto(result: StatfsResult) -> meta_pb2.StatfsResponse:
    return meta_pb2.StatfsResponse(
        total_bytes=result.total_bytes, free_bytes=result.free_bytes, total_files=result.total_files,
        free_files=result.free_files, name_bytes_max=result.name_bytes_max,
    )
