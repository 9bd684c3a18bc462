"""Which chain members to move onto a newly added storage node (`fs3 add-node`).

Pure functions, no I/O. A node's load is how many chain memberships it
holds. Each move takes one membership from the busiest node that has a chain
the new node is not yet in, and gives it to one of the new node's free
targets; members already offline (a dead node's) move first, since moving
them restores the chain's redundancy. Planning stops when no move would
narrow the gap between the busiest node and the new one (the loads then
differ by at most one), when the free targets run out, or at `chains_max`.

Moving members keeps every chain on distinct nodes; it does not re-balance
how evenly node pairs share chains (`placement.py` does that for new tables).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Iterable

from fs3.routing import PublicState, RoutingInfo

__all__ = ["PlannedMove", "plan_moves_onto_node", "node_loads"]


@dataclasses.dataclass(frozen=True, slots=True)
class PlannedMove:
    chain_id: int
    from_target_id: int
    to_target_id: int


def node_loads(routing: RoutingInfo) -> Counter[int]:
    """Chain memberships per node."""
    loads: Counter[int] = Counter()
    for chain in routing.chains.values():
        for target_id in chain.target_ids:
            target = routing.targets.get(target_id)
            if target is not None:
                loads[target.node_id] += 1
    return loads


def plan_moves_onto_node(
    routing: RoutingInfo,
    node_id: int,
    free_target_ids: Iterable[int],
    *,
    chains_max: int = 0,
    busy_chain_ids: Iterable[int] = (),
) -> list[PlannedMove]:
    """Moves that bring `node_id` (whose free targets are `free_target_ids`) to its share of chains.

    Args:
        chains_max: plan at most this many moves (0: no limit but balance).
        busy_chain_ids: chains that already move (one move per chain at a time).
    """
    loads = node_loads(routing)
    loads[node_id] += 0
    taken = set(busy_chain_ids)
    moves: list[PlannedMove] = []
    for to_target_id in sorted(free_target_ids):
        if chains_max and len(moves) >= chains_max:
            break
        candidates = []
        for chain in sorted(routing.chains.values(), key=lambda chain: chain.chain_id):
            members = [routing.targets[t] for t in chain.target_ids if t in routing.targets]
            if chain.chain_id in taken or any(member.node_id == node_id for member in members):
                continue
            for member in members:
                online = member.public_state != PublicState.OFFLINE
                candidates.append((online, -loads[member.node_id], chain.chain_id, member.target_id, member.node_id))
        if not candidates:
            break
        online, _load, chain_id, from_target_id, from_node_id = min(candidates)
        if online and loads[from_node_id] - loads[node_id] <= 1:
            break  # balanced: another move would only swap which node is busiest
        moves.append(PlannedMove(chain_id, from_target_id, to_target_id))
        loads[from_node_id] -= 1
        loads[node_id] += 1
        taken.add(chain_id)
    return moves
