"""Framed-RPC handlers of the metadata service: decode, call MetaOperator, encode.

Every handler is a few lines; validation, transactions and retries live in
`MetaOperator`.

Every request names the user it acts as (`UserInfo`). A connection whose user
has the root flag (FUSE daemons, services) may name anyone; any other user
only itself: its uid, with a gid and groups among its own. Anything else is
refused with EPERM rather than silently replaced, so a client that asks for
the wrong identity learns it at once (`Fs3Client` uses its token's identity
by default).
"""

from __future__ import annotations

import errno
from typing import Awaitable, Callable

from fs3._proto import meta_pb2
from fs3.errors import Fs3Error, fs_error
from fs3.identity import Access, Identity
from fs3.meta.codec import (
    attributes_from_proto, entry_to_proto, inode_to_proto, path_from_proto, statfs_to_proto, target_from_proto,
    user_from_proto,
)
from fs3.meta.operator import MetaOperator
from fs3.meta.types import ChunkTrim, Layout, StoredLength
from fs3.net.methods import MetaMethod
from fs3.net.server import RpcContext, RpcServer

__all__ = ["register_meta_service", "register_checked"]

Handler = Callable[..., Awaitable]


def check_acts_as_caller(identity: Identity, user) -> None:
    """Raises EPERM unless the connection's `identity` may act as the request's `user` (UserInfo)."""
    if not identity.may_act_as(user.uid, user.gid, user.groups):
        raise Fs3Error(errno.EPERM, f"{identity.describe()} may not act as uid {user.uid}, gid {user.gid}, "
                                    f"groups {list(user.groups)} (only a user with the root flag may)")


def _acting_as_caller(handler: Handler) -> Handler:
    async def checked(request, context: RpcContext):
        if not context.identity.root:
            check_acts_as_caller(context.identity, request.user)
        return await handler(request, context)

    return checked


def register_checked(server: RpcServer, method_id: int, request_type, handler: Handler, name: str = "", *,
                     access: Access = Access.ANY_USER) -> None:
    """Register a metadata method whose requests carry a UserInfo the connection must be allowed to act as."""
    server.register(method_id, request_type, _acting_as_caller(handler), name or handler.__name__, access=access)


def register_meta_service(
    server: RpcServer, operator: MetaOperator, *, trim_chunks: Callable[[ChunkTrim], Awaitable[None]] | None = None,
    stored_length: Callable[[Layout, int], Awaitable[int]] | None = None,
) -> None:
    """Args:
        trim_chunks: applies a shrinking truncate to storage before setattr replies (None: not done).
        stored_length: the length a file's chunks on storage imply; a close after writes settles the
            length from it (None: the writer's reported length only).
    """

    def register(method_id: int, request_type, handler: Handler, name: str = "", *,
                 access: Access = Access.ANY_USER) -> None:
        register_checked(server, method_id, request_type, handler, name, access=access)

    async def stat(request: meta_pb2.StatRequest, context: RpcContext):
        inode = await operator.stat(user_from_proto(request.user), path_from_proto(request.path),
                                    request.follow_last_symlink)
        return meta_pb2.StatResponse(inode=inode_to_proto(inode))

    async def stat_inode(request: meta_pb2.StatInodeRequest, context: RpcContext):
        inode = await operator.stat_inode(user_from_proto(request.user), request.inode_id)
        return meta_pb2.StatInodeResponse(inode=inode_to_proto(inode))

    async def mkdir(request: meta_pb2.MkdirRequest, context: RpcContext):
        inode = await operator.mkdir(user_from_proto(request.user), path_from_proto(request.path), request.mode,
                                     request.recursive, client_id=request.client_id, request_id=request.request_id)
        return meta_pb2.MkdirResponse(inode=inode_to_proto(inode))

    async def create(request: meta_pb2.CreateRequest, context: RpcContext):
        result = await operator.create(user_from_proto(request.user), path_from_proto(request.path), request.mode,
                                       request.flags, request.client_id, request.request_id)
        return meta_pb2.CreateResponse(inode=inode_to_proto(result.inode), session_id=result.session_id)

    async def open_(request: meta_pb2.OpenRequest, context: RpcContext):
        result = await operator.open(user_from_proto(request.user), path_from_proto(request.path), request.flags,
                                     request.client_id)
        return meta_pb2.OpenResponse(inode=inode_to_proto(result.inode), session_id=result.session_id)

    async def observed_stored_length(user, inode_id: int) -> StoredLength | None:
        """What the file's chunks on storage imply, with the inode's ctime when it was looked at: the
        close/fsync transaction applies it only if the inode did not change since (a truncate racing
        an asynchronous release must not get the old length back)."""
        if stored_length is None:
            return None
        try:
            current = await operator.stat_inode(user, inode_id)
        except Fs3Error as error:
            if error.code != errno.ENOENT:
                raise
            return None  # removed while open: nothing to settle, close still clears the session
        if current.layout is None:
            return None
        return StoredLength(await stored_length(current.layout, inode_id), current.ctime_ns)

    async def close(request: meta_pb2.CloseRequest, context: RpcContext):
        user = user_from_proto(request.user)
        stored = await observed_stored_length(user, request.inode_id) if request.wrote else None
        inode = await operator.close(user, request.inode_id, request.client_id,
                                     request.session_id, request.wrote, request.length_hint, stored)
        response = meta_pb2.CloseResponse()
        if inode is not None:
            response.inode.CopyFrom(inode_to_proto(inode))
        return response

    async def set_length(request: meta_pb2.SetLengthRequest, context: RpcContext):
        user = user_from_proto(request.user)
        if request.settle and not request.only_grow:
            raise fs_error(errno.EINVAL, "settle needs only_grow (a truncate sets an exact length)")
        stored = await observed_stored_length(user, request.inode_id) if request.settle else None
        inode = await operator.set_length(user, request.inode_id, request.length, request.only_grow, stored)
        return meta_pb2.SetLengthResponse(inode=inode_to_proto(inode))

    async def readdir(request: meta_pb2.ReaddirRequest, context: RpcContext):
        result = await operator.readdir(user_from_proto(request.user), target_from_proto(request),
                                        request.after_name, request.limit, request.with_inodes)
        return meta_pb2.ReaddirResponse(
            entries=[entry_to_proto(entry) for entry in result.entries],
            inodes=[inode_to_proto(inode) for inode in result.inodes], more=result.more,
        )

    async def unlink(request: meta_pb2.UnlinkRequest, context: RpcContext):
        await operator.unlink(user_from_proto(request.user), path_from_proto(request.path), client_id=request.client_id, request_id=request.request_id)
        return meta_pb2.UnlinkResponse()

    async def rmdir(request: meta_pb2.RmdirRequest, context: RpcContext):
        await operator.rmdir(user_from_proto(request.user), path_from_proto(request.path), client_id=request.client_id, request_id=request.request_id)
        return meta_pb2.RmdirResponse()

    async def rename(request: meta_pb2.RenameRequest, context: RpcContext):
        inode = await operator.rename(user_from_proto(request.user), path_from_proto(request.src),
                                      path_from_proto(request.dst), request.flags, client_id=request.client_id, request_id=request.request_id)
        return meta_pb2.RenameResponse(inode=inode_to_proto(inode))

    async def symlink(request: meta_pb2.SymlinkRequest, context: RpcContext):
        inode = await operator.symlink(user_from_proto(request.user), path_from_proto(request.path), request.target,
                                       client_id=request.client_id, request_id=request.request_id)
        return meta_pb2.SymlinkResponse(inode=inode_to_proto(inode))

    async def readlink(request: meta_pb2.ReadlinkRequest, context: RpcContext):
        target = await operator.readlink(user_from_proto(request.user), path_from_proto(request.path))
        return meta_pb2.ReadlinkResponse(target=target)

    async def link(request: meta_pb2.LinkRequest, context: RpcContext):
        inode = await operator.link(user_from_proto(request.user), path_from_proto(request.old_path),
                                    path_from_proto(request.new_path), client_id=request.client_id, request_id=request.request_id)
        return meta_pb2.LinkResponse(inode=inode_to_proto(inode))

    async def setattr_(request: meta_pb2.SetattrRequest, context: RpcContext):
        result = await operator.setattr(user_from_proto(request.user), target_from_proto(request),
                                        attributes_from_proto(request), request.follow_last_symlink)
        if result.trim is not None and trim_chunks is not None:
            await trim_chunks(result.trim)
        return meta_pb2.SetattrResponse(inode=inode_to_proto(result.inode))

    async def mknod(request: meta_pb2.MknodRequest, context: RpcContext):
        inode = await operator.mknod(user_from_proto(request.user), path_from_proto(request.path), request.mode,
                                     request.rdev)
        return meta_pb2.MknodResponse(inode=inode_to_proto(inode))

    async def setxattr(request: meta_pb2.SetxattrRequest, context: RpcContext):
        inode = await operator.setxattr(user_from_proto(request.user), target_from_proto(request), request.name,
                                        request.value, request.flags, request.follow_last_symlink,
                                        client_id=request.client_id, request_id=request.request_id)
        return meta_pb2.SetxattrResponse(inode=inode_to_proto(inode))

    async def getxattr(request: meta_pb2.GetxattrRequest, context: RpcContext):
        value = await operator.getxattr(user_from_proto(request.user), target_from_proto(request), request.name,
                                        request.follow_last_symlink)
        return meta_pb2.GetxattrResponse(value=value)

    async def listxattr(request: meta_pb2.ListxattrRequest, context: RpcContext):
        names = await operator.listxattr(user_from_proto(request.user), target_from_proto(request),
                                         request.follow_last_symlink)
        return meta_pb2.ListxattrResponse(names=names)

    async def removexattr(request: meta_pb2.RemovexattrRequest, context: RpcContext):
        inode = await operator.removexattr(user_from_proto(request.user), target_from_proto(request), request.name,
                                           request.follow_last_symlink, client_id=request.client_id,
                                           request_id=request.request_id)
        return meta_pb2.RemovexattrResponse(inode=inode_to_proto(inode))

    async def statfs(request: meta_pb2.StatfsRequest, context: RpcContext):
        return statfs_to_proto(await operator.statfs(user_from_proto(request.user)))

    async def set_layout(request: meta_pb2.SetLayoutRequest, context: RpcContext):
        inode = await operator.set_layout(user_from_proto(request.user), target_from_proto(request),
                                          request.chain_table_id, request.chunk_size, request.stripe_size,
                                          request.chain_table_version)
        return meta_pb2.SetLayoutResponse(inode=inode_to_proto(inode))

    async def client_heartbeat(request: meta_pb2.ClientHeartbeatRequest, context: RpcContext):
        await operator.client_heartbeat(request.client_id)
        return meta_pb2.ClientHeartbeatResponse()

    async def remove_tree_to_trash(request: meta_pb2.RemoveTreeToTrashRequest, context: RpcContext):
        result = await operator.remove_tree_to_trash(user_from_proto(request.user), path_from_proto(request.path),
                                                     request.expire_s)
        return meta_pb2.RemoveTreeToTrashResponse(inode=inode_to_proto(result.inode), trash_path=result.trash_path,
                                                  expire_at_ns=result.expire_at_ns)

    async def list_clients(request: meta_pb2.ListClientsRequest, context: RpcContext):
        clients, truncated = await operator.list_clients(request.limit)
        return meta_pb2.ListClientsResponse(truncated=truncated, clients=[
            meta_pb2.ClientSession(client_id=client.client_id, last_seen_ns=client.last_seen_ns,
                                   write_sessions=client.write_sessions) for client in clients])

    register(MetaMethod.LIST_CLIENTS, meta_pb2.ListClientsRequest, list_clients, access=Access.ADMIN)
    register(MetaMethod.REMOVE_TREE_TO_TRASH, meta_pb2.RemoveTreeToTrashRequest, remove_tree_to_trash)
    register(MetaMethod.CLIENT_HEARTBEAT, meta_pb2.ClientHeartbeatRequest, client_heartbeat)
    register(MetaMethod.STAT, meta_pb2.StatRequest, stat)
    register(MetaMethod.STAT_INODE, meta_pb2.StatInodeRequest, stat_inode)
    register(MetaMethod.MKDIR, meta_pb2.MkdirRequest, mkdir)
    register(MetaMethod.CREATE, meta_pb2.CreateRequest, create)
    register(MetaMethod.OPEN, meta_pb2.OpenRequest, open_, name="open")
    register(MetaMethod.CLOSE, meta_pb2.CloseRequest, close)
    register(MetaMethod.SET_LENGTH, meta_pb2.SetLengthRequest, set_length)
    register(MetaMethod.READDIR, meta_pb2.ReaddirRequest, readdir)
    register(MetaMethod.UNLINK, meta_pb2.UnlinkRequest, unlink)
    register(MetaMethod.RMDIR, meta_pb2.RmdirRequest, rmdir)
    register(MetaMethod.RENAME, meta_pb2.RenameRequest, rename)
    register(MetaMethod.SYMLINK, meta_pb2.SymlinkRequest, symlink)
    register(MetaMethod.READLINK, meta_pb2.ReadlinkRequest, readlink)
    register(MetaMethod.LINK, meta_pb2.LinkRequest, link)
    register(MetaMethod.SETATTR, meta_pb2.SetattrRequest, setattr_, name="setattr")
    register(MetaMethod.MKNOD, meta_pb2.MknodRequest, mknod)
    register(MetaMethod.SETXATTR, meta_pb2.SetxattrRequest, setxattr)
    register(MetaMethod.GETXATTR, meta_pb2.GetxattrRequest, getxattr)
    register(MetaMethod.LISTXATTR, meta_pb2.ListxattrRequest, listxattr)
    register(MetaMethod.REMOVEXATTR, meta_pb2.RemovexattrRequest, removexattr)
    register(MetaMethod.STATFS, meta_pb2.StatfsRequest, statfs)
    register(MetaMethod.SET_LAYOUT, meta_pb2.SetLayoutRequest, set_layout)
