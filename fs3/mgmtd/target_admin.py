"""Operator changes to targets and chains, made by the cluster manager.

- **Offline a target** (`fs3 offline-target`): the target is marked
  `admin_offline`; the state update then treats it as down whatever its
  storage service reports, so it becomes `offline`, moves to its chain's end
  and the chain version grows. Its storage service sees that in routing and
  stops serving it. Refused for a chain's last serving target unless forced.
- **Online a target** (`fs3 online-target`, and the last step of
  `fs3 replace-target` once the storage service has emptied it): the mark is
  cleared; the target reports `online` and goes `waiting -> syncing ->
  serving` while its predecessor transfers what it lacks.
- **Upload chains and chain tables** (`fs3 upload-chains`,
  `fs3 upload-chain-table`): explicit chains from free targets (distinct
  nodes), and tables over existing chains.
- **Move a chain member** (`fs3 move-chain`, `fs3 add-node`): a
  `ChainMigration` adds the new target at the chain's end (offline, so it
  recovers like a returning target); once it serves, the old target is taken
  offline, and once offline it leaves the chain. The chain never has fewer
  replicas than before. The old target stays `admin_offline` with no chain:
  its chunks are stale, and only `fs3 replace-target` (which empties it)
  returns it to the free targets.

Every change is persisted with the routing state, migrations included, so a
new primary continues them (`ClusterManager.load`); migrations advance in
the periodic state update (`advance_chain_migrations`).
"""

from __future__ import annotations

import dataclasses
import errno
import logging
from typing import TYPE_CHECKING

from fs3.errors import Fs3Error, StatusCode
from fs3.mgmtd.rebalance import plan_moves_onto_node
from fs3.routing import ChainInfo, ChainTable, NodeType, PublicState, TargetInfo

if TYPE_CHECKING:
    from fs3.mgmtd.manager import ClusterManager

__all__ = ["ChainMigration", "TargetAdmin", "advance_chain_migrations", "CHAIN_LENGTH_MAX"]

logger = logging.getLogger(__name__)

CHAIN_LENGTH_MAX = 16  # replicas of one chain, as for generated tables


@dataclasses.dataclass(slots=True)
class ChainMigration:
    """`to_target_id` replaces `from_target_id` in chain `chain_id` (module docstring)."""

    chain_id: int
    from_target_id: int
    to_target_id: int
    started_ms: int = 0


def _chain_members(manager: "ClusterManager", chain: ChainInfo) -> list[TargetInfo]:
    return [manager.routing.targets[target_id] for target_id in chain.target_ids]


class TargetAdmin:
    """The operations above, over one primary `ClusterManager` (stateless itself)."""

    def __init__(self, manager: "ClusterManager") -> None:
        self.manager = manager
        self.routing = manager.routing

    def _target(self, target_id: int) -> TargetInfo:
        target = self.routing.targets.get(target_id)
        if target is None:
            raise Fs3Error(StatusCode.UNKNOWN_TARGET, f"target {target_id} does not exist")
        return target

    def _chain(self, chain_id: int) -> ChainInfo:
        chain = self.routing.chains.get(chain_id)
        if chain is None:
            raise Fs3Error(StatusCode.UNKNOWN_CHAIN, f"chain {chain_id} does not exist")
        return chain

    def _migration_of_target(self, target_id: int) -> ChainMigration | None:
        for migration in self.manager.chain_migrations.values():
            if target_id in (migration.from_target_id, migration.to_target_id):
                return migration
        return None

    # ---- offline / online -----------------------------------------------------
    async def offline_target(self, target_id: int, *, force: bool = False) -> ChainInfo | None:
        """Take a target out of service; returns its chain after the change (None: in no chain)."""
        target = self._target(target_id)
        chain = self.routing.chains.get(target.chain_id)
        if target.admin_offline:
            return chain
        migration = self._migration_of_target(target_id)
        if migration is not None and migration.to_target_id == target_id:
            raise Fs3Error(errno.EBUSY, f"target {target_id} is joining chain {migration.chain_id} "
                                        f"(a move from target {migration.from_target_id}); it cannot go offline now")
        if chain is not None and not force and target.public_state in (PublicState.SERVING, PublicState.LASTSRV):
            others = [member for member in _chain_members(self.manager, chain)
                      if member.target_id != target_id and member.public_state == PublicState.SERVING]
            if not others:
                raise Fs3Error(errno.EBUSY, f"target {target_id} is the last serving target of chain "
                                            f"{chain.chain_id}; offlining it stops the chain (--force to do it anyway)")
        target.admin_offline = True
        logger.warning("target %d taken offline by an operator", target_id)
        await self.manager.update_target_states()  # applies now: offline, at the chain's end, new chain version
        await self.manager.publish_change()
        return self.routing.chains.get(target.chain_id)

    async def online_target(self, target_id: int, *, emptied: bool = False) -> ChainInfo | None:
        """Bring an offlined target back; it goes through recovery. Returns its chain (None: in no chain)."""
        target = self._target(target_id)
        if not target.admin_offline:
            return self.routing.chains.get(target.chain_id)
        migration = self._migration_of_target(target_id)
        if migration is not None:
            raise Fs3Error(errno.EBUSY, f"target {target_id} is leaving chain {migration.chain_id} "
                                        f"(moved to target {migration.to_target_id})")
        if target.chain_id == 0:
            if not emptied:
                raise Fs3Error(errno.EBUSY, f"target {target_id} left its chain and holds stale chunks; "
                                            f"`fs3 replace-target {target_id}` empties it and frees it")
            target.public_state = PublicState.SERVING  # a free, empty target, like a new one
        target.admin_offline = False
        logger.warning("target %d brought back by an operator%s", target_id, " (emptied)" if emptied else "")
        await self.manager.update_target_states()
        await self.manager.publish_change()
        return self.routing.chains.get(target.chain_id)

    # ---- upload ---------------------------------------------------------------
    def _check_new_chain(self, chain_id: int, target_ids: list[int], used: set[int]) -> None:
        if not 1 <= len(target_ids) <= CHAIN_LENGTH_MAX:
            raise Fs3Error(errno.EINVAL, f"chain {chain_id}: {len(target_ids)} targets, not 1..{CHAIN_LENGTH_MAX}")
        nodes: dict[int, int] = {}
        for target_id in target_ids:
            target = self._target(target_id)
            if target_id in used:
                raise Fs3Error(errno.EINVAL, f"target {target_id} appears twice in the upload")
            used.add(target_id)
            if target.chain_id:
                raise Fs3Error(errno.EEXIST, f"chain {chain_id}: target {target_id} is in chain {target.chain_id}")
            if target.admin_offline:
                raise Fs3Error(errno.EBUSY, f"chain {chain_id}: target {target_id} is offline by an operator")
            if target.node_id in nodes:
                raise Fs3Error(errno.EINVAL, f"chain {chain_id}: targets {nodes[target.node_id]} and {target_id} "
                                             f"are both on node {target.node_id}")
            nodes[target.node_id] = target_id

    async def set_chains(self, chains: list[tuple[int, list[int]]]) -> list[ChainInfo]:
        """Create chains from free targets (all serving: they are empty). A chain that exists must be
        listed exactly as it is (a no-op); members change only by `move_chain`. All or nothing."""
        if not chains:
            raise Fs3Error(errno.EINVAL, "no chains given")
        seen_chains: set[int] = set()
        used: set[int] = set()
        created = []
        for chain_id, target_ids in chains:
            if not 0 < chain_id < 1 << 32 or chain_id in seen_chains:
                raise Fs3Error(errno.EINVAL, f"chain id {chain_id} is not positive or appears twice")
            seen_chains.add(chain_id)
            existing = self.routing.chains.get(chain_id)
            if existing is not None:
                if existing.target_ids != list(target_ids):
                    raise Fs3Error(errno.EEXIST, f"chain {chain_id} exists with targets {existing.target_ids}; "
                                                 f"move its members with `fs3 move-chain`")
                used.update(target_ids)
                continue
            self._check_new_chain(chain_id, list(target_ids), used)
            created.append((chain_id, list(target_ids)))
        for chain_id, target_ids in created:
            self.routing.chains[chain_id] = ChainInfo(chain_id, 1, target_ids)
            for target_id in target_ids:
                target = self.routing.targets[target_id]
                target.chain_id, target.public_state = chain_id, PublicState.SERVING
        if created:
            await self.manager.publish_change()
            logger.info("uploaded chains %s", [chain_id for chain_id, _ in created])
        return [self.routing.chains[chain_id] for chain_id, _ in chains]

    async def set_chain_table(self, table_id: int, chain_ids: list[int], *, replace: bool = False) -> ChainTable:
        """Create (or with `replace`, change) a chain table over existing chains."""
        if not 0 < table_id < 1 << 32:
            raise Fs3Error(errno.EINVAL, f"table id {table_id} is not positive")
        if not chain_ids:
            raise Fs3Error(errno.EINVAL, "a chain table needs at least one chain")
        if len(set(chain_ids)) != len(chain_ids):
            raise Fs3Error(errno.EINVAL, "a chain appears twice in the table")
        for chain_id in chain_ids:
            self._chain(chain_id)
        previous = self.routing.chain_tables.get(table_id)
        if previous is not None and previous.chain_ids == list(chain_ids):
            return previous
        if previous is not None and not replace:
            raise Fs3Error(errno.EEXIST, f"chain table {table_id} exists (version {previous.table_version}, "
                                         f"{len(previous.chain_ids)} chains) and files map their chunks through "
                                         f"it; upload under a new table id, or --replace")
        table = ChainTable(table_id, (previous.table_version + 1) if previous else 1, list(chain_ids))
        self.routing.chain_tables[table_id] = table
        await self.manager.publish_change()
        logger.info("chain table %d version %d: %d chains", table_id, table.table_version, len(chain_ids))
        return table

    # ---- moves ----------------------------------------------------------------
    def _check_move(self, chain_id: int, from_target_id: int, to_target_id: int) -> None:
        chain = self._chain(chain_id)
        if chain_id in self.manager.chain_migrations:
            migration = self.manager.chain_migrations[chain_id]
            raise Fs3Error(errno.EBUSY, f"chain {chain_id} is already moving target {migration.from_target_id} "
                                        f"to {migration.to_target_id}")
        if from_target_id not in chain.target_ids:
            raise Fs3Error(errno.EINVAL, f"target {from_target_id} is not in chain {chain_id} {chain.target_ids}")
        destination = self._target(to_target_id)
        if destination.chain_id:
            raise Fs3Error(errno.EEXIST, f"target {to_target_id} is already in chain {destination.chain_id}")
        if destination.admin_offline:
            raise Fs3Error(errno.EBUSY, f"target {to_target_id} is offline by an operator")
        for member in _chain_members(self.manager, chain):
            if member.target_id != from_target_id and member.node_id == destination.node_id:
                raise Fs3Error(errno.EINVAL, f"chain {chain_id} already has target {member.target_id} on node "
                                             f"{destination.node_id}, where target {to_target_id} is")
        if self._migration_of_target(to_target_id) is not None:
            raise Fs3Error(errno.EBUSY, f"target {to_target_id} is already joining a chain")
        if len(self.manager.chain_migrations) >= self.manager.config.chain_migrations_max:
            raise Fs3Error(errno.EBUSY, f"{len(self.manager.chain_migrations)} chain moves in progress "
                                        f"(chain_migrations_max); wait for some to finish")

    def _start_move(self, chain_id: int, from_target_id: int, to_target_id: int) -> ChainMigration:
        self._check_move(chain_id, from_target_id, to_target_id)
        migration = ChainMigration(chain_id, from_target_id, to_target_id, self.manager.wall_clock_ms())
        self.manager.chain_migrations[chain_id] = migration
        logger.warning("chain %d: moving target %d to target %d", chain_id, from_target_id, to_target_id)
        return migration

    async def move_chain(self, chain_id: int, from_target_id: int, to_target_id: int) -> ChainMigration:
        """Start replacing `from_target_id` in chain `chain_id` by the free target `to_target_id`."""
        migration = self._start_move(chain_id, from_target_id, to_target_id)
        await self.manager.update_target_states()  # the new member joins now
        await self.manager.publish_change()
        return migration

    async def cancel_move(self, chain_id: int) -> ChainMigration:
        """Stop a chain's move while its new target has not caught up (e.g. its node died): the new
        target leaves the chain (held offline: it holds a partial copy) and the old one stays."""
        migration = self.manager.chain_migrations.get(chain_id)
        if migration is None:
            raise Fs3Error(errno.ENOENT, f"chain {chain_id} is not moving")
        chain = self._chain(chain_id)
        destination = self._target(migration.to_target_id)
        if destination.public_state == PublicState.SERVING and destination.target_id in chain.target_ids:
            raise Fs3Error(errno.EBUSY, f"target {destination.target_id} already serves chain {chain_id}; "
                                        f"the move finishes by itself")
        if destination.target_id in chain.target_ids:
            chain.target_ids.remove(destination.target_id)
            chain.chain_version += 1
        destination.chain_id, destination.admin_offline = 0, True
        del self.manager.chain_migrations[chain_id]
        logger.warning("chain %d: move of target %d to %d cancelled", chain_id, migration.from_target_id,
                       migration.to_target_id)
        await self.manager.update_target_states()
        await self.manager.publish_change()
        return migration

    async def move_chains_to_node(self, node_id: int, chains_max: int = 0) -> list[ChainMigration]:
        """Move chain members onto `node_id`'s free targets until the nodes' loads even out (`rebalance.py`)."""
        node = self.routing.nodes.get(node_id)
        if node is None or node.node_type != NodeType.STORAGE:
            raise Fs3Error(StatusCode.UNKNOWN_NODE, f"node {node_id} is not a registered storage node")
        if not node.alive:
            raise Fs3Error(StatusCode.UNAVAILABLE, f"storage node {node_id} is not alive")
        free = [target.target_id for target in self.routing.targets.values()
                if target.node_id == node_id and target.chain_id == 0 and not target.admin_offline
                and self._migration_of_target(target.target_id) is None]
        if not free:
            raise Fs3Error(errno.ENOSPC, f"storage node {node_id} has no free targets "
                                         f"(`fs3 create-targets --node {node_id}` makes some)")
        room = self.manager.config.chain_migrations_max - len(self.manager.chain_migrations)
        limit = min(chains_max, room) if chains_max else room
        plan = plan_moves_onto_node(self.routing, node_id, free, chains_max=max(limit, 0),
                                    busy_chain_ids=self.manager.chain_migrations)
        migrations = [self._start_move(move.chain_id, move.from_target_id, move.to_target_id) for move in plan]
        if migrations:
            await self.manager.update_target_states()
            await self.manager.publish_change()
        return migrations


def advance_chain_migrations(manager: "ClusterManager") -> bool:
    """One step of every chain move (module docstring); returns whether chains changed (to persist)."""
    routing = manager.routing
    changed = False
    for chain_id, migration in list(manager.chain_migrations.items()):
        chain = routing.chains.get(chain_id)
        source = routing.targets.get(migration.from_target_id)
        destination = routing.targets.get(migration.to_target_id)
        if chain is None or source is None or destination is None:
            logger.error("chain move %s lost its chain or a target; dropped", migration)
            del manager.chain_migrations[chain_id]
            changed = True
            continue
        if destination.target_id not in chain.target_ids:
            if source.target_id not in chain.target_ids:
                del manager.chain_migrations[chain_id]
                changed = True
                continue
            chain.target_ids.append(destination.target_id)
            chain.chain_version += 1
            destination.chain_id, destination.public_state = chain_id, PublicState.OFFLINE
            logger.warning("chain %d -> version %d: target %d joins to replace target %d", chain_id,
                           chain.chain_version, destination.target_id, source.target_id)
            changed = True
            continue
        if destination.public_state != PublicState.SERVING:
            continue  # recovering from its predecessor
        if source.target_id in chain.target_ids:
            if source.public_state != PublicState.OFFLINE:
                if not source.admin_offline:
                    source.admin_offline = True  # the state update moves it to the end, offline
                    changed = True
                continue
            chain.target_ids.remove(source.target_id)
            chain.chain_version += 1
            source.chain_id = 0
            source.admin_offline = True  # retired: stale chunks until `fs3 replace-target` empties it
            logger.warning("chain %d -> version %d: target %d left; moved to target %d", chain_id,
                           chain.chain_version, source.target_id, destination.target_id)
        del manager.chain_migrations[chain_id]
        changed = True
    return changed
