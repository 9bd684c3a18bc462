"""Planning chain moves onto a new storage node (fs3/mgmtd/rebalance.py).

Goal: the new node ends within one membership of the busiest node, each
chain moves at most once and never gets two replicas on one node, offline
members move first, and `chains_max` bounds the plan. Method: routing info
built by hand.
"""

from __future__ import annotations

from fs3.mgmtd.rebalance import node_loads, plan_moves_onto_node
from fs3.routing import ChainInfo, PublicState, RoutingInfo, TargetInfo


def _routing(nodes: int, chains: int, replication: int = 3, free_on: int = 0, free: int = 0) -> RoutingInfo:
    routing = RoutingInfo(routing_version=1)
    counters = {node: 0 for node in range(1, nodes + 1)}
    for chain_id in range(1, chains + 1):
        members = []
        for offset in range(replication):
            node = (chain_id + offset - 1) % nodes + 1
            counters[node] += 1
            target_id = node * 1000 + counters[node]
            routing.targets[target_id] = TargetInfo(target_id, node, chain_id=chain_id)
            members.append(target_id)
        routing.chains[chain_id] = ChainInfo(chain_id, 1, members)
    for index in range(free):
        target_id = free_on * 1000 + index + 1
        routing.targets[target_id] = TargetInfo(target_id, free_on)
    return routing


def _apply(routing: RoutingInfo, moves) -> None:
    for move in moves:
        chain = routing.chains[move.chain_id]
        chain.target_ids[chain.target_ids.index(move.from_target_id)] = move.to_target_id
        routing.targets[move.to_target_id].chain_id = move.chain_id
        routing.targets[move.from_target_id].chain_id = 0


def test_new_node_reaches_its_share():
    routing = _routing(nodes=3, chains=5, free_on=4, free=5)
    moves = plan_moves_onto_node(routing, 4, [4001, 4002, 4003, 4004, 4005])
    assert len(moves) == 3 and len({move.chain_id for move in moves}) == 3
    _apply(routing, moves)
    loads = node_loads(routing)
    assert max(loads.values()) - loads[4] <= 1 and sum(loads.values()) == 15
    for chain in routing.chains.values():
        nodes = [routing.targets[t].node_id for t in chain.target_ids]
        assert len(set(nodes)) == len(nodes)


def test_larger_cluster_and_bounds():
    routing = _routing(nodes=6, chains=30, free_on=7, free=20)
    free = [7000 + i for i in range(1, 21)]
    assert len(plan_moves_onto_node(routing, 7, free, chains_max=4)) == 4
    moves = plan_moves_onto_node(routing, 7, free, busy_chain_ids=[1, 2])
    assert not {1, 2} & {move.chain_id for move in moves}
    _apply(routing, moves)
    loads = node_loads(routing)
    assert max(loads.values()) - loads[7] <= 1
    still_free = [7000 + i for i in range(1, 21) if routing.targets[7000 + i].chain_id == 0]
    assert plan_moves_onto_node(routing, 7, still_free) == []


def test_offline_members_move_first():
    routing = _routing(nodes=3, chains=3, free_on=4, free=1)
    dead = routing.chains[2].target_ids[1]
    routing.targets[dead].public_state = PublicState.OFFLINE
    moves = plan_moves_onto_node(routing, 4, [4001])
    assert [(move.chain_id, move.from_target_id) for move in moves] == [(2, dead)]
