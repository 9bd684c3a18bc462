"""Which storage services this client reaches through shared memory, and its region.

A storage service that advertises a shared-memory socket in its NodeInfo may
be on this host; the first chunk request for it tries to register this
client's region there (`fs3.net.shared_memory`). Success makes every later
chunk payload to that service move through a region slot instead of the TCP
stream; failure (another host, a refusal) is remembered for
`retry_after_s`, and requests use TCP meanwhile. The region is made on first
need, so clients that move no data on this host never allocate it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

from fs3.errors import Fs3Error, StatusCode
from fs3.net.client import RpcClient
from fs3.net.shared_memory.region import Registration, SharedMemoryRegion, register_region
from fs3.routing import NodeInfo

__all__ = ["SharedMemoryPaths", "SharedMemoryConfig", "SlotLease"]

logger = logging.getLogger(__name__)

# Errors after which the service may still be using a slot (no reply came back).
_NO_REPLY = frozenset({StatusCode.UNAVAILABLE, StatusCode.TIMEOUT})


@dataclasses.dataclass(frozen=True, slots=True)
class SharedMemoryConfig:
    enabled: bool = True
    slot_bytes: int = 1 << 20  # larger requests use TCP
    slots: int = 32  # requests in flight through shared memory at once, over all services
    registration_timeout_s: float = 2.0
    retry_after_s: float = 30.0  # after a failed registration with a service
    # slots a caller may keep after a read (`call_leasing`); the rest always serve plain calls, so readers
    # that hold their bytes (readahead of idle open files) never starve writes
    leased_slots_max: int = 16

    def check(self) -> None:
        assert self.slot_bytes > 0 and self.slot_bytes % 4096 == 0 and self.slots > 0
        assert 0 <= self.leased_slots_max < self.slots
        assert self.registration_timeout_s > 0 and self.retry_after_s >= 0


class SlotLease:
    """The bytes a read left in a slot, on loan until `release` (the caller saves copying them out).

    The memory stays mapped after `release`, but the slot then serves other calls: nothing may read
    `view` (or a slice of it) afterwards."""

    __slots__ = ("view", "_paths", "_region", "_slot")

    def __init__(self, paths: "SharedMemoryPaths", region: SharedMemoryRegion, slot, length: int) -> None:
        self.view = slot.view[:length]
        self._paths = paths
        self._region = region
        self._slot = slot

    def release(self) -> None:
        if self._slot is not None:
            self._paths.leased -= 1
            self._region.release(self._slot)
            self._slot = None


class SharedMemoryPaths:
    def __init__(self, token: str | None, config: SharedMemoryConfig = SharedMemoryConfig()) -> None:
        config.check()
        self.config = config
        self._token = token or ""
        self.region: SharedMemoryRegion | None = None
        self._registrations: dict[str, Registration] = {}  # by socket name
        self._failed_until: dict[str, float] = {}
        self._pending: dict[str, asyncio.Future] = {}
        self._closed = False
        self.regions_abandoned = 0
        self.leased = 0  # slots on loan to callers of `call_leasing`

    async def registration_for(self, node: NodeInfo) -> Registration | None:
        """This client's registration with `node` (None: use TCP)."""
        name = node.shared_memory_socket
        if not name or not self.config.enabled or self._closed:
            return None
        registration = self._registrations.get(name)
        if registration is not None:
            return registration
        if time.monotonic() < self._failed_until.get(name, 0.0):
            return None
        pending = self._pending.get(name)
        if pending is None:
            pending = self._pending[name] = asyncio.ensure_future(self._register(node))
            pending.add_done_callback(lambda _future: self._pending.pop(name, None))
        return await asyncio.shield(pending)

    async def _register(self, node: NodeInfo) -> Registration | None:
        name = node.shared_memory_socket
        if self.region is None:
            self.region = SharedMemoryRegion(self.config.slot_bytes, self.config.slots)
        region = self.region
        try:
            registration = await register_region(region, name, self._token, node.node_id,
                                                 self.config.registration_timeout_s)
        except Fs3Error as error:
            now = time.monotonic()
            # (names of a restarted service's earlier processes expire here, not kept forever)
            self._failed_until = {known: until for known, until in self._failed_until.items() if until > now}
            self._failed_until[name] = now + self.config.retry_after_s
            logger.debug("storage node %d: no shared memory (%s); using TCP", node.node_id, error)
            return None
        if self._closed or region is not self.region:  # closed, or the region abandoned meanwhile
            registration.close()
            return None
        for old_name, old in list(self._registrations.items()):
            if old.node_id == node.node_id:  # the service's earlier process
                del self._registrations[old_name]
                old.close()
        self._registrations[name] = registration
        return registration

    def forget(self, registration: Registration) -> None:
        """The service no longer knows the region (it restarted): register again on next use."""
        for name, known in list(self._registrations.items()):
            if known is registration:
                del self._registrations[name]
                registration.close()

    def abandon(self, region: SharedMemoryRegion) -> None:
        """A service may still write into a slot of `region`: use a new region from now on.

        Every registration of it is closed (the services unmap it once their calls in flight are done)."""
        if region is not self.region:
            return  # already replaced
        region.abandon()
        for registration in self._registrations.values():
            registration.close()
        self._registrations.clear()
        region.close()
        self.region = None
        self.regions_abandoned += 1

    @property
    def registered_with(self) -> int:
        """How many services hold this process's current region."""
        return len(self._registrations)

    def usable(self, length: int) -> bool:
        return 0 < length <= self.config.slot_bytes

    async def registration_for_payload(self, node: NodeInfo | None, length: int) -> Registration | None:
        """The registration to move a payload of `length` bytes to or from `node` (None: use TCP)."""
        if node is None or not self.usable(length):
            return None
        return await self.registration_for(node)

    async def call(self, rpc: RpcClient, registration: Registration, method_id: int, request, response_type, *,
                   timeout_s: float, send: memoryview | None = None, receive_into: memoryview | None = None):
        """One chunk call (its request has a `shared_buffer` field) whose payload moves through a slot
        of the region instead of the frame; returns the reply message (its `length`: bytes received)."""
        message, _ = await self._call_in_slot(rpc, registration, method_id, request, response_type,
                                              timeout_s=timeout_s, send=send, receive_into=receive_into)
        return message

    async def call_leasing(self, rpc: RpcClient, registration: Registration, method_id: int, request,
                           response_type, *, length: int, timeout_s: float):
        """A read call whose reply bytes stay in the slot: (reply message, SlotLease over the slot's
        first `length` bytes), which the caller must `release`; None if `leased_slots_max` slots are
        on loan already (use `call`)."""
        if self.leased >= self.config.leased_slots_max:
            return None
        self.leased += 1  # counted before any await, so concurrent callers never exceed the bound
        try:
            return await self._call_in_slot(rpc, registration, method_id, request, response_type,
                                            timeout_s=timeout_s, lease_length=length)
        except BaseException:
            self.leased -= 1
            raise

    async def _call_in_slot(self, rpc: RpcClient, registration: Registration, method_id: int, request, response_type,
                            *, timeout_s: float, send: memoryview | None = None,
                            receive_into: memoryview | None = None, lease_length: int | None = None):
        region = registration.region
        slot = await region.acquire()
        replied = False
        lease = None
        try:
            if send is not None:
                slot.view[:len(send)] = send
            request.shared_buffer.region_id = registration.region_id
            request.shared_buffer.offset = slot.offset
            try:
                result = await rpc.call(method_id, request, response_type, timeout_s=timeout_s)
            except Fs3Error as error:
                replied = error.code not in _NO_REPLY
                if error.code == StatusCode.UNKNOWN_REGION:
                    self.forget(registration)
                raise
            replied = True
            if receive_into is not None and result.message.length:
                count = result.message.length
                receive_into[:count] = slot.view[:count]
            if lease_length is not None:
                lease = SlotLease(self, region, slot, lease_length)
            return result.message, lease
        finally:
            if lease is None:
                if replied:
                    region.release(slot)
                else:
                    self.abandon(region)  # the service may still write into the slot

    def close(self) -> None:
        self._closed = True
        for registration in self._registrations.values():
            registration.close()
        self._registrations.clear()
        if self.region is not None:
            self.region.close()
