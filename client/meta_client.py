"""Calls to the metadata services, spread over them, failing over on errors.

Metadata services are stateless: any instance serves any request, so a call
that cannot reach one instance (or times out) is sent to the next. Requests
carry idempotence ids where a retry after a lost reply must not fail (create).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from typing import Awaitable, Callable

from google.protobuf.message import Message

from fs3._proto import meta_pb2
from fs3.errors import Fs3Error, StatusCode
from fs3.net.client import RpcClientPool
from fs3.net.methods import MetaMethod
from fs3.routing import NodeType, RoutingInfo

__all__ = ["MetaClient"]

logger = logging.getLogger(__name__)

_FAILOVER = frozenset({StatusCode.UNAVAILABLE, StatusCode.TIMEOUT})

_RESPONSE_TYPES: dict[MetaMethod, type[Message]] = {
    MetaMethod.STAT: meta_pb2.StatResponse,
    MetaMethod.STAT_INODE: meta_pb2.StatInodeResponse,
    MetaMethod.MKDIR: meta_pb2.MkdirResponse,
    MetaMethod.CREATE: meta_pb2.CreateResponse,
    MetaMethod.OPEN: meta_pb2.OpenResponse,
    MetaMethod.CLOSE: meta_pb2.CloseResponse,
    MetaMethod.SET_LENGTH: meta_pb2.SetLengthResponse,
    MetaMethod.READDIR: meta_pb2.ReaddirResponse,
    MetaMethod.UNLINK: meta_pb2.UnlinkResponse,
    MetaMethod.RMDIR: meta_pb2.RmdirResponse,
    MetaMethod.RENAME: meta_pb2.RenameResponse,
    MetaMethod.SYMLINK: meta_pb2.SymlinkResponse,
    MetaMethod.READLINK: meta_pb2.ReadlinkResponse,
    MetaMethod.LINK: meta_pb2.LinkResponse,
    MetaMethod.SETATTR: meta_pb2.SetattrResponse,
    MetaMethod.MKNOD: meta_pb2.MknodResponse,
    MetaMethod.SETXATTR: meta_pb2.SetxattrResponse,
    MetaMethod.GETXATTR: meta_pb2.GetxattrResponse,
    MetaMethod.LISTXATTR: meta_pb2.ListxattrResponse,
    MetaMethod.REMOVEXATTR: meta_pb2.RemovexattrResponse,
    MetaMethod.STATFS: meta_pb2.StatfsResponse,
    MetaMethod.SET_LAYOUT: meta_pb2.SetLayoutResponse,
    MetaMethod.CLIENT_HEARTBEAT: meta_pb2.ClientHeartbeatResponse,
    MetaMethod.REMOVE_TREE_TO_TRASH: meta_pb2.RemoveTreeToTrashResponse,
    MetaMethod.SET_FILE_LOCK: meta_pb2.SetFileLockResponse,
    MetaMethod.GET_FILE_LOCK: meta_pb2.GetFileLockResponse,
    MetaMethod.RELEASE_FILE_LOCKS: meta_pb2.ReleaseFileLocksResponse,
    MetaMethod.STOP_LOCK_WAIT: meta_pb2.StopLockWaitResponse,
    MetaMethod.DUMP_INODES: meta_pb2.DumpInodesResponse,
    MetaMethod.CHECK_INODES: meta_pb2.CheckInodesResponse,
    MetaMethod.LIST_GC_QUEUE: meta_pb2.ListGcQueueResponse,
    MetaMethod.FSCK: meta_pb2.FsckResponse,
}


# Changes whose retry after a lost reply must not run twice (EEXIST / ENOENT / ENODATA); CREATE
# carries its own request id (client.py).
_RECORDED_METHODS = frozenset({MetaMethod.MKDIR, MetaMethod.UNLINK, MetaMethod.RMDIR, MetaMethod.RENAME,
                               MetaMethod.SYMLINK, MetaMethod.LINK, MetaMethod.SETXATTR, MetaMethod.REMOVEXATTR})


class MetaClient:
    def __init__(
        self,
        clients: RpcClientPool,
        routing: Callable[[], RoutingInfo],
        refresh_routing: Callable[[], Awaitable[RoutingInfo]],
        *,
        timeout_s: float = 10.0,
        retries_max: int = 30,
        pinned_address: tuple[str, int] | None = None,
        client_id: int = 0,
    ) -> None:
        self.client_id = client_id  # with it, namespace changes carry a request id: retries are answered once
        self.clients = clients
        self._routing = routing
        self._refresh_routing = refresh_routing
        self.timeout_s = timeout_s
        self.retries_max = retries_max
        self.pinned_address = pinned_address  # tests: talk to one instance only
        self._rotation = itertools.count()

    def _addresses(self) -> list[tuple[str, int]]:
        if self.pinned_address is not None:
            return [self.pinned_address]
        nodes = [node for node in self._routing().nodes_of_type(NodeType.META) if node.alive]
        return [(node.host, node.port) for node in nodes]

    async def call(self, method: MetaMethod, request: Message) -> Message:
        if method in _RECORDED_METHODS and self.client_id and not request.request_id:
            # one id for every attempt below: the service runs the change once (meta/operator.py _run_once)
            request.client_id = self.client_id
            request.request_id = os.urandom(16)
        last_error: Fs3Error | None = None
        for attempt in range(self.retries_max):
            addresses = self._addresses()
            if not addresses:
                last_error = Fs3Error(StatusCode.UNAVAILABLE, "no metadata service is alive")
            else:
                host, port = addresses[next(self._rotation) % len(addresses)]
                try:
                    result = await self.clients.get(host, port).call(
                        method, request, _RESPONSE_TYPES[method], timeout_s=self.timeout_s
                    )
                    return result.message
                except Fs3Error as error:
                    if error.code not in _FAILOVER:
                        raise
                    last_error = error
                    logger.debug("metadata call %s to %s:%d failed: %s", method.name, host, port, error)
            await asyncio.sleep(min(0.02 * (2 ** min(attempt, 5)), 0.5))
            try:
                await self._refresh_routing()
            except Fs3Error:
                pass
        assert last_error is not None
        raise last_error
