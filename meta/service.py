"""Framed-RPC handlers of the metadata service: decode, call MetaOperator, encode.

Every handler is a few lines; validation, transactions and retries live in
`MetaOperator`.
"""

from __future__ import annotations

from fs3._proto import meta_pb2
from fs3.meta.codec import entry_to_proto, inode_to_proto, path_from_proto, user_from_proto
from fs3.meta.operator import MetaOperator
from fs3.net.methods import MetaMethod
from fs3.net.server import RpcContext, RpcServer

__all__ = ["register_meta_service"]


def register_meta_service(server: RpcServer, operator: MetaOperator) -> None:
    async def stat(request: meta_pb2.StatRequest, context: RpcContext):
        inode = await operator.stat(user_from_proto(request.user), path_from_proto(request.path),
                                    request.follow_last_symlink)
        return meta_pb2.StatResponse(inode=inode_to_proto(inode))

    async def stat_inode(request: meta_pb2.StatInodeRequest, context: RpcContext):
        inode = await operator.stat_inode(user_from_proto(request.user), request.inode_id)
        return meta_pb2.StatInodeResponse(inode=inode_to_proto(inode))

    async def mkdir(request: meta_pb2.MkdirRequest, context: RpcContext):
        inode = await operator.mkdir(user_from_proto(request.user), path_from_proto(request.path), request.mode,
                                     request.recursive)
        return meta_pb2.MkdirResponse(inode=inode_to_proto(inode))

    async def create(request: meta_pb2.CreateRequest, context: RpcContext):
        result = await operator.create(user_from_proto(request.user), path_from_proto(request.path), request.mode,
                                       request.flags, request.client_id, request.request_id)
        return meta_pb2.CreateResponse(inode=inode_to_proto(result.inode), session_id=result.session_id)

    async def open_(request: meta_pb2.OpenRequest, context: RpcContext):
        result = await operator.open(user_from_proto(request.user), path_from_proto(request.path), request.flags,
                                     request.client_id)
        return meta_pb2.OpenResponse(inode=inode_to_proto(result.inode), session_id=result.session_id)

    async def close(request: meta_pb2.CloseRequest, context: RpcContext):
        inode = await operator.close(user_from_proto(request.user), request.inode_id, request.client_id,
                                     request.session_id, request.wrote, request.length_hint)
        response = meta_pb2.CloseResponse()
        if inode is not None:
            response.inode.CopyFrom(inode_to_proto(inode))
        return response

    async def set_length(request: meta_pb2.SetLengthRequest, context: RpcContext):
        inode = await operator.set_length(user_from_proto(request.user), request.inode_id, request.length,
                                          request.only_grow)
        return meta_pb2.SetLengthResponse(inode=inode_to_proto(inode))

    async def readdir(request: meta_pb2.ReaddirRequest, context: RpcContext):
        result = await operator.readdir(user_from_proto(request.user), path_from_proto(request.path),
                                        request.after_name, request.limit, request.with_inodes)
        return meta_pb2.ReaddirResponse(
            entries=[entry_to_proto(entry) for entry in result.entries],
            inodes=[inode_to_proto(inode) for inode in result.inodes], more=result.more,
        )

    async def unlink(request: meta_pb2.UnlinkRequest, context: RpcContext):
        await operator.unlink(user_from_proto(request.user), path_from_proto(request.path))
        return meta_pb2.UnlinkResponse()

    async def rmdir(request: meta_pb2.RmdirRequest, context: RpcContext):
        await operator.rmdir(user_from_proto(request.user), path_from_proto(request.path))
        return meta_pb2.RmdirResponse()

    async def rename(request: meta_pb2.RenameRequest, context: RpcContext):
        inode = await operator.rename(user_from_proto(request.user), path_from_proto(request.src),
                                      path_from_proto(request.dst), request.flags)
        return meta_pb2.RenameResponse(inode=inode_to_proto(inode))

    server.register(MetaMethod.STAT, meta_pb2.StatRequest, stat)
    server.register(MetaMethod.STAT_INODE, meta_pb2.StatInodeRequest, stat_inode)
    server.register(MetaMethod.MKDIR, meta_pb2.MkdirRequest, mkdir)
    server.register(MetaMethod.CREATE, meta_pb2.CreateRequest, create)
    server.register(MetaMethod.OPEN, meta_pb2.OpenRequest, open_, name="open")
    server.register(MetaMethod.CLOSE, meta_pb2.CloseRequest, close)
    server.register(MetaMethod.SET_LENGTH, meta_pb2.SetLengthRequest, set_length)
    server.register(MetaMethod.READDIR, meta_pb2.ReaddirRequest, readdir)
    server.register(MetaMethod.UNLINK, meta_pb2.UnlinkRequest, unlink)
    server.register(MetaMethod.RMDIR, meta_pb2.RmdirRequest, rmdir)
    server.register(MetaMethod.RENAME, meta_pb2.RenameRequest, rename)
