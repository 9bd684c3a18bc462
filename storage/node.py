"""The storage service's core: validate, lock, write locally, forward, commit.

This implements the write and read halves of CRAQ as
`shared/design/replication.md` states them:

- every hop checks the request's chain version against its routing info;
- writes to a chunk are serialised by the chunk lock at each target;
- a non-tail target stores a pending version, forwards to its successor,
  and commits when the successor acknowledges; the tail commits at once;
- reads are served by any serving replica; a chunk with a pending version
  answers CHUNK_PENDING unless the read is relaxed;
- nothing is served without the heartbeat lease (`fs3.storage.lease`), nor by
  a target whose local state is OFFLINE (restarted, recovery not begun);
- a write forwarded to a SYNCING successor carries the whole chunk after the
  update (full-chunk replace); a syncing target commits such writes at once
  (`fs3.storage.replication.resync` transfers the rest);
- so does a forward that may have reached the successor already: a retry
  after a failed attempt, or the next write of a chunk whose last forward
  failed. Applying the update twice would give the successor another version
  number (or, after a different update, other bytes) than ours; the whole
  chunk with our version number makes it equal to ours whatever it held.
  A middle target that already committed exactly that version (only its
  acknowledgement was lost) keeps it and passes it on unchanged, rather
  than storing it again as a version of its own one higher;
- before the next client write of such a chunk, the head asks its successor
  what it committed: if that is exactly its pending version, it commits it
  too and the new write is an ordinary update on top (same version
  everywhere). A middle target does not: the writes it gets from its
  predecessor carry the version numbers the predecessor chose.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import logging
from typing import Awaitable, Callable, Protocol

from fs3.errors import Fs3Error, StatusCode
from fs3.routing import LocalState, PublicState, RoutingInfo, TargetInfo
from fs3.storage.chunk_engine import ChunkId, ChunkMeta
from fs3.storage.lease import HeartbeatLease
from fs3.storage.replication.local_state import TargetLocalStates
from fs3.storage.requests import (
    ReadRequest, ReadResult, RemoveChunksRequest, TruncateChunkRequest, WriteRequest, WriteResult,
)
from fs3.storage.target import StorageTarget

__all__ = ["StorageNode", "Forwarder"]

logger = logging.getLogger(__name__)

_WRITABLE = (PublicState.SERVING, PublicState.SYNCING)


class Forwarder(Protocol):
    async def forward_write(self, successor: TargetInfo, request: WriteRequest, payload: memoryview) -> WriteResult: ...

    async def query_chunk(self, successor: TargetInfo, chain_id: int, chunk_id: ChunkId) -> ChunkMeta | None: ...

    async def forward_remove(self, successor: TargetInfo, request: RemoveChunksRequest) -> int: ...

    async def forward_truncate(self, successor: TargetInfo, request: TruncateChunkRequest) -> None: ...


class StorageNode:
    def __init__(
        self,
        node_id: int,
        targets: dict[int, StorageTarget],
        routing: Callable[[], RoutingInfo],
        refresh_routing: Callable[[], Awaitable[RoutingInfo]],
        forwarder: Forwarder,
        *,
        chunk_size_bytes_max: int,
        forward_retries_max: int,
        forward_retry_delay_s: float = 0.2,
        lease: HeartbeatLease | None = None,
        local_states: TargetLocalStates | None = None,
    ) -> None:
        self.node_id = node_id
        self.targets = targets
        self._routing = routing
        self._refresh_routing = refresh_routing
        self.forwarder = forwarder
        self.chunk_size_bytes_max = chunk_size_bytes_max
        self.forward_retries_max = forward_retries_max
        self.forward_retry_delay_s = forward_retry_delay_s
        self.lease = lease if lease is not None else HeartbeatLease.always()
        self.local_states = local_states if local_states is not None else TargetLocalStates(targets, returning=False)
        self._writes_in_flight: dict[int, set[object]] = {target_id: set() for target_id in targets}
        # (target id, chunk id) whose last forward failed: the successor may or may not hold that update.
        # Cleared by the chunk's next acknowledged write; a restart makes every target recover anyway.
        self._uncertain_forwards: set[tuple[int, ChunkId]] = set()

    def add_target(self, target: StorageTarget, local_state: LocalState) -> None:
        """Serve a target created or emptied while running (`fs3.storage.target_admin`); it replaces
        any target of the same id in the shared `targets` map."""
        self.targets[target.target_id] = target
        self._writes_in_flight.setdefault(target.target_id, set())
        self.local_states.add(target.target_id, local_state)

    # ---- validation -----------------------------------------------------------
    async def check_chain_version(self, chain_id: int, chain_version: int) -> RoutingInfo:
        """The routing info, once `chain_version` (0: any) is the chain's current version here."""
        return await self._check_chain_version(chain_id, chain_version)

    def _check_local_state(self, target_id: int, *, for_write: bool, full_chunk_replace: bool = False) -> None:
        local = self.local_states.state(target_id)
        if local == LocalState.OFFLINE:
            raise Fs3Error(StatusCode.TARGET_NOT_SERVING, f"target {target_id} is restarting (recovery not begun)")
        if local == LocalState.ONLINE and self._routing().targets[target_id].public_state != PublicState.SERVING:
            if not for_write or not full_chunk_replace:
                raise Fs3Error(StatusCode.TARGET_NOT_SERVING,
                               f"target {target_id} is recovering: only full-chunk writes from its predecessor")

    async def _check_chain_version(self, chain_id: int, chain_version: int) -> RoutingInfo:
        routing = self._routing()
        chain = routing.chain(chain_id)
        if chain is None or (chain_version and chain.chain_version < chain_version):
            routing = await self._refresh_routing()
            chain = routing.chain(chain_id)
        if chain is None:
            raise Fs3Error(StatusCode.UNKNOWN_CHAIN, f"chain {chain_id} does not exist")
        if chain_version and chain.chain_version != chain_version:
            raise Fs3Error(
                StatusCode.STALE_CHAIN_VERSION,
                f"chain {chain_id}: request has version {chain_version}, target knows {chain.chain_version}",
            )
        return routing

    def _local_target(self, routing: RoutingInfo, chain_id: int, target_id: int, *, for_write: bool) -> StorageTarget:
        chain = routing.chain(chain_id)
        assert chain is not None
        if target_id == 0:
            members = routing.writable_targets(chain_id) if for_write else routing.serving_targets(chain_id)
            if for_write:
                if not members or members[0].target_id not in self.targets:
                    raise Fs3Error(StatusCode.TARGET_NOT_SERVING, f"this node is not the head of chain {chain_id}")
                target_id = members[0].target_id
            else:
                local = [member.target_id for member in members if member.target_id in self.targets]
                if not local:
                    raise Fs3Error(StatusCode.TARGET_NOT_SERVING, f"no serving replica of chain {chain_id} here")
                target_id = local[0]
        target = self.targets.get(target_id)
        if target is None:
            raise Fs3Error(StatusCode.UNKNOWN_TARGET, f"target {target_id} is not on storage node {self.node_id}")
        if target_id not in chain.target_ids:
            raise Fs3Error(StatusCode.UNKNOWN_TARGET, f"target {target_id} is not in chain {chain_id}")
        state = routing.targets[target_id].public_state
        allowed = _WRITABLE if for_write else (PublicState.SERVING,)
        if state not in allowed:
            raise Fs3Error(StatusCode.TARGET_NOT_SERVING, f"target {target_id} is {state.name}")
        return target

    def _check_write_arguments(self, request: WriteRequest, payload: memoryview | None) -> memoryview:
        if request.chunk_size <= 0 or request.chunk_size > self.chunk_size_bytes_max:
            raise Fs3Error(
                StatusCode.OFFSET_OUT_OF_RANGE,
                f"chunk size {request.chunk_size} not in 1..{self.chunk_size_bytes_max}",
            )
        if request.offset + request.length > request.chunk_size:
            raise Fs3Error(
                StatusCode.OFFSET_OUT_OF_RANGE,
                f"write of {request.length} bytes at {request.offset} exceeds chunk size {request.chunk_size}",
            )
        data = payload if payload is not None else memoryview(b"")
        if len(data) != request.length:
            raise Fs3Error(StatusCode.BAD_REQUEST, f"payload has {len(data)} bytes, request says {request.length}")
        return data  # the payload checksum is verified in the I/O thread, before anything is written

    # ---- writes ---------------------------------------------------------------
    async def write(self, request: WriteRequest, payload: memoryview | None) -> WriteResult:
        self.lease.check()
        data = self._check_write_arguments(request, payload)
        routing = await self._check_chain_version(request.chain_id, request.chain_version)
        target = self._local_target(routing, request.chain_id, request.target_id, for_write=True)
        self._check_local_state(target.target_id, for_write=True, full_chunk_replace=request.full_chunk_replace)
        token = object()  # resync waits for writes that chose their successor before it started
        self._writes_in_flight[target.target_id].add(token)
        try:
            async with target.locks.hold(request.chunk_id):
                return await self._write_locked(request, target, data)
        finally:
            self._writes_in_flight[target.target_id].discard(token)

    async def _write_locked(self, request: WriteRequest, target: StorageTarget, data: memoryview) -> WriteResult:
        successor = self._successor(self._routing(), request.chain_id, target.target_id)
        if successor is None:
            # The tail (a syncing target always is the chain's writable tail): commit at once. A full-chunk
            # replace from a predecessor keeps the predecessor's version number, dropping any pending one.
            keep_version = request.full_chunk_replace and request.from_predecessor
            meta = await target.write_committed(
                request.chunk_id, request.offset, data, chunk_size=request.chunk_size,
                chain_version=request.chain_version, full_chunk_replace=request.full_chunk_replace,
                payload_crc32c=request.payload_crc32c, committed_version=request.update_version if keep_version else 0,
            )
            return WriteResult(meta.committed_version, meta.length, meta.crc32c)
        key = (target.target_id, request.chunk_id)
        if key in self._uncertain_forwards and not request.from_predecessor:
            # (at the head: a write from a predecessor carries the version numbers the predecessor chose)
            await self._settle_uncertain_forward(request, target, key)
        pending = await self._committed_duplicate(request, target)
        if pending is None:
            pending = await target.write_pending(
                request.chunk_id, request.offset, data, chunk_size=request.chunk_size,
                chain_version=request.chain_version, full_chunk_replace=request.full_chunk_replace,
                payload_crc32c=request.payload_crc32c,
            )
            assert pending.pending_version == pending.committed_version + 1, f"bad pending version {pending}"
        try:
            await self._forward_until_acknowledged(request, target, data, pending,
                                                   whole_chunk_first=key in self._uncertain_forwards)
        except BaseException:
            self._uncertain_forwards.add(key)
            raise
        self._uncertain_forwards.discard(key)
        meta = await target.commit(request.chunk_id, pending.pending_version)  # (a duplicate: already committed)
        assert meta.committed_version == pending.pending_version
        return WriteResult(meta.committed_version, meta.length, meta.crc32c)

    async def _settle_uncertain_forward(self, request: WriteRequest, target: StorageTarget,
                                        key: tuple[int, ChunkId]) -> None:
        """Our last forward of this chunk failed while we still hold its update as pending: if the
        successor committed exactly that version (only the acknowledgement was lost, so the rest of
        the chain has it too), commit it here as well, before a new write replaces it. Otherwise
        (or if the successor cannot say) the new write goes down as the whole chunk, as before."""
        local = await target.get_meta(request.chunk_id)
        if local is None or not local.pending_version:
            return
        successor = self._successor(self._routing(), request.chain_id, target.target_id)
        if successor is None:
            return
        try:
            remote = await self.forwarder.query_chunk(successor, request.chain_id, request.chunk_id)
        except Fs3Error as error:
            logger.info("chunk %s: cannot ask target %d what it committed (%s)", request.chunk_id,
                        successor.target_id, error)
            return
        if (remote is not None and not remote.pending_version
                and remote.committed_version == local.pending_version
                and (remote.length, remote.crc32c) == (local.pending_length, local.pending_crc32c)):
            await target.commit(request.chunk_id, local.pending_version)
            self._uncertain_forwards.discard(key)

    @staticmethod
    async def _committed_duplicate(request: WriteRequest, target: StorageTarget) -> ChunkMeta | None:
        """A predecessor's whole chunk that we hold committed already, same version and bytes (our
        acknowledgement of it was lost): its metadata, described as the version to forward; else None."""
        if not (request.from_predecessor and request.full_chunk_replace and request.update_version):
            return None
        current = await target.get_meta(request.chunk_id)
        if (current is None or current.pending_version or current.committed_version != request.update_version
                or current.length != request.length or current.crc32c != request.payload_crc32c):
            return None
        return dataclasses.replace(current, pending_version=current.committed_version, pending_length=current.length,
                                   pending_crc32c=current.crc32c)

    async def drain_writes(self, target_id: int, poll_s: float = 0.005) -> None:
        """Wait until every write to `target_id` in flight now has finished (newer ones do not count)."""
        before = set(self._writes_in_flight[target_id])
        while before & self._writes_in_flight[target_id]:
            await asyncio.sleep(poll_s)

    async def _pending_content(self, target: StorageTarget, chunk_id: ChunkId, pending: ChunkMeta) -> memoryview:
        """The whole pending version of a chunk we hold the lock of (what a syncing successor gets)."""
        content = memoryview(bytearray(pending.pending_length))
        count = await target.read(chunk_id, 0, pending.pending_length, content, relaxed=True)
        assert count == pending.pending_length, f"chunk {chunk_id}: read {count} of {pending.pending_length} bytes"
        return content

    def _successor(self, routing: RoutingInfo, chain_id: int, target_id: int) -> TargetInfo | None:
        members = routing.writable_targets(chain_id)
        ids = [member.target_id for member in members]
        if target_id not in ids:
            raise Fs3Error(StatusCode.TARGET_NOT_SERVING, f"target {target_id} left chain {chain_id}")
        index = ids.index(target_id)
        return members[index + 1] if index + 1 < len(members) else None

    async def _forward_until_acknowledged(self, request: WriteRequest, target: StorageTarget, data: memoryview,
                                          pending: ChunkMeta, *, whole_chunk_first: bool) -> None:
        """Forward to the current successor until one acknowledges, or we become the tail.

        A SYNCING successor gets the whole chunk after this update as a full-chunk replace with our
        pending version number, so it ends up with a complete chunk whatever it held before; so does
        any successor once a forward of this chunk may have reached it unacknowledged.
        """
        last_error: Fs3Error | None = None
        whole_chunk: memoryview | None = None
        for attempt in range(self.forward_retries_max):
            routing = self._routing()
            chain = routing.chain(request.chain_id)
            assert chain is not None
            successor = self._successor(routing, request.chain_id, target.target_id)
            if successor is None:
                return  # the successors left the chain: we are the tail now
            if successor.public_state == PublicState.SYNCING or whole_chunk_first or attempt > 0:
                if whole_chunk is None:
                    whole_chunk = await self._pending_content(target, request.chunk_id, pending)
                hop = WriteRequest(
                    chain_id=request.chain_id, chain_version=chain.chain_version, chunk_id=request.chunk_id,
                    offset=0, length=len(whole_chunk), chunk_size=request.chunk_size,
                    payload_crc32c=pending.pending_crc32c, full_chunk_replace=True,
                    target_id=successor.target_id, client_id=request.client_id, request_seq=request.request_seq,
                    from_predecessor=True, update_version=pending.pending_version,
                )
                hop_data = whole_chunk
            else:
                hop = WriteRequest(
                    chain_id=request.chain_id, chain_version=chain.chain_version, chunk_id=request.chunk_id,
                    offset=request.offset, length=request.length, chunk_size=request.chunk_size,
                    payload_crc32c=request.payload_crc32c, full_chunk_replace=request.full_chunk_replace,
                    target_id=successor.target_id, client_id=request.client_id, request_seq=request.request_seq,
                    from_predecessor=True,
                    # a whole chunk keeps our version number down the chain (patches get committed + 1)
                    update_version=pending.pending_version if request.full_chunk_replace else 0,
                )
                hop_data = data
            try:
                await self.forwarder.forward_write(successor, hop, hop_data)
                return
            except Fs3Error as error:
                if error.code in (errno.ENOSPC, StatusCode.OFFSET_OUT_OF_RANGE, StatusCode.CHECKSUM_MISMATCH):
                    raise
                last_error = error
                logger.info("forward of chunk %s to target %d failed (%s); retrying", request.chunk_id,
                            successor.target_id, error)
            await asyncio.sleep(self.forward_retry_delay_s)
            try:
                await self._refresh_routing()
            except Fs3Error:
                pass
        raise Fs3Error(StatusCode.UNAVAILABLE, f"chain {request.chain_id}: successor unreachable: {last_error}")

    # ---- reads ----------------------------------------------------------------
    async def read(self, request: ReadRequest, into: memoryview) -> ReadResult:
        if request.length > len(into):
            raise Fs3Error(StatusCode.OFFSET_OUT_OF_RANGE, f"read of {request.length} bytes exceeds the buffer")
        if request.offset > self.chunk_size_bytes_max or request.length > self.chunk_size_bytes_max:
            raise Fs3Error(StatusCode.OFFSET_OUT_OF_RANGE, f"read at {request.offset}+{request.length} out of range")
        self.lease.check()
        routing = await self._check_chain_version(request.chain_id, request.chain_version)
        target = self._local_target(routing, request.chain_id, request.target_id, for_write=False)
        self._check_local_state(target.target_id, for_write=False)
        meta, length = await target.read_with_meta(
            request.chunk_id, request.offset, request.length, into, relaxed=request.relaxed
        )
        if meta is None:
            return ReadResult(0, 0, 0, False)
        return ReadResult(length, meta.committed_version, meta.length, True)

    # ---- chunk queries and removal -------------------------------------------
    def target_for_query(self, chain_id: int, target_id: int) -> StorageTarget:
        routing = self._routing()
        if routing.chain(chain_id) is None:
            raise Fs3Error(StatusCode.UNKNOWN_CHAIN, f"chain {chain_id} does not exist")
        if target_id:
            target = self.targets.get(target_id)
            if target is None:
                raise Fs3Error(StatusCode.UNKNOWN_TARGET, f"target {target_id} is not on storage node {self.node_id}")
            return target
        for member in routing.chains[chain_id].target_ids:
            if member in self.targets:
                return self.targets[member]
        raise Fs3Error(StatusCode.UNKNOWN_TARGET, f"no target of chain {chain_id} on storage node {self.node_id}")

    async def query_chunk(self, chain_id: int, chunk_id: ChunkId, target_id: int):
        return await self.target_for_query(chain_id, target_id).get_meta(chunk_id)

    async def query_last_chunk(self, chain_id: int, inode_id: int, target_id: int):
        return await self.target_for_query(chain_id, target_id).last_chunk(inode_id)

    async def remove_chunks(self, request: RemoveChunksRequest) -> int:
        """Remove chunks >= first_chunk_index of an inode on this target, then
        on the successors (like a write: chain version checked at every hop,
        the chunk locks held until the successor acknowledged). Idempotent:
        the GC and truncation call it again after any failure.

        Returns how many chunks this target removed.
        """
        routing = await self._check_chain_version(request.chain_id, request.chain_version)
        target = self._local_target(routing, request.chain_id, request.target_id, for_write=True)
        last = await target.last_chunk(request.inode_id)
        if last is None or last.chunk_id.chunk_index < request.first_chunk_index:
            chunk_ids: list[ChunkId] = []
        else:
            first, end = request.first_chunk_index, last.chunk_id.chunk_index + 1
            chunk_ids = [ChunkId(request.inode_id, index) for index in range(first, end)]
        async with contextlib.AsyncExitStack() as held:
            for chunk_id in chunk_ids:  # ascending order: no deadlock with other multi-chunk holders
                await held.enter_async_context(target.locks.hold(chunk_id))
            removed = await target.remove_chunks_from(request.inode_id, request.first_chunk_index)
            await self._forward_until_done(
                request.chain_id, target,
                lambda successor, version: self.forwarder.forward_remove(successor, RemoveChunksRequest(
                    chain_id=request.chain_id, chain_version=version, inode_id=request.inode_id,
                    first_chunk_index=request.first_chunk_index, target_id=successor.target_id,
                    from_predecessor=True)),
            )
        return removed

    async def truncate_chunk(self, request: TruncateChunkRequest) -> int:
        """Cut a chunk to at most `length` bytes here and on the successors (a
        missing or shorter chunk is left alone). Returns its committed version here (0: absent)."""
        routing = await self._check_chain_version(request.chain_id, request.chain_version)
        target = self._local_target(routing, request.chain_id, request.target_id, for_write=True)
        async with target.locks.hold(request.chunk_id):
            meta = await target.get_meta(request.chunk_id)
            version = 0 if meta is None else meta.committed_version
            if meta is not None and meta.length > request.length:
                meta = await target.truncate(request.chunk_id, request.length, chain_version=request.chain_version)
                version = meta.committed_version
            await self._forward_until_done(
                request.chain_id, target,
                lambda successor, chain_version: self.forwarder.forward_truncate(successor, TruncateChunkRequest(
                    chain_id=request.chain_id, chain_version=chain_version, chunk_id=request.chunk_id,
                    length=request.length, target_id=successor.target_id, from_predecessor=True)),
            )
        return version

    async def _forward_until_done(self, chain_id: int, target: StorageTarget, send) -> None:
        """Call `send(successor, chain_version)` until the current successor
        acknowledges or we are the tail (the removal/truncation twin of
        _forward_until_acknowledged)."""
        last_error: Fs3Error | None = None
        for _attempt in range(self.forward_retries_max):
            routing = self._routing()
            chain = routing.chain(chain_id)
            assert chain is not None
            successor = self._successor(routing, chain_id, target.target_id)
            if successor is None:
                return
            try:
                await send(successor, chain.chain_version)
                return
            except Fs3Error as error:
                last_error = error
                logger.info("forward to target %d of chain %d failed (%s); retrying", successor.target_id,
                            chain_id, error)
            await asyncio.sleep(self.forward_retry_delay_s)
            try:
                await self._refresh_routing()
            except Fs3Error:
                pass
        raise Fs3Error(StatusCode.UNAVAILABLE, f"chain {chain_id}: successor unreachable: {last_error}")

    def dump_target(self, target_id: int) -> StorageTarget:
        target = self.targets.get(target_id)
        if target is None:
            raise Fs3Error(StatusCode.UNKNOWN_TARGET, f"target {target_id} is not on storage node {self.node_id}")
        return target
