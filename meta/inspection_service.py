"""RPC handlers of the administrator inspection calls (methods 151-159, admins only):
decode, call the operator, encode. Kept apart from the file system calls in
service.py; `fs3 dump-inodes / gc / fsck / find-orphaned-chunks` use them."""

from __future__ import annotations

from fs3._proto import meta_pb2
from fs3.meta.codec import inode_to_proto, layout_to_proto, user_from_proto
from fs3.identity import Access
from fs3.meta.operator import MetaOperator
from fs3.meta.service import register_checked
from fs3.net.methods import MetaMethod
from fs3.net.server import RpcContext, RpcServer

__all__ = ["register_inspection_service"]


def register_inspection_service(server: RpcServer, operator: MetaOperator) -> None:
    async def dump_inodes(request: meta_pb2.DumpInodesRequest, context: RpcContext):
        after = request.after_inode_id if request.HasField("after_inode_id") else None
        page = await operator.dump_inodes(user_from_proto(request.user), after, request.limit)
        return meta_pb2.DumpInodesResponse(inodes=[inode_to_proto(inode) for inode in page.inodes], more=page.more)

    async def check_inodes(request: meta_pb2.CheckInodesRequest, context: RpcContext):
        states = await operator.check_inodes(user_from_proto(request.user), list(request.inode_ids))
        return meta_pb2.CheckInodesResponse(states=[int(state) for state in states])

    async def list_gc_queue(request: meta_pb2.ListGcQueueRequest, context: RpcContext):
        after = request.after_inode_id if request.HasField("after_inode_id") else None
        records, more = await operator.list_gc_queue(user_from_proto(request.user), after, request.limit)
        entries = []
        for record in records:
            entry = meta_pb2.GcQueueEntry(inode_id=record.inode_id, length=record.length,
                                          removed_at_ns=record.removed_at_ns, claim_owner=record.claim_owner,
                                          claim_until_ns=record.claim_until_ns)
            if record.layout is not None:
                entry.layout.CopyFrom(layout_to_proto(record.layout))
            entries.append(entry)
        return meta_pb2.ListGcQueueResponse(entries=entries, more=more)

    async def fsck(request: meta_pb2.FsckRequest, context: RpcContext):
        report = await operator.fsck(user_from_proto(request.user))
        return meta_pb2.FsckResponse(
            inodes=report.inodes, directories=report.directories, files=report.files, symlinks=report.symlinks,
            entries=report.entries, gc_queued=report.gc_queued, sessions=report.sessions,
            problems=[meta_pb2.FsckProblem(kind=problem.kind, inode_id=problem.inode_id, detail=problem.detail)
                      for problem in report.problems],
            problems_omitted=report.problems_omitted, unlinked_open=report.unlinked_open,
        )

    for method, request_type, handler in (
        (MetaMethod.DUMP_INODES, meta_pb2.DumpInodesRequest, dump_inodes),
        (MetaMethod.CHECK_INODES, meta_pb2.CheckInodesRequest, check_inodes),
        (MetaMethod.LIST_GC_QUEUE, meta_pb2.ListGcQueueRequest, list_gc_queue),
        (MetaMethod.FSCK, meta_pb2.FsckRequest, fsck),
    ):
        register_checked(server, method, request_type, handler, access=Access.ADMIN)
