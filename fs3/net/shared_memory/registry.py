"""The storage side: accept clients' memory regions, map them, hand out bounded views.

Each registration is one connection on the service's abstract Unix socket
(only processes on this host can reach it). The client's token is checked
like on any RPC connection, and the region is usable only by connections of
the same user. The memory must be a memfd sealed against shrinking: a client
that could shrink its file under the service's mapping would crash it with
SIGBUS. The region stays mapped while the registration connection is open.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import fcntl
import logging
import mmap
import os
import secrets
import socket
import stat

from fs3.errors import Fs3Error, StatusCode
from fs3.identity import UNCHECKED_IDENTITY, Identity
from fs3.metrics import SHARED_MEMORY_REGIONS
from fs3.net.shared_memory.sockets import close_all, receive_exactly, send_all
from fs3.net.shared_memory.wire import REQUEST_HEADER, RegistrationReply, RegistrationRequest, WireError

__all__ = ["SharedMemoryRegistry", "SharedMemoryLimits"]

logger = logging.getLogger(__name__)

_PAGE_BYTES = mmap.PAGESIZE


@dataclasses.dataclass(frozen=True, slots=True)
class SharedMemoryLimits:
    region_bytes_max: int = 1 << 30
    mapped_bytes_max: int = 16 << 30  # address space: the memory itself is the clients'
    regions_max: int = 256
    registration_timeout_s: float = 5.0
    # connections still registering at once (each gets registration_timeout_s); beyond, closed at once
    registrations_pending_max: int = 64

    def check(self) -> None:
        assert _PAGE_BYTES <= self.region_bytes_max <= self.mapped_bytes_max
        assert 1 <= self.regions_max <= 65536
        assert 0 < self.registration_timeout_s <= 60
        assert self.registrations_pending_max >= 1


@dataclasses.dataclass(slots=True)
class _MappedRegion:
    region_id: int
    owner: str
    size: int
    view: memoryview  # of the service's mapping; slices keep the mapping alive after the region is dropped


class SharedMemoryRegistry:
    """Regions registered with one storage service (its `socket_name` goes into its NodeInfo).

    Args:
        authenticator: checks registration tokens (`fs3.net.server.Authenticator`); None: every
            registration acts as an unchecked root (transport tests only).
    """

    def __init__(self, node_id: int, authenticator, limits: SharedMemoryLimits = SharedMemoryLimits()) -> None:
        limits.check()
        self.node_id = node_id
        self.authenticator = authenticator
        self.limits = limits
        # Abstract namespace: no file to clean up, no path-length limit; unique per process.
        self.socket_name = f"fs3-storage-{node_id}-{os.getpid()}-{secrets.token_hex(4)}"
        self._listener: socket.socket | None = None
        self._accept_task: asyncio.Task | None = None
        self._connection_tasks: set[asyncio.Task] = set()
        self._regions: dict[int, _MappedRegion] = {}
        self._mapped_bytes = 0

    # ---- lifecycle --------------------------------------------------------------
    async def start(self) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind("\0" + self.socket_name)
        listener.listen(64)
        listener.setblocking(False)
        self._listener = listener
        self._accept_task = asyncio.get_running_loop().create_task(self._accept_loop())

    async def stop(self) -> None:
        tasks = [task for task in (self._accept_task, *self._connection_tasks) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._regions.clear()
        self._mapped_bytes = 0
        SHARED_MEMORY_REGIONS.set(0)

    @property
    def region_count(self) -> int:
        return len(self._regions)

    # ---- the data path ------------------------------------------------------------
    def view(self, region_id: int, offset: int, length: int, identity: Identity) -> memoryview:
        """`length` bytes at `offset` of a region of `identity`'s."""
        region = self._regions.get(region_id)
        if region is None:
            raise Fs3Error(StatusCode.UNKNOWN_REGION,
                           f"shared memory region {region_id:#x} is not registered with storage node {self.node_id}")
        if region.owner != identity.name:
            raise Fs3Error(StatusCode.PERMISSION_DENIED,
                           f"shared memory region {region_id:#x} belongs to another user than {identity.describe()}")
        if offset < 0 or length < 0 or offset + length > region.size:
            raise Fs3Error(StatusCode.OFFSET_OUT_OF_RANGE,
                           f"{length} bytes at {offset} exceed shared memory region {region_id:#x} "
                           f"of {region.size} bytes")
        return region.view[offset:offset + length]

    # ---- registrations ------------------------------------------------------------
    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._listener is not None
        while True:
            connection, _address = await loop.sock_accept(self._listener)
            if len(self._connection_tasks) - len(self._regions) >= self.limits.registrations_pending_max:
                logger.warning("shared memory: %d registrations pending, refusing another connection",
                               len(self._connection_tasks) - len(self._regions))
                connection.close()
                continue
            connection.setblocking(False)
            task = loop.create_task(self._serve(connection))
            self._connection_tasks.add(task)
            task.add_done_callback(self._connection_tasks.discard)

    async def _serve(self, connection: socket.socket) -> None:
        region: _MappedRegion | None = None
        try:
            async with asyncio.timeout(self.limits.registration_timeout_s):
                reply, region = await self._register(connection)
                await send_all(connection, reply.pack())
            if region is not None:
                # Held until the client closes or dies; it never sends anything else.
                await receive_exactly(connection, 1)
        except (ConnectionError, OSError, TimeoutError) as error:
            if region is None:
                logger.info("shared memory registration failed: %r", error)
        finally:
            if region is not None:
                self._regions.pop(region.region_id, None)
                self._mapped_bytes -= region.size
                SHARED_MEMORY_REGIONS.set(len(self._regions))
                logger.debug("shared memory region %#x of %s dropped", region.region_id, region.owner)
            connection.close()

    async def _register(self, connection: socket.socket) -> tuple[RegistrationReply, _MappedRegion | None]:
        header, fds = await receive_exactly(connection, REQUEST_HEADER.size, fds_max=1)
        try:
            token_bytes, region_bytes = RegistrationRequest.unpack_header(header)
            token, _ = await receive_exactly(connection, token_bytes)
            identity = await self._authenticate(token)
            if len(fds) != 1:
                raise Fs3Error(StatusCode.BAD_REQUEST, "a registration carries exactly one memory file descriptor")
            self._check_room(region_bytes)
            view = _map_memory_file(fds[0], region_bytes)
        except WireError as error:
            return RegistrationReply(StatusCode.BAD_REQUEST, self.node_id, 0, str(error)), None
        except Fs3Error as error:
            return RegistrationReply(error.code, self.node_id, 0, error.message), None
        finally:
            close_all(fds)  # the mapping keeps the memory
        region_id = secrets.randbits(63) or 1
        region = _MappedRegion(region_id, identity.name, region_bytes, view)
        self._regions[region_id] = region
        self._mapped_bytes += region_bytes
        SHARED_MEMORY_REGIONS.set(len(self._regions))
        logger.debug("shared memory region %#x of %s: %d bytes", region_id, identity.name, region_bytes)
        return RegistrationReply(0, self.node_id, region_id), region

    async def _authenticate(self, token: bytes) -> Identity:
        if self.authenticator is None:
            return UNCHECKED_IDENTITY
        try:
            text = token.decode()
        except UnicodeDecodeError:
            raise Fs3Error(StatusCode.UNAUTHENTICATED, "token is not UTF-8") from None
        _digest, identity = await self.authenticator.authenticate(text)
        return identity

    def _check_room(self, region_bytes: int) -> None:
        limits = self.limits
        if region_bytes < _PAGE_BYTES or region_bytes > limits.region_bytes_max or region_bytes % _PAGE_BYTES:
            raise Fs3Error(StatusCode.BAD_REQUEST, f"region of {region_bytes} bytes: must be whole pages, "
                                                   f"{_PAGE_BYTES}..{limits.region_bytes_max} bytes")
        if len(self._regions) >= limits.regions_max:
            raise Fs3Error(errno.ENOSPC, f"storage node {self.node_id} has {limits.regions_max} regions registered")
        if self._mapped_bytes + region_bytes > limits.mapped_bytes_max:
            raise Fs3Error(errno.ENOSPC, f"storage node {self.node_id} maps {self._mapped_bytes} of "
                                         f"{limits.mapped_bytes_max} bytes of client memory")


def _map_memory_file(fd: int, size: int) -> memoryview:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size != size:
        raise Fs3Error(StatusCode.BAD_REQUEST, f"the descriptor is not a memory file of {size} bytes")
    try:
        seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
    except OSError:
        raise Fs3Error(StatusCode.BAD_REQUEST, "the memory file must be a memfd created with MFD_ALLOW_SEALING") from None
    if not seals & fcntl.F_SEAL_SHRINK:
        raise Fs3Error(StatusCode.BAD_REQUEST, "the memory file must be sealed against shrinking (F_SEAL_SHRINK)")
    try:
        mapping = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    except OSError as error:
        raise Fs3Error(StatusCode.BAD_REQUEST, f"cannot map the memory file for reading and writing: {error}") from None
    return memoryview(mapping)
