"""Public target-state transitions computed by the cluster manager.

Pure functions, no I/O. The transition table is exactly the one in
``/work/shared/design/replication.md`` ("Target states"); :data:`TRANSITION_TABLE`
holds its 18 rows as data and :func:`next_public_state` looks them up.

:func:`update_chain` applies the table to a whole chain and reorders it.

Interpretation of the table inside a chain (what "predecessor" means)
---------------------------------------------------------------------
The table is evaluated against the chain *as it will be after this update*:

* The new chain order is ``SERVING`` targets first, then ``SYNCING`` and
  ``WAITING`` ones, then ``LASTSRV``, then ``OFFLINE`` ones. Inside each group
  the previous relative order is kept. A target that becomes offline (or
  lastsrv) moves to the end: it goes behind the targets that were already
  offline.
* A target's predecessor is the target right before it in that new order,
  with its *new* public state. So a waiting target right behind a serving one
  (including one that has just become serving this round) is promoted to
  syncing in the same round, while a second waiting target behind it stays
  waiting: at most one target recovers at a time, always from a serving
  predecessor. A syncing target whose serving predecessor died keeps syncing
  if another serving target now precedes it (that target restarts the
  comparison; recovery is idempotent), and falls back to waiting if no
  serving target is left.
* Row 13/14 ("offline | serving | none -> lastsrv" / "exists -> offline"):
  targets that were serving and are now down are placed behind the targets
  that stay serving. If any target of the chain is serving after this update
  (it stayed serving, or a syncing target became up-to-date), every serving
  target that went down has a predecessor and becomes ``OFFLINE``. Only if no
  serving target is left does the *first* of them (in chain order) become the
  head of the new chain: it has no predecessor and becomes ``LASTSRV``; the
  others that went down in the same round have it as predecessor and become
  ``OFFLINE``. This is the 3FS meaning: ``LASTSRV`` marks the last serving
  target, which holds every acknowledged write and must come back first.
  (Reading the row literally by position would make a dead head ``LASTSRV``
  while its successors keep serving and accepting writes it never sees; a
  later return of that head as serving would then serve stale data.)

Consequences (checked by the tests, starting from a chain whose targets are
all serving, which is how new chains are created): at any time a chain has at
least one serving target, or exactly one lastsrv target and no serving one.
A lastsrv target never coexists with a serving one. So once every replica is
back, the lastsrv target returns to serving and the others resync from it one
after another. The price, as in 3FS: if the lastsrv target never returns,
the chain waits for it (an operator must intervene), even if other replicas
look complete -- acknowledged data is never silently rolled back.

Inputs no sequence of updates produces -- a ``LASTSRV`` target in a chain
that also has a ``SERVING`` one, or more than one ``LASTSRV`` -- are first
normalised: only the first ``LASTSRV`` of a chain with no serving target keeps
that state; any other is treated as ``OFFLINE``. Such a target must not come
back as serving: it is not the last serving replica.
"""

from __future__ import annotations

import enum
from typing import Sequence

__all__ = [
    "PublicState",
    "LocalState",
    "TRANSITION_TABLE",
    "next_public_state",
    "update_chain",
]


# One definition of each state enum, shared with the routing info.
from fs3.routing import LocalState, PublicState  # noqa: E402


# Predecessor conditions used in the table.
ANY = "any"
SERVING_PRED = "serving"  # the predecessor exists and is serving
NOT_SERVING_PRED = "not serving"  # no predecessor, or it is not serving
NO_PRED = "none"  # the target is the head
HAS_PRED = "exists"  # some predecessor, whatever its state

_L = LocalState
_P = PublicState

#: (local, current public, predecessor condition, next public): the design table.
TRANSITION_TABLE: tuple[tuple[LocalState, PublicState, str, PublicState], ...] = (
    (_L.UP_TO_DATE, _P.SERVING, ANY, _P.SERVING),
    (_L.UP_TO_DATE, _P.SYNCING, ANY, _P.SERVING),
    (_L.UP_TO_DATE, _P.WAITING, ANY, _P.WAITING),
    (_L.UP_TO_DATE, _P.LASTSRV, ANY, _P.SERVING),
    (_L.UP_TO_DATE, _P.OFFLINE, ANY, _P.WAITING),
    (_L.ONLINE, _P.SERVING, ANY, _P.SERVING),
    (_L.ONLINE, _P.SYNCING, SERVING_PRED, _P.SYNCING),
    (_L.ONLINE, _P.SYNCING, NOT_SERVING_PRED, _P.WAITING),
    (_L.ONLINE, _P.WAITING, SERVING_PRED, _P.SYNCING),
    (_L.ONLINE, _P.WAITING, NOT_SERVING_PRED, _P.WAITING),
    (_L.ONLINE, _P.LASTSRV, ANY, _P.SERVING),
    (_L.ONLINE, _P.OFFLINE, ANY, _P.WAITING),
    (_L.OFFLINE, _P.SERVING, NO_PRED, _P.LASTSRV),
    (_L.OFFLINE, _P.SERVING, HAS_PRED, _P.OFFLINE),
    (_L.OFFLINE, _P.SYNCING, ANY, _P.OFFLINE),
    (_L.OFFLINE, _P.WAITING, ANY, _P.OFFLINE),
    (_L.OFFLINE, _P.LASTSRV, ANY, _P.LASTSRV),
    (_L.OFFLINE, _P.OFFLINE, ANY, _P.OFFLINE),
)


def _matches(condition: str, predecessor: PublicState | None) -> bool:
    if condition == ANY:
        return True
    if condition == SERVING_PRED:
        return predecessor == PublicState.SERVING
    if condition == NOT_SERVING_PRED:
        return predecessor != PublicState.SERVING
    if condition == NO_PRED:
        return predecessor is None
    if condition == HAS_PRED:
        return predecessor is not None
    raise AssertionError(condition)


def next_public_state(
    local: LocalState, current: PublicState, predecessor: PublicState | None
) -> PublicState:
    """One row of the design table.

    ``predecessor`` is the public state of the target right before this one in
    the chain, or ``None`` when the target is the head (has no predecessor).
    A missing predecessor counts as "not serving".
    """
    local = LocalState(local)
    current = PublicState(current)
    if predecessor is not None:
        predecessor = PublicState(predecessor)
    for row_local, row_current, condition, result in TRANSITION_TABLE:
        if row_local == local and row_current == current and _matches(condition, predecessor):
            return result
    raise AssertionError(f"no transition for {local!r}, {current!r}, {predecessor!r}")  # table is total


_ALIVE = (LocalState.UP_TO_DATE, LocalState.ONLINE)
_DOWN = (PublicState.LASTSRV, PublicState.OFFLINE)


def update_chain(
    targets: Sequence[tuple[int, LocalState, PublicState]],
) -> tuple[list[tuple[int, PublicState]], bool]:
    """Recompute the public states of one chain and reorder it.

    ``targets`` is the chain in its current order (head first) as
    ``(target_id, local_state, current_public_state)``. Returns the new chain
    order as ``(target_id, new_public_state)`` and whether anything (a state
    or the order) changed, in which case the caller bumps the chain version.
    See the module docstring for how predecessors are chosen.
    """
    entries: list[tuple[int, LocalState, PublicState]] = []
    seen: set[int] = set()
    for target_id, local, public in targets:
        target_id = int(target_id)
        if target_id in seen:
            raise ValueError(f"target {target_id} appears twice in the chain")
        seen.add(target_id)
        entries.append((target_id, LocalState(local), PublicState(public)))

    # Normalise states no update sequence produces (see module docstring).
    has_serving = any(public == PublicState.SERVING for _, _, public in entries)
    kept_lastsrv = False
    effective: list[tuple[int, LocalState, PublicState]] = []
    for target_id, local, public in entries:
        if public == PublicState.LASTSRV:
            if has_serving or kept_lastsrv:
                public = PublicState.OFFLINE
            else:
                kept_lastsrv = True
        effective.append((target_id, local, public))

    new_state: dict[int, PublicState] = {}

    # 1. Targets serving after this round whatever their predecessor (rows 1,
    #    2, 4, 6, 11): alive serving ones, up-to-date syncing ones, and the
    #    alive lastsrv one. They form the head of the new chain, in chain order.
    serving_block: list[int] = []
    for target_id, local, public in effective:
        if (local in _ALIVE and public in (PublicState.SERVING, PublicState.LASTSRV)) or (
            local == LocalState.UP_TO_DATE and public == PublicState.SYNCING
        ):
            state = next_public_state(local, public, None)
            assert state == PublicState.SERVING
            new_state[target_id] = state
            serving_block.append(target_id)

    # 2. Serving targets that went down (rows 13, 14). They are placed behind
    #    the serving block; the first one is the new head only if that block
    #    is empty.
    newly_down: list[int] = []
    predecessor: PublicState | None = PublicState.SERVING if serving_block else None
    for target_id, local, public in effective:
        if public == PublicState.SERVING and local == LocalState.OFFLINE:
            state = next_public_state(local, public, predecessor)
            new_state[target_id] = state
            newly_down.append(target_id)
            predecessor = state

    # 3. Everyone else, in chain order. Live results (syncing/waiting) extend
    #    the chain right behind the serving block, so each one's predecessor
    #    is the last target placed there.
    middle: list[int] = []
    for target_id, local, public in effective:
        if target_id in new_state:
            continue
        if middle:
            predecessor = new_state[middle[-1]]
        else:
            predecessor = PublicState.SERVING if serving_block else None
        state = next_public_state(local, public, predecessor)
        new_state[target_id] = state
        if state in (PublicState.SYNCING, PublicState.WAITING):
            middle.append(target_id)
        elif state in _DOWN and public not in _DOWN:
            newly_down.append(target_id)

    newly = set(newly_down)
    lastsrv = [tid for tid, _, _ in effective if new_state[tid] == PublicState.LASTSRV]
    offline_before = [
        tid for tid, _, _ in effective if new_state[tid] == PublicState.OFFLINE and tid not in newly
    ]
    offline_new = [
        tid for tid, _, _ in effective if new_state[tid] == PublicState.OFFLINE and tid in newly
    ]
    order = serving_block + middle + lastsrv + offline_before + offline_new
    assert sorted(order) == sorted(seen)

    result = [(tid, new_state[tid]) for tid in order]
    before = [(tid, public) for tid, _, public in entries]
    return result, result != before
