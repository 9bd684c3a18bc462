"""The primary lease: which of several cluster managers may act.

Every instance shares one KV store. The primary holds a lease record
(`MGMT/primary_lease`) and renews it every `renew_interval_s`; the others
read it on the same schedule and take it over once it has expired. Lease
decisions are transactions, so two instances can never both win the same
term. A primary that cannot renew before its own expiry stops acting at that
moment, before anyone else may take over (both use the same expiry time; the
hosts' clocks must agree to well within the lease, as with any lease).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from typing import Callable

from fs3.kv import KvEngine, Transaction, run_transaction
from fs3.kv.interface import KvError, RetryPolicy

__all__ = ["PrimaryLease", "LeaseRecord"]

logger = logging.getLogger(__name__)

LEASE_KEY = b"MGMT/primary_lease"


@dataclasses.dataclass(frozen=True, slots=True)
class LeaseRecord:
    node_id: int
    address: str
    term: int
    expires_at_ms: int


class PrimaryLease:
    """Acquire/renew the lease for one instance; `is_primary()` says whether it may act now."""

    def __init__(
        self,
        engine: KvEngine,
        node_id: int,
        address: str,
        lease_s: float,
        wall_clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        assert lease_s > 0
        self.engine = engine
        self.node_id = node_id
        self.address = address
        self.lease_ms = int(lease_s * 1000)
        self._wall_clock_ms = wall_clock_ms
        self._held_until_ms = 0
        self.term = 0
        self.holder: LeaseRecord | None = None

    def is_primary(self) -> bool:
        return self._wall_clock_ms() < self._held_until_ms

    async def try_acquire(self) -> bool:
        """One round: renew our lease, or take an expired one. Returns whether we hold it."""
        now_ms = self._wall_clock_ms()

        async def body(txn: Transaction) -> LeaseRecord:
            raw = await txn.get(LEASE_KEY)
            current = None if raw is None else LeaseRecord(**json.loads(raw))
            if current is not None and current.node_id != self.node_id and current.expires_at_ms > now_ms:
                return current  # someone else holds a live lease
            term = current.term if current is not None and current.node_id == self.node_id else (
                (current.term if current is not None else 0) + 1
            )
            record = LeaseRecord(self.node_id, self.address, term, now_ms + self.lease_ms)
            txn.set(LEASE_KEY, json.dumps(dataclasses.asdict(record)).encode())
            return record

        try:
            record = await run_transaction(self.engine, body, policy=RetryPolicy(retries_max=5, deadline_s=self.lease_ms / 3000))
        except KvError as error:
            logger.warning("lease round failed: %s", error)
            return self.is_primary()
        self.holder = record
        if record.node_id == self.node_id:
            self._held_until_ms = record.expires_at_ms
            self.term = record.term
            return True
        self._held_until_ms = 0
        return False

    async def fence(self, txn: Transaction) -> None:
        """Inside a state-writing transaction: fail unless we still hold our term."""
        from fs3.errors import Fs3Error, StatusCode

        raw = await txn.get(LEASE_KEY)
        current = None if raw is None else LeaseRecord(**json.loads(raw))
        if current is None or current.node_id != self.node_id or current.term != self.term or not self.is_primary():
            raise Fs3Error(StatusCode.NOT_PRIMARY, f"cluster manager {self.node_id} lost the primary lease")
