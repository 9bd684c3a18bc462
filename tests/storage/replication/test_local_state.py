"""Local states of a restarted service's targets follow replication.md "Recovery"."""

from __future__ import annotations

from fs3.routing import ChainInfo, LocalState, PublicState, RoutingInfo, TargetInfo
from fs3.storage.replication.local_state import TargetLocalStates


def _routing(states: dict[int, PublicState], *, unchained: tuple[int, ...] = ()) -> RoutingInfo:
    routing = RoutingInfo(routing_version=5)
    for chain_index, target_id in enumerate(sorted(states)):
        chain_id = chain_index + 1
        routing.chains[chain_id] = ChainInfo(chain_id, 1, [target_id, 900 + chain_id])
        routing.targets[target_id] = TargetInfo(target_id, 1, public_state=states[target_id], chain_id=chain_id)
        routing.targets[900 + chain_id] = TargetInfo(900 + chain_id, 2, chain_id=chain_id)
    for target_id in unchained:
        routing.targets[target_id] = TargetInfo(target_id, 1, chain_id=0)
    return routing


def test_restarted_targets_report_offline_until_every_one_is_down_in_routing():
    states = TargetLocalStates([1, 2])
    states.update(RoutingInfo())  # no routing yet: nothing changes
    assert states.states() == {1: LocalState.OFFLINE, 2: LocalState.OFFLINE}
    states.update(_routing({1: PublicState.OFFLINE, 2: PublicState.SERVING}))
    assert states.states() == {1: LocalState.OFFLINE, 2: LocalState.OFFLINE}
    assert states.returning
    states.update(_routing({1: PublicState.OFFLINE, 2: PublicState.LASTSRV}))
    assert states.states() == {1: LocalState.ONLINE, 2: LocalState.ONLINE}
    assert not states.returning


def test_targets_outside_chains_have_nothing_to_recover():
    states = TargetLocalStates([1, 7])
    states.update(_routing({1: PublicState.SERVING}, unchained=(7,)))
    assert states.states() == {1: LocalState.OFFLINE, 7: LocalState.UP_TO_DATE}
    fresh = TargetLocalStates([3, 4])
    fresh.update(RoutingInfo(routing_version=1))  # a new cluster: the manager knows no target yet
    assert fresh.states() == {3: LocalState.UP_TO_DATE, 4: LocalState.UP_TO_DATE}
    assert not fresh.returning


def test_sync_done_makes_a_target_up_to_date_and_lastsrv_serves_without_sync():
    states = TargetLocalStates([1, 2])
    states.update(_routing({1: PublicState.OFFLINE, 2: PublicState.LASTSRV}))
    states.update(_routing({1: PublicState.SYNCING, 2: PublicState.SERVING}))
    assert states.states() == {1: LocalState.ONLINE, 2: LocalState.UP_TO_DATE}
    assert states.mark_synced(1)
    assert not states.mark_synced(1)
    assert states.state(1) == LocalState.UP_TO_DATE
    states.update(_routing({1: PublicState.SYNCING, 2: PublicState.SERVING}))
    assert states.state(1) == LocalState.UP_TO_DATE


def test_an_up_to_date_target_seen_offline_goes_through_recovery_again():
    states = TargetLocalStates([1], returning=False)
    assert states.state(1) == LocalState.UP_TO_DATE
    states.update(_routing({1: PublicState.SERVING}))
    assert states.state(1) == LocalState.UP_TO_DATE
    states.update(_routing({1: PublicState.OFFLINE}))
    assert states.state(1) == LocalState.ONLINE
    assert not states.mark_synced(2)
