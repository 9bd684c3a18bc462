"""The client side: one memory region cut into slots, registered with same-host storage services.

Like an RDMA memory registration: the client owns the memory (a memfd, sealed
so it cannot shrink), storage services map it, and a chunk request names a
slot instead of carrying the payload. A slot is on loan from `acquire` until
`release`. A request that ended without a reply (timeout, lost connection)
leaves a slot the service may still write into: its owner then `abandon`s the
whole region (callers waiting for a slot get UNKNOWN_REGION and retry with a
new region); the memory goes once every mapping of it is gone.
"""

from __future__ import annotations

import asyncio
import fcntl
import mmap
import os
import socket

from fs3.errors import Fs3Error, StatusCode
from fs3.net.shared_memory.sockets import receive_exactly, send_all
from fs3.net.shared_memory.wire import REPLY_HEADER, RegistrationReply, RegistrationRequest

__all__ = ["SharedMemoryRegion", "RegionSlot", "Registration", "register_region"]


class RegionSlot:
    __slots__ = ("offset", "view")

    def __init__(self, offset: int, view: memoryview) -> None:
        self.offset = offset
        self.view = view


class SharedMemoryRegion:
    """`slot_count` slots of `slot_bytes` (page multiples) in one memfd."""

    def __init__(self, slot_bytes: int, slot_count: int, name: str = "fs3-client-io") -> None:
        assert slot_bytes > 0 and slot_bytes % mmap.PAGESIZE == 0 and slot_count > 0
        self.slot_bytes = slot_bytes
        self.size = slot_bytes * slot_count
        self.fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            os.ftruncate(self.fd, self.size)
            fcntl.fcntl(self.fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
            self._mapping = mmap.mmap(self.fd, self.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            os.close(self.fd)
            raise
        for offset in range(0, self.size, mmap.PAGESIZE):  # first touch is costly: pay it once, here
            self._mapping[offset] = 0
        view = memoryview(self._mapping)
        self._free = [RegionSlot(offset, view[offset:offset + slot_bytes]) for offset in range(0, self.size, slot_bytes)]
        self._waiters: list[asyncio.Future] = []
        self.abandoned = False

    async def acquire(self) -> RegionSlot:
        """A free slot, waiting for one if needed.

        Raises:
            Fs3Error(UNKNOWN_REGION): the region was abandoned (before or while waiting).
        """
        while True:
            if self.abandoned:
                raise Fs3Error(StatusCode.UNKNOWN_REGION, "the client's shared memory region was abandoned")
            if self._free:
                return self._free.pop()
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def release(self, slot: RegionSlot) -> None:
        self._free.append(slot)
        self._wake(1)

    def abandon(self) -> None:
        """Lend no slot again (a service may still write into one): every waiter gets UNKNOWN_REGION."""
        self.abandoned = True
        self._wake(len(self._waiters))

    def _wake(self, count: int) -> None:
        for waiter in self._waiters[:count]:
            if not waiter.done():
                waiter.set_result(None)

    def close(self) -> None:
        """Close the descriptor; the mapping goes when the last slot view does."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Registration:
    """A region registered with one storage service: valid while `connection` stays open."""

    def __init__(self, region: SharedMemoryRegion, region_id: int, node_id: int, connection: socket.socket) -> None:
        self.region = region
        self.region_id = region_id
        self.node_id = node_id
        self.connection = connection

    def close(self) -> None:
        self.connection.close()


async def register_region(region: SharedMemoryRegion, socket_name: str, token: str, node_id: int,
                          timeout_s: float) -> Registration:
    """Register `region` with the storage service listening on `socket_name`.

    Raises:
        Fs3Error: UNAVAILABLE when there is no such service on this host (or it is another
            node); the service's refusal otherwise.
    """
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.setblocking(False)
    try:
        async with asyncio.timeout(timeout_s):
            try:
                await asyncio.get_running_loop().sock_connect(connection, "\0" + socket_name)
            except OSError as error:
                raise Fs3Error(StatusCode.UNAVAILABLE, f"no storage service at @{socket_name} here: {error}") from None
            await send_all(connection, RegistrationRequest(token, region.size).pack(), [region.fd])
            header, _ = await receive_exactly(connection, REPLY_HEADER.size)
            reply, message_bytes = RegistrationReply.unpack_header(header)
            message, _ = await receive_exactly(connection, message_bytes)
    except (ConnectionError, TimeoutError, ValueError) as error:
        connection.close()
        raise Fs3Error(StatusCode.UNAVAILABLE, f"shared memory registration at @{socket_name}: {error!r}") from None
    except BaseException:
        connection.close()
        raise
    if reply.status != 0:
        connection.close()
        raise Fs3Error(reply.status, message.decode(errors="replace"))
    if reply.node_id != node_id:
        connection.close()
        raise Fs3Error(StatusCode.UNAVAILABLE, f"@{socket_name} is storage node {reply.node_id}, not {node_id}")
    return Registration(region, reply.region_id, node_id, connection)
