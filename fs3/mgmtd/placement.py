"""Chain-table generation: group storage targets into replication chains.

Pure functions, no I/O, deterministic for a given input and seed.

Goals, in order:

1. Hard rules: every target is used exactly once; a chain never holds two
   targets of the same node.
2. Recovery balance (the balanced-incomplete-block-design idea from the 3FS
   notes): when a node fails, the read traffic of every chain that lost a
   replica moves to that chain's surviving replicas. To spread it evenly, every
   pair of nodes should share about the same number of chains. We minimise the
   sum of squared pair counts (which is smallest when the counts are equal),
   and, as a tie-breaker, the same measure over pairs of disks.
3. Head balance: every node is the head of a fair share of chains (for
   uniform clusters the head counts differ by at most one).

Method: a seeded round-robin start (always valid), then local search that
swaps targets between chains while the objective improves, with several
seeded restarts; then heads are balanced with augmenting paths (a chain can
hand its head role to another of its members) until no node's count can move
closer to another's; finally chains are listed so that consecutive chains
have different heads where possible (files stripe over consecutive chains).
"""

from __future__ import annotations

import posixpath
import random
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

__all__ = [
    "TargetSlot",
    "slots_by_disk",
    "select_slots",
    "GeneratedChain",
    "generate_chains",
    "recovery_read_load",
    "head_counts",
    "pair_counts",
]


@dataclass(frozen=True)
class TargetSlot:
    target_id: int
    node_id: int
    disk_index: int = 0


def slots_by_disk(targets: Iterable[tuple[int, int, str]]) -> list[TargetSlot]:
    """Slots for ``(target_id, node_id, path)`` triples, targets sharing a parent folder on one node sharing a disk.

    A target is a folder on a disk (``<disk>/target-<id>``), so its parent
    folder names its disk; disk indices count a node's disks in path order.
    """
    targets = sorted(targets, key=lambda t: t[0])
    disks: dict[int, list[str]] = defaultdict(list)
    for _target_id, node_id, path in targets:
        disk = posixpath.dirname(path.rstrip("/"))
        if disk not in disks[node_id]:
            disks[node_id].append(disk)
    for node_disks in disks.values():
        node_disks.sort()
    return [
        TargetSlot(target_id, node_id, disks[node_id].index(posixpath.dirname(path.rstrip("/"))))
        for target_id, node_id, path in targets
    ]


def select_slots(slots: Sequence[TargetSlot], chain_count: int, replication_factor: int) -> list[TargetSlot]:
    """``chain_count * replication_factor`` of ``slots`` that ``generate_chains`` can group: taken from
    the node with the most slots left first (lowest target ids first), at most ``chain_count`` per node.

    Raises ``ValueError`` if the slots' nodes cannot provide that many.
    """
    if chain_count < 1:
        raise ValueError(f"chain count must be at least 1, got {chain_count}")
    by_node: dict[int, deque[TargetSlot]] = defaultdict(deque)
    for slot in sorted(slots, key=lambda slot: slot.target_id):
        by_node[slot.node_id].append(slot)
    taken: Counter[int] = Counter()
    chosen: list[TargetSlot] = []
    for _ in range(chain_count * replication_factor):
        open_nodes = [node for node, left in by_node.items() if left and taken[node] < chain_count]
        if not open_nodes:
            raise ValueError(f"{len(slots)} targets on {len(by_node)} nodes cannot make {chain_count} chains of "
                             f"{replication_factor} (at most {chain_count} targets of one node)")
        node = min(open_nodes, key=lambda node: (-len(by_node[node]), taken[node], node))
        chosen.append(by_node[node].popleft())
        taken[node] += 1
    return chosen


@dataclass(frozen=True)
class GeneratedChain:
    chain_id: int
    target_ids: tuple[int, ...]  # head first


_RESTARTS = 12
_EVALUATION_BUDGET = 100_000  # swap evaluations over all restarts; bounds run time on big clusters


def _validate(targets: Sequence[TargetSlot], replication_factor: int) -> int:
    if isinstance(replication_factor, bool) or not isinstance(replication_factor, int):
        raise ValueError(f"replication factor must be an integer, got {replication_factor!r}")
    if replication_factor < 1:
        raise ValueError(f"replication factor must be at least 1, got {replication_factor}")
    if not targets:
        raise ValueError("no targets to place")
    ids = [t.target_id for t in targets]
    if len(set(ids)) != len(ids):
        dup = sorted(i for i, c in Counter(ids).items() if c > 1)
        raise ValueError(f"duplicate target ids: {dup}")
    if len(targets) % replication_factor:
        raise ValueError(
            f"{len(targets)} targets cannot be split into chains of {replication_factor}: "
            f"the number of targets must be a multiple of the replication factor"
        )
    chains = len(targets) // replication_factor
    per_node: dict[int, int] = defaultdict(int)
    for t in targets:
        per_node[t.node_id] += 1
    if len(per_node) < replication_factor:
        raise ValueError(
            f"replication factor {replication_factor} needs targets on at least "
            f"{replication_factor} distinct nodes, got {len(per_node)}"
        )
    crowded = sorted(n for n, c in per_node.items() if c > chains)
    if crowded:
        raise ValueError(
            f"node(s) {crowded} hold more targets than there are chains ({chains}); "
            f"a chain cannot hold two targets of the same node"
        )
    return chains


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _ideal_sum_squares(total: int, pairs: int) -> int:
    if pairs <= 0:
        return 0
    q, r = divmod(total, pairs)
    return r * (q + 1) ** 2 + (pairs - r) * q * q


class _Search:
    """Local search over a partition of slots into chains (lists of slot indices)."""

    def __init__(self, node: list[int], disk: list[int], chains: list[list[int]], weight: int):
        self.node = node
        self.disk = disk
        self.chains = chains
        self.weight = weight
        self.node_pairs: dict[tuple[int, int], int] = defaultdict(int)
        self.disk_pairs: dict[tuple[int, int], int] = defaultdict(int)
        for chain in chains:
            for i, x in enumerate(chain):
                for y in chain[i + 1 :]:
                    self.node_pairs[_pair(node[x], node[y])] += 1
                    self.disk_pairs[_pair(disk[x], disk[y])] += 1

    def node_score(self) -> int:
        return sum(c * c for c in self.node_pairs.values())

    def disk_score(self) -> int:
        return sum(c * c for c in self.disk_pairs.values())

    def score(self) -> int:
        return self.weight * self.node_score() + self.disk_score()

    @staticmethod
    def _delta(counts: dict[tuple[int, int], int], key: list[int], x: int, y: int,
               others_a: list[int], others_b: list[int]) -> tuple[int, dict[tuple[int, int], int]]:
        kx, ky = key[x], key[y]
        change: dict[tuple[int, int], int] = defaultdict(int)
        if kx != ky:
            for o in others_a:
                change[_pair(kx, key[o])] -= 1
                change[_pair(ky, key[o])] += 1
            for o in others_b:
                change[_pair(ky, key[o])] -= 1
                change[_pair(kx, key[o])] += 1
        delta = 0
        for k, d in change.items():
            if d:
                c = counts.get(k, 0)
                delta += (c + d) * (c + d) - c * c
        return delta, change

    def try_swap(self, a: int, i: int, b: int, j: int) -> bool:
        """Swap chains[a][i] with chains[b][j] if valid and strictly better."""
        ca, cb = self.chains[a], self.chains[b]
        x, y = ca[i], cb[j]
        nx, ny = self.node[x], self.node[y]
        others_a = [t for k, t in enumerate(ca) if k != i]
        others_b = [t for k, t in enumerate(cb) if k != j]
        if nx != ny:
            if any(self.node[t] == ny for t in others_a) or any(self.node[t] == nx for t in others_b):
                return False
        elif self.disk[x] == self.disk[y]:
            return False
        dn, change_n = self._delta(self.node_pairs, self.node, x, y, others_a, others_b)
        dd, change_d = self._delta(self.disk_pairs, self.disk, x, y, others_a, others_b)
        if self.weight * dn + dd >= 0:
            return False
        for k, d in change_n.items():
            self.node_pairs[k] += d
        for k, d in change_d.items():
            self.disk_pairs[k] += d
        ca[i], cb[j] = y, x
        return True


def _group(slots: list[TargetSlot], r: int, n_chains: int, seed: int) -> list[list[int]]:
    """Partition slot indices into chains of r targets on distinct nodes."""
    node_keys = sorted({s.node_id for s in slots})
    disk_keys = sorted({(s.node_id, s.disk_index) for s in slots})
    disk_index = {k: i for i, k in enumerate(disk_keys)}
    node = [s.node_id for s in slots]
    disk = [disk_index[(s.node_id, s.disk_index)] for s in slots]

    by_node: dict[int, list[int]] = defaultdict(list)
    for idx, s in enumerate(slots):
        by_node[s.node_id].append(idx)

    pairs_per_chain = r * (r - 1) // 2
    total_pairs = n_chains * pairs_per_chain
    weight = total_pairs * total_pairs + 1  # node balance strictly dominates disk balance
    n_nodes = len(node_keys)
    node_lb = _ideal_sum_squares(total_pairs, n_nodes * (n_nodes - 1) // 2)
    per_node_disks: dict[int, int] = defaultdict(int)
    for (n, _d) in disk_keys:
        per_node_disks[n] += 1
    cross_disk_pairs = (len(disk_keys) ** 2 - sum(c * c for c in per_node_disks.values())) // 2
    disk_lb = _ideal_sum_squares(total_pairs, cross_disk_pairs)

    rng = random.Random(seed)
    best: list[list[int]] | None = None
    best_score: int | None = None
    budget = _EVALUATION_BUDGET
    for _restart in range(_RESTARTS):
        # Valid start: nodes laid out one after another, slot k -> chain k mod C.
        order_nodes = list(node_keys)
        rng.shuffle(order_nodes)
        sequence: list[int] = []
        for n in order_nodes:
            members = list(by_node[n])
            rng.shuffle(members)
            sequence.extend(members)
        chains: list[list[int]] = [[] for _ in range(n_chains)]
        for k, idx in enumerate(sequence):
            chains[k % n_chains].append(idx)
        search = _Search(node, disk, chains, weight)

        if r > 1 and n_chains > 1:
            improved = True
            while improved and budget > 0:
                improved = False
                perm = list(range(n_chains))
                rng.shuffle(perm)
                for ia in range(n_chains):
                    for ib in range(ia + 1, n_chains):
                        a, b = perm[ia], perm[ib]
                        for i in range(r):
                            for j in range(r):
                                budget -= 1
                                if search.try_swap(a, i, b, j):
                                    improved = True
                        if budget <= 0:
                            break
                    if budget <= 0:
                        break

        score = search.score()
        if best_score is None or score < best_score:
            best, best_score = [list(c) for c in chains], score
        if r == 1 or n_chains == 1 or budget <= 0:
            break
        if search.node_score() <= node_lb and search.disk_score() <= disk_lb:
            break  # provably optimal
    assert best is not None
    return best


def _balance_heads(members: list[list[int]], nodes: list[int]) -> list[int]:
    """Pick one head node per chain (from its members) with balanced counts.

    Starts greedy, then repeatedly moves a head along a path of chains from a
    node with count L to a node with count <= L - 2. When no such path is
    left, both the largest and the smallest count are optimal.
    """
    load = {n: 0 for n in nodes}
    head: list[int] = []
    for m in members:
        choice = min(m, key=lambda n: (load[n], n))
        head.append(choice)
        load[choice] += 1

    heads_of: dict[int, set[int]] = defaultdict(set)
    for c, n in enumerate(head):
        heads_of[n].add(c)

    while True:
        moved = False
        for src in sorted(nodes, key=lambda n: (-load[n], n)):
            # BFS over nodes: u -> v through a chain headed by u that contains v.
            parent: dict[int, tuple[int, int]] = {}
            seen = {src}
            queue = deque([src])
            target = None
            while queue and target is None:
                u = queue.popleft()
                for c in sorted(heads_of[u]):
                    for v in members[c]:
                        if v in seen:
                            continue
                        seen.add(v)
                        parent[v] = (u, c)
                        if load[v] <= load[src] - 2:
                            target = v
                            break
                        queue.append(v)
                    if target is not None:
                        break
            if target is None:
                continue
            v = target
            while v != src:
                u, c = parent[v]
                heads_of[u].discard(c)
                heads_of[v].add(c)
                head[c] = v
                v = u
            load[src] -= 1
            load[target] += 1
            moved = True
            break
        if not moved:
            return head


def generate_chains(
    targets: Sequence[TargetSlot],
    replication_factor: int,
    *,
    first_chain_id: int = 1,
    seed: int = 0,
) -> list[GeneratedChain]:
    """Group ``targets`` into chains of ``replication_factor`` targets.

    Raises ``ValueError`` if the number of targets is not a multiple of the
    replication factor, if there are fewer nodes than the replication factor,
    if some node holds more targets than there are chains (it could not avoid
    putting two of them in one chain), or on duplicate target ids.

    The result is deterministic for a given set of targets and ``seed`` (the
    order in which targets are passed does not matter). Chain ids are
    consecutive from ``first_chain_id``; each chain lists its head first.
    """
    r = replication_factor
    n_chains = _validate(targets, r)
    slots = sorted(targets, key=lambda s: (s.node_id, s.disk_index, s.target_id))
    groups = _group(slots, r, n_chains, seed)

    members = [sorted({slots[i].node_id for i in g}) for g in groups]
    nodes = sorted({s.node_id for s in slots})
    head_node = _balance_heads(members, nodes)

    ordered: list[tuple[int, tuple[int, ...]]] = []
    for g, h in zip(groups, head_node):
        # Members in node order, rotated so the head comes first.
        g_sorted = sorted(g, key=lambda i: (slots[i].node_id, slots[i].target_id))
        k = next(pos for pos, i in enumerate(g_sorted) if slots[i].node_id == h)
        rotated = g_sorted[k:] + g_sorted[:k]
        ordered.append((h, tuple(slots[i].target_id for i in rotated)))

    # List chains so consecutive ones have different heads where possible:
    # round robin over head nodes.
    by_head: dict[int, list[tuple[int, ...]]] = defaultdict(list)
    for h, ids in sorted(ordered, key=lambda e: e[1][0]):
        by_head[h].append(ids)
    queues = [deque(by_head[h]) for h in sorted(by_head)]
    listing: list[tuple[int, ...]] = []
    while any(queues):
        # Serve the nodes with the most remaining chains first so the tail of
        # the list does not end up with one node heading many chains in a row.
        for q in sorted((q for q in queues if q), key=lambda q: -len(q)):
            listing.append(q.popleft())
    return [GeneratedChain(first_chain_id + i, ids) for i, ids in enumerate(listing)]


def _target_ids(chain: Any) -> tuple[int, ...]:
    return tuple(getattr(chain, "target_ids", chain))


def _nodes_in(chains: Iterable[Any], target_node: Mapping[int, int]) -> set[int]:
    return {target_node[t] for c in chains for t in _target_ids(c)}


def recovery_read_load(
    chains: Iterable[Any], target_node: Mapping[int, int], failed_node: int
) -> dict[int, float]:
    """Extra read load on each surviving node when ``failed_node`` is down.

    Each chain with a replica on ``failed_node`` has its read traffic (1 unit)
    spread evenly over its surviving replicas; a node's value is the sum of
    its shares. Keys are every node holding a replica of one of ``chains``
    except the failed one (0.0 if unaffected). ``chains`` are
    :class:`GeneratedChain` objects or plain sequences of target ids.
    """
    chains = list(chains)
    load = {n: 0.0 for n in _nodes_in(chains, target_node) if n != failed_node}
    for chain in chains:
        nodes = [target_node[t] for t in _target_ids(chain)]
        if failed_node not in nodes:
            continue
        survivors = [n for n in nodes if n != failed_node]
        for n in survivors:
            load[n] += 1.0 / len(survivors)
    return load


def head_counts(chains: Iterable[Any], target_node: Mapping[int, int]) -> dict[int, int]:
    """How many of ``chains`` each node heads (0 for member nodes heading none)."""
    chains = list(chains)
    counts = {n: 0 for n in _nodes_in(chains, target_node)}
    for chain in chains:
        ids = _target_ids(chain)
        if ids:
            counts[target_node[ids[0]]] += 1
    return counts


def pair_counts(chains: Iterable[Any], target_node: Mapping[int, int]) -> dict[tuple[int, int], int]:
    """Number of chains shared by each pair of nodes (only pairs that share one)."""
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for chain in chains:
        nodes = sorted({target_node[t] for t in _target_ids(chain)})
        for i, a in enumerate(nodes):
            for b in nodes[i + 1 :]:
                counts[(a, b)] += 1
    return dict(counts)
