"""Local state of this service's targets: what heartbeats report, and recovery's returning side.

`shared/design/replication.md` ("Recovery"): a restarted storage service pulls
routing info and lets each target go through recovery. We choose to
heartbeat from the start (so the lease holds and the cluster manager notices
the restart at once instead of after a heartbeat timeout) but to report every
chained target as OFFLINE until routing shows all of them `offline` or
`lastsrv`. Then all of them report ONLINE: the manager moves them
offline -> waiting -> syncing behind a serving predecessor (a `lastsrv` one
becomes serving at once: it holds every acknowledged write). A target whose
predecessor sends sync-done reports UP_TO_DATE and becomes serving.

Rules per target, applied on every routing update (`update`):

| local now | public in routing | local next | why |
|---|---|---|---|
| OFFLINE (start) | not in a chain | UP_TO_DATE | nothing to recover |
| OFFLINE (start) | all chained targets offline/lastsrv | ONLINE | recovery may start |
| ONLINE | serving | UP_TO_DATE | it was lastsrv: it holds every acknowledged write |
| UP_TO_DATE | offline / waiting | ONLINE | cut off (lease, partition): recover before serving |
| ONLINE | (sync-done received) | UP_TO_DATE | `mark_synced` |

While OFFLINE a target answers nothing; while ONLINE it takes writes from its
predecessor (full-chunk replaces) and sync transfers, and no reads.
"""

from __future__ import annotations

import logging
from typing import Iterable

from fs3.routing import LocalState, PublicState, RoutingInfo

__all__ = ["TargetLocalStates"]

logger = logging.getLogger(__name__)

_DOWN = (PublicState.OFFLINE, PublicState.LASTSRV)


class TargetLocalStates:
    def __init__(self, target_ids: Iterable[int], *, returning: bool = True) -> None:
        initial = LocalState.OFFLINE if returning else LocalState.UP_TO_DATE
        self._states: dict[int, LocalState] = {target_id: initial for target_id in target_ids}
        self._returning = returning  # waiting for routing to show every chained target down

    @property
    def returning(self) -> bool:
        return self._returning

    def state(self, target_id: int) -> LocalState:
        return self._states[target_id]

    def states(self) -> dict[int, LocalState]:
        return dict(self._states)

    def _set(self, target_id: int, state: LocalState, why: str) -> None:
        if self._states[target_id] != state:
            logger.info("target %d: local state %s -> %s (%s)", target_id, self._states[target_id].name,
                        state.name, why)
            self._states[target_id] = state

    @staticmethod
    def _chained(routing: RoutingInfo, target_id: int) -> bool:
        target = routing.targets.get(target_id)
        if target is None or target.chain_id == 0:
            return False
        chain = routing.chains.get(target.chain_id)
        return chain is not None and target_id in chain.target_ids

    def update(self, routing: RoutingInfo) -> None:
        """Apply the rules above to the newest routing info."""
        if routing.routing_version == 0:
            return  # no routing yet
        chained = [target_id for target_id in self._states if self._chained(routing, target_id)]
        if self._returning:
            for target_id in self._states:
                if target_id not in chained:
                    self._set(target_id, LocalState.UP_TO_DATE, "not in a chain")
            if all(routing.targets[target_id].public_state in _DOWN for target_id in chained):
                self._returning = False
                for target_id in chained:
                    self._set(target_id, LocalState.ONLINE, "restarted; every target is down in routing")
            return
        for target_id in self._states:
            if target_id not in chained:
                continue
            public = routing.targets[target_id].public_state
            local = self._states[target_id]
            if local == LocalState.ONLINE and public == PublicState.SERVING:
                self._set(target_id, LocalState.UP_TO_DATE, "serving again")
            elif local == LocalState.UP_TO_DATE and public in (PublicState.OFFLINE, PublicState.WAITING):
                self._set(target_id, LocalState.ONLINE, f"public state {public.name}: needs recovery")

    def add(self, target_id: int, state: LocalState) -> None:
        """A target created or emptied while the service runs (`fs3.storage.target_admin`)."""
        logger.info("target %d: local state %s (new or emptied)", target_id, state.name)
        self._states[target_id] = state

    def mark_synced(self, target_id: int) -> bool:
        """The predecessor sent sync-done; True if this moved the target to UP_TO_DATE."""
        if self._states.get(target_id) != LocalState.ONLINE:
            return False
        self._set(target_id, LocalState.UP_TO_DATE, "sync done")
        return True
