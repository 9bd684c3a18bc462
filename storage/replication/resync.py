"""Recovery of a returning target by its predecessor (shared/design/replication.md, "Recovery").

Sender side (`ResyncWorker`, runs in every storage service): for each chain
where one of our SERVING targets is directly followed (among the writable
targets) by a SYNCING one, it

1. waits for the writes to our target that were in flight before it looked
   (they chose their successor under older routing; every newer write is
   forwarded to the syncing target as a full-chunk replace by `StorageNode`);
2. asks the syncing target for its chunk metadata (`DumpChunkMeta`), then
   lists our own (in that order: a chunk created in between is only ever
   transferred once too often, never removed);
3. transfers, each under our chunk lock, the whole committed content of every
   chunk `needs_transfer` selects (`SyncChunk`), and removes the chunks that
   exist only on the syncing target (re-checked under the lock);
4. sends `SyncDone`; the target then reports UP_TO_DATE and the cluster
   manager makes it serving.

Everything is tied to the chain version it started under: a change of the
chain aborts the pass, and the next poll starts again for the new chain
(recovery is idempotent).

Receiver side (`SyncReceiver`): applies `SyncChunk` to a syncing target as a
committed full-chunk replace with the predecessor's version (dropping any
pending version) and marks the target synced on `SyncDone`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Callable, Iterable, Mapping

from fs3._proto import storage_pb2
from fs3.errors import Fs3Error, StatusCode
from fs3.net.client import RpcClientPool
from fs3.net.methods import StorageMethod
from fs3.routing import LocalState, PublicState, RoutingInfo
from fs3.storage.chunk_engine import ChunkId, ChunkMeta
from fs3.storage.chunk_meta_dump import dump_all_chunk_meta
from fs3.storage.codec import chunk_id_to_proto, chunk_meta_from_proto
from fs3.storage.node import StorageNode
from fs3.storage.target import StorageTarget
from fs3.tasks import stop_tasks

__all__ = [
    "ResyncPlan",
    "SyncJob",
    "SyncChunk",
    "needs_transfer",
    "plan_resync",
    "syncing_successors",
    "ResyncWorker",
    "SyncReceiver",
]

logger = logging.getLogger(__name__)


# ---- comparison rules (pure) -----------------------------------------------------


def needs_transfer(local: ChunkMeta, remote: ChunkMeta | None) -> bool:
    """Whether the predecessor (`local`) must send its committed chunk to the syncing target (`remote`).

    The design's rules: the chunk exists only locally; or its chain version is
    higher locally; or the chain versions are equal but the local committed
    version differs from the remote's latest version (pending if it has one,
    else committed). Choosing what keeps acknowledged data safe, we also
    transfer when the remote's chain version is *higher* (the predecessor is
    the reference the returning target converges to), when the remote still
    holds a pending version (it must end with none), and when equal versions
    disagree on length or checksum. A chunk without committed content here
    (only a pending version, never acknowledged) is not transferred.
    """
    if local.committed_version == 0:
        return False
    if remote is None:
        return True
    if local.chain_version != remote.chain_version:
        return True
    remote_latest = remote.pending_version or remote.committed_version
    if local.committed_version != remote_latest or remote.pending_version:
        return True
    return (local.length, local.crc32c) != (remote.length, remote.crc32c)


@dataclasses.dataclass(frozen=True, slots=True)
class ResyncPlan:
    transfer: list[ChunkId]  # send our committed content
    remove: list[ChunkId]  # exists only on the syncing target


def plan_resync(local: Mapping[ChunkId, ChunkMeta], remote: Mapping[ChunkId, ChunkMeta]) -> ResyncPlan:
    transfer = sorted(chunk_id for chunk_id, meta in local.items() if needs_transfer(meta, remote.get(chunk_id)))
    remove = sorted(chunk_id for chunk_id in remote if chunk_id not in local)
    return ResyncPlan(transfer, remove)


@dataclasses.dataclass(frozen=True, slots=True)
class SyncJob:
    chain_id: int
    chain_version: int
    local_target_id: int  # our serving target, the predecessor
    syncing_target_id: int
    syncing_node_id: int


def syncing_successors(routing: RoutingInfo, local_target_ids: Iterable[int]) -> list[SyncJob]:
    """Every (our serving target -> its syncing successor) pair among the chains' writable targets."""
    local = set(local_target_ids)
    jobs = []
    for chain in routing.chains.values():
        writable = routing.writable_targets(chain.chain_id)
        for before, after in zip(writable, writable[1:]):
            if (before.target_id in local and before.public_state == PublicState.SERVING
                    and after.public_state == PublicState.SYNCING):
                jobs.append(SyncJob(chain.chain_id, chain.chain_version, before.target_id, after.target_id,
                                    after.node_id))
    return jobs


# ---- sender ----------------------------------------------------------------------


@dataclasses.dataclass
class ResyncStats:
    transferred: int = 0
    removed: int = 0
    skipped: int = 0


class ResyncWorker:
    def __init__(
        self,
        node: StorageNode,
        clients: RpcClientPool,
        routing: Callable[[], RoutingInfo],
        *,
        poll_interval_s: float,
        concurrency_max: int,
        retry_delay_s: float,
        call_timeout_s: float,
    ) -> None:
        assert poll_interval_s > 0 and concurrency_max > 0 and retry_delay_s >= 0 and call_timeout_s > 0
        self.node = node
        self.clients = clients
        self._routing = routing
        self.poll_interval_s = poll_interval_s
        self.retry_delay_s = retry_delay_s
        self.call_timeout_s = call_timeout_s
        self._slots = asyncio.Semaphore(concurrency_max)
        self._running: dict[SyncJob, asyncio.Task] = {}
        self._done: set[SyncJob] = set()
        self._retry_at: dict[SyncJob, float] = {}
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        assert self._task is None
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        await stop_tasks(self._task, *self._running.values())
        self._task = None
        self._running.clear()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval_s)
            try:
                self.schedule()
            except Exception:
                logger.exception("resync scheduling failed")

    def schedule(self) -> None:
        """Start a pass for every syncing successor that has none running or finished at its chain version."""
        if not self.node.lease.valid():
            return
        jobs = syncing_successors(self._routing(), self.node.targets)
        current = set(jobs)
        self._done &= current
        self._retry_at = {job: retry_at for job, retry_at in self._retry_at.items() if job in current}
        now = time.monotonic()
        for job in jobs:
            if job in self._done or job in self._running or self._retry_at.get(job, 0.0) > now:
                continue
            self._running[job] = asyncio.get_running_loop().create_task(self._run_job(job))

    async def _run_job(self, job: SyncJob) -> None:
        try:
            async with self._slots:
                started = time.monotonic()
                stats = await self.sync(job)
            self._done.add(job)
            logger.info("resync of target %d from %d (chain %d v%d) done in %.2fs: %d transferred, %d removed, "
                        "%d skipped", job.syncing_target_id, job.local_target_id, job.chain_id, job.chain_version,
                        time.monotonic() - started, stats.transferred, stats.removed, stats.skipped)
        except Fs3Error as error:
            logger.warning("resync of target %d (chain %d v%d) stopped: %s; retrying", job.syncing_target_id,
                           job.chain_id, job.chain_version, error)
            self._retry_at[job] = time.monotonic() + self.retry_delay_s
        except Exception:
            logger.exception("resync of target %d (chain %d v%d) failed", job.syncing_target_id, job.chain_id,
                             job.chain_version)
            self._retry_at[job] = time.monotonic() + self.retry_delay_s
        finally:
            self._running.pop(job, None)

    def _check_current(self, job: SyncJob) -> None:
        chain = self._routing().chain(job.chain_id)
        if chain is None or chain.chain_version != job.chain_version:
            raise Fs3Error(StatusCode.STALE_CHAIN_VERSION, f"chain {job.chain_id} changed during resync")
        self.node.lease.check()

    async def _call(self, job: SyncJob, method: StorageMethod, request, response_type, payload=()):
        node = self._routing().nodes.get(job.syncing_node_id)
        if node is None:
            raise Fs3Error(StatusCode.UNAVAILABLE, f"node {job.syncing_node_id} unknown")
        result = await self.clients.get(node.host, node.port).call(
            method, request, response_type, payload=payload, timeout_s=self.call_timeout_s)
        return result.message

    async def sync(self, job: SyncJob) -> ResyncStats:
        """One full pass for one syncing target (steps 1-4 of the module docstring)."""
        target = self.node.targets[job.local_target_id]
        await self.node.drain_writes(target.target_id)
        self._check_current(job)
        dump = await dump_all_chunk_meta(
            lambda request: self._call(job, StorageMethod.DUMP_CHUNK_META, request, storage_pb2.DumpChunkMetaResponse),
            job.syncing_target_id)
        remote = {meta.chunk_id: meta for meta in map(chunk_meta_from_proto, dump)}
        local = {meta.chunk_id: meta for meta in await target.list_chunks()}
        plan = plan_resync(local, remote)
        stats = ResyncStats()
        for chunk_id in plan.transfer:
            await self._transfer(job, target, chunk_id, stats)
        for chunk_id in plan.remove:
            async with target.locks.hold(chunk_id):
                self._check_current(job)
                if await target.get_meta(chunk_id) is None:
                    await self._send_remove(job, chunk_id)
                    stats.removed += 1
        self._check_current(job)
        await self._call(job, StorageMethod.SYNC_DONE, storage_pb2.SyncDoneRequest(
            chain_id=job.chain_id, chain_version=job.chain_version, target_id=job.syncing_target_id),
            storage_pb2.SyncDoneResponse)
        return stats

    async def _send_remove(self, job: SyncJob, chunk_id: ChunkId) -> None:
        await self._call(job, StorageMethod.SYNC_CHUNK, storage_pb2.SyncChunkRequest(
            chain_id=job.chain_id, chain_version=job.chain_version, target_id=job.syncing_target_id,
            chunk=chunk_id_to_proto(chunk_id), remove=True),
            storage_pb2.SyncChunkResponse)

    async def _transfer(self, job: SyncJob, target: StorageTarget, chunk_id: ChunkId, stats: ResyncStats) -> None:
        async with target.locks.hold(chunk_id):
            self._check_current(job)
            meta = await target.get_meta(chunk_id)
            if meta is None:  # removed since the listing
                await self._send_remove(job, chunk_id)
                stats.removed += 1
                return
            if meta.committed_version == 0:
                stats.skipped += 1
                return
            content = memoryview(bytearray(meta.length))
            count = await target.read(chunk_id, 0, meta.length, content, relaxed=False, committed=True)
            assert count == meta.length, f"chunk {chunk_id}: read {count} of {meta.length} bytes"
            await self._call(job, StorageMethod.SYNC_CHUNK, storage_pb2.SyncChunkRequest(
                chain_id=job.chain_id, chain_version=job.chain_version, target_id=job.syncing_target_id,
                chunk=chunk_id_to_proto(chunk_id),
                committed_version=meta.committed_version, length=meta.length, payload_crc32c=meta.crc32c),
                storage_pb2.SyncChunkResponse, payload=[content] if meta.length else ())
            stats.transferred += 1


# ---- receiver --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class SyncChunk:
    chain_id: int
    chain_version: int
    target_id: int
    chunk_id: ChunkId
    remove: bool
    committed_version: int
    length: int
    payload_crc32c: int


class SyncReceiver:
    """The syncing target's side: apply transfers and sync-done from the predecessor."""

    def __init__(self, node: StorageNode) -> None:
        self.node = node

    async def _syncing_target(self, chain_id: int, chain_version: int, target_id: int) -> StorageTarget:
        self.node.lease.check()
        routing = await self.node.check_chain_version(chain_id, chain_version)
        target = self.node.targets.get(target_id)
        chain = routing.chain(chain_id)
        if target is None or chain is None or target_id not in chain.target_ids:
            raise Fs3Error(StatusCode.UNKNOWN_TARGET, f"target {target_id} is not in chain {chain_id} on this node")
        if routing.targets[target_id].public_state != PublicState.SYNCING:
            raise Fs3Error(StatusCode.TARGET_NOT_SERVING,
                           f"target {target_id} is {routing.targets[target_id].public_state.name}, not syncing")
        if self.node.local_states.state(target_id) == LocalState.OFFLINE:
            raise Fs3Error(StatusCode.TARGET_NOT_SERVING, f"target {target_id} has not begun recovery")
        return target

    async def sync_chunk(self, request: SyncChunk, payload: memoryview | None) -> int:
        """Apply one transfer; returns the chunk's committed version now (0 after a removal)."""
        target = await self._syncing_target(request.chain_id, request.chain_version, request.target_id)
        data = payload if payload is not None else memoryview(b"")
        if not request.remove:
            if len(data) != request.length:
                raise Fs3Error(StatusCode.BAD_REQUEST, f"payload has {len(data)} bytes, request says {request.length}")
            if request.committed_version <= 0:
                raise Fs3Error(StatusCode.BAD_REQUEST, "a transferred chunk needs its committed version")
            if request.length > self.node.chunk_size_bytes_max:
                raise Fs3Error(StatusCode.OFFSET_OUT_OF_RANGE, f"chunk of {request.length} bytes is too large")
        async with target.locks.hold(request.chunk_id):
            if request.remove:
                await target.remove_chunk(request.chunk_id)
                return 0
            meta = await target.write_committed(
                request.chunk_id, 0, data, chunk_size=self.node.chunk_size_bytes_max,
                chain_version=request.chain_version, full_chunk_replace=True, payload_crc32c=request.payload_crc32c,
                committed_version=request.committed_version,
            )
            return meta.committed_version

    async def sync_done(self, chain_id: int, chain_version: int, target_id: int) -> None:
        await self._syncing_target(chain_id, chain_version, target_id)
        if self.node.local_states.mark_synced(target_id):
            logger.info("target %d: resync from its predecessor complete (chain %d v%d)", target_id, chain_id,
                        chain_version)
