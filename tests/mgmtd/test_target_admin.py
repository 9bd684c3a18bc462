"""Operator changes to targets and chains in the cluster manager's core (fs3/mgmtd/target_admin.py).

Goal: offlining, bringing back, uploading chains and tables, and moving chain
members change routing exactly as target_admin's docstring says, refuse
what would lose data or break placement rules with a precise error, and
survive a change of primary. Method: a ClusterManager on the in-memory KV
store, storage services simulated by heartbeats that report the local states
a real storage service would (fs3/storage/replication/local_state.py), and a
second manager loading the same store as the new primary.
"""

from __future__ import annotations

import errno

import pytest

from fs3.config import MgmtdConfig
from fs3.errors import Fs3Error, StatusCode
from fs3.kv.memory import MemoryKvEngine
from fs3.mgmtd.manager import ClusterManager, TargetReport
from fs3.mgmtd.target_admin import TargetAdmin
from fs3.routing import LocalState, NodeInfo, NodeType, PublicState
from tests.conftest import run_async

UP, ON, OFF = LocalState.UP_TO_DATE, LocalState.ONLINE, LocalState.OFFLINE
S, Y, W, O, LS = PublicState.SERVING, PublicState.SYNCING, PublicState.WAITING, PublicState.OFFLINE, PublicState.LASTSRV


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class SimulatedCluster:
    """A manager plus storage nodes 101..103 (2 targets each, in 2 chains of R=3) and what they report."""

    def __init__(self, engine: MemoryKvEngine | None = None) -> None:
        self.engine = engine or MemoryKvEngine()
        self.clock = Clock()
        self.manager = self._new_manager()
        self.local: dict[int, LocalState] = {}  # what each target's storage service reports

    def _new_manager(self) -> ClusterManager:
        return ClusterManager(MgmtdConfig(heartbeat_timeout_s=10.0), self.engine, monotonic=self.clock)

    async def setup(self, nodes=(101, 102, 103), targets_per_node=2) -> None:
        for node_id in nodes:
            await self.add_node(node_id, targets_per_node)
        await self.manager.create_chain_table(1, 3)
        await self.round()

    async def add_node(self, node_id: int, targets: int) -> None:
        await self.manager.register_node(NodeInfo(node_id, NodeType.STORAGE, "127.0.0.1", 9000 + node_id))
        for index in range(targets):
            self.local[node_id * 1000 + index + 1] = UP
        self.heartbeat()

    def heartbeat(self) -> None:
        by_node: dict[int, list[TargetReport]] = {}
        for target_id, state in self.local.items():
            by_node.setdefault(target_id // 1000, []).append(
                TargetReport(target_id, f"/disks/{target_id // 1000}/target-{target_id}", state))
        for node_id, reports in by_node.items():
            self.manager.heartbeat(node_id, NodeType.STORAGE, reports)

    def follow_routing(self) -> None:
        """What TargetLocalStates.update does on every storage service after a routing change."""
        for target_id, local in self.local.items():
            target = self.manager.routing.targets.get(target_id)
            if target is None or not target.chain_id:
                continue
            if local == ON and target.public_state == S:
                self.local[target_id] = UP
            elif local == UP and target.public_state in (O, W):
                self.local[target_id] = ON

    async def round(self, synced: tuple[int, ...] = ()) -> None:
        """Storage services follow routing, `synced` targets receive sync-done, heartbeats, a state update."""
        self.follow_routing()
        for target_id in synced:
            if self.state(target_id) == Y and self.local[target_id] == ON:
                self.local[target_id] = UP
        self.heartbeat()
        await self.manager.update_target_states()

    async def recover(self, rounds: int = 8) -> None:
        """Rounds in which every syncing target finishes its resync."""
        for _ in range(rounds):
            syncing = tuple(t for t, info in self.manager.routing.targets.items() if info.public_state == Y)
            await self.round(synced=syncing)

    def state(self, target_id: int) -> PublicState:
        return self.manager.routing.targets[target_id].public_state

    def chain_of(self, target_id: int):
        return self.manager.routing.chains[self.manager.routing.targets[target_id].chain_id]

    @property
    def admin(self) -> TargetAdmin:
        return TargetAdmin(self.manager)

    async def new_primary(self) -> ClusterManager:
        """A second manager loads what the first persisted and takes over."""
        self.manager = self._new_manager()
        await self.manager.load()
        self.heartbeat()
        return self.manager


def test_offline_target_moves_it_to_the_chain_end_until_brought_back():
    async def main() -> None:
        cluster = SimulatedCluster()
        await cluster.setup()
        chain = cluster.chain_of(101001)
        head, version = chain.target_ids[0], chain.chain_version
        after = await cluster.admin.offline_target(head)
        assert after.target_ids[-1] == head and after.chain_version > version
        assert cluster.state(head) == O and cluster.manager.routing.targets[head].admin_offline
        for _ in range(4):  # its storage service keeps reporting it alive: it stays offline
            await cluster.round()
        assert cluster.state(head) == O
        manager = await cluster.new_primary()  # persisted: a new primary keeps it offline
        await cluster.round()
        assert manager.routing.targets[head].admin_offline and cluster.state(head) == O
        await cluster.admin.online_target(head)
        await cluster.round()
        assert cluster.state(head) in (W, Y)
        await cluster.recover()
        assert cluster.state(head) == S and not manager.routing.targets[head].admin_offline
        assert all(cluster.state(t) == S for t in cluster.chain_of(head).target_ids)

    run_async(main())


def test_offline_refuses_the_last_serving_target_unless_forced():
    async def main() -> None:
        cluster = SimulatedCluster()
        await cluster.setup()
        members = cluster.chain_of(101001).target_ids
        await cluster.admin.offline_target(members[0])
        await cluster.admin.offline_target(members[1])
        last = cluster.chain_of(101001).target_ids[0]
        with pytest.raises(Fs3Error) as refused:
            await cluster.admin.offline_target(last)
        assert refused.value.code == errno.EBUSY and "last serving target" in refused.value.message
        await cluster.admin.offline_target(last, force=True)
        assert cluster.state(last) == LS  # the chain stops; it holds every acknowledged write
        with pytest.raises(Fs3Error) as unknown:
            await cluster.admin.offline_target(424242)
        assert unknown.value.code == StatusCode.UNKNOWN_TARGET

    run_async(main())


def test_move_chain_adds_recovers_then_drops_and_survives_a_new_primary():
    async def main() -> None:
        cluster = SimulatedCluster()
        await cluster.setup()
        await cluster.add_node(104, 1)
        chain_id = cluster.chain_of(101001).chain_id
        source = 101001
        versions = [cluster.manager.routing.chains[chain_id].chain_version]
        migration = await cluster.admin.move_chain(chain_id, source, 104001)
        assert migration.to_target_id == 104001
        chain = cluster.manager.routing.chains[chain_id]
        assert chain.target_ids[-1] == 104001 and len(chain.target_ids) == 4 and source in chain.target_ids
        versions.append(chain.chain_version)
        await cluster.round()
        assert cluster.state(104001) in (W, Y)  # recovering: the chain keeps its three serving replicas
        assert sum(cluster.state(t) == S for t in chain.target_ids) == 3
        manager = await cluster.new_primary()
        assert chain_id in manager.chain_migrations
        await cluster.recover()
        chain = manager.routing.chains[chain_id]
        assert chain_id not in manager.chain_migrations
        assert source not in chain.target_ids and 104001 in chain.target_ids and len(chain.target_ids) == 3
        assert all(cluster.state(t) == S for t in chain.target_ids)
        assert chain.chain_version > versions[-1]
        retired = manager.routing.targets[source]
        assert retired.chain_id == 0 and retired.admin_offline  # stale: only replace-target frees it
        with pytest.raises(Fs3Error) as stale:
            await cluster.admin.online_target(source)
        assert stale.value.code == errno.EBUSY and "replace-target" in stale.value.message
        assert await cluster.admin.online_target(source, emptied=True) is None
        assert not manager.routing.targets[source].admin_offline

    run_async(main())


def test_move_chain_refuses_what_breaks_placement():
    async def main() -> None:
        cluster = SimulatedCluster()
        await cluster.setup()
        await cluster.add_node(104, 2)
        chain = cluster.chain_of(101001)
        other = next(t for t in chain.target_ids if t // 1000 != 101)
        cases = [
            ((chain.chain_id, 424242, 104001), errno.EINVAL, "is not in chain"),
            ((chain.chain_id, 101001, 102002), errno.EEXIST, "already in chain"),
            ((999, 101001, 104001), StatusCode.UNKNOWN_CHAIN, "does not exist"),
        ]
        for arguments, code, words in cases:
            with pytest.raises(Fs3Error) as refused:
                await cluster.admin.move_chain(*arguments)
            assert refused.value.code == code and words in refused.value.message, refused.value
        await cluster.admin.move_chain(chain.chain_id, 101001, 104001)
        with pytest.raises(Fs3Error) as busy:
            await cluster.admin.move_chain(chain.chain_id, other, 104002)
        assert busy.value.code == errno.EBUSY and "already moving" in busy.value.message
        second = next(c for c in cluster.manager.routing.chains.values() if c.chain_id != chain.chain_id)
        with pytest.raises(Fs3Error) as taken:  # 104001 already joins the first chain
            await cluster.admin.move_chain(second.chain_id, second.target_ids[0], 104001)
        assert taken.value.code == errno.EEXIST

    run_async(main())


def test_move_chains_to_node_balances_memberships():
    async def main() -> None:
        cluster = SimulatedCluster()
        await cluster.setup(targets_per_node=5)  # 5 chains x 3 replicas over 3 nodes
        await cluster.add_node(104, 5)
        migrations = await cluster.admin.move_chains_to_node(104)
        assert len(migrations) == 3  # loads 5,5,5,0 -> 4,4,4,3
        assert len({m.chain_id for m in migrations}) == 3
        assert {m.from_target_id // 1000 for m in migrations} == {101, 102, 103}
        await cluster.recover(rounds=10)
        loads = {}
        for chain in cluster.manager.routing.chains.values():
            nodes = [t // 1000 for t in chain.target_ids]
            assert len(set(nodes)) == len(nodes) == 3
            for node in nodes:
                loads[node] = loads.get(node, 0) + 1
        assert loads == {101: 4, 102: 4, 103: 4, 104: 3}
        assert not cluster.manager.chain_migrations
        with pytest.raises(Fs3Error) as unknown:
            await cluster.admin.move_chains_to_node(555)
        assert unknown.value.code == StatusCode.UNKNOWN_NODE

    run_async(main())


def test_upload_chains_and_chain_tables():
    async def main() -> None:
        cluster = SimulatedCluster()
        await cluster.setup()
        for node in (104, 105, 106):
            await cluster.add_node(node, 1)
        with pytest.raises(Fs3Error) as same_node:
            await cluster.admin.set_chains([(10, [104001, 104001])])
        assert same_node.value.code == errno.EINVAL
        with pytest.raises(Fs3Error) as in_chain:
            await cluster.admin.set_chains([(10, [104001, 101001])])
        assert in_chain.value.code == errno.EEXIST and "is in chain" in in_chain.value.message
        existing = cluster.chain_of(101001)
        with pytest.raises(Fs3Error) as changed:
            await cluster.admin.set_chains([(existing.chain_id, [104001, 105001, 106001])])
        assert changed.value.code == errno.EEXIST and "move-chain" in changed.value.message
        assert 10 not in cluster.manager.routing.chains  # all or nothing
        chains = await cluster.admin.set_chains([(existing.chain_id, list(existing.target_ids)),
                                                 (10, [104001, 105001, 106001])])
        assert chains[1].target_ids == [104001, 105001, 106001] and chains[1].chain_version == 1
        assert all(cluster.state(t) == S for t in (104001, 105001, 106001))

        table = await cluster.admin.set_chain_table(2, [10])
        assert (table.table_id, table.table_version, table.chain_ids) == (2, 1, [10])
        assert await cluster.admin.set_chain_table(2, [10]) == table  # unchanged: same version
        with pytest.raises(Fs3Error) as exists:
            await cluster.admin.set_chain_table(2, [10, existing.chain_id])
        assert exists.value.code == errno.EEXIST and "--replace" in exists.value.message
        replaced = await cluster.admin.set_chain_table(2, [10, existing.chain_id], replace=True)
        assert replaced.table_version == 2
        with pytest.raises(Fs3Error) as unknown:
            await cluster.admin.set_chain_table(3, [77])
        assert unknown.value.code == StatusCode.UNKNOWN_CHAIN
        manager = await cluster.new_primary()
        assert manager.routing.chain_tables[2].chain_ids == [10, existing.chain_id]

    run_async(main())


def test_chain_tables_skip_targets_held_offline():
    async def main() -> None:
        cluster = SimulatedCluster()
        for node_id in (101, 102, 103, 104):
            await cluster.add_node(node_id, 1)
        await cluster.admin.offline_target(104001)
        table = await cluster.manager.create_chain_table(1, 3)
        chain = cluster.manager.routing.chains[table.chain_ids[0]]
        assert sorted(chain.target_ids) == [101001, 102001, 103001]

    run_async(main())


def test_cancel_a_move_whose_new_target_never_catches_up():
    async def main() -> None:
        cluster = SimulatedCluster()
        await cluster.setup()
        await cluster.add_node(104, 1)
        chain = cluster.chain_of(101001)
        await cluster.admin.move_chain(chain.chain_id, 101001, 104001)
        del cluster.local[104001]  # its node stops reporting it (died)
        cluster.clock.now += 11
        await cluster.round()
        version = cluster.manager.routing.chains[chain.chain_id].chain_version
        cancelled = await cluster.admin.cancel_move(chain.chain_id)
        assert cancelled.to_target_id == 104001 and not cluster.manager.chain_migrations
        chain = cluster.manager.routing.chains[chain.chain_id]
        assert 104001 not in chain.target_ids and 101001 in chain.target_ids and chain.chain_version > version
        assert cluster.manager.routing.targets[104001].admin_offline  # a partial copy: held until replaced
        with pytest.raises(Fs3Error) as nothing:
            await cluster.admin.cancel_move(chain.chain_id)
        assert nothing.value.code == errno.ENOENT

    run_async(main())
