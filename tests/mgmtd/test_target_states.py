from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fs3.mgmtd.target_states import LocalState, PublicState, next_public_state, update_chain

L = LocalState
P = PublicState
S, Y, W, LS, O = P.SERVING, P.SYNCING, P.WAITING, P.LASTSRV, P.OFFLINE
UP, ON, OFF = L.UP_TO_DATE, L.ONLINE, L.OFFLINE

ALL_PREDS = [None, *PublicState]
NOT_SERVING_PREDS = [None, Y, W, LS, O]

# The design table, written out independently of the implementation.
ROWS = [
    (UP, S, ALL_PREDS, S),
    (UP, Y, ALL_PREDS, S),
    (UP, W, ALL_PREDS, W),
    (UP, LS, ALL_PREDS, S),
    (UP, O, ALL_PREDS, W),
    (ON, S, ALL_PREDS, S),
    (ON, Y, [S], Y),
    (ON, Y, NOT_SERVING_PREDS, W),
    (ON, W, [S], Y),
    (ON, W, NOT_SERVING_PREDS, W),
    (ON, LS, ALL_PREDS, S),
    (ON, O, ALL_PREDS, W),
    (OFF, S, [None], LS),
    (OFF, S, list(PublicState), O),
    (OFF, Y, ALL_PREDS, O),
    (OFF, W, ALL_PREDS, O),
    (OFF, LS, ALL_PREDS, LS),
    (OFF, O, ALL_PREDS, O),
]


def test_enum_values_match_proto():
    from fs3._proto import common_pb2 as pb  # noqa: PLC0415

    for state in PublicState:
        assert pb.PublicTargetState.Value(f"PUBLIC_STATE_{state.name}") == state.value
    for state in LocalState:
        assert pb.LocalTargetState.Value(f"LOCAL_STATE_{state.name}") == state.value


@pytest.mark.parametrize("local, current, preds, expected", ROWS, ids=[f"row{i + 1}" for i in range(18)])
def test_table_row(local, current, preds, expected):
    for pred in preds:
        assert next_public_state(local, current, pred) == expected, pred


def test_table_is_total_and_accepts_ints():
    covered = {(local, current) for local, current, _, _ in ROWS}
    assert len(covered) == 15
    for local in LocalState:
        for current in PublicState:
            for pred in ALL_PREDS:
                next_public_state(local, current, pred)
    assert next_public_state(2, 3, 1) == P.SYNCING


# ---- chain level ----------------------------------------------------------


def step(chain, local):
    """chain: list[(tid, public)] in order; local: dict tid -> LocalState."""
    new, changed = update_chain([(tid, local[tid], public) for tid, public in chain])
    return new, changed


def test_steady_chain_unchanged():
    chain = [(1, S), (2, S), (3, S)]
    new, changed = step(chain, {1: UP, 2: ON, 3: UP})
    assert new == chain and not changed
    assert update_chain([]) == ([], False)


def test_tail_dies():
    new, changed = step([(1, S), (2, S), (3, S)], {1: UP, 2: UP, 3: OFF})
    assert changed and new == [(1, S), (2, S), (3, O)]
    # Nothing more happens while it stays down.
    assert step(new, {1: UP, 2: UP, 3: OFF}) == (new, False)


def test_head_dies_successor_becomes_head():
    new, changed = step([(1, S), (2, S), (3, S)], {1: OFF, 2: UP, 3: UP})
    assert changed and new == [(2, S), (3, S), (1, O)]


def test_middle_dies_moves_behind_older_offline():
    new, _ = step([(1, S), (2, S), (3, O)], {1: UP, 2: OFF, 3: OFF})
    assert new == [(1, S), (3, O), (2, O)]


def test_all_die_at_once_head_is_lastsrv():
    new, _ = step([(1, S), (2, S), (3, S)], {1: OFF, 2: OFF, 3: OFF})
    assert new == [(1, LS), (2, O), (3, O)]


def test_serving_dies_while_syncing_completes():
    # The syncing target finished recovery: it serves, so the dead one is plain offline.
    new, _ = step([(1, S), (2, Y)], {1: OFF, 2: UP})
    assert new == [(2, S), (1, O)]
    # Not finished: it cannot serve, and the dead one is the last serving target.
    new, _ = step([(1, S), (2, Y)], {1: OFF, 2: ON})
    assert new == [(2, W), (1, LS)]


def test_syncing_keeps_syncing_when_another_serving_precedes_it():
    new, _ = step([(1, S), (2, S), (3, Y)], {1: UP, 2: OFF, 3: ON})
    assert new == [(1, S), (3, Y), (2, O)]


def test_returning_target_waiting_syncing_serving():
    local = {1: UP, 2: UP, 3: OFF}
    chain, _ = step([(1, S), (2, S), (3, S)], local)
    assert chain == [(1, S), (2, S), (3, O)]
    local[3] = ON  # restarted
    chain, changed = step(chain, local)
    assert changed and chain == [(1, S), (2, S), (3, W)]
    chain, changed = step(chain, local)
    assert changed and chain == [(1, S), (2, S), (3, Y)]
    chain, changed = step(chain, local)
    assert not changed and chain == [(1, S), (2, S), (3, Y)]
    local[3] = UP  # sync-done received
    chain, changed = step(chain, local)
    assert changed and chain == [(1, S), (2, S), (3, S)]


def test_only_one_target_recovers_at_a_time():
    local = {1: UP, 2: ON, 3: ON}
    chain, _ = step([(1, S), (2, W), (3, W)], local)
    assert chain == [(1, S), (2, Y), (3, W)]
    local[2] = UP
    chain, _ = step(chain, local)
    # 2 is serving now; 3 is right behind a serving target and starts syncing.
    assert chain == [(1, S), (2, S), (3, Y)]


def test_waiting_target_moves_ahead_of_offline_ones():
    chain, _ = step([(1, S), (2, O), (3, O)], {1: UP, 2: OFF, 3: ON})
    assert chain == [(1, S), (3, W), (2, O)]
    chain, _ = step(chain, {1: UP, 2: OFF, 3: ON})
    assert chain == [(1, S), (3, Y), (2, O)]


def kill_all_one_by_one():
    local = {1: UP, 2: UP, 3: UP}
    chain = [(1, S), (2, S), (3, S)]
    for tid, expected in [
        (3, [(1, S), (2, S), (3, O)]),
        (1, [(2, S), (3, O), (1, O)]),
        (2, [(2, LS), (3, O), (1, O)]),
    ]:
        local[tid] = OFF
        chain, changed = step(chain, local)
        assert changed and chain == expected
    return chain, local


def run_until_stable(chain, local, rounds=20):
    for _ in range(rounds):
        chain, changed = step(chain, local)
        for tid, state in chain:
            if state == Y:
                local[tid] = UP  # recovery completes
        if not changed and all(s == S for _, s in chain):
            break
    return chain


@pytest.mark.parametrize("order", [(2, 1, 3), (2, 3, 1), (1, 3, 2), (3, 1, 2), (1, 2, 3), (3, 2, 1)])
def test_all_three_die_then_come_back(order):
    chain, local = kill_all_one_by_one()
    last_serving = 2
    seen_back = set()
    for tid in order:
        local[tid] = ON
        seen_back.add(tid)
        for _ in range(3):
            chain, _ = step(chain, local)
            states = dict(chain)
            if last_serving not in seen_back:
                # Nobody may serve before the last serving replica is back.
                assert S not in states.values() and Y not in states.values()
                assert states[last_serving] == LS
                assert [s for s in states.values() if s == LS] == [LS]
            else:
                assert states[last_serving] == S
                assert chain[0] == (last_serving, S)
    chain = run_until_stable(chain, local)
    assert sorted(chain) == [(1, S), (2, S), (3, S)]
    assert chain[0][0] == last_serving


def test_lastsrv_returns_and_others_resync_one_by_one():
    local = {1: ON, 2: ON, 3: ON}
    chain, _ = step([(2, LS), (3, O), (1, O)], local)
    # 2 serves; 3 and 1 become waiting (offline -> waiting regardless).
    assert chain == [(2, S), (3, W), (1, W)]
    chain, _ = step(chain, local)
    assert chain == [(2, S), (3, Y), (1, W)]


def test_inconsistent_lastsrv_is_not_trusted():
    # A lastsrv next to a serving target is not the last serving replica.
    chain, changed = step([(1, S), (2, LS)], {1: UP, 2: ON})
    assert changed and chain == [(1, S), (2, W)]
    chain, _ = step([(1, LS), (2, LS)], {1: ON, 2: ON})
    assert chain == [(1, S), (2, W)]


def test_duplicate_target_rejected():
    with pytest.raises(ValueError):
        update_chain([(1, UP, S), (1, UP, S)])


# ---- model check ------------------------------------------------------------
#
# A chain starts with every target serving and fresh (holding every
# acknowledged write). Random events: a target dies; a dead target whose
# public state shows it down restarts (reports online); the serving
# predecessor of a syncing target finishes recovery (the target becomes fresh
# and reports up-to-date); a write is acknowledged (only if some target serves
# and every serving/syncing target is alive -- it must pass through all of
# them), making every other target stale; the cluster manager runs
# update_chain.


events = st.lists(
    st.one_of(
        st.tuples(st.just("kill"), st.integers(0, 3)),
        st.tuples(st.just("restart"), st.integers(0, 3)),
        st.tuples(st.just("sync_done"), st.integers(0, 3)),
        st.tuples(st.just("write"), st.just(0)),
        st.tuples(st.just("tick"), st.just(0)),
    ),
    max_size=60,
)


class Model:
    def __init__(self, n):
        self.chain = [(i, S) for i in range(n)]
        self.local = {i: UP for i in range(n)}
        self.fresh = {i: True for i in range(n)}

    def public(self):
        return dict(self.chain)

    def predecessor(self, tid):
        ids = [t for t, _ in self.chain]
        k = ids.index(tid)
        return self.chain[k - 1] if k else None

    def apply(self, kind, i):
        if i not in self.local:
            return
        pub = self.public()
        if kind == "kill":
            self.local[i] = OFF
        elif kind == "restart":
            if self.local[i] == OFF and pub[i] in (LS, O):
                self.local[i] = ON
        elif kind == "sync_done":
            pred = self.predecessor(i)
            if (
                pub[i] == Y
                and self.local[i] == ON
                and pred is not None
                and pred[1] == S
                and self.local[pred[0]] != OFF
            ):
                assert self.fresh[pred[0]]
                self.fresh[i] = True
                self.local[i] = UP
        elif kind == "write":
            members = [t for t, s in self.chain if s in (S, Y)]
            if any(s == S for _, s in self.chain) and all(self.local[t] != OFF for t in members):
                for t, s in self.chain:
                    if s not in (S, Y):
                        self.fresh[t] = False
                # A syncing target gets the write as a full-chunk replace: it
                # stays as fresh (or stale) as it was until sync-done.
        elif kind == "tick":
            self.tick()

    def tick(self):
        new, changed = update_chain([(t, self.local[t], s) for t, s in self.chain])
        assert changed == (new != self.chain)
        assert sorted(t for t, _ in new) == sorted(self.local)
        self.chain = new
        self.check()

    def check(self):
        states = [s for _, s in self.chain]
        for t, s in self.chain:
            if s == S:
                assert self.fresh[t], f"stale target {t} serving: {self.chain}"
            if s == LS:
                assert self.fresh[t], f"stale lastsrv {t}: {self.chain}"
        assert (S in states) != (states.count(LS) == 1), self.chain
        assert states.count(LS) <= 1
        # Canonical order: serving, syncing/waiting, lastsrv, offline.
        rank = {S: 0, Y: 1, W: 1, LS: 2, O: 3}
        assert [rank[s] for s in states] == sorted(rank[s] for s in states), self.chain
        assert states.count(Y) <= 1


@settings(max_examples=400, deadline=None)
@given(n=st.integers(1, 4), evs=events)
def test_model_safety_and_recovery(n, evs):
    m = Model(n)
    for kind, i in evs:
        m.apply(kind, i)
    m.tick()
    # Everyone comes back: the chain must return to all-serving.
    for _ in range(4 * n + 4):
        for t in list(m.local):
            m.apply("restart", t)
        m.tick()
        for t in list(m.local):
            m.apply("sync_done", t)
        m.apply("write", 0)
    m.tick()
    assert all(s == S for _, s in m.chain), m.chain
    assert all(m.fresh.values())
