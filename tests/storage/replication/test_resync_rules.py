"""Which chunks a predecessor transfers to, or removes from, a syncing target."""

from __future__ import annotations

from fs3.routing import ChainInfo, PublicState, RoutingInfo, TargetInfo
from fs3.storage.chunk_engine import ChunkId, ChunkMeta
from fs3.storage.replication.resync import SyncJob, needs_transfer, plan_resync, syncing_successors


def _meta(index: int, *, chain: int = 3, committed: int = 2, pending: int = 0, length: int = 100,
          crc: int = 7) -> ChunkMeta:
    return ChunkMeta(ChunkId(1, index), committed, pending, chain, length, crc, 0, 0)


def test_a_chunk_only_here_is_transferred():
    assert needs_transfer(_meta(0), None)


def test_a_higher_local_chain_version_is_transferred():
    assert needs_transfer(_meta(0, chain=4), _meta(0, chain=3))


def test_equal_chain_versions_compare_local_committed_with_remote_latest():
    assert not needs_transfer(_meta(0, committed=2), _meta(0, committed=2))
    assert needs_transfer(_meta(0, committed=3), _meta(0, committed=2))
    assert needs_transfer(_meta(0, committed=2), _meta(0, committed=3))
    # remote pending 3 vs local committed 2: differs
    assert needs_transfer(_meta(0, committed=2), _meta(0, committed=2, pending=3))


def test_safety_extras_remote_pending_higher_remote_chain_or_different_content():
    # remote pending equals our committed: its pending must still be replaced by committed content
    assert needs_transfer(_meta(0, committed=3), _meta(0, committed=2, pending=3))
    # the returning target converges to its predecessor even from a higher chain version
    assert needs_transfer(_meta(0, chain=3), _meta(0, chain=5))
    # equal versions, different bytes
    assert needs_transfer(_meta(0, crc=1), _meta(0, crc=2))
    assert needs_transfer(_meta(0, length=1), _meta(0, length=2))


def test_a_chunk_without_committed_content_is_never_transferred():
    assert not needs_transfer(_meta(0, committed=0, pending=1), None)


def test_plan_transfers_differences_and_removes_remote_only_chunks():
    local = {meta.chunk_id: meta for meta in (_meta(0), _meta(1, committed=5), _meta(2), _meta(4, chain=9))}
    remote = {meta.chunk_id: meta for meta in (_meta(0), _meta(1, committed=4), _meta(3), _meta(4))}
    plan = plan_resync(local, remote)
    assert plan.transfer == [ChunkId(1, 1), ChunkId(1, 2), ChunkId(1, 4)]
    assert plan.remove == [ChunkId(1, 3)]
    assert plan_resync({}, {}).transfer == [] and plan_resync(local, local).transfer == []


def test_the_last_serving_target_before_a_syncing_one_is_its_predecessor():
    routing = RoutingInfo(routing_version=3)
    routing.chains[1] = ChainInfo(1, 6, [11, 21, 31])
    routing.chains[2] = ChainInfo(2, 2, [12, 22, 32])
    for target_id, state in ((11, PublicState.SERVING), (21, PublicState.SERVING), (31, PublicState.SYNCING),
                             (12, PublicState.SERVING), (22, PublicState.WAITING), (32, PublicState.OFFLINE)):
        routing.targets[target_id] = TargetInfo(target_id, target_id % 10, public_state=state,
                                                chain_id=1 if target_id % 10 == 1 else 2)
    assert syncing_successors(routing, [21, 12]) == [SyncJob(1, 6, 21, 31, 1)]
    assert syncing_successors(routing, [11]) == []
    routing.targets[21].public_state = PublicState.OFFLINE  # moves to the end in real routing; skip it here
    assert syncing_successors(routing, [11]) == [SyncJob(1, 6, 11, 31, 1)]
