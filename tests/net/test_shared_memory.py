"""Shared-memory regions between a client and a storage service: registration, views, refusals.

Real Unix sockets, real memfds and mappings; the registry runs without an
authenticator (every registration acts as an unchecked root) except where a
test gives it one.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import mmap
import os
import socket
import tempfile

import pytest

from fs3.errors import Fs3Error, StatusCode
from fs3.identity import UNCHECKED_IDENTITY, Identity
from fs3.net.shared_memory import SharedMemoryLimits, SharedMemoryRegion, SharedMemoryRegistry, register_region
from fs3.net.shared_memory.sockets import receive_exactly, send_all
from fs3.net.shared_memory.wire import REPLY_HEADER, RegistrationReply, RegistrationRequest
from tests.conftest import eventually

MiB = 1 << 20


async def _registry(limits: SharedMemoryLimits = SharedMemoryLimits(), authenticator=None) -> SharedMemoryRegistry:
    registry = SharedMemoryRegistry(7, authenticator, limits)
    await registry.start()
    return registry


async def _raw_registration(registry: SharedMemoryRegistry, data: bytes, fds: list[int]) -> RegistrationReply:
    """Send `data` (and `fds`) as a registration request; the reply."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(connection, "\0" + registry.socket_name)
        await send_all(connection, data, fds)
        header, _ = await receive_exactly(connection, REPLY_HEADER.size)
        reply, message_bytes = RegistrationReply.unpack_header(header)
        message, _ = await receive_exactly(connection, message_bytes)
        return RegistrationReply(reply.status, reply.node_id, reply.region_id, message.decode())
    finally:
        connection.close()


def _memfd(size: int, seals: int) -> int:
    fd = os.memfd_create("test", os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, size)
    if seals:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    return fd


def test_a_registered_region_is_the_same_memory_on_both_sides_until_the_client_closes():
    async def main() -> None:
        registry = await _registry()
        region = SharedMemoryRegion(MiB, 4)
        try:
            registration = await register_region(region, registry.socket_name, "", 7, timeout_s=5)
            assert registry.region_count == 1
            slot = await region.acquire()
            slot.view[:5] = b"hello"
            service_view = registry.view(registration.region_id, slot.offset, 5, UNCHECKED_IDENTITY)
            assert bytes(service_view) == b"hello"
            service_view[:5] = b"HELLO"  # a read lands in the client's memory
            assert bytes(slot.view[:5]) == b"HELLO"
            region.release(slot)
            del service_view
            registration.close()
            await eventually(lambda: registry.region_count == 0, timeout_s=5.0)
            with pytest.raises(Fs3Error) as caught:
                registry.view(registration.region_id, 0, 5, UNCHECKED_IDENTITY)
            assert caught.value.code == StatusCode.UNKNOWN_REGION
        finally:
            region.close()
            await registry.stop()

    asyncio.run(main())


def test_views_are_bounded_and_belong_to_their_user():
    async def main() -> None:
        registry = await _registry()
        region = SharedMemoryRegion(MiB, 2)
        try:
            registration = await register_region(region, registry.socket_name, "", 7, timeout_s=5)
            region_id = registration.region_id
            for offset, length in ((2 * MiB, 1), (2 * MiB - 10, 11), (-1, 4), (0, 2 * MiB + 1)):
                with pytest.raises(Fs3Error) as caught:
                    registry.view(region_id, offset, length, UNCHECKED_IDENTITY)
                assert caught.value.code == StatusCode.OFFSET_OUT_OF_RANGE, (offset, length)
            assert len(registry.view(region_id, MiB, MiB, UNCHECKED_IDENTITY)) == MiB
            other = Identity(name="mallory", uid=1001, gid=1001)
            with pytest.raises(Fs3Error) as caught:
                registry.view(region_id, 0, 1, other)
            assert caught.value.code == StatusCode.PERMISSION_DENIED
            with pytest.raises(Fs3Error) as caught:
                registry.view(region_id ^ 1, 0, 1, UNCHECKED_IDENTITY)
            assert caught.value.code == StatusCode.UNKNOWN_REGION
        finally:
            region.close()
            await registry.stop()

    asyncio.run(main())


def test_hostile_registrations_are_refused_precisely_and_the_registry_keeps_working():
    async def main() -> None:
        registry = await _registry(SharedMemoryLimits(region_bytes_max=4 * MiB, mapped_bytes_max=8 * MiB, regions_max=2))
        sealed = mmap.PAGESIZE * 16
        opened: list[int] = []
        try:
            def request(size: int) -> bytes:
                return RegistrationRequest("", size).pack()

            def sealed_memfd(size: int = sealed) -> int:
                fd = _memfd(size, fcntl.F_SEAL_SHRINK)
                opened.append(fd)
                return fd

            # garbage instead of a request
            reply = await _raw_registration(registry, b"GARBAGE!" * 4, [sealed_memfd()])
            assert reply.status == StatusCode.BAD_REQUEST and "magic" in reply.message
            # no descriptor
            reply = await _raw_registration(registry, request(sealed), [])
            assert reply.status == StatusCode.BAD_REQUEST and "exactly one" in reply.message
            # two descriptors
            reply_task = _raw_registration(registry, request(sealed), [sealed_memfd(), sealed_memfd()])
            with pytest.raises((ConnectionError, Fs3Error)):
                await reply_task
            # a regular file, not a memfd
            with tempfile.TemporaryFile() as file:
                file.truncate(sealed)
                reply = await _raw_registration(registry, request(sealed), [file.fileno()])
            assert reply.status == StatusCode.BAD_REQUEST and "MFD_ALLOW_SEALING" in reply.message
            # a memfd the client could still shrink under the service's mapping
            unsealed = _memfd(sealed, 0)
            opened.append(unsealed)
            reply = await _raw_registration(registry, request(sealed), [unsealed])
            assert reply.status == StatusCode.BAD_REQUEST and "F_SEAL_SHRINK" in reply.message
            # a size that does not match the memory, or exceeds the bound, or is not whole pages
            reply = await _raw_registration(registry, request(2 * sealed), [sealed_memfd()])
            assert reply.status == StatusCode.BAD_REQUEST and "memory file of" in reply.message
            reply = await _raw_registration(registry, request(8 * MiB), [sealed_memfd(8 * MiB)])
            assert reply.status == StatusCode.BAD_REQUEST and "whole pages" in reply.message
            reply = await _raw_registration(registry, request(sealed + 1), [sealed_memfd()])
            assert reply.status == StatusCode.BAD_REQUEST
            # a read-only descriptor cannot be mapped for writing
            read_only = os.open(f"/proc/self/fd/{sealed_memfd()}", os.O_RDONLY)
            opened.append(read_only)
            reply = await _raw_registration(registry, request(sealed), [read_only])
            assert reply.status == StatusCode.BAD_REQUEST and "cannot map" in reply.message
            assert registry.region_count == 0

            # bounds on how many regions: the third is refused with ENOSPC
            regions = [SharedMemoryRegion(MiB, 1) for _ in range(3)]
            registrations = [await register_region(region, registry.socket_name, "", 7, timeout_s=5)
                             for region in regions[:2]]
            with pytest.raises(Fs3Error) as caught:
                await register_region(regions[2], registry.socket_name, "", 7, timeout_s=5)
            assert caught.value.code == errno.ENOSPC
            # a registration for another node id is not used
            registrations[0].close()
            await eventually(lambda: registry.region_count == 1, timeout_s=5.0)
            with pytest.raises(Fs3Error) as caught:
                await register_region(regions[2], registry.socket_name, "", 8, timeout_s=5)
            assert caught.value.code == StatusCode.UNAVAILABLE and "not 8" in caught.value.message
            for registration in registrations[1:]:
                registration.close()
            for region in regions:
                region.close()
            # no such service on this host
            with pytest.raises(Fs3Error) as caught:
                await register_region(SharedMemoryRegion(MiB, 1), "fs3-no-such-socket", "", 7, timeout_s=5)
            assert caught.value.code == StatusCode.UNAVAILABLE
        finally:
            for fd in opened:
                os.close(fd)
            await registry.stop()

    asyncio.run(main())


def test_a_bad_token_is_refused():
    class Refuse:
        version = 1

        async def authenticate(self, token):
            raise Fs3Error(StatusCode.UNAUTHENTICATED, f"unknown token {token[:2]}..")

    async def main() -> None:
        registry = await _registry(authenticator=Refuse())
        region = SharedMemoryRegion(MiB, 1)
        try:
            with pytest.raises(Fs3Error) as caught:
                await register_region(region, registry.socket_name, "xx-token", 7, timeout_s=5)
            assert caught.value.code == StatusCode.UNAUTHENTICATED
            assert registry.region_count == 0
        finally:
            region.close()
            await registry.stop()

    asyncio.run(main())


def test_slots_are_lent_once_and_an_abandoned_region_lends_none():
    async def main() -> None:
        region = SharedMemoryRegion(64 << 10, 3)
        try:
            slots = [await region.acquire() for _ in range(3)]
            assert sorted(slot.offset for slot in slots) == [0, 64 << 10, 128 << 10]
            waiter = asyncio.ensure_future(region.acquire())
            await asyncio.sleep(0.01)
            assert not waiter.done()
            region.release(slots[1])
            assert (await waiter) is slots[1]
            waiters = [asyncio.ensure_future(region.acquire()) for _ in range(2)]
            await asyncio.sleep(0.01)
            region.abandon()  # a service may still write into a slot: every waiter is told
            for waiter in waiters:
                with pytest.raises(Fs3Error) as caught:
                    await waiter
                assert caught.value.code == StatusCode.UNKNOWN_REGION
            region.release(slots[0])
            with pytest.raises(Fs3Error):
                await region.acquire()
        finally:
            region.close()

    asyncio.run(main())


def test_connections_that_never_register_are_bounded_and_timed_out():
    async def main() -> None:
        registry = await _registry(SharedMemoryLimits(registrations_pending_max=3, registration_timeout_s=0.5))
        idle = []
        try:
            loop = asyncio.get_running_loop()
            for _ in range(6):
                connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                connection.setblocking(False)
                await loop.sock_connect(connection, "\0" + registry.socket_name)
                idle.append(connection)
            await asyncio.sleep(0.1)
            # three wait for their registration; the others were closed at once
            closed = 0
            for connection in idle:
                try:
                    closed += await asyncio.wait_for(loop.sock_recv(connection, 1), 0.05) == b""
                except asyncio.TimeoutError:
                    pass
            assert closed == 3
            await asyncio.sleep(0.8)  # past the registration timeout: the waiting ones are closed too
            region = SharedMemoryRegion(MiB, 1)
            registration = await register_region(region, registry.socket_name, "", 7, timeout_s=5)
            assert registry.region_count == 1
            registration.close()
            region.close()
        finally:
            for connection in idle:
                connection.close()
            await registry.stop()

    asyncio.run(main())
