"""RPC handlers of the cluster-wide file locks (methods 122-125): decode, call the operator, encode."""

from __future__ import annotations

from fs3._proto import meta_pb2
from fs3.meta.codec import user_from_proto
from fs3.meta.operator import MetaOperator
from fs3.meta.service import register_checked
from fs3.net.methods import MetaMethod
from fs3.net.server import RpcContext, RpcServer

__all__ = ["register_file_lock_service"]


def _lock_arguments(spec: meta_pb2.FileLockSpec) -> tuple:
    return (spec.inode_id, int(spec.kind), spec.client_id, spec.owner, spec.lock_type, spec.start, spec.end)


def register_file_lock_service(server: RpcServer, operator: MetaOperator) -> None:
    async def set_file_lock(request: meta_pb2.SetFileLockRequest, context: RpcContext):
        await operator.set_file_lock(user_from_proto(request.user), *_lock_arguments(request.lock),
                                     pid=request.lock.pid, wait=request.wait)
        return meta_pb2.SetFileLockResponse()

    async def get_file_lock(request: meta_pb2.GetFileLockRequest, context: RpcContext):
        holder = await operator.get_file_lock(user_from_proto(request.user), *_lock_arguments(request.lock))
        if holder is None:
            return meta_pb2.GetFileLockResponse(blocked=False)
        return meta_pb2.GetFileLockResponse(blocked=True, holder=meta_pb2.FileLockSpec(
            inode_id=holder.inode_id, kind=int(holder.kind), client_id=holder.client_id, owner=holder.owner,
            lock_type=int(holder.lock_type), start=holder.start, end=holder.end, pid=holder.pid))

    async def release_file_locks(request: meta_pb2.ReleaseFileLocksRequest, context: RpcContext):
        await operator.release_file_locks(user_from_proto(request.user), request.inode_id, int(request.kind),
                                          request.client_id, request.owner)
        return meta_pb2.ReleaseFileLocksResponse()

    async def stop_lock_wait(request: meta_pb2.StopLockWaitRequest, context: RpcContext):
        await operator.stop_lock_wait(user_from_proto(request.user), request.client_id, request.owner)
        return meta_pb2.StopLockWaitResponse()

    register_checked(server, MetaMethod.SET_FILE_LOCK, meta_pb2.SetFileLockRequest, set_file_lock)
    register_checked(server, MetaMethod.GET_FILE_LOCK, meta_pb2.GetFileLockRequest, get_file_lock)
    register_checked(server, MetaMethod.RELEASE_FILE_LOCKS, meta_pb2.ReleaseFileLocksRequest, release_file_locks)
    register_checked(server, MetaMethod.STOP_LOCK_WAIT, meta_pb2.StopLockWaitRequest, stop_lock_wait)
